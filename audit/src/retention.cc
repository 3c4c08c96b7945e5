#include "audit/retention.h"

namespace audit {

RetentionSweeper::RetentionSweeper(Ledger* ledger, ContentVault* vault, RetentionOptions options)
    : ledger_(ledger), vault_(vault), options_(std::move(options)) {
  if (!options_.clock) options_.clock = SystemClock();
}

common::StatusOr<uint64_t> RetentionSweeper::RecordPendingShreds(const std::string& reason) {
  ASSIGN_OR_RETURN(auto ids, vault_->UnrecordedShreds());
  uint64_t n = 0;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(ConversationInfo info, vault_->GetConversation(id));
    Record r;
    r.event = EventType::kShred;
    r.decision = "allow";
    r.reasons.push_back(reason);
    r.conversation_id = id;
    r.classification = info.classification;
    r.details = "data key destroyed at " + FormatTime(info.shredded_us.value_or(0)) +
                "; retention ended " + FormatTime(info.expires_us);
    ASSIGN_OR_RETURN(uint64_t seq, ledger_->Append(std::move(r)));
    RETURN_IF_ERROR(vault_->MarkShredRecorded(id, seq));
    ++n;
  }
  return n;
}

common::StatusOr<SweepReport> RetentionSweeper::RunOnce() {
  SweepReport report;
  const int64_t now = options_.clock->NowMicros();
  // Events left over from a run that could not write them.
  ASSIGN_OR_RETURN(report.events_recorded, RecordPendingShreds("retention_expired"));
  ASSIGN_OR_RETURN(auto expired, vault_->Expired(now));
  for (const ConversationInfo& c : expired) {
    common::Status st = vault_->Shred(c.id);
    if (st.reason() == "LEGAL_HOLD") {
      ++report.held;
      continue;
    }
    RETURN_IF_ERROR(st);
    ++report.shredded;
  }
  ASSIGN_OR_RETURN(uint64_t recorded, RecordPendingShreds("retention_expired"));
  report.events_recorded += recorded;
  if (options_.audit_retention_us) {
    ASSIGN_OR_RETURN(report.ledger_records_pruned,
                     ledger_->PruneBefore(now - *options_.audit_retention_us));
  }
  return report;
}

common::Status RetentionSweeper::Erase(const std::string& conversation_id,
                                       const std::string& actor) {
  RETURN_IF_ERROR(vault_->Shred(conversation_id));
  ASSIGN_OR_RETURN(uint64_t n, RecordPendingShreds("erasure_request by " + actor));
  (void)n;
  return common::OkStatus();
}

common::Status RetentionSweeper::SetLegalHold(const std::string& conversation_id, bool hold,
                                              const std::string& actor,
                                              const std::string& reason) {
  RETURN_IF_ERROR(vault_->SetLegalHold(conversation_id, hold));
  Record r;
  r.event = EventType::kLegalHold;
  r.subject = actor;
  r.decision = hold ? "hold" : "release";
  if (!reason.empty()) r.reasons.push_back(reason);
  r.conversation_id = conversation_id;
  return ledger_->Append(std::move(r)).status();
}

}  // namespace audit
