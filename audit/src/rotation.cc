#include "audit/rotation.h"

namespace audit {

common::Status RotateMasterKey(Ledger* ledger, ContentVault* vault, const MasterKey& old_key,
                               const MasterKey& new_key, const std::string& actor) {
  if (old_key.id() == new_key.id()) {
    return common::InvalidArgumentError("the new master key is the current one");
  }
  // Record the intent first: if rotation fails half way, the ledger says so.
  Record start;
  start.event = EventType::kKeyRotation;
  start.subject = actor;
  start.decision = "begin";
  start.details = "master key " + old_key.id() + " -> " + new_key.id();
  RETURN_IF_ERROR(ledger->Append(start).status());
  if (vault != nullptr) RETURN_IF_ERROR(vault->Rotate(new_key));
  RETURN_IF_ERROR(ledger->Rekey(new_key));
  Record done = start;
  done.decision = "complete";
  return ledger->Append(done).status();
}

}  // namespace audit
