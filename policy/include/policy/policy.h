// The compiled policy: an organisation's residency, classification,
// retention, sensitive-data and limits rules, validated once and immutable.
//
// A Policy is built only by Policy::FromYaml / Policy::FromFile, which refuse
// any file that is malformed, names an unknown key, or contradicts itself;
// errors name the file, line and column ("policy.yaml:14:5: ..."). Every
// Policy that exists is valid, is shared as std::shared_ptr<const Policy>,
// and carries hash(): the SHA-256 (hex) of its canonical form, which the
// gateway records in every audit record. Comments, key order and formatting
// do not change the hash; any change of meaning does.
//
// Thread safety: a Policy is immutable; all methods are safe to call from any
// number of threads.
#ifndef POLICY_POLICY_H_
#define POLICY_POLICY_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace policy {

namespace internal {
class Scanner;  // compiled detectors (policy/src/scanner.h)
}  // namespace internal

// What happens to a sensitive-data finding. Ordered by severity: when two
// rules apply, the stronger one wins.
enum class Action {
  kOff = 0,                // not detected
  kRedactInAudit = 1,      // the audit copy shows a placeholder; the model sees the value
  kRedactBeforeModel = 2,  // neither the audit nor the model sees the value
  kBlock = 3,              // the request is denied
};
std::string_view ActionName(Action action);  // "redact_in_audit", ...

// The built-in detector types; custom patterns carry their own names.
inline constexpr std::array<std::string_view, 10> kBuiltinDetectors = {
    "email", "phone", "ssn",     "card",        "iban",
    "ipv4",  "ipv6",  "api_key", "private_key", "marking"};

// Unset fields mean "no limit".
struct Limits {
  std::optional<int64_t> prompt_tokens;
  std::optional<int64_t> output_tokens;
  std::optional<int64_t> requests_per_minute;
  std::optional<int64_t> tokens_per_minute;
  std::optional<int64_t> concurrent_streams;
};

struct Retention {
  bool store_content = false;     // false: `none`, only the content's hash is kept
  int64_t content_seconds = 0;    // meaningful when store_content
  int64_t audit_seconds = 0;      // how long audit records are kept
};

struct ModelPin {
  std::string name;
  std::string sha256;  // lowercase hex, 64 characters
  std::map<std::string, std::string> labels;  // provenance: origin, licence, ...
};

struct ModelRule {
  bool any_name = false;           // `names: any`
  std::vector<std::string> names;  // allowed model names (when !any_name)
  bool require_pinned = true;      // the model must be pinned and its hash must match
  // Provenance: for each label, the accepted values (all labels must match).
  std::map<std::string, std::vector<std::string>> labels;
};

struct Classification {
  std::string name;
  int level = 0;                    // higher = more sensitive (markings check)
  std::vector<std::string> roles;   // roles that may use this class
  ModelRule models;
  Retention retention;
  std::map<std::string, Action> detector_actions;  // overrides of the global actions
  std::vector<std::string> markings;  // banners / portion markings naming this class
};

struct CustomDetector {
  std::string name;         // detector id, e.g. "project_codename"
  std::string pattern;      // RE2 syntax
  std::string placeholder;  // placeholder type, e.g. "PROJECT" -> [PROJECT_1]
  Action action = Action::kRedactInAudit;
};

struct LegalHold {
  std::string id;
  std::string reason;
  std::vector<std::string> users;
  std::vector<std::string> conversations;
};

// An allowed client network.
struct Cidr {
  bool v6 = false;
  std::array<uint8_t, 16> address{};  // network bytes (v4 in the first 4)
  int prefix = 0;
  std::string text;                   // as written, e.g. "10.0.0.0/8"
};

class Policy {
 public:
  // Parses and validates a policy. `source_name` is used in error messages
  // (usually the file name). Errors: INVALID_ARGUMENT with "name:line:col: ...".
  static common::StatusOr<std::shared_ptr<const Policy>> FromYaml(std::string_view yaml,
                                                                  std::string_view source_name);
  // Reads the file (at most 4 MiB) and calls FromYaml. NOT_FOUND if missing.
  static common::StatusOr<std::shared_ptr<const Policy>> FromFile(const std::string& path);

  ~Policy();
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  int version() const { return version_; }
  const std::string& hash() const { return hash_; }            // SHA-256 hex of canonical()
  const std::string& canonical() const { return canonical_; }  // canonical JSON form
  const std::string& source_name() const { return source_name_; }

  const std::string& site() const { return site_; }
  const std::string& jurisdiction() const { return jurisdiction_; }
  const std::vector<Cidr>& networks() const { return networks_; }
  bool allow_unix_socket() const { return allow_unix_socket_; }
  const std::vector<std::string>& roles() const { return roles_; }

  const std::vector<Classification>& classifications() const { return classifications_; }
  const std::string& default_classification() const { return default_classification_; }
  // nullptr when no class has that name.
  const Classification* FindClassification(std::string_view name) const;
  // Retention of a class (empty name = the default class); nullopt if unknown.
  std::optional<Retention> RetentionFor(std::string_view classification) const;

  const std::vector<ModelPin>& models() const { return models_; }
  const ModelPin* FindModel(std::string_view name) const;

  // The global action of a detector (built-in or custom); kOff if unknown.
  Action DetectorAction(std::string_view detector) const;
  // The action for a class: its override if any, else the global one.
  Action DetectorActionFor(const Classification& cls, std::string_view detector) const;
  const std::vector<CustomDetector>& custom_detectors() const { return custom_detectors_; }

  // Limits that apply to a user with these roles: the user's own entry wins
  // field by field; otherwise the most generous of the roles' entries;
  // otherwise the defaults.
  Limits LimitsFor(std::string_view user, const std::vector<std::string>& roles) const;

  const std::vector<LegalHold>& legal_holds() const { return legal_holds_; }
  // Ids of the holds that cover this user or conversation (empty: none).
  std::vector<std::string> HoldsFor(std::string_view user, std::string_view conversation) const;

  // Multi-line human summary for `assistant policy check`.
  std::string Summary() const;

  const internal::Scanner& scanner() const { return *scanner_; }

 private:
  friend class PolicyBuilder;
  Policy();

  int version_ = 1;
  std::string hash_;
  std::string canonical_;
  std::string source_name_;
  std::string site_;
  std::string jurisdiction_;
  std::vector<Cidr> networks_;
  bool allow_unix_socket_ = true;
  std::vector<std::string> roles_;
  std::vector<Classification> classifications_;
  std::string default_classification_;
  std::vector<ModelPin> models_;
  std::map<std::string, Action, std::less<>> detector_actions_;
  std::vector<CustomDetector> custom_detectors_;
  Limits default_limits_;
  std::map<std::string, Limits, std::less<>> role_limits_;
  std::map<std::string, Limits, std::less<>> user_limits_;
  std::vector<LegalHold> legal_holds_;
  std::unique_ptr<internal::Scanner> scanner_;
};

}  // namespace policy

#endif  // POLICY_POLICY_H_
