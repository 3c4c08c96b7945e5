#include "audit/bundle.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>

#include "common/json.h"
#include "common/sha256.h"
#include "crypto.h"
#include "file_util.h"
#include "verifier.h"

namespace audit {
namespace {

constexpr std::string_view kBundleFormat = "assistant-audit-bundle/1";
constexpr size_t kMaxBundleFile = size_t{4} << 30;

common::Json HashList(const std::vector<Hash>& hs) {
  common::Json a = common::Json::MakeArray();
  for (const Hash& h : hs) a.Push(HashHex(h));
  return a;
}

common::StatusOr<std::vector<Hash>> ParseHashList(const common::Json* j) {
  if (j == nullptr || !j->is_array()) return common::InvalidArgumentError("want a list of hashes");
  std::vector<Hash> out;
  for (const auto& e : j->as_array()) {
    if (!e.is_string()) return common::InvalidArgumentError("want a hex hash");
    ASSIGN_OR_RETURN(Hash h, HashFromHex(e.as_string()));
    out.push_back(h);
  }
  return out;
}

common::Json FilterToJson(const QueryFilter& f) {
  common::Json j = common::Json::MakeObject();
  if (f.since_us) j.Set("since", FormatTime(*f.since_us));
  if (f.until_us) j.Set("until", FormatTime(*f.until_us));
  if (f.subject) j.Set("subject", *f.subject);
  if (f.event) j.Set("event", std::string(EventTypeName(*f.event)));
  if (f.decision) j.Set("decision", *f.decision);
  if (f.classification) j.Set("classification", *f.classification);
  if (f.conversation_id) j.Set("conversation_id", *f.conversation_id);
  if (f.limit) j.Set("limit", f.limit);
  return j;
}

struct FileEntry {
  std::string path;
  std::string sha256;
  uint64_t bytes;
};

class BundleWriter {
 public:
  explicit BundleWriter(std::string dir) : dir_(std::move(dir)) {}
  common::Status Write(const std::string& rel, std::string_view data) {
    RETURN_IF_ERROR(internal::WriteFileAtomic(dir_ + "/" + rel, data, 0644));
    files_.push_back({rel, common::HexEncode(common::Sha256::Hash(data)), data.size()});
    return common::OkStatus();
  }
  const std::vector<FileEntry>& files() const { return files_; }

 private:
  std::string dir_;
  std::vector<FileEntry> files_;
};

bool DirIsEmptyOrAbsent(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return true;
  bool empty = true;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) empty = false;
  }
  closedir(d);
  return empty;
}

}  // namespace

namespace {
common::StatusOr<ExportSummary> ExportSnapshot(const LedgerReader& reader,
                                               const ExportOptions& options);
}  // namespace

common::StatusOr<ExportSummary> ExportBundle(const LedgerReader& reader,
                                             const ExportOptions& options) {
  ExportSummary summary;
  RETURN_IF_ERROR(reader.WithSnapshot([&]() -> common::Status {
    ASSIGN_OR_RETURN(summary, ExportSnapshot(reader, options));
    return common::OkStatus();
  }));
  return summary;
}

namespace {
common::StatusOr<ExportSummary> ExportSnapshot(const LedgerReader& reader,
                                               const ExportOptions& options) {
  if (options.dir.empty()) return common::InvalidArgumentError("export: no output directory");
  if (!DirIsEmptyOrAbsent(options.dir)) {
    return common::AlreadyExistsError("export: " + options.dir + " exists and is not empty");
  }
  RETURN_IF_ERROR(internal::MakeDirs(options.dir + "/heads", 0755));
  ASSIGN_OR_RETURN(SignedCheckpoint head, reader.LatestHead());
  const uint64_t n = head.checkpoint.tree_size;
  const bool complete = options.filter.empty();
  ExportSummary summary;
  summary.tree_size = n;
  summary.complete = complete;
  BundleWriter w(options.dir);

  // Records (only those covered by the head; later appends belong to the next export).
  std::string records;
  std::vector<uint64_t> exported;
  common::Status err;
  RETURN_IF_ERROR(reader.ForEachRaw([&](uint64_t seq, std::string_view body) {
    if (seq >= n) return false;
    auto rec = DecodeRecord(body);
    if (!rec.ok()) {
      err = common::DataLossError("export: record " + std::to_string(seq) +
                                  " is unreadable; run verify: " + rec.status().message());
      return false;
    }
    if (!complete && !options.filter.Matches(*rec)) return true;
    common::Json line = common::Json::MakeObject();
    line.Set("seq", seq);
    line.Set("leaf", HashHex(LeafHash(body)));
    line.Set("body", internal::Base64Encode(body));
    line.Set("record", RecordToJson(*rec));
    records += line.Dump();
    records += '\n';
    exported.push_back(seq);
    return options.filter.limit == 0 || exported.size() < options.filter.limit;
  }));
  RETURN_IF_ERROR(err);
  summary.records = exported.size();
  RETURN_IF_ERROR(w.Write("records.jsonl", records));
  RETURN_IF_ERROR(w.Write("checkpoint.txt", head.ToText()));
  ASSIGN_OR_RETURN(auto heads, reader.Heads());
  for (const auto& h : heads) {
    if (h.checkpoint.tree_size > n) continue;
    RETURN_IF_ERROR(w.Write("heads/" + std::to_string(h.checkpoint.tree_size) + ".txt", h.ToText()));
  }
  RETURN_IF_ERROR(w.Write("public-key.txt", reader.stored_public_key().ToVkey() + "\n"));
  common::Json pruned = common::Json::MakeObject();
  pruned.Set("size", reader.pruned_frontier().size());
  pruned.Set("frontier", HashList(reader.pruned_frontier().nodes()));
  RETURN_IF_ERROR(w.Write("pruned.json", pruned.Dump() + "\n"));
  if (!complete) {
    std::string proofs;
    for (uint64_t seq : exported) {
      ASSIGN_OR_RETURN(auto path, reader.InclusionProof(seq, n));
      common::Json p = common::Json::MakeObject();
      p.Set("type", "inclusion");
      p.Set("seq", seq);
      p.Set("tree_size", n);
      p.Set("path", HashList(path));
      proofs += p.Dump() + "\n";
    }
    for (const auto& h : heads) {
      uint64_t m = h.checkpoint.tree_size;
      if (m > n || m < reader.pruned_size()) continue;
      auto c = reader.ConsistencyProof(m, n);
      if (!c.ok()) continue;  // needs pruned nodes: the head stays unproven
      common::Json p = common::Json::MakeObject();
      p.Set("type", "consistency");
      p.Set("old_size", m);
      p.Set("tree_size", n);
      p.Set("path", HashList(*c));
      proofs += p.Dump() + "\n";
    }
    RETURN_IF_ERROR(w.Write("proofs.jsonl", proofs));
  }
  common::Json manifest = common::Json::MakeObject();
  manifest.Set("format", std::string(kBundleFormat));
  manifest.Set("origin", reader.origin());
  manifest.Set("tree_size", n);
  manifest.Set("root", HashHex(head.checkpoint.root));
  manifest.Set("complete", complete);
  manifest.Set("records", summary.records);
  manifest.Set("filter", FilterToJson(options.filter));
  common::Json files = common::Json::MakeArray();
  for (const auto& f : w.files()) {
    common::Json e = common::Json::MakeObject();
    e.Set("path", f.path);
    e.Set("sha256", f.sha256);
    e.Set("bytes", f.bytes);
    files.Push(std::move(e));
  }
  manifest.Set("files", std::move(files));
  common::Json::DumpOptions pretty;
  pretty.indent = 2;
  pretty.item_sep = ",";
  pretty.key_sep = ": ";
  std::string text = manifest.Dump(pretty) + "\n";
  RETURN_IF_ERROR(internal::WriteFileAtomic(options.dir + "/manifest.json", text, 0644));
  summary.manifest_sha256 = common::HexEncode(common::Sha256::Hash(text));
  return summary;
}
}  // namespace

common::StatusOr<VerifyReport> VerifyBundle(const std::string& dir, const VerifyOptions& options) {
  auto read = [&](const std::string& rel) {
    return internal::ReadFileToString(dir + "/" + rel, kMaxBundleFile);
  };
  ASSIGN_OR_RETURN(std::string manifest_text, read("manifest.json"));
  ASSIGN_OR_RETURN(common::Json manifest, common::Json::Parse(manifest_text));
  const common::Json* format = manifest.Find("format");
  if (format == nullptr || format->as_string() != kBundleFormat) {
    return common::InvalidArgumentError(dir + ": not an audit evidence bundle (manifest format)");
  }
  const common::Json* files = manifest.Find("files");
  const common::Json* origin = manifest.Find("origin");
  const common::Json* complete_j = manifest.Find("complete");
  if (files == nullptr || !files->is_array() || origin == nullptr || complete_j == nullptr) {
    return common::InvalidArgumentError(dir + ": manifest incomplete");
  }
  const bool complete = complete_j->as_bool();
  VerifyReport tampered;
  // 1. Every file is the one the manifest lists, and nothing else counts.
  std::map<std::string, std::string> content;
  for (const auto& f : files->as_array()) {
    const common::Json* p = f.Find("path");
    const common::Json* h = f.Find("sha256");
    if (p == nullptr || h == nullptr || p->as_string().find("..") != std::string::npos ||
        p->as_string().empty() || p->as_string()[0] == '/') {
      return common::InvalidArgumentError(dir + ": bad manifest entry");
    }
    auto data = read(p->as_string());
    if (!data.ok() || common::HexEncode(common::Sha256::Hash(*data)) != h->as_string()) {
      tampered.findings.push_back(Finding{FindingKind::kModified, 0, 0,
                                          "bundle file " + p->as_string() +
                                              (data.ok() ? " does not match its manifest hash"
                                                         : " is missing")});
      continue;
    }
    content[p->as_string()] = std::move(*data);
  }
  if (!tampered.findings.empty()) return tampered;
  auto need = [&](const std::string& rel) -> common::StatusOr<std::string*> {
    auto it = content.find(rel);
    if (it == content.end()) return common::InvalidArgumentError(dir + ": bundle lacks " + rel);
    return &it->second;
  };
  // 2. Keys, heads, the export checkpoint, the pruned prefix.
  ASSIGN_OR_RETURN(std::string* vkey, need("public-key.txt"));
  ASSIGN_OR_RETURN(PublicKey bundle_key, PublicKey::FromVkey(*vkey));
  ASSIGN_OR_RETURN(std::string* cp_text, need("checkpoint.txt"));
  ASSIGN_OR_RETURN(SignedCheckpoint final_cp, SignedCheckpoint::Parse(*cp_text));
  internal::VerifyInput in;
  in.origin = origin->as_string();
  in.stored_key = bundle_key;
  in.heads.push_back(final_cp);
  for (const auto& [rel, text] : content) {
    if (rel.rfind("heads/", 0) != 0) continue;
    ASSIGN_OR_RETURN(SignedCheckpoint h, SignedCheckpoint::Parse(text));
    in.heads.push_back(h);
  }
  ASSIGN_OR_RETURN(std::string* pruned_text, need("pruned.json"));
  ASSIGN_OR_RETURN(common::Json pruned, common::Json::Parse(*pruned_text));
  ASSIGN_OR_RETURN(auto pruned_nodes, ParseHashList(pruned.Find("frontier")));
  const common::Json* pruned_size = pruned.Find("size");
  ASSIGN_OR_RETURN(in.pruned, Frontier::FromNodes(pruned_size ? static_cast<uint64_t>(pruned_size->as_int()) : 0,
                                                  std::move(pruned_nodes)));
  const uint64_t n = final_cp.checkpoint.tree_size;

  // 3. Records: bytes, leaf and readable form agree.
  ASSIGN_OR_RETURN(std::string* records, need("records.jsonl"));
  struct Line {
    uint64_t seq;
    std::string body;
    Hash leaf;
  };
  std::vector<Line> lines;
  std::istringstream rs(*records);
  std::string text;
  std::vector<Finding> record_findings;
  while (std::getline(rs, text)) {
    if (text.empty()) continue;
    ASSIGN_OR_RETURN(common::Json j, common::Json::Parse(text));
    const common::Json* seq = j.Find("seq");
    const common::Json* leaf = j.Find("leaf");
    const common::Json* body = j.Find("body");
    const common::Json* view = j.Find("record");
    if (!seq || !leaf || !body || !view) return common::InvalidArgumentError(dir + ": bad records.jsonl line");
    Line l;
    l.seq = static_cast<uint64_t>(seq->as_int());
    ASSIGN_OR_RETURN(l.body, internal::Base64Decode(body->as_string()));
    ASSIGN_OR_RETURN(l.leaf, HashFromHex(leaf->as_string()));
    auto rec = DecodeRecord(l.body);
    if (!rec.ok() || !(RecordToJson(*rec) == *view)) {
      record_findings.push_back(Finding{FindingKind::kModified, l.seq, l.seq,
                                        "record " + std::to_string(l.seq) +
                                            ": the readable form does not match the signed bytes"});
    }
    lines.push_back(std::move(l));
  }

  VerifyReport report;
  if (complete) {
    internal::StreamVerifier v(std::move(in), options);
    for (const Line& l : lines) {
      if (!v.Add(l.seq, l.body, &l.leaf)) break;
    }
    report = v.Finish();
  } else {
    // Filtered: signatures and the export checkpoint via the verifier with
    // no records, then each record by its inclusion proof.
    in.heads_authoritative = false;
    std::vector<SignedCheckpoint> heads = in.heads;
    internal::VerifyInput only_sigs = in;
    only_sigs.heads.clear();
    VerifyOptions sig_options = options;
    sig_options.checkpoints.clear();
    internal::StreamVerifier sigs(std::move(only_sigs), sig_options);
    report = sigs.Finish();
    std::optional<PublicKey> key = options.trusted_key ? options.trusted_key : bundle_key;
    for (const auto& h : heads) {
      ++report.heads_checked;
      common::Status st = h.Verify(*key);
      if (!st.ok()) {
        report.findings.push_back(Finding{st.reason() == "KEY_MISMATCH" ? FindingKind::kKeyReplaced
                                                                          : FindingKind::kBadSignature,
                                          h.checkpoint.tree_size, h.checkpoint.tree_size, st.message()});
      }
    }
    ASSIGN_OR_RETURN(std::string* proofs_text, need("proofs.jsonl"));
    std::map<uint64_t, std::vector<Hash>> inclusion, consistency;
    std::istringstream ps(*proofs_text);
    while (std::getline(ps, text)) {
      if (text.empty()) continue;
      ASSIGN_OR_RETURN(common::Json j, common::Json::Parse(text));
      const common::Json* type = j.Find("type");
      ASSIGN_OR_RETURN(auto path, ParseHashList(j.Find("path")));
      if (type && type->as_string() == "inclusion" && j.Find("seq")) {
        inclusion[static_cast<uint64_t>(j.Find("seq")->as_int())] = std::move(path);
      } else if (type && type->as_string() == "consistency" && j.Find("old_size")) {
        consistency[static_cast<uint64_t>(j.Find("old_size")->as_int())] = std::move(path);
      }
    }
    for (const Line& l : lines) {
      auto it = inclusion.find(l.seq);
      common::Status st = it == inclusion.end()
                              ? common::DataLossError("no inclusion proof")
                              : VerifyInclusion(l.seq, n, LeafHash(l.body), it->second,
                                                final_cp.checkpoint.root);
      if (!st.ok() || LeafHash(l.body) != l.leaf) {
        report.findings.push_back(Finding{FindingKind::kModified, l.seq, l.seq,
                                          "record " + std::to_string(l.seq) +
                                              " is not in the signed tree: " + st.message()});
      } else {
        ++report.records_checked;
      }
    }
    auto check_against = [&](const SignedCheckpoint& cp, bool external) {
      uint64_t m = cp.checkpoint.tree_size;
      if (m > n) {
        if (external) {
          report.findings.push_back(Finding{FindingKind::kRolledBack, n, m - 1,
                                            "the checkpoint covers " + std::to_string(m) +
                                                " records, the bundle only " + std::to_string(n)});
        }
        return;
      }
      auto it = consistency.find(m);
      if (m == n) {
        if (cp.checkpoint.root != final_cp.checkpoint.root) {
          report.findings.push_back(Finding{FindingKind::kForked, 0, n ? n - 1 : 0,
                                            "two different roots for tree size " + std::to_string(n)});
        }
      } else if (it == consistency.end()) {
        report.notes.push_back("no consistency proof from tree size " + std::to_string(m));
      } else if (!VerifyConsistency(m, n, cp.checkpoint.root, final_cp.checkpoint.root, it->second).ok()) {
        report.findings.push_back(Finding{FindingKind::kForked, 0, m ? m - 1 : 0,
                                          "the tree of size " + std::to_string(m) +
                                              " is not a prefix of the exported tree"});
      }
      if (external) ++report.checkpoints_checked;
    };
    for (const auto& h : heads) check_against(h, false);
    for (const auto& cp : options.checkpoints) {
      if (key) {
        common::Status st = cp.Verify(*key);
        if (!st.ok()) {
          report.findings.push_back(Finding{FindingKind::kKeyReplaced, 0, 0, "external " + st.message()});
          continue;
        }
      }
      check_against(cp, true);
    }
    report.tree_size = n;
    report.root = final_cp.checkpoint.root;
    std::stable_sort(report.findings.begin(), report.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.seq < b.seq; });
  }
  if (!record_findings.empty()) {
    report.findings.insert(report.findings.begin(), record_findings.begin(), record_findings.end());
    std::stable_sort(report.findings.begin(), report.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.seq < b.seq; });
  }
  if (report.root != final_cp.checkpoint.root && report.ok()) {
    report.findings.push_back(Finding{FindingKind::kModified, 0, 0,
                                      "the records do not reproduce the exported checkpoint"});
  }
  return report;
}

}  // namespace audit
