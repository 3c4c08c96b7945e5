// The content vault: prompts and responses sealed with AES-256-GCM under a
// data key per conversation, the record header as associated data.
//
// Two SQLCipher databases in the state directory:
//   vault.db  conversations (retention, legal hold) and sealed content;
//   keys.db   the data keys, each wrapped (AES-256-GCM) by a key derived from
//             the master key. Data keys never reach the disk unwrapped.
// Shredding a conversation deletes its wrapped data key from keys.db with
// secure_delete on and truncates keys.db's WAL, then deletes its sealed
// content. A copy of vault.db (or its WAL, or ledger.db) taken at any time
// before the shred holds only ciphertext whose key no longer exists anywhere:
// keys.db is the one file that must be kept out of long-lived backups (see
// docs/audit.md, "What shredding guarantees").
#ifndef AUDIT_VAULT_H_
#define AUDIT_VAULT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/clock.h"
#include "audit/keys.h"
#include "common/secret.h"
#include "common/status.h"

namespace audit {

namespace internal {
class Db;
}

enum class ContentKind : uint8_t { kPrompt = 1, kResponse = 2 };

struct ConversationInfo {
  std::string id;
  std::string classification;
  int64_t created_us = 0;
  int64_t expires_us = 0;   // content retention ends here
  bool legal_hold = false;
  std::optional<int64_t> shredded_us;
};

// What the ledger records about sealed content: never the content itself.
struct SealedContent {
  std::string content_id;   // 32 hex digits, random
  std::string sha256;       // hex SHA-256 of the sealed blob (nonce || ciphertext || tag)
  size_t plaintext_bytes = 0;
};

struct VaultOptions {
  std::string dir;                 // holds vault.db and keys.db
  std::shared_ptr<Clock> clock;    // default: SystemClock()
};

class ContentVault {
 public:
  static common::StatusOr<std::unique_ptr<ContentVault>> Open(const MasterKey& master_key,
                                                              VaultOptions options);
  ~ContentVault();

  // Creates the conversation and its data key; a second call for the same id
  // is a no-op (ALREADY_EXISTS is not an error here). A shredded conversation
  // cannot be reused: FAILED_PRECONDITION (reason SHREDDED).
  common::Status CreateConversation(const std::string& id, const std::string& classification,
                                    int64_t expires_us);
  common::StatusOr<SealedContent> Seal(const std::string& conversation_id,
                                       const std::string& request_id, ContentKind kind,
                                       std::string_view plaintext);
  // The plaintext, in zeroing memory. NOT_FOUND when the content is gone;
  // FAILED_PRECONDITION (reason SHREDDED) when its data key was destroyed.
  common::StatusOr<common::SecretBytes> OpenContent(const std::string& content_id) const;

  common::StatusOr<ConversationInfo> GetConversation(const std::string& id) const;
  common::Status SetLegalHold(const std::string& id, bool hold);
  // Destroys the data key, then the content. FAILED_PRECONDITION (reason
  // LEGAL_HOLD) when the conversation is held. Idempotent.
  common::Status Shred(const std::string& id);
  // Conversations whose retention ended at `now_us`, not held, not shredded.
  common::StatusOr<std::vector<ConversationInfo>> Expired(int64_t now_us) const;
  // Shredded conversations whose shred is not yet recorded in the ledger.
  common::StatusOr<std::vector<std::string>> UnrecordedShreds() const;
  common::Status MarkShredRecorded(const std::string& id, uint64_t ledger_seq);

  // Re-wraps every data key under `new_master_key` (content is not
  // re-encrypted) and rekeys both databases.
  common::Status Rotate(const MasterKey& new_master_key);

  const std::string& dir() const { return options_.dir; }

 private:
  ContentVault(VaultOptions options, common::SecretBytes wrap_key,
               std::unique_ptr<internal::Db> vault_db, std::unique_ptr<internal::Db> keys_db);
  common::StatusOr<common::SecretBytes> DataKey(const std::string& conversation_id) const;

  // Constant after construction.
  VaultOptions options_;
  // Guarded by mu_.
  mutable std::mutex mu_;
  common::SecretBytes wrap_key_;
  std::unique_ptr<internal::Db> vault_;
  std::unique_ptr<internal::Db> keys_;
};

}  // namespace audit

#endif  // AUDIT_VAULT_H_
