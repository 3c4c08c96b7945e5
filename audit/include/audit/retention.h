// The retention sweeper: shreds conversations whose content retention ended
// (skipping those under legal hold), serves erasure requests, and prunes
// ledger records past the audit retention. Every destruction is a ledger
// event; a shred whose event could not be written is recorded on the next run.
#ifndef AUDIT_RETENTION_H_
#define AUDIT_RETENTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "audit/clock.h"
#include "audit/ledger.h"
#include "audit/vault.h"
#include "common/status.h"

namespace audit {

struct RetentionOptions {
  // Ledger records older than this are pruned; unset: kept forever.
  std::optional<int64_t> audit_retention_us;
  std::shared_ptr<Clock> clock;  // default: SystemClock()
};

struct SweepReport {
  uint64_t shredded = 0;
  uint64_t held = 0;             // expired but under legal hold
  uint64_t events_recorded = 0;
  uint64_t ledger_records_pruned = 0;
};

class RetentionSweeper {
 public:
  // `ledger` and `vault` must outlive the sweeper.
  RetentionSweeper(Ledger* ledger, ContentVault* vault, RetentionOptions options);

  common::StatusOr<SweepReport> RunOnce();
  // An erasure request for one conversation (e.g. GDPR Art. 17).
  common::Status Erase(const std::string& conversation_id, const std::string& actor);
  common::Status SetLegalHold(const std::string& conversation_id, bool hold,
                              const std::string& actor, const std::string& reason);

 private:
  common::StatusOr<uint64_t> RecordPendingShreds(const std::string& reason);

  Ledger* ledger_;
  ContentVault* vault_;
  RetentionOptions options_;
};

}  // namespace audit

#endif  // AUDIT_RETENTION_H_
