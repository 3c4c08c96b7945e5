#include <algorithm>
#include <cstring>

#include "audit/ledger.h"
#include "db.h"
#include "ledger_store.h"
#include "verifier.h"

namespace audit {

using internal::Db;
using internal::Stmt;

namespace internal {
std::string_view FindingKindNameImpl(FindingKind kind);
}

std::string_view FindingKindName(FindingKind kind) { return internal::FindingKindNameImpl(kind); }

std::string VerifyReport::Summary() const {
  std::string s;
  if (ok()) {
    s = "OK: " + std::to_string(records_checked) + " records verified (seq " +
        std::to_string(first_seq) + " to " + std::to_string(tree_size ? tree_size - 1 : 0) +
        "), tree size " + std::to_string(tree_size) + ", root " + HashHex(root) + ", " +
        std::to_string(heads_checked) + " signed heads, " + std::to_string(checkpoints_checked) +
        " external checkpoints";
  } else {
    const Finding& f = findings.front();
    s = "TAMPERED: " + std::string(FindingKindName(f.kind)) + " at seq " + std::to_string(f.seq) +
        ": " + f.message;
    if (findings.size() > 1) s += " (+" + std::to_string(findings.size() - 1) + " more findings)";
  }
  return s;
}

bool QueryFilter::Matches(const Record& r) const {
  if (since_us && r.time_us < *since_us) return false;
  if (until_us && r.time_us >= *until_us) return false;
  if (subject && r.subject != *subject && r.subject_cert != *subject) return false;
  if (event && r.event != *event) return false;
  if (decision && r.decision != *decision) return false;
  if (classification && r.classification != *classification) return false;
  if (conversation_id && r.conversation_id != *conversation_id) return false;
  return true;
}

bool QueryFilter::empty() const {
  return !since_us && !until_us && !subject && !event && !decision && !classification &&
         !conversation_id && limit == 0;
}

LedgerReader::LedgerReader(std::unique_ptr<Db> db) : db_(std::move(db)) {}
LedgerReader::~LedgerReader() = default;

common::StatusOr<std::unique_ptr<LedgerReader>> LedgerReader::Open(const std::string& path,
                                                                   const MasterKey& master_key) {
  ASSIGN_OR_RETURN(common::SecretBytes key, master_key.Derive("ledger-db"));
  ASSIGN_OR_RETURN(auto db, Db::Open(path, key, Db::Mode::kReadOnly));
  ASSIGN_OR_RETURN(internal::LedgerMeta meta, internal::ReadLedgerMeta(*db));
  std::unique_ptr<LedgerReader> r(new LedgerReader(std::move(db)));
  r->origin_ = meta.origin;
  r->stored_key_ = meta.public_key;
  r->pruned_ = meta.pruned;
  return r;
}

common::Status LedgerReader::ForEachRaw(
    const std::function<bool(uint64_t, std::string_view)>& sink) const {
  ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT seq, body FROM records ORDER BY seq"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (!sink(static_cast<uint64_t>(st.Int(0)), st.Blob(1))) break;
  }
  return common::OkStatus();
}

common::Status LedgerReader::Query(const QueryFilter& filter,
                                   const std::function<bool(const Record&)>& sink) const {
  uint64_t emitted = 0;
  common::Status err;
  RETURN_IF_ERROR(ForEachRaw([&](uint64_t seq, std::string_view body) {
    auto r = DecodeRecord(body);
    if (!r.ok()) {
      err = common::DataLossError("record " + std::to_string(seq) + ": " + r.status().message());
      return false;
    }
    if (!filter.Matches(*r)) return true;
    if (!sink(*r)) return false;
    ++emitted;
    return filter.limit == 0 || emitted < filter.limit;
  }));
  return err;
}

common::StatusOr<Record> LedgerReader::Get(uint64_t seq) const {
  ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT body FROM records WHERE seq = ?"));
  st.Bind(1, static_cast<int64_t>(seq));
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return common::NotFoundError("no record " + std::to_string(seq));
  return DecodeRecord(st.Blob(0));
}

common::StatusOr<uint64_t> LedgerReader::Size() const {
  ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT max(seq) FROM records"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.IsNull(0)) return pruned_.size();
  return static_cast<uint64_t>(st.Int(0)) + 1;
}

common::StatusOr<std::vector<SignedCheckpoint>> LedgerReader::Heads() const {
  internal::LedgerMeta meta{origin_, stored_key_, pruned_};
  return internal::ReadHeads(*db_, meta);
}

common::StatusOr<SignedCheckpoint> LedgerReader::LatestHead() const {
  internal::LedgerMeta meta{origin_, stored_key_, pruned_};
  ASSIGN_OR_RETURN(auto heads, internal::ReadHeads(
                                   *db_, meta, "WHERE tree_size = (SELECT max(tree_size) FROM heads)"));
  if (heads.empty()) return common::NotFoundError("the ledger has no signed head yet");
  return heads.back();
}

common::StatusOr<std::vector<Hash>> LedgerReader::LoadLeaves() const {
  std::vector<Hash> leaves;
  ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT seq, leaf FROM records ORDER BY seq"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    std::string_view leaf = st.Blob(1);
    if (static_cast<uint64_t>(st.Int(0)) != pruned_.size() + leaves.size() || leaf.size() != 32) {
      return common::DataLossError("ledger records are not contiguous at seq " +
                                   std::to_string(pruned_.size() + leaves.size()) +
                                   "; run verify");
    }
    Hash h;
    std::memcpy(h.data(), leaf.data(), 32);
    leaves.push_back(h);
  }
  return leaves;
}

common::StatusOr<Hash> LedgerReader::Root(uint64_t tree_size) const {
  ASSIGN_OR_RETURN(auto leaves, LoadLeaves());
  return TreeView(pruned_, leaves).Root(tree_size);
}

common::StatusOr<std::vector<Hash>> LedgerReader::InclusionProof(uint64_t seq,
                                                                 uint64_t tree_size) const {
  ASSIGN_OR_RETURN(auto leaves, LoadLeaves());
  return TreeView(pruned_, leaves).InclusionProof(seq, tree_size);
}

common::StatusOr<std::vector<Hash>> LedgerReader::ConsistencyProof(uint64_t old_size,
                                                                   uint64_t new_size) const {
  ASSIGN_OR_RETURN(auto leaves, LoadLeaves());
  return TreeView(pruned_, leaves).ConsistencyProof(old_size, new_size);
}

common::StatusOr<VerifyReport> LedgerReader::Verify(const VerifyOptions& options) const {
  internal::VerifyInput in;
  in.origin = origin_;
  in.stored_key = stored_key_;
  in.pruned = pruned_;
  ASSIGN_OR_RETURN(in.heads, Heads());
  internal::StreamVerifier v(std::move(in), options);
  ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT seq, body, leaf FROM records ORDER BY seq"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    std::string_view leaf = st.Blob(2);
    Hash stored{};
    bool have_leaf = leaf.size() == 32;
    if (have_leaf) std::memcpy(stored.data(), leaf.data(), 32);
    if (!v.Add(static_cast<uint64_t>(st.Int(0)), st.Blob(1), have_leaf ? &stored : nullptr)) {
      break;
    }
  }
  return v.Finish();
}

}  // namespace audit
