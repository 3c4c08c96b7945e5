#include "audit/cli.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include "audit/bundle.h"
#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/ledger.h"
#include "common/json.h"

namespace audit::cli {
namespace {

constexpr int kOk = 0;
constexpr int kTampered = 1;
constexpr int kError = 2;

constexpr const char* kUsage =
    "usage: assistant audit <command> [options]\n"
    "  verify     [--db PATH --key-file FILE | --bundle DIR] [--public-key FILE]\n"
    "             [--checkpoint FILE]... [--json]\n"
    "  query      --db PATH --key-file FILE [--since T] [--until T] [--subject S] [--event E]\n"
    "             [--decision D] [--classification C] [--conversation ID] [--limit N]\n"
    "  export     --db PATH --key-file FILE --out DIR [query filters]\n"
    "  checkpoint --db PATH --key-file FILE [--out FILE]\n"
    "  keygen     --signing-key FILE [--name NAME] [--public-key FILE] | --master-key FILE\n"
    "--db: the state directory or the ledger database; --key-file: the master key file\n"
    "(or --credential NAME for a systemd credential). Times: RFC 3339 UTC, a date, or Unix\n"
    "seconds. Exit status: 0 ok, 1 tampering found, 2 error.\n";

struct Args {
  std::string command;
  std::multimap<std::string, std::string> opts;
  std::map<std::string, bool> flags;

  std::optional<std::string> Get(const std::string& k) const {
    auto it = opts.find(k);
    if (it == opts.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> All(const std::string& k) const {
    std::vector<std::string> v;
    auto [b, e] = opts.equal_range(k);
    for (auto it = b; it != e; ++it) v.push_back(it->second);
    return v;
  }
};

const std::map<std::string, std::vector<std::string>>& KnownOptions() {
  static const auto* m = new std::map<std::string, std::vector<std::string>>{
      {"verify", {"db", "key-file", "credential", "bundle", "public-key", "checkpoint"}},
      {"query", {"db", "key-file", "credential", "since", "until", "subject", "event", "decision",
                 "classification", "conversation", "limit"}},
      {"export", {"db", "key-file", "credential", "out", "since", "until", "subject", "event",
                  "decision", "classification", "conversation", "limit"}},
      {"checkpoint", {"db", "key-file", "credential", "out"}},
      {"keygen", {"signing-key", "name", "public-key", "master-key"}},
  };
  return *m;
}

common::StatusOr<Args> Parse(const std::vector<std::string>& argv) {
  if (argv.empty()) return common::InvalidArgumentError("missing command");
  Args a;
  a.command = argv[0];
  auto known = KnownOptions().find(a.command);
  if (known == KnownOptions().end()) {
    return common::InvalidArgumentError("unknown command '" + a.command + "'");
  }
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s.rfind("--", 0) != 0) return common::InvalidArgumentError("unexpected argument '" + s + "'");
    std::string name = s.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "json") {
      a.flags[name] = true;
      continue;
    }
    if (std::find(known->second.begin(), known->second.end(), name) == known->second.end()) {
      return common::InvalidArgumentError("'" + a.command + "' has no option --" + name);
    }
    if (!has_value) {
      if (i + 1 >= argv.size()) return common::InvalidArgumentError("--" + name + " needs a value");
      value = argv[++i];
    }
    a.opts.emplace(name, value);
  }
  return a;
}

std::string LedgerPath(const std::string& db) {
  struct stat st {};
  if (::stat(db.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return db + "/ledger.db";
  return db;
}

common::StatusOr<MasterKey> LoadMasterKey(const Args& a) {
  if (auto f = a.Get("key-file")) return MasterKey::FromFile(*f);
  if (auto c = a.Get("credential")) return MasterKey::FromCredential(*c);
  return common::InvalidArgumentError("--key-file FILE (or --credential NAME) is required");
}

common::StatusOr<std::unique_ptr<LedgerReader>> OpenReader(const Args& a) {
  auto db = a.Get("db");
  if (!db) return common::InvalidArgumentError("--db PATH is required");
  ASSIGN_OR_RETURN(MasterKey key, LoadMasterKey(a));
  return LedgerReader::Open(LedgerPath(*db), key);
}

common::StatusOr<QueryFilter> ParseFilter(const Args& a) {
  QueryFilter f;
  if (auto v = a.Get("since")) {
    ASSIGN_OR_RETURN(int64_t t, ParseTime(*v));
    f.since_us = t;
  }
  if (auto v = a.Get("until")) {
    ASSIGN_OR_RETURN(int64_t t, ParseTime(*v));
    f.until_us = t;
  }
  if (auto v = a.Get("subject")) f.subject = *v;
  if (auto v = a.Get("event")) {
    ASSIGN_OR_RETURN(EventType e, ParseEventType(*v));
    f.event = e;
  }
  if (auto v = a.Get("decision")) f.decision = *v;
  if (auto v = a.Get("classification")) f.classification = *v;
  if (auto v = a.Get("conversation")) f.conversation_id = *v;
  if (auto v = a.Get("limit")) {
    if (v->empty() || v->find_first_not_of("0123456789") != std::string::npos || v->size() > 18) {
      return common::InvalidArgumentError("--limit wants a number");
    }
    f.limit = std::stoull(*v);
  }
  return f;
}

common::Json ReportToJson(const VerifyReport& r) {
  common::Json j = common::Json::MakeObject();
  j.Set("ok", r.ok());
  j.Set("tree_size", r.tree_size);
  j.Set("root", HashHex(r.root));
  j.Set("first_seq", r.first_seq);
  j.Set("records_checked", r.records_checked);
  j.Set("heads_checked", r.heads_checked);
  j.Set("checkpoints_checked", r.checkpoints_checked);
  j.Set("key_pinned", r.key_pinned);
  common::Json findings = common::Json::MakeArray();
  for (const auto& f : r.findings) {
    common::Json e = common::Json::MakeObject();
    e.Set("kind", std::string(FindingKindName(f.kind)));
    e.Set("seq", f.seq);
    e.Set("seq_end", f.seq_end);
    e.Set("message", f.message);
    findings.Push(std::move(e));
  }
  j.Set("findings", std::move(findings));
  common::Json notes = common::Json::MakeArray();
  for (const auto& n : r.notes) notes.Push(n);
  j.Set("notes", std::move(notes));
  j.Set("seconds", r.seconds);
  return j;
}

int Verify(const Args& a, std::ostream& out, std::ostream& err) {
  VerifyOptions options;
  if (auto pk = a.Get("public-key")) {
    auto key = PublicKey::FromFile(*pk);
    if (!key.ok()) {
      err << "audit verify: " << key.status().message() << "\n";
      return kError;
    }
    options.trusted_key = *key;
  }
  for (const auto& path : a.All("checkpoint")) {
    auto cp = SignedCheckpoint::ReadFile(path);
    if (!cp.ok()) {
      err << "audit verify: " << cp.status().message() << "\n";
      return kError;
    }
    options.checkpoints.push_back(*cp);
  }
  common::StatusOr<VerifyReport> report = common::InternalError("unset");
  if (auto bundle = a.Get("bundle")) {
    if (a.Get("db")) {
      err << "audit verify: give --db or --bundle, not both\n";
      return kError;
    }
    report = VerifyBundle(*bundle, options);
  } else {
    auto reader = OpenReader(a);
    if (!reader.ok()) {
      err << "audit verify: " << reader.status().message() << "\n";
      return kError;
    }
    report = (*reader)->Verify(options);
  }
  if (!report.ok()) {
    err << "audit verify: " << report.status().message() << "\n";
    return kError;
  }
  if (a.flags.count("json")) {
    out << ReportToJson(*report).Dump() << "\n";
  } else {
    out << report->Summary() << "\n";
    for (size_t i = 1; i < report->findings.size() && i < 20; ++i) {
      out << "  also: " << FindingKindName(report->findings[i].kind) << " at seq "
          << report->findings[i].seq << ": " << report->findings[i].message << "\n";
    }
    for (const auto& n : report->notes) out << "note: " << n << "\n";
  }
  return report->ok() ? kOk : kTampered;
}

int Query(const Args& a, std::ostream& out, std::ostream& err) {
  auto filter = ParseFilter(a);
  if (!filter.ok()) {
    err << "audit query: " << filter.status().message() << "\n";
    return kError;
  }
  auto reader = OpenReader(a);
  if (!reader.ok()) {
    err << "audit query: " << reader.status().message() << "\n";
    return kError;
  }
  common::Status st = (*reader)->Query(*filter, [&](const Record& r) {
    out << RecordToJson(r).Dump() << "\n";
    return static_cast<bool>(out);
  });
  if (!st.ok()) {
    err << "audit query: " << st.message() << "\n";
    return kError;
  }
  return kOk;
}

int Export(const Args& a, std::ostream& out, std::ostream& err) {
  auto dir = a.Get("out");
  if (!dir) {
    err << "audit export: --out DIR is required\n";
    return kError;
  }
  auto filter = ParseFilter(a);
  if (!filter.ok()) {
    err << "audit export: " << filter.status().message() << "\n";
    return kError;
  }
  auto reader = OpenReader(a);
  if (!reader.ok()) {
    err << "audit export: " << reader.status().message() << "\n";
    return kError;
  }
  auto summary = ExportBundle(**reader, ExportOptions{*dir, *filter});
  if (!summary.ok()) {
    err << "audit export: " << summary.status().message() << "\n";
    return kError;
  }
  out << "exported " << summary->records << " records (" << (summary->complete ? "complete" : "filtered")
      << ", tree size " << summary->tree_size << ") to " << *dir << "; manifest sha256 "
      << summary->manifest_sha256 << "\n";
  return kOk;
}

int Checkpoint(const Args& a, std::ostream& out, std::ostream& err) {
  auto reader = OpenReader(a);
  if (!reader.ok()) {
    err << "audit checkpoint: " << reader.status().message() << "\n";
    return kError;
  }
  // Never hand out a checkpoint over a ledger that does not verify.
  auto report = (*reader)->Verify(VerifyOptions{});
  if (!report.ok()) {
    err << "audit checkpoint: " << report.status().message() << "\n";
    return kError;
  }
  if (!report->ok()) {
    err << "audit checkpoint: refusing: " << report->Summary() << "\n";
    return kTampered;
  }
  auto head = (*reader)->LatestHead();
  if (!head.ok()) {
    err << "audit checkpoint: " << head.status().message() << "\n";
    return kError;
  }
  if (auto path = a.Get("out")) {
    common::Status st = head->WriteFile(*path);
    if (!st.ok()) {
      err << "audit checkpoint: " << st.message() << "\n";
      return kError;
    }
    out << "wrote checkpoint for tree size " << head->checkpoint.tree_size << " to " << *path
        << "\n";
  } else {
    out << head->ToText();
  }
  return kOk;
}

int Keygen(const Args& a, std::ostream& out, std::ostream& err) {
  if (auto mk = a.Get("master-key")) {
    common::Status st = MasterKey::GenerateFile(*mk);
    if (!st.ok()) {
      err << "audit keygen: " << st.message() << "\n";
      return kError;
    }
    out << "wrote a new master key to " << *mk << " (mode 0600)\n";
    return kOk;
  }
  auto sk = a.Get("signing-key");
  if (!sk) {
    err << "audit keygen: --signing-key FILE or --master-key FILE is required\n";
    return kError;
  }
  auto signer = Signer::Generate(a.Get("name").value_or("assistant-audit"));
  if (!signer.ok()) {
    err << "audit keygen: " << signer.status().message() << "\n";
    return kError;
  }
  common::Status st = (*signer)->WriteFile(*sk);
  if (st.ok()) {
    if (auto pk = a.Get("public-key")) {
      struct stat s {};
      if (::stat(pk->c_str(), &s) == 0) {
        st = common::AlreadyExistsError(*pk + ": already exists");
      } else {
        FILE* f = std::fopen(pk->c_str(), "w");
        if (f == nullptr) {
          st = common::UnavailableError(*pk + ": cannot write");
        } else {
          std::string v = (*signer)->public_key().ToVkey() + "\n";
          std::fwrite(v.data(), 1, v.size(), f);
          std::fclose(f);
        }
      }
    }
  }
  if (!st.ok()) {
    err << "audit keygen: " << st.message() << "\n";
    return kError;
  }
  out << (*signer)->public_key().ToVkey() << "\n";
  return kOk;
}

}  // namespace

int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? kError : kOk;
  }
  auto parsed = Parse(args);
  if (!parsed.ok()) {
    err << "audit: " << parsed.status().message() << "\n" << kUsage;
    return kError;
  }
  const Args& a = *parsed;
  if (a.command == "verify") return Verify(a, out, err);
  if (a.command == "query") return Query(a, out, err);
  if (a.command == "export") return Export(a, out, err);
  if (a.command == "checkpoint") return Checkpoint(a, out, err);
  if (a.command == "keygen") return Keygen(a, out, err);
  err << kUsage;
  return kError;
}

}  // namespace audit::cli
