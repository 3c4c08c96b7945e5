// What every service of the gateway shares. Private to appliance/.
#ifndef APPLIANCE_SRC_CORE_H_
#define APPLIANCE_SRC_CORE_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/server_context.h>

#include "appliance/config.h"
#include "appliance/identity.h"
#include "assistant/v1/audit.pb.h"
#include "assistant/v1/common.pb.h"
#include "audit/keys.h"
#include "audit/ledger.h"
#include "audit/record.h"
#include "audit/vault.h"
#include "common/json.h"
#include "metrics.h"
#include "policy/holder.h"
#include "policy/rate_limiter.h"
#include "worker_pool.h"

namespace appliance {

// Structured JSON log lines on stderr. Never content: ids, counts, reasons.
void LogEvent(std::string_view level, std::string_view msg, common::Json fields = {});

// A conversation as the gateway indexes it: no content, only ids of the
// sealed content in the vault.
struct ConversationEntry {
  std::string id;
  std::string owner;
  std::string classification;
  std::string model;
  int64_t created_s = 0;
  int64_t updated_s = 0;
  bool stored = false;          // content sealed in the vault
  int64_t content_seconds = 0;  // retention
  int64_t audit_seconds = 0;
  // (role, content id) per message, in order.
  std::vector<std::pair<std::string, std::string>> messages;
};

// Persisted as JSON (ids, owners, times; no content): a snapshot in
// STATE/conversations.json and a journal of later changes, one JSON line per
// put or remove, in STATE/conversations.json.journal (appended and
// fdatasync'd: O(1) per chat, not a rewrite of every conversation). The
// journal is folded into the snapshot at load and when it grows long.
class ConversationIndex {
 public:
  ~ConversationIndex();
  common::Status Load(const std::string& path);
  std::optional<ConversationEntry> Get(const std::string& id) const;
  std::vector<ConversationEntry> ForOwner(const std::string& owner) const;
  std::vector<ConversationEntry> All() const;
  common::Status Put(const ConversationEntry& entry);
  common::Status Remove(const std::string& id);

 private:
  common::Status SaveLocked() const;
  common::Status JournalLocked(const common::Json& line);
  common::Status CompactLocked();
  std::string path_;
  mutable std::mutex mu_;
  std::map<std::string, ConversationEntry> entries_;  // guarded by mu_
  int journal_fd_ = -1;                               // guarded by mu_
  size_t journal_lines_ = 0;                          // guarded by mu_
};

// Legal holds placed through the Admin API, persisted as JSON in
// STATE/legal-holds.json (ids, scopes, reasons, who and when; no content).
// Holds declared in the policy file (legal_holds:) are not stored here.
struct HoldEntry {
  std::string id;
  std::string user_id;          // scope: every conversation of this user...
  std::string conversation_id;  // ...or this one conversation
  std::string reason;
  std::string placed_by;
  int64_t placed_s = 0;
};

class LegalHoldStore {
 public:
  common::Status Load(const std::string& path);
  std::vector<HoldEntry> List() const;
  common::Status Add(const HoldEntry& hold);
  // The removed hold; NOT_FOUND if there is none with that id.
  common::StatusOr<HoldEntry> Remove(const std::string& id);
  // Does any stored hold cover this user's conversation?
  bool Covers(const std::string& user_id, const std::string& conversation_id) const;

 private:
  common::Status SaveLocked() const;
  std::string path_;
  mutable std::mutex mu_;
  std::vector<HoldEntry> holds_;  // guarded by mu_
};

struct Core {
  // Constant after Start.
  GatewayConfig config;
  std::string version;
  Clock clock;
  int64_t started_s = 0;
  std::string policy_path;
  std::optional<audit::MasterKey> master_key;
  std::string ledger_path;
  std::unique_ptr<UserDirectory> users;
  std::unique_ptr<JwtVerifier> jwt;
  std::unique_ptr<TokenStore> tokens;
  std::unique_ptr<policy::PolicyHolder> policy;
  std::unique_ptr<audit::Ledger> ledger;
  std::unique_ptr<audit::ContentVault> vault;
  std::unique_ptr<WorkerPool> workers;
  std::unique_ptr<AuthFailureLimiter> auth_limiter;
  policy::SteadyClock steady_clock;
  std::unique_ptr<policy::RateLimiter> rate_limiter;
  ConversationIndex conversations;
  LegalHoldStore holds;
  Metrics metrics;

  // Policy document bookkeeping (guarded by policy_mu).
  std::mutex policy_mu;
  std::string policy_yaml;
  int64_t policy_applied_s = 0;
  std::string policy_applied_by;

  // Parsed client certificates by their PEM text (bounded; guarded by cert_mu).
  std::mutex cert_mu;
  std::map<std::string, CertificateNames> cert_cache;

  std::atomic<int> active_streams{0};
  std::atomic<bool> draining{false};

  int64_t NowSeconds() const;
  int64_t NowMicros() const;

  // Authenticates the caller (client certificate, bearer token or JWT).
  // Failures are audited (auth_failure) and rate-limited per source.
  common::StatusOr<Identity> Authenticate(grpc::ServerContext* context, std::string_view method);
  // Requires one of `roles`; a refusal is audited as a denial.
  common::Status RequireRole(const Identity& who, std::initializer_list<std::string_view> roles,
                             std::string_view action, grpc::ServerContext* context);

  // Appends to the ledger; UNAVAILABLE (AUDIT_UNAVAILABLE) when it fails.
  common::StatusOr<uint64_t> Append(audit::Record record);
  // A record pre-filled with the caller.
  audit::Record RecordFor(audit::EventType type, const Identity& who,
                          grpc::ServerContext* context) const;
  // Opens a reader on the ledger (for queries, verification, export).
  common::StatusOr<std::unique_ptr<audit::LedgerReader>> Reader() const;

  // Is this conversation of this user under a legal hold (placed through the
  // API or declared in the current policy)?
  bool UnderLegalHold(const std::string& user_id, const std::string& conversation_id) const;
  // Sets the vault's hold flag of a stored conversation to what the holds say
  // (held while any hold covers it). A conversation not in the vault is fine.
  common::Status SyncLegalHold(const ConversationEntry& conversation);
};

// Converts a ledger record to its public form.
void RecordToProto(const audit::Record& record, assistant::v1::AuditRecord* out);

}  // namespace appliance

#endif  // APPLIANCE_SRC_CORE_H_
