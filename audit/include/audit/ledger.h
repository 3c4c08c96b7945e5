// The audit ledger: append-only records in a SQLCipher 4 database, committed
// in groups (one transaction and one fsync for many concurrent appends), each
// group sealed by an Ed25519-signed tree head over the RFC 6962 Merkle tree of
// all records so far.
//
// Ledger is the writer (one per database; the gateway owns it); all its
// methods are thread-safe. LedgerReader opens the same database read-only for
// query, verification, proofs and export, also while a writer is running; a
// reader is used by one thread at a time (open one per thread).
#ifndef AUDIT_LEDGER_H_
#define AUDIT_LEDGER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/clock.h"
#include "audit/keys.h"
#include "audit/merkle.h"
#include "audit/record.h"
#include "common/status.h"

struct sqlite3;

namespace audit {

namespace internal {
class Db;
}

struct LedgerOptions {
  std::string path;                        // the ledger database file
  std::shared_ptr<const Signer> signer;    // signs tree heads; required
  std::shared_ptr<Clock> clock;            // default: SystemClock()
  std::string origin;                      // checkpoint origin; default from the log id
  size_t max_batch = 2048;                 // records per group commit at most
  uint64_t head_interval = 1024;           // keep one signed head per this many records
  // Called (from the committing thread: the committer, or an appender that
  // found the ledger idle and committed its record itself) when appends start
  // failing, once per outage, and when they succeed again with the number
  // refused meanwhile.
  std::function<void(const common::Status&)> on_failure;
  std::function<void(uint64_t refused)> on_recovered;
  // Name of a registered SQLite VFS to store through (fault-injection tests);
  // empty: the default VFS.
  std::string sqlite_vfs;
};

class Ledger {
 public:
  // Opens or creates the ledger. Refuses (FAILED_PRECONDITION) a signer whose
  // key is not the one the ledger was created with, and (DATA_LOSS) a ledger
  // whose records and latest signed head disagree: run verify.
  static common::StatusOr<std::unique_ptr<Ledger>> Open(const MasterKey& master_key,
                                                        LedgerOptions options);
  ~Ledger();  // drains pending appends, then stops the committer
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Assigns seq and time, and returns only once the record and a signed head
  // covering it are durable (fsync'd). On any failure (disk full, I/O error)
  // returns the error: fail closed. (When only the final fsync failed, the
  // record may still be in the file; a refused append may appear in the
  // ledger, an acknowledged one is never missing.)
  common::StatusOr<uint64_t> Append(Record record);

  // The signed head over every acknowledged record.
  common::StatusOr<SignedCheckpoint> LatestHead() const;
  uint64_t size() const;
  const PublicKey& public_key() const;
  const std::string& origin() const { return origin_; }
  const std::string& path() const { return options_.path; }

  // Deletes records older than `cutoff_us` (audit retention), keeping the
  // tree verifiable: the frontier of the removed prefix is kept and a signed
  // head at the cut is stored. Appends a purge event; returns the count.
  common::StatusOr<uint64_t> PruneBefore(int64_t cutoff_us);

  // Re-encrypts the database under a key derived from `new_master_key`.
  common::Status Rekey(const MasterKey& new_master_key);

 private:
  struct Pending;
  Ledger(LedgerOptions options, std::unique_ptr<internal::Db> db);
  common::Status LoadState();
  void Run();
  void CheckpointLoop();
  static int OnWalCommit(void* ledger, sqlite3* db, const char* name, int wal_pages);
  void CommitBatch(std::vector<Pending*>& batch);
  common::Status CommitLocked(std::vector<Pending*>& batch, std::vector<Record>& synthetic);

  // Constant after construction.
  LedgerOptions options_;
  std::string origin_;

  // Guarded by db_mu_ (the committer holds it while writing).
  mutable std::mutex db_mu_;
  std::unique_ptr<internal::Db> db_;
  Frontier frontier_;
  int64_t last_time_us_ = 0;
  std::optional<SignedCheckpoint> latest_head_;
  std::optional<SignedCheckpoint> pending_head_;  // of the batch being committed
  uint64_t prev_head_size_ = 0;
  bool failing_ = false;
  common::Status failure_;
  uint64_t refused_ = 0;
  int64_t failing_since_us_ = 0;

  // Guarded by mu_: the queue between Append() and the committer.
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Pending*> queue_;
  bool stop_ = false;
  bool committing_ = false;  // a batch (the committer's or an inline one) is being written

  std::thread committer_;

  // The WAL checkpointer: a second connection copies the WAL into the
  // database file in the background, so that no append waits for a
  // checkpoint (SQLite's automatic checkpoint would run inside the commit
  // that crosses the threshold). Absent if that connection could not open:
  // then SQLite's automatic checkpoint stays on.
  std::mutex ckpt_db_mu_;  // held while checkpointing and while rekeying
  std::unique_ptr<internal::Db> ckpt_db_;
  std::mutex ckpt_sig_mu_;  // never held across I/O: the commit path signals through it
  std::condition_variable ckpt_cv_;
  bool ckpt_wanted_ = false;     // the background part is due
  bool ckpt_running_ = false;    // ... and running
  bool ckpt_bulk_done_ = false;  // ... and done: the next commit finishes the checkpoint
  bool ckpt_stop_ = false;
  std::thread checkpointer_;
};

// ---- Reading, querying, proving, verifying ----

struct QueryFilter {
  std::optional<int64_t> since_us;  // inclusive
  std::optional<int64_t> until_us;  // exclusive
  std::optional<std::string> subject;
  std::optional<EventType> event;
  std::optional<std::string> decision;
  std::optional<std::string> classification;
  std::optional<std::string> conversation_id;
  uint64_t limit = 0;  // 0: no limit

  bool Matches(const Record& r) const;
  bool empty() const;
};

enum class FindingKind {
  kModified,      // a record's bytes changed
  kMissing,       // a record was removed
  kReordered,     // records swapped or moved
  kInserted,      // a record not covered by any signed head
  kTruncated,     // the tail is gone (a signed head covers more than is stored)
  kRolledBack,    // an external checkpoint covers more than is stored
  kForked,        // the history differs from an external checkpoint
  kBadSignature,  // a stored head or checkpoint does not verify
  kKeyReplaced,   // heads are signed by a key other than the trusted one
};
std::string_view FindingKindName(FindingKind kind);

struct Finding {
  FindingKind kind;
  uint64_t seq = 0;       // the first affected record
  uint64_t seq_end = 0;   // when only a range is known: [seq, seq_end]
  std::string message;
};

struct VerifyOptions {
  // The trusted signing key; without it (and without checkpoints) the key
  // stored in the ledger is trusted on first use and the report says so.
  std::optional<PublicKey> trusted_key;
  // Checkpoints kept off the machine (detect rollback and truncation).
  std::vector<SignedCheckpoint> checkpoints;
};

struct VerifyReport {
  uint64_t first_seq = 0;         // records before it were pruned
  uint64_t records_checked = 0;
  uint64_t tree_size = 0;
  Hash root{};
  uint64_t heads_checked = 0;
  uint64_t checkpoints_checked = 0;
  bool key_pinned = false;
  std::vector<Finding> findings;  // sorted: the first problem first
  std::vector<std::string> notes;
  double seconds = 0;

  bool ok() const { return findings.empty(); }
  std::string Summary() const;
};

class LedgerReader {
 public:
  // Opens read-only. Wrong key -> PERMISSION_DENIED (reason WRONG_KEY); a file
  // that is no encrypted database -> INVALID_ARGUMENT (NOT_A_DATABASE).
  static common::StatusOr<std::unique_ptr<LedgerReader>> Open(const std::string& path,
                                                              const MasterKey& master_key);
  ~LedgerReader();

  const std::string& origin() const { return origin_; }
  const PublicKey& stored_public_key() const { return stored_key_; }
  uint64_t pruned_size() const { return pruned_.size(); }

  // Records in seq order that match; the callback may stop early by
  // returning false. Undecodable records are reported as DATA_LOSS.
  common::Status Query(const QueryFilter& filter,
                       const std::function<bool(const Record&)>& sink) const;
  common::StatusOr<Record> Get(uint64_t seq) const;
  common::StatusOr<uint64_t> Size() const;

  common::StatusOr<std::vector<SignedCheckpoint>> Heads() const;  // ascending
  common::StatusOr<SignedCheckpoint> LatestHead() const;

  common::StatusOr<Hash> Root(uint64_t tree_size) const;
  common::StatusOr<std::vector<Hash>> InclusionProof(uint64_t seq, uint64_t tree_size) const;
  common::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size,
                                                       uint64_t new_size) const;

  // Recomputes every leaf from the stored record bytes and checks order,
  // signed heads, and the given checkpoints. Tampering is reported in the
  // report's findings; the Status is an error only when the database cannot
  // be read at all.
  common::StatusOr<VerifyReport> Verify(const VerifyOptions& options) const;

  // Runs `fn` inside one read transaction, so every read in it sees the same
  // snapshot while a writer keeps appending (Verify does this itself).
  common::Status WithSnapshot(const std::function<common::Status()>& fn) const;

  // Raw access for export: (seq, canonical bytes) in order.
  common::Status ForEachRaw(
      const std::function<bool(uint64_t seq, std::string_view body)>& sink) const;
  const Frontier& pruned_frontier() const { return pruned_; }

 private:
  explicit LedgerReader(std::unique_ptr<internal::Db> db);
  common::StatusOr<std::vector<Hash>> LoadLeaves() const;
  common::StatusOr<VerifyReport> VerifySnapshot(const VerifyOptions& options) const;

  std::unique_ptr<internal::Db> db_;
  std::string origin_;
  PublicKey stored_key_;
  Frontier pruned_;
};

}  // namespace audit

#endif  // AUDIT_LEDGER_H_
