#include "audit/ledger.h"

#include <algorithm>
#include <ctime>

#include <sqlcipher/sqlite3.h>

#include "common/sha256.h"
#include "crypto.h"
#include "db.h"
#include "ledger_store.h"

namespace audit {

using internal::Db;
using internal::Stmt;

namespace {

class RealClock : public Clock {
 public:
  int64_t NowMicros() override {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  }
};

std::string_view AsBytes(const Hash& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

std::shared_ptr<Clock> SystemClock() { return std::make_shared<RealClock>(); }

struct Ledger::Pending {
  Record record;
  common::Status status;
  uint64_t seq = 0;
  bool done = false;              // guarded by mu_
  std::condition_variable done_cv;  // wakes only this appender
};

Ledger::Ledger(LedgerOptions options, std::unique_ptr<Db> db)
    : options_(std::move(options)), db_(std::move(db)) {}

common::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(const MasterKey& master_key,
                                                       LedgerOptions options) {
  if (!options.signer) return common::InvalidArgumentError("ledger: a signing key is required");
  if (!options.clock) options.clock = SystemClock();
  if (options.max_batch == 0) options.max_batch = 1;
  if (options.head_interval == 0) options.head_interval = 1;
  ASSIGN_OR_RETURN(common::SecretBytes key, master_key.Derive("ledger-db"));
  ASSIGN_OR_RETURN(auto db, Db::Open(options.path, key, Db::Mode::kCreate, options.sqlite_vfs));
  // Schema and metadata in one transaction: a crash leaves all or nothing.
  RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE"));
  RETURN_IF_ERROR(internal::CreateLedgerSchema(*db));
  ASSIGN_OR_RETURN(auto format, internal::GetMeta(*db, "format"));
  if (format) {
    RETURN_IF_ERROR(db->Exec("COMMIT"));
  } else {
    // A new ledger: the origin names it, the public key is pinned in it.
    uint8_t id[8];
    RETURN_IF_ERROR(internal::RandomBytes(id, sizeof(id)));
    std::string origin = options.origin.empty()
                             ? "assistant-audit/" + common::HexEncode(id, sizeof(id))
                             : options.origin;
    RETURN_IF_ERROR(internal::SetMeta(*db, "format", internal::kLedgerFormat));
    RETURN_IF_ERROR(internal::SetMeta(*db, "origin", origin));
    RETURN_IF_ERROR(internal::SetMeta(*db, "public_key", options.signer->public_key().ToVkey()));
    RETURN_IF_ERROR(internal::SetMeta(*db, "pruned_size", "0"));
    RETURN_IF_ERROR(internal::SetMeta(*db, "pruned_frontier", ""));
    RETURN_IF_ERROR(db->Exec("COMMIT"));
  }
  RETURN_IF_ERROR(db->TuneForAppends(uint64_t{16} << 20));
  // The checkpointer's own connection (see ckpt_db_ in ledger.h).
  auto ckpt_db = Db::Open(options.path, key, Db::Mode::kReadWrite, options.sqlite_vfs);
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(options), std::move(db)));
  RETURN_IF_ERROR(ledger->LoadState());
  if (ckpt_db.ok()) {
    ledger->ckpt_db_ = std::move(ckpt_db).value();
    // Replaces SQLite's automatic checkpoint (itself a WAL hook).
    sqlite3_wal_hook(ledger->db_->raw(), &Ledger::OnWalCommit, ledger.get());
    ledger->checkpointer_ = std::thread([l = ledger.get()] { l->CheckpointLoop(); });
  }
  ledger->committer_ = std::thread([l = ledger.get()] { l->Run(); });
  return ledger;
}

// WAL pages after which a checkpoint is due (SQLite's own default).
constexpr int kCheckpointPages = 1000;

// Runs on the committing thread after each commit. A checkpoint in two
// parts: the background connection copies the bulk of the WAL; then the next
// commit copies the few frames written meanwhile itself (a short PASSIVE
// checkpoint), so that the WAL is complete in the database and the commit
// after it starts the WAL from its beginning again. A background checkpoint
// alone would rarely catch up with a busy writer: the WAL would only grow and
// the checkpointer run without pause.
int Ledger::OnWalCommit(void* arg, sqlite3* db, const char*, int wal_pages) {
  auto* l = static_cast<Ledger*>(arg);
  if (wal_pages < kCheckpointPages) {
    // A short WAL: it started again (the background part caught up with
    // the writer by itself), so nothing is left to finish.
    std::lock_guard<std::mutex> lk(l->ckpt_sig_mu_);
    l->ckpt_bulk_done_ = false;
    return SQLITE_OK;
  }
  bool finish_here = false;
  {
    std::lock_guard<std::mutex> lk(l->ckpt_sig_mu_);
    if (l->ckpt_running_) return SQLITE_OK;
    if (l->ckpt_bulk_done_) {
      l->ckpt_bulk_done_ = false;
      finish_here = true;
    } else if (!l->ckpt_wanted_) {
      l->ckpt_wanted_ = true;
      l->ckpt_cv_.notify_one();
    }
  }
  if (finish_here) {
    (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  return SQLITE_OK;
}

void Ledger::CheckpointLoop() {
  std::unique_lock<std::mutex> lk(ckpt_sig_mu_);
  while (true) {
    ckpt_cv_.wait(lk, [&] { return ckpt_stop_ || ckpt_wanted_; });
    if (ckpt_stop_) return;
    ckpt_wanted_ = false;
    ckpt_running_ = true;
    lk.unlock();
    {
      // PASSIVE: copies what it can without waiting for the writer; the
      // writer restarts the WAL from its start once all of it is copied. A
      // failure (e.g. a full disk) leaves the WAL to grow and is retried at
      // the next threshold; the appends themselves are not affected.
      std::lock_guard<std::mutex> db_lk(ckpt_db_mu_);
      if (ckpt_db_) {
        (void)sqlite3_wal_checkpoint_v2(ckpt_db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                        nullptr, nullptr);
      }
    }
    lk.lock();
    ckpt_running_ = false;
    ckpt_bulk_done_ = true;
  }
}

common::Status Ledger::LoadState() {
  ASSIGN_OR_RETURN(internal::LedgerMeta meta, internal::ReadLedgerMeta(*db_));
  if (!(meta.public_key == options_.signer->public_key())) {
    return common::FailedPreconditionError(
        "ledger " + options_.path + " is signed by key " + meta.public_key.name() + "+" +
        meta.public_key.key_id_hex() + "; the given signing key is " +
        options_.signer->public_key().name() + "+" + options_.signer->public_key().key_id_hex());
  }
  origin_ = meta.origin;
  frontier_ = meta.pruned;
  ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT seq, leaf FROM records ORDER BY seq"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    std::string_view leaf = st.Blob(1);
    if (static_cast<uint64_t>(st.Int(0)) != frontier_.size() || leaf.size() != 32) {
      return common::DataLossError("ledger " + options_.path + ": record " +
                                   std::to_string(frontier_.size()) +
                                   " is missing or malformed; run `assistant audit verify`");
    }
    Hash h;
    std::copy(leaf.begin(), leaf.end(), h.begin());
    frontier_.Append(h);
  }
  ASSIGN_OR_RETURN(auto heads, internal::ReadHeads(*db_, meta, "WHERE tree_size = (SELECT max(tree_size) FROM heads)"));
  if (!heads.empty()) {
    const SignedCheckpoint& head = heads.back();
    if (head.checkpoint.tree_size != frontier_.size() || head.checkpoint.root != frontier_.Root()) {
      return common::DataLossError(
          "ledger " + options_.path + ": the latest signed head (size " +
          std::to_string(head.checkpoint.tree_size) + ") does not match the " +
          std::to_string(frontier_.size()) + " stored records; run `assistant audit verify`");
    }
    RETURN_IF_ERROR(head.Verify(meta.public_key));
    latest_head_ = head;
    prev_head_size_ = head.checkpoint.tree_size;
    last_time_us_ = head.checkpoint.time_us;
  } else if (frontier_.size() != meta.pruned.size()) {
    return common::DataLossError("ledger " + options_.path +
                                 ": records without a signed head; run `assistant audit verify`");
  }
  return common::OkStatus();
}

Ledger::~Ledger() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  {
    std::lock_guard<std::mutex> lk(ckpt_sig_mu_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
}

common::StatusOr<uint64_t> Ledger::Append(Record record) {
  Pending p;
  p.record = std::move(record);
  std::unique_lock<std::mutex> lk(mu_);
  if (stop_) return common::UnavailableError("ledger is closing");
  if (!committing_ && queue_.empty()) {
    // Nothing is being written: commit this record here, without handing it
    // to the committer and waiting to be woken (two thread switches, each a
    // run-queue wait on a busy machine). Appends that arrive meanwhile queue
    // for the committer, which takes them as one batch once this is done.
    committing_ = true;
    lk.unlock();
    std::vector<Pending*> batch{&p};
    CommitBatch(batch);
    lk.lock();
    committing_ = false;
    if (!queue_.empty() || stop_) work_cv_.notify_one();
    if (!p.status.ok()) return p.status;
    return p.seq;
  }
  queue_.push_back(&p);
  work_cv_.notify_one();
  p.done_cv.wait(lk, [&] { return p.done; });
  if (!p.status.ok()) return p.status;
  return p.seq;
}

void Ledger::Run() {
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    work_cv_.wait(lk, [&] { return !committing_ && (stop_ || !queue_.empty()); });
    if (queue_.empty()) return;  // stopping and drained
    committing_ = true;
    std::vector<Pending*> batch;
    while (!queue_.empty() && batch.size() < options_.max_batch) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lk.unlock();
    CommitBatch(batch);
    lk.lock();
    committing_ = false;
    for (Pending* p : batch) {
      p->done = true;
      p->done_cv.notify_one();
    }
  }
}

void Ledger::CommitBatch(std::vector<Pending*>& batch) {
  std::lock_guard<std::mutex> db_lk(db_mu_);
  // After an outage, the first successful commit also records the outage.
  std::vector<Record> synthetic;
  if (failing_) {
    Record r;
    r.event = EventType::kAuditFailure;
    r.decision = "refused";
    r.reasons.push_back(failure_.reason().empty() ? std::string(StatusCodeName(failure_.code()))
                                                  : failure_.reason());
    r.details = "appends refused: " + std::to_string(refused_) + "; since " +
                FormatTime(failing_since_us_) + "; first error: " + failure_.message();
    if (r.details.size() > 1024) r.details.resize(1024);
    synthetic.push_back(std::move(r));
  }
  const Frontier saved_frontier = frontier_;
  const int64_t saved_time = last_time_us_;
  common::Status st = CommitLocked(batch, synthetic);
  if (st.ok()) {
    if (failing_) {
      failing_ = false;
      uint64_t refused = refused_;
      refused_ = 0;
      if (options_.on_recovered) options_.on_recovered(refused);
    }
    return;
  }
  (void)db_->Exec("ROLLBACK");
  // Did the commit land anyway (e.g. only its fsync failed)? Then the file
  // holds the batch and its head, and the tree must continue from there.
  bool landed = false;
  if (pending_head_) {
    auto q = db_->Prepare("SELECT count(*) FROM heads WHERE tree_size = ?");
    if (q.ok()) {
      q->Bind(1, static_cast<int64_t>(pending_head_->checkpoint.tree_size));
      auto row = q->Step();
      landed = row.ok() && *row && q->Int(0) == 1;
    }
  }
  if (landed) {
    latest_head_ = pending_head_;
    prev_head_size_ = pending_head_->checkpoint.tree_size;
    last_time_us_ = pending_head_->checkpoint.time_us;
  } else {
    frontier_ = saved_frontier;
    last_time_us_ = saved_time;
  }
  pending_head_.reset();
  for (Pending* p : batch) {
    if (p->status.ok()) {
      p->status = st;
      ++refused_;
    }
  }
  if (!failing_) {
    failing_ = true;
    failure_ = st;
    failing_since_us_ = options_.clock->NowMicros();
    if (options_.on_failure) options_.on_failure(st);
  }
}

common::Status Ledger::CommitLocked(std::vector<Pending*>& batch, std::vector<Record>& synthetic) {
  // Encode first: a record that cannot be encoded fails alone.
  int64_t now = std::max(options_.clock->NowMicros(), last_time_us_);
  uint64_t next = frontier_.size();
  std::vector<std::pair<std::string, Pending*>> rows;
  rows.reserve(batch.size() + synthetic.size());
  auto encode = [&](Record& r, Pending* p) {
    r.seq = next;
    r.time_us = now;
    auto bytes = EncodeRecord(r);
    if (!bytes.ok()) {
      if (p) p->status = bytes.status();
      return;
    }
    if (p) p->seq = next;
    ++next;
    rows.emplace_back(std::move(*bytes), p);
  };
  for (Record& r : synthetic) encode(r, nullptr);
  for (Pending* p : batch) encode(p->record, p);
  if (rows.empty()) return common::OkStatus();

  RETURN_IF_ERROR(db_->ExecCached("BEGIN IMMEDIATE"));
  ASSIGN_OR_RETURN(Stmt * ins, db_->Cached("INSERT INTO records(seq, body, leaf) VALUES(?, ?, ?)"));
  for (auto& [bytes, p] : rows) {
    Hash leaf = LeafHash(bytes);
    ins->Bind(1, static_cast<int64_t>(frontier_.size())).Bind(2, bytes).Bind(3, AsBytes(leaf));
    RETURN_IF_ERROR(ins->Run());
    frontier_.Append(leaf);
  }
  Checkpoint cp{origin_, frontier_.size(), frontier_.Root(), now};
  ASSIGN_OR_RETURN(SignedCheckpoint head, SignCheckpoint(cp, *options_.signer));
  pending_head_ = head;
  RETURN_IF_ERROR(internal::InsertHead(*db_, head, false));
  // Thin the heads: keep the last head of every head_interval records.
  const uint64_t k = options_.head_interval;
  if (latest_head_ && prev_head_size_ / k == cp.tree_size / k) {
    ASSIGN_OR_RETURN(Stmt * del, db_->Cached("DELETE FROM heads WHERE tree_size = ? AND kept = 0"));
    del->Bind(1, static_cast<int64_t>(prev_head_size_));
    RETURN_IF_ERROR(del->Run());
  }
  RETURN_IF_ERROR(db_->ExecCached("COMMIT"));
  pending_head_.reset();
  last_time_us_ = now;
  latest_head_ = head;
  prev_head_size_ = cp.tree_size;
  return common::OkStatus();
}

common::StatusOr<SignedCheckpoint> Ledger::LatestHead() const {
  std::lock_guard<std::mutex> lk(db_mu_);
  if (!latest_head_) return common::NotFoundError("the ledger is empty: no signed head yet");
  return *latest_head_;
}

uint64_t Ledger::size() const {
  std::lock_guard<std::mutex> lk(db_mu_);
  return frontier_.size();
}

const PublicKey& Ledger::public_key() const { return options_.signer->public_key(); }

common::StatusOr<uint64_t> Ledger::PruneBefore(int64_t cutoff_us) {
  uint64_t removed = 0, cut = 0;
  {
    std::lock_guard<std::mutex> lk(db_mu_);
    ASSIGN_OR_RETURN(internal::LedgerMeta meta, internal::ReadLedgerMeta(*db_));
    Frontier f = meta.pruned;
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT seq, body, leaf FROM records ORDER BY seq"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(Record r, DecodeRecord(st.Blob(1)));
      if (r.time_us >= cutoff_us) break;
      Hash leaf = LeafHash(st.Blob(1));
      f.Append(leaf);
    }
    st.Reset();
    cut = f.size();
    if (cut <= meta.pruned.size()) return uint64_t{0};
    removed = cut - meta.pruned.size();
    Checkpoint cp{origin_, cut, f.Root(), options_.clock->NowMicros()};
    ASSIGN_OR_RETURN(SignedCheckpoint head, SignCheckpoint(cp, *options_.signer));
    RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    common::Status s = internal::InsertHead(*db_, head, true);
    if (s.ok()) s = internal::SetMeta(*db_, "pruned_size", std::to_string(cut));
    if (s.ok()) s = internal::SetMeta(*db_, "pruned_frontier", internal::EncodeFrontier(f));
    if (s.ok()) {
      auto del = db_->Prepare("DELETE FROM records WHERE seq < ?");
      s = del.ok() ? del->Bind(1, static_cast<int64_t>(cut)).Run() : del.status();
    }
    if (s.ok()) {
      auto del = db_->Prepare("DELETE FROM heads WHERE tree_size < ?");
      s = del.ok() ? del->Bind(1, static_cast<int64_t>(cut)).Run() : del.status();
    }
    if (s.ok()) s = db_->Exec("COMMIT");
    if (!s.ok()) {
      (void)db_->Exec("ROLLBACK");
      return s;
    }
    (void)db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  Record purge;
  purge.event = EventType::kPurge;
  purge.decision = "allow";
  purge.reasons.push_back("audit_retention");
  purge.details = "ledger records removed: " + std::to_string(removed) + "; first kept seq " +
                  std::to_string(cut) + "; cutoff " + FormatTime(cutoff_us);
  ASSIGN_OR_RETURN(uint64_t seq, Append(std::move(purge)));
  (void)seq;
  return removed;
}

common::Status Ledger::Rekey(const MasterKey& new_master_key) {
  ASSIGN_OR_RETURN(common::SecretBytes key, new_master_key.Derive("ledger-db"));
  std::lock_guard<std::mutex> ckpt_lk(ckpt_db_mu_);
  std::lock_guard<std::mutex> lk(db_mu_);
  const bool background = ckpt_db_ != nullptr;
  ckpt_db_.reset();  // rekeying wants the only connection
  common::Status st = db_->Rekey(key);
  if (background) {
    auto reopened = st.ok() ? Db::Open(options_.path, key, Db::Mode::kReadWrite, options_.sqlite_vfs)
                            : common::StatusOr<std::unique_ptr<Db>>(st);
    if (reopened.ok()) {
      ckpt_db_ = std::move(reopened).value();
    } else {
      // No background connection: SQLite's automatic checkpoint again.
      sqlite3_wal_autocheckpoint(db_->raw(), kCheckpointPages);
    }
  }
  return st;
}

}  // namespace audit
