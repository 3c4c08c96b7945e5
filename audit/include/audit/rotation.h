// Master key rotation across the audit component: data keys are re-wrapped
// (content is not re-encrypted), both vault databases and the ledger are
// rekeyed, and the rotation is a ledger event naming the old and new key ids.
// The old key file can be destroyed afterwards: backups of keys.db taken
// before the rotation then no longer open (docs/audit.md).
#ifndef AUDIT_ROTATION_H_
#define AUDIT_ROTATION_H_

#include <string>

#include "audit/keys.h"
#include "audit/ledger.h"
#include "audit/vault.h"
#include "common/status.h"

namespace audit {

common::Status RotateMasterKey(Ledger* ledger, ContentVault* vault, const MasterKey& old_key,
                               const MasterKey& new_key, const std::string& actor);

}  // namespace audit

#endif  // AUDIT_ROTATION_H_
