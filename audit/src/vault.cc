#include "audit/vault.h"

#include <openssl/sha.h>

#include "common/sha256.h"
#include "crypto.h"
#include "db.h"
#include "file_util.h"

namespace audit {

using internal::Db;
using internal::Stmt;

namespace {

// The associated data binding a sealed blob to its place: a change of
// conversation, request, kind or id makes decryption fail.
std::string ContentHeader(std::string_view content_id, std::string_view conversation_id,
                          std::string_view request_id, ContentKind kind) {
  std::string h = "assistant-vault/v1";
  auto put = [&](std::string_view s) {
    h += '\n';
    h += std::to_string(s.size());
    h += ':';
    h.append(s);
  };
  put(content_id);
  put(conversation_id);
  put(request_id);
  put(std::to_string(static_cast<int>(kind)));
  return h;
}

std::string WrapAad(std::string_view conversation_id) {
  return "assistant-vault/v1 dek\n" + std::string(conversation_id);
}

common::Status Shredded(const std::string& id) {
  return common::Status(common::StatusCode::kFailedPrecondition,
                        "conversation " + id + " was shredded: its data key no longer exists",
                        "SHREDDED");
}

}  // namespace

ContentVault::ContentVault(VaultOptions options, common::SecretBytes wrap_key,
                           std::unique_ptr<Db> vault_db, std::unique_ptr<Db> keys_db)
    : options_(std::move(options)),
      wrap_key_(std::move(wrap_key)),
      vault_(std::move(vault_db)),
      keys_(std::move(keys_db)) {}

ContentVault::~ContentVault() = default;

common::StatusOr<std::unique_ptr<ContentVault>> ContentVault::Open(const MasterKey& master_key,
                                                                   VaultOptions options) {
  if (!options.clock) options.clock = SystemClock();
  RETURN_IF_ERROR(internal::MakeDirs(options.dir, 0700));
  ASSIGN_OR_RETURN(common::SecretBytes vault_key, master_key.Derive("vault-db"));
  ASSIGN_OR_RETURN(common::SecretBytes keys_key, master_key.Derive("keystore-db"));
  ASSIGN_OR_RETURN(common::SecretBytes wrap_key, master_key.Derive("dek-wrap"));
  ASSIGN_OR_RETURN(auto vault, Db::Open(options.dir + "/vault.db", vault_key, Db::Mode::kCreate));
  ASSIGN_OR_RETURN(auto keys, Db::Open(options.dir + "/keys.db", keys_key, Db::Mode::kCreate));
  RETURN_IF_ERROR(vault->Exec(
      "CREATE TABLE IF NOT EXISTS conversations(id TEXT PRIMARY KEY, classification TEXT NOT NULL,"
      " created_us INTEGER NOT NULL, expires_us INTEGER NOT NULL, legal_hold INTEGER NOT NULL"
      " DEFAULT 0, shredded_us INTEGER, shred_seq INTEGER);"
      "CREATE INDEX IF NOT EXISTS conversations_expiry ON conversations(expires_us);"
      "CREATE TABLE IF NOT EXISTS content(content_id TEXT PRIMARY KEY, conversation_id TEXT NOT"
      " NULL, request_id TEXT NOT NULL, kind INTEGER NOT NULL, created_us INTEGER NOT NULL,"
      " sealed BLOB NOT NULL);"
      "CREATE INDEX IF NOT EXISTS content_conversation ON content(conversation_id);"));
  RETURN_IF_ERROR(keys->Exec(
      "CREATE TABLE IF NOT EXISTS deks(conversation_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL,"
      " master_id TEXT NOT NULL);"));
  return std::unique_ptr<ContentVault>(
      new ContentVault(std::move(options), std::move(wrap_key), std::move(vault), std::move(keys)));
}

common::Status ContentVault::CreateConversation(const std::string& id,
                                                const std::string& classification,
                                                int64_t expires_us) {
  if (id.empty() || id.size() > 256) return common::InvalidArgumentError("bad conversation id");
  std::lock_guard<std::mutex> lk(mu_);
  {
    ASSIGN_OR_RETURN(Stmt q, vault_->Prepare("SELECT shredded_us FROM conversations WHERE id = ?"));
    q.BindText(1, id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) return q.IsNull(0) ? common::OkStatus() : Shredded(id);
  }
  ASSIGN_OR_RETURN(common::SecretBytes dek, internal::RandomSecret(32));
  ASSIGN_OR_RETURN(std::string wrapped,
                   internal::AesGcmSeal(wrap_key_, WrapAad(id),
                                        std::string_view(reinterpret_cast<const char*>(
                                                             dek.InsecureData()),
                                                         dek.size())));
  // The key first: content without a key is useless, a key without a
  // conversation row is harmless and is replaced on retry.
  ASSIGN_OR_RETURN(Stmt k, keys_->Prepare(
                               "INSERT OR REPLACE INTO deks(conversation_id, wrapped, master_id)"
                               " VALUES(?, ?, '')"));
  RETURN_IF_ERROR(k.BindText(1, id).Bind(2, wrapped).Run());
  ASSIGN_OR_RETURN(Stmt c, vault_->Prepare(
                               "INSERT INTO conversations(id, classification, created_us,"
                               " expires_us) VALUES(?, ?, ?, ?)"));
  return c.BindText(1, id)
      .BindText(2, classification)
      .Bind(3, options_.clock->NowMicros())
      .Bind(4, expires_us)
      .Run();
}

common::StatusOr<common::SecretBytes> ContentVault::DataKey(const std::string& id) const {
  ASSIGN_OR_RETURN(Stmt k, keys_->Prepare("SELECT wrapped FROM deks WHERE conversation_id = ?"));
  k.BindText(1, id);
  ASSIGN_OR_RETURN(bool row, k.Step());
  if (!row) return Shredded(id);
  return internal::AesGcmOpen(wrap_key_, WrapAad(id), k.Blob(0));
}

common::StatusOr<SealedContent> ContentVault::Seal(const std::string& conversation_id,
                                                   const std::string& request_id,
                                                   ContentKind kind, std::string_view plaintext) {
  std::lock_guard<std::mutex> lk(mu_);
  {
    ASSIGN_OR_RETURN(Stmt q, vault_->Prepare("SELECT shredded_us FROM conversations WHERE id = ?"));
    q.BindText(1, conversation_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return common::NotFoundError("no conversation " + conversation_id);
    if (!q.IsNull(0)) return Shredded(conversation_id);
  }
  ASSIGN_OR_RETURN(common::SecretBytes dek, DataKey(conversation_id));
  uint8_t id_raw[16];
  RETURN_IF_ERROR(internal::RandomBytes(id_raw, sizeof(id_raw)));
  SealedContent out;
  out.content_id = common::HexEncode(id_raw, sizeof(id_raw));
  out.plaintext_bytes = plaintext.size();
  ASSIGN_OR_RETURN(std::string sealed,
                   internal::AesGcmSeal(dek, ContentHeader(out.content_id, conversation_id,
                                                           request_id, kind),
                                        plaintext));
  uint8_t digest[32];
  SHA256(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size(), digest);
  out.sha256 = common::HexEncode(digest, 32);
  ASSIGN_OR_RETURN(Stmt ins, vault_->Prepare(
                                 "INSERT INTO content(content_id, conversation_id, request_id,"
                                 " kind, created_us, sealed) VALUES(?, ?, ?, ?, ?, ?)"));
  RETURN_IF_ERROR(ins.BindText(1, out.content_id)
                      .BindText(2, conversation_id)
                      .BindText(3, request_id)
                      .Bind(4, static_cast<int64_t>(kind))
                      .Bind(5, options_.clock->NowMicros())
                      .Bind(6, sealed)
                      .Run());
  return out;
}

common::StatusOr<common::SecretBytes> ContentVault::OpenContent(
    const std::string& content_id) const {
  std::lock_guard<std::mutex> lk(mu_);
  ASSIGN_OR_RETURN(Stmt q, vault_->Prepare(
                               "SELECT conversation_id, request_id, kind, sealed FROM content"
                               " WHERE content_id = ?"));
  q.BindText(1, content_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return common::NotFoundError("no content " + content_id);
  std::string conversation(q.Blob(0)), request(q.Blob(1));
  auto kind = static_cast<ContentKind>(q.Int(2));
  ASSIGN_OR_RETURN(common::SecretBytes dek, DataKey(conversation));
  return internal::AesGcmOpen(dek, ContentHeader(content_id, conversation, request, kind),
                              q.Blob(3));
}

common::StatusOr<ConversationInfo> ContentVault::GetConversation(const std::string& id) const {
  std::lock_guard<std::mutex> lk(mu_);
  ASSIGN_OR_RETURN(Stmt q, vault_->Prepare(
                               "SELECT classification, created_us, expires_us, legal_hold,"
                               " shredded_us FROM conversations WHERE id = ?"));
  q.BindText(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return common::NotFoundError("no conversation " + id);
  ConversationInfo c;
  c.id = id;
  c.classification = std::string(q.Blob(0));
  c.created_us = q.Int(1);
  c.expires_us = q.Int(2);
  c.legal_hold = q.Int(3) != 0;
  if (!q.IsNull(4)) c.shredded_us = q.Int(4);
  return c;
}

common::Status ContentVault::SetLegalHold(const std::string& id, bool hold) {
  std::lock_guard<std::mutex> lk(mu_);
  ASSIGN_OR_RETURN(Stmt u, vault_->Prepare("UPDATE conversations SET legal_hold = ? WHERE id = ?"));
  RETURN_IF_ERROR(u.Bind(1, hold ? 1 : 0).BindText(2, id).Run());
  if (vault_->LastChanges() == 0) return common::NotFoundError("no conversation " + id);
  return common::OkStatus();
}

common::Status ContentVault::Shred(const std::string& id) {
  std::lock_guard<std::mutex> lk(mu_);
  ASSIGN_OR_RETURN(Stmt q, vault_->Prepare("SELECT legal_hold FROM conversations WHERE id = ?"));
  q.BindText(1, id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return common::NotFoundError("no conversation " + id);
  if (q.Int(0) != 0) {
    return common::Status(common::StatusCode::kFailedPrecondition,
                          "conversation " + id + " is under legal hold", "LEGAL_HOLD");
  }
  q.Reset();
  // 1. The key: deleted with secure_delete (the freed cell is zeroed), then
  //    the WAL is checkpointed and truncated so no older page image remains.
  ASSIGN_OR_RETURN(Stmt del_key, keys_->Prepare("DELETE FROM deks WHERE conversation_id = ?"));
  RETURN_IF_ERROR(del_key.BindText(1, id).Run());
  RETURN_IF_ERROR(keys_->Exec("PRAGMA wal_checkpoint(TRUNCATE);"));
  // 2. The content and the conversation's state.
  RETURN_IF_ERROR(vault_->Exec("BEGIN IMMEDIATE"));
  common::Status st;
  {
    auto del = vault_->Prepare("DELETE FROM content WHERE conversation_id = ?");
    st = del.ok() ? del->BindText(1, id).Run() : del.status();
  }
  if (st.ok()) {
    auto upd = vault_->Prepare(
        "UPDATE conversations SET shredded_us = ? WHERE id = ? AND shredded_us IS NULL");
    st = upd.ok() ? upd->Bind(1, options_.clock->NowMicros()).BindText(2, id).Run()
                  : upd.status();
  }
  if (st.ok()) st = vault_->Exec("COMMIT");
  if (!st.ok()) {
    (void)vault_->Exec("ROLLBACK");
    return st;
  }
  return vault_->Exec("PRAGMA wal_checkpoint(TRUNCATE);");
}

common::StatusOr<std::vector<ConversationInfo>> ContentVault::Expired(int64_t now_us) const {
  std::lock_guard<std::mutex> lk(mu_);
  ASSIGN_OR_RETURN(Stmt q, vault_->Prepare(
                               "SELECT id, classification, created_us, expires_us FROM"
                               " conversations WHERE expires_us <= ? AND legal_hold = 0 AND"
                               " shredded_us IS NULL ORDER BY expires_us"));
  q.Bind(1, now_us);
  std::vector<ConversationInfo> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ConversationInfo c;
    c.id = std::string(q.Blob(0));
    c.classification = std::string(q.Blob(1));
    c.created_us = q.Int(2);
    c.expires_us = q.Int(3);
    out.push_back(std::move(c));
  }
  return out;
}

common::StatusOr<std::vector<std::string>> ContentVault::UnrecordedShreds() const {
  std::lock_guard<std::mutex> lk(mu_);
  ASSIGN_OR_RETURN(Stmt q, vault_->Prepare(
                               "SELECT id FROM conversations WHERE shredded_us IS NOT NULL AND"
                               " shred_seq IS NULL ORDER BY shredded_us"));
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.emplace_back(q.Blob(0));
  }
  return out;
}

common::Status ContentVault::MarkShredRecorded(const std::string& id, uint64_t ledger_seq) {
  std::lock_guard<std::mutex> lk(mu_);
  ASSIGN_OR_RETURN(Stmt u, vault_->Prepare("UPDATE conversations SET shred_seq = ? WHERE id = ?"));
  return u.Bind(1, static_cast<int64_t>(ledger_seq)).BindText(2, id).Run();
}

common::Status ContentVault::Rotate(const MasterKey& new_master_key) {
  std::lock_guard<std::mutex> lk(mu_);
  ASSIGN_OR_RETURN(common::SecretBytes new_wrap, new_master_key.Derive("dek-wrap"));
  ASSIGN_OR_RETURN(common::SecretBytes new_vault_key, new_master_key.Derive("vault-db"));
  ASSIGN_OR_RETURN(common::SecretBytes new_keys_key, new_master_key.Derive("keystore-db"));
  RETURN_IF_ERROR(keys_->Exec("BEGIN IMMEDIATE"));
  common::Status st = [&]() -> common::Status {
    ASSIGN_OR_RETURN(Stmt q, keys_->Prepare("SELECT conversation_id, wrapped FROM deks"));
    std::vector<std::pair<std::string, std::string>> rewrapped;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      std::string id(q.Blob(0));
      ASSIGN_OR_RETURN(common::SecretBytes dek, internal::AesGcmOpen(wrap_key_, WrapAad(id), q.Blob(1)));
      ASSIGN_OR_RETURN(std::string w, internal::AesGcmSeal(
                                          new_wrap, WrapAad(id),
                                          std::string_view(reinterpret_cast<const char*>(
                                                               dek.InsecureData()),
                                                           dek.size())));
      rewrapped.emplace_back(std::move(id), std::move(w));
    }
    ASSIGN_OR_RETURN(Stmt u, keys_->Prepare(
                                 "UPDATE deks SET wrapped = ?, master_id = ? WHERE conversation_id = ?"));
    for (auto& [id, w] : rewrapped) {
      RETURN_IF_ERROR(u.Bind(1, w).BindText(2, new_master_key.id()).BindText(3, id).Run());
    }
    return keys_->Exec("COMMIT");
  }();
  if (!st.ok()) {
    (void)keys_->Exec("ROLLBACK");
    return st;
  }
  RETURN_IF_ERROR(keys_->Exec("PRAGMA wal_checkpoint(TRUNCATE);"));
  RETURN_IF_ERROR(keys_->Rekey(new_keys_key));
  RETURN_IF_ERROR(vault_->Rekey(new_vault_key));
  wrap_key_ = std::move(new_wrap);
  return common::OkStatus();
}

}  // namespace audit
