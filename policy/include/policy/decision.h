// Deciding one request: allow or deny, every reason, and the obligations.
//
//   RequestContext ctx{...};
//   policy::Decision d = policy::Decide(*policy, ctx, &conversation_pseudonyms);
//   if (!d.allow) { audit(d.reasons, d.audit_prompt); refuse(d.FirstDenyReason()); }
//   send d.model_prompt to the model; show d.restore.Restore(answer) to the user.
//
// Decide is pure (no I/O, no clocks, no shared state but what the caller
// passes) and runs a chain of small filters: network, classification and
// role, model pinning and provenance, limits, sensitive-data detectors,
// retention. Deny wins; every reason is reported; an internal error denies.
//
// Privacy: Decision holds prompt text (redacted copies) and, in `restore`,
// the original values of what was redacted before the model. None of these
// types has an operator<<; `Describe()` prints ids, types, spans and counts
// only.
#ifndef POLICY_DECISION_H_
#define POLICY_DECISION_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/policy.h"

namespace policy {

struct RequestContext {
  std::string user_id;
  std::vector<std::string> roles;
  // "10.1.2.3", "2001:db8::1", "::ffff:10.1.2.3", gRPC peers "ipv4:10.1.2.3:5000",
  // "ipv6:[::1]:5000", or "unix:..." / "unix" for the local socket.
  std::string client_address;
  std::string classification;  // empty: the policy's default
  std::string model_name;
  std::string model_sha256;  // hex of the model file actually loaded
  std::map<std::string, std::string> model_labels;  // provenance of the loaded model
  std::string_view prompt;   // not owned; must outlive Decide()
  std::string conversation_id;
  std::optional<int64_t> prompt_tokens;  // unset: estimated as ceil(bytes / 4)
  int64_t max_output_tokens = 0;         // 0: not specified
};

enum class Effect { kAllow, kDeny, kRedact, kInfo };
std::string_view EffectName(Effect effect);

struct Reason {
  std::string rule_id;  // stable, machine-readable: "network.not_allowed"
  Effect effect = Effect::kInfo;
  std::string message;  // human-readable; never contains prompt content
};

// One sensitive-data finding in the original prompt.
struct Redaction {
  std::string detector;     // "email", "card", or a custom detector's name
  size_t begin = 0;         // byte offsets in the original prompt
  size_t end = 0;
  Action action = Action::kOff;
  std::string placeholder;  // "[EMAIL_1]"
};

// Placeholder numbering that stays consistent across the requests of one
// conversation: the same value gets the same placeholder. Owned by the
// caller (in memory, per conversation); not thread-safe: use it from one
// request at a time.
class PseudonymTable {
 public:
  // Returns the placeholder for (type, value), assigning the next number.
  std::string PlaceholderFor(std::string_view type, std::string_view value);
  size_t size() const { return by_value_.size(); }
  ~PseudonymTable();

 private:
  std::unordered_map<std::string, std::string> by_value_;  // type '\0' value -> placeholder
  std::unordered_map<std::string, int> next_;              // type -> last number
};

// Placeholder -> original value for what was redacted before the model, so
// the answer can be shown with the original values to the requester. Lives
// in memory for the request only; its values are wiped on destruction.
class RestoreMap {
 public:
  RestoreMap() = default;
  RestoreMap(RestoreMap&&) noexcept = default;
  RestoreMap& operator=(RestoreMap&&) noexcept = default;
  ~RestoreMap();

  void Add(std::string placeholder, std::string original);
  // Replaces every known placeholder in `text` by its original value.
  std::string Restore(std::string_view text) const;
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  std::map<std::string, std::string> entries_;
};

struct Obligations {
  Retention retention;
  std::vector<std::string> legal_holds;  // hold ids: deletion is suspended
  Limits limits;
  std::vector<Redaction> redactions;     // sorted by begin, non-overlapping
};

struct Decision {
  bool allow = false;
  std::vector<Reason> reasons;  // every filter's findings, in chain order
  Obligations obligations;
  std::string policy_hash;
  std::string classification;   // the class applied (the default if none was given)
  std::string audit_prompt;     // every finding replaced (what the audit may store)
  std::string model_prompt;     // redact_before_model findings replaced; empty if denied
  RestoreMap restore;

  // The first deny reason, or nullptr when allowed.
  const Reason* FirstDenyReason() const;
  bool HasReason(std::string_view rule_id) const;
  // Ids, effects, redaction types and spans; never content.
  std::string Describe() const;
};

// Decides a request. Never throws; on an internal error it denies with rule
// "internal.error". `conversation` may be null (numbering per request).
Decision Decide(const Policy& policy, const RequestContext& request,
                PseudonymTable* conversation = nullptr);

// A sensitive-data finding from the policy's detectors (no actions applied).
struct Finding {
  std::string detector;
  std::string type;  // placeholder type, e.g. "EMAIL"
  size_t begin = 0;
  size_t end = 0;
};
// Runs every enabled detector of the policy over `text` in one pass. With
// `all_detectors`, detectors whose action is `off` run too (for evaluation).
std::vector<Finding> FindSensitiveData(const Policy& policy, std::string_view text,
                                       bool all_detectors = false);

}  // namespace policy

#endif  // POLICY_DECISION_H_
