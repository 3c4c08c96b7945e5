// Policy::FromYaml: YAML -> validated, compiled, immutable Policy.
//
// The walk is schema-driven: every mapping is checked against the keys it may
// hold (unknown keys and duplicates are errors), every error names the line
// and column of the offending node, and cross-references (roles, models,
// classes, markings) are resolved after the whole file has been read.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include "common/json.h"
#include "common/sha256.h"
#include "parse_util.h"
#include "policy/policy.h"
#include "scanner.h"

namespace policy {
namespace {

using common::Status;
using common::StatusOr;

constexpr size_t kMaxPolicyBytes = 4 << 20;
constexpr int kMaxNesting = 64;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += v[i];
  }
  return out;
}

// Rejects documents nested deeper than the schema could ever need before
// yaml-cpp recurses into them.
bool NestingTooDeep(std::string_view text) {
  int depth = 0;
  bool in_single = false, in_double = false, in_comment = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      in_comment = false;
      continue;
    }
    if (in_comment) continue;
    if (in_double) {
      if (c == '\\') ++i;
      else if (c == '"') in_double = false;
      continue;
    }
    if (in_single) {
      if (c == '\'') in_single = false;
      continue;
    }
    if (c == '#') in_comment = true;
    else if (c == '"') in_double = true;
    else if (c == '\'') in_single = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxNesting) return true;
    } else if (c == ']' || c == '}') {
      depth = std::max(0, depth - 1);
    }
  }
  return false;
}

}  // namespace

// Reads the YAML tree into a Policy. A friend of Policy.
class PolicyBuilder {
 public:
  explicit PolicyBuilder(std::string_view source) : source_(source) {}

  StatusOr<std::shared_ptr<const Policy>> Build(std::string_view text);

 private:
  Status Error(const YAML::Mark& mark, const std::string& message) const {
    // Errors about the whole document point at its start.
    const int line = mark.is_null() ? 1 : mark.line + 1;
    const int column = mark.is_null() ? 1 : mark.column + 1;
    std::string where = source_ + ":" + std::to_string(line) + ":" + std::to_string(column);
    return common::InvalidArgumentError(where + ": " + message);
  }
  Status Error(const YAML::Node& node, const std::string& message) const {
    return Error(node.Mark(), message);
  }

  // Checks that `node` is a mapping whose keys are all in `allowed` and
  // unique; `required` keys must be present.
  Status CheckMap(const YAML::Node& node, const std::string& path,
                  const std::vector<std::string>& allowed,
                  const std::vector<std::string>& required = {}) const;
  // Checks a mapping with arbitrary (unique, scalar) keys.
  Status CheckOpenMap(const YAML::Node& node, const std::string& path) const;
  StatusOr<std::string> String(const YAML::Node& node, const std::string& path) const;
  StatusOr<std::string> Name(const YAML::Node& node, const std::string& path) const;
  StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                const std::string& path) const;
  StatusOr<bool> Bool(const YAML::Node& node, const std::string& path) const;
  StatusOr<int64_t> Int(const YAML::Node& node, const std::string& path, int64_t min,
                        int64_t max) const;
  StatusOr<Action> ActionOf(const YAML::Node& node, const std::string& path) const;
  StatusOr<Limits> LimitsOf(const YAML::Node& node, const std::string& path) const;

  Status ReadSite(const YAML::Node& node);
  Status ReadNetworks(const YAML::Node& node);
  Status ReadRoles(const YAML::Node& node);
  Status ReadModels(const YAML::Node& node);
  Status ReadClassifications(const YAML::Node& node);
  Status ReadClass(const std::string& name, const YAML::Node& key, const YAML::Node& node);
  Status ReadDetectors(const YAML::Node& node);
  Status ReadLimits(const YAML::Node& node);
  Status ReadLegalHolds(const YAML::Node& node);
  Status CheckRole(const YAML::Node& node, const std::string& role,
                   const std::string& path) const;
  Status CompileScanner();
  void ComputeHash();

  std::string source_;
  std::unique_ptr<Policy> p_;
  YAML::Node default_class_node_;
};

Status PolicyBuilder::CheckMap(const YAML::Node& node, const std::string& path,
                               const std::vector<std::string>& allowed,
                               const std::vector<std::string>& required) const {
  if (!node.IsMap()) {
    return Error(node, path + " must be a mapping with keys: " + Join(allowed));
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) return Error(kv.first, "keys under " + path + " must be strings");
    const std::string& key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Error(kv.first, "unknown key '" + key + "' under " + path +
                                 "; expected one of: " + Join(allowed));
    }
    if (!seen.insert(key).second) {
      return Error(kv.first, "duplicate key '" + key + "' under " + path);
    }
  }
  for (const std::string& key : required) {
    if (!seen.count(key)) return Error(node, path + " is missing required key '" + key + "'");
  }
  return common::OkStatus();
}

Status PolicyBuilder::CheckOpenMap(const YAML::Node& node, const std::string& path) const {
  if (!node.IsMap()) return Error(node, path + " must be a mapping");
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar() || kv.first.Scalar().empty()) {
      return Error(kv.first, "keys under " + path + " must be non-empty strings");
    }
    if (!seen.insert(kv.first.Scalar()).second) {
      return Error(kv.first, "duplicate key '" + kv.first.Scalar() + "' under " + path);
    }
  }
  return common::OkStatus();
}

StatusOr<std::string> PolicyBuilder::String(const YAML::Node& node,
                                            const std::string& path) const {
  if (!node.IsScalar()) return Error(node, path + " must be a string");
  return node.Scalar();
}

// Names (roles, classes, users, models): non-empty, printable, no spaces.
StatusOr<std::string> PolicyBuilder::Name(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar() || node.Scalar().empty()) return Error(node, path + " must be a name");
  const std::string& s = node.Scalar();
  if (s.size() > 128) return Error(node, path + " is longer than 128 characters");
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Error(node, path + " '" + s + "' must not contain spaces or control characters");
    }
  }
  return s;
}

StatusOr<std::vector<std::string>> PolicyBuilder::StringList(const YAML::Node& node,
                                                             const std::string& path) const {
  if (!node.IsSequence()) return Error(node, path + " must be a list");
  std::vector<std::string> out;
  for (const auto& item : node) {
    ASSIGN_OR_RETURN(std::string s, Name(item, "each entry of " + path));
    if (std::find(out.begin(), out.end(), s) != out.end()) {
      return Error(item, "'" + s + "' is listed twice in " + path);
    }
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<bool> PolicyBuilder::Bool(const YAML::Node& node, const std::string& path) const {
  if (node.IsScalar()) {
    if (node.Scalar() == "true") return true;
    if (node.Scalar() == "false") return false;
  }
  return Error(node, path + " must be true or false");
}

StatusOr<int64_t> PolicyBuilder::Int(const YAML::Node& node, const std::string& path, int64_t min,
                                     int64_t max) const {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (!s.empty() && s.size() <= 12 && s.find_first_not_of("0123456789") == std::string::npos) {
      int64_t v = std::stoll(s);
      if (v >= min && v <= max) return v;
    }
  }
  return Error(node, path + " must be an integer from " + std::to_string(min) + " to " +
                         std::to_string(max));
}

StatusOr<Action> PolicyBuilder::ActionOf(const YAML::Node& node, const std::string& path) const {
  if (node.IsScalar()) {
    if (auto a = internal::ParseAction(node.Scalar())) return *a;
  }
  return Error(node, path + " must be an action; expected one of: off, redact_in_audit, "
                            "redact_before_model, block");
}

StatusOr<Limits> PolicyBuilder::LimitsOf(const YAML::Node& node, const std::string& path) const {
  RETURN_IF_ERROR(CheckMap(node, path,
                           {"prompt_tokens", "output_tokens", "requests_per_minute",
                            "tokens_per_minute", "concurrent_streams"}));
  Limits l;
  constexpr int64_t kMax = 1'000'000'000;
  for (const auto& kv : node) {
    const std::string& key = kv.first.Scalar();
    ASSIGN_OR_RETURN(int64_t v, Int(kv.second, path + "." + key, 1, kMax));
    if (key == "prompt_tokens") l.prompt_tokens = v;
    if (key == "output_tokens") l.output_tokens = v;
    if (key == "requests_per_minute") l.requests_per_minute = v;
    if (key == "tokens_per_minute") l.tokens_per_minute = v;
    if (key == "concurrent_streams") l.concurrent_streams = v;
  }
  return l;
}

Status PolicyBuilder::ReadSite(const YAML::Node& node) {
  RETURN_IF_ERROR(CheckMap(node, "site", {"name", "jurisdiction"}, {"name", "jurisdiction"}));
  ASSIGN_OR_RETURN(p_->site_, Name(node["name"], "site.name"));
  ASSIGN_OR_RETURN(p_->jurisdiction_, Name(node["jurisdiction"], "site.jurisdiction"));
  return common::OkStatus();
}

Status PolicyBuilder::ReadNetworks(const YAML::Node& node) {
  RETURN_IF_ERROR(CheckMap(node, "networks", {"allow", "unix_socket"}, {"allow"}));
  const YAML::Node allow = node["allow"];
  if (!allow.IsSequence()) return Error(allow, "networks.allow must be a list of CIDRs");
  for (const auto& item : allow) {
    ASSIGN_OR_RETURN(std::string text, String(item, "each entry of networks.allow"));
    std::string error;
    auto cidr = internal::ParseCidr(text, &error);
    if (!cidr) return Error(item, error);
    for (const Cidr& other : p_->networks_) {
      if (other.text == cidr->text) {
        return Error(item, "network " + cidr->text + " is listed twice in networks.allow");
      }
    }
    p_->networks_.push_back(*cidr);
  }
  if (node["unix_socket"]) {
    ASSIGN_OR_RETURN(p_->allow_unix_socket_, Bool(node["unix_socket"], "networks.unix_socket"));
  }
  return common::OkStatus();
}

Status PolicyBuilder::ReadRoles(const YAML::Node& node) {
  ASSIGN_OR_RETURN(p_->roles_, StringList(node, "roles"));
  if (p_->roles_.empty()) return Error(node, "roles must name at least one role");
  return common::OkStatus();
}

Status PolicyBuilder::CheckRole(const YAML::Node& node, const std::string& role,
                                const std::string& path) const {
  if (std::find(p_->roles_.begin(), p_->roles_.end(), role) == p_->roles_.end()) {
    return Error(node, "unknown role '" + role + "' in " + path + "; declared roles: " +
                           Join(p_->roles_));
  }
  return common::OkStatus();
}

Status PolicyBuilder::ReadModels(const YAML::Node& node) {
  if (!node.IsSequence()) return Error(node, "models must be a list");
  for (const auto& item : node) {
    RETURN_IF_ERROR(CheckMap(item, "models[]", {"name", "sha256", "labels"}, {"name", "sha256"}));
    ModelPin pin;
    ASSIGN_OR_RETURN(pin.name, Name(item["name"], "models[].name"));
    ASSIGN_OR_RETURN(pin.sha256, String(item["sha256"], "models[].sha256"));
    std::transform(pin.sha256.begin(), pin.sha256.end(), pin.sha256.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (pin.sha256.size() != 64 ||
        pin.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return Error(item["sha256"], "models[].sha256 of '" + pin.name +
                                       "' must be 64 hexadecimal digits");
    }
    if (item["labels"]) {
      const YAML::Node labels = item["labels"];
      RETURN_IF_ERROR(CheckOpenMap(labels, "models[].labels"));
      for (const auto& kv : labels) {
        ASSIGN_OR_RETURN(std::string v, String(kv.second, "label '" + kv.first.Scalar() + "'"));
        pin.labels[kv.first.Scalar()] = v;
      }
    }
    for (const ModelPin& other : p_->models_) {
      if (other.name == pin.name) {
        if (other.sha256 != pin.sha256) {
          return Error(item["name"], "model '" + pin.name +
                                         "' is pinned twice with different sha256 hashes");
        }
        return Error(item["name"], "model '" + pin.name + "' is pinned twice");
      }
    }
    p_->models_.push_back(std::move(pin));
  }
  return common::OkStatus();
}

Status PolicyBuilder::ReadClassifications(const YAML::Node& node) {
  RETURN_IF_ERROR(CheckMap(node, "classifications", {"default", "classes"}, {"default", "classes"}));
  const YAML::Node classes = node["classes"];
  RETURN_IF_ERROR(CheckOpenMap(classes, "classifications.classes"));
  if (classes.size() == 0) return Error(classes, "classifications.classes must define a class");
  for (const auto& kv : classes) {
    ASSIGN_OR_RETURN(std::string name, Name(kv.first, "class name"));
    RETURN_IF_ERROR(ReadClass(name, kv.first, kv.second));
  }
  ASSIGN_OR_RETURN(p_->default_classification_,
                   Name(node["default"], "classifications.default"));
  if (!p_->FindClassification(p_->default_classification_)) {
    std::vector<std::string> names;
    for (const auto& c : p_->classifications_) names.push_back(c.name);
    return Error(node["default"], "default classification '" + p_->default_classification_ +
                                     "' is not defined; defined classes: " + Join(names));
  }
  return common::OkStatus();
}

Status PolicyBuilder::ReadClass(const std::string& name, const YAML::Node& key,
                                const YAML::Node& node) {
  const std::string path = "classifications.classes." + name;
  RETURN_IF_ERROR(CheckMap(node, path,
                           {"level", "roles", "models", "content_retention", "audit_retention",
                            "detectors", "markings"},
                           {"roles", "models", "content_retention", "audit_retention"}));
  Classification c;
  c.name = name;
  if (node["level"]) {
    ASSIGN_OR_RETURN(int64_t level, Int(node["level"], path + ".level", 0, 1000));
    c.level = static_cast<int>(level);
  }
  ASSIGN_OR_RETURN(c.roles, StringList(node["roles"], path + ".roles"));
  if (c.roles.empty()) {
    return Error(node["roles"], "no role may use class '" + name +
                                    "'; list at least one role in " + path + ".roles");
  }
  {
    int i = 0;
    for (const auto& item : node["roles"]) {
      RETURN_IF_ERROR(CheckRole(item, c.roles[i++], path + ".roles"));
    }
  }
  // Models.
  const YAML::Node models = node["models"];
  RETURN_IF_ERROR(CheckMap(models, path + ".models", {"names", "require_pinned", "labels"},
                           {"names"}));
  const YAML::Node names = models["names"];
  if (names.IsScalar() && names.Scalar() == "any") {
    c.models.any_name = true;
  } else {
    if (!names.IsSequence()) {
      return Error(names, path + ".models.names must be 'any' or a list of model names");
    }
    ASSIGN_OR_RETURN(c.models.names, StringList(names, path + ".models.names"));
    if (c.models.names.empty()) {
      return Error(names, "no model may process class '" + name + "'; list a model in " + path +
                              ".models.names or use 'any'");
    }
  }
  if (models["require_pinned"]) {
    ASSIGN_OR_RETURN(c.models.require_pinned,
                     Bool(models["require_pinned"], path + ".models.require_pinned"));
  }
  if (models["labels"]) {
    const YAML::Node labels = models["labels"];
    RETURN_IF_ERROR(CheckOpenMap(labels, path + ".models.labels"));
    for (const auto& kv : labels) {
      const std::string lpath = path + ".models.labels." + kv.first.Scalar();
      std::vector<std::string> values;
      if (kv.second.IsScalar()) {
        ASSIGN_OR_RETURN(std::string v, String(kv.second, lpath));
        values.push_back(v);
      } else {
        ASSIGN_OR_RETURN(values, StringList(kv.second, lpath));
        if (values.empty()) return Error(kv.second, lpath + " must list at least one value");
      }
      c.models.labels[kv.first.Scalar()] = std::move(values);
    }
  }
  // Models named in a class must be pinned when pinning is required, and at
  // least one pinned model must satisfy the class's rules.
  if (c.models.require_pinned) {
    if (!c.models.any_name) {
      int i = 0;
      for (const auto& item : names) {
        const std::string& m = c.models.names[i++];
        if (!p_->FindModel(m)) {
          return Error(item, "model '" + m + "' in " + path +
                                 ".models.names is not pinned under 'models' (require_pinned "
                                 "is true)");
        }
      }
    }
    bool any = false;
    for (const ModelPin& pin : p_->models_) {
      if (!c.models.any_name && std::find(c.models.names.begin(), c.models.names.end(),
                                          pin.name) == c.models.names.end()) {
        continue;
      }
      bool ok = true;
      for (const auto& [label, accepted] : c.models.labels) {
        auto it = pin.labels.find(label);
        if (it == pin.labels.end() ||
            std::find(accepted.begin(), accepted.end(), it->second) == accepted.end()) {
          ok = false;
        }
      }
      any = any || ok;
    }
    if (!any) {
      return Error(models, "no pinned model satisfies the model rules of class '" + name +
                               "' (names and provenance labels)");
    }
  }
  // Retention.
  {
    const YAML::Node cr = node["content_retention"];
    ASSIGN_OR_RETURN(std::string text, String(cr, path + ".content_retention"));
    if (text == "none") {
      c.retention.store_content = false;
    } else {
      auto d = internal::ParseDuration(text);
      if (!d) {
        return Error(cr, "invalid duration '" + text + "' for " + path +
                             ".content_retention; expected 'none' or a duration such as "
                             "30d, 12h, 1y, 1d12h");
      }
      c.retention.store_content = true;
      c.retention.content_seconds = *d;
    }
    const YAML::Node ar = node["audit_retention"];
    ASSIGN_OR_RETURN(std::string atext, String(ar, path + ".audit_retention"));
    auto a = internal::ParseDuration(atext);
    if (!a || *a == 0) {
      return Error(ar, "invalid duration '" + atext + "' for " + path +
                           ".audit_retention; expected a positive duration such as 6y, 400d");
    }
    c.retention.audit_seconds = *a;
    if (c.retention.store_content && c.retention.content_seconds > c.retention.audit_seconds) {
      return Error(cr, "content_retention (" + text + ") of class '" + name +
                           "' exceeds its audit_retention (" + atext +
                           "): content would outlive its audit record");
    }
  }
  if (node["detectors"]) {
    const YAML::Node det = node["detectors"];
    RETURN_IF_ERROR(CheckOpenMap(det, path + ".detectors"));
    for (const auto& kv : det) {
      // Detector names are checked once custom detectors are known (Build()).
      ASSIGN_OR_RETURN(Action a, ActionOf(kv.second, path + ".detectors." + kv.first.Scalar()));
      c.detector_actions[kv.first.Scalar()] = a;
    }
  }
  if (node["markings"]) {
    const YAML::Node mk = node["markings"];
    if (!mk.IsSequence()) return Error(mk, path + ".markings must be a list of strings");
    for (const auto& item : mk) {
      ASSIGN_OR_RETURN(std::string m, String(item, "each entry of " + path + ".markings"));
      if (m.empty() || m.size() > 100) {
        return Error(item, "markings must be 1 to 100 characters long");
      }
      for (const Classification& other : p_->classifications_) {
        if (std::find(other.markings.begin(), other.markings.end(), m) != other.markings.end()) {
          return Error(item, "marking '" + m + "' is used by both class '" + other.name +
                                 "' and class '" + name + "'");
        }
      }
      if (std::find(c.markings.begin(), c.markings.end(), m) != c.markings.end()) {
        return Error(item, "marking '" + m + "' is listed twice");
      }
      c.markings.push_back(m);
    }
  }
  (void)key;
  p_->classifications_.push_back(std::move(c));
  return common::OkStatus();
}

Status PolicyBuilder::ReadDetectors(const YAML::Node& node) {
  std::vector<std::string> allowed(kBuiltinDetectors.begin(), kBuiltinDetectors.end());
  allowed.push_back("custom");
  RETURN_IF_ERROR(CheckMap(node, "detectors", allowed));
  for (const auto& kv : node) {
    const std::string& key = kv.first.Scalar();
    if (key == "custom") continue;
    ASSIGN_OR_RETURN(p_->detector_actions_[key], ActionOf(kv.second, "detectors." + key));
  }
  if (!node["custom"]) return common::OkStatus();
  const YAML::Node custom = node["custom"];
  if (!custom.IsSequence()) return Error(custom, "detectors.custom must be a list");
  for (const auto& item : custom) {
    RETURN_IF_ERROR(CheckMap(item, "detectors.custom[]", {"name", "pattern", "action", "placeholder"},
                             {"name", "pattern", "action"}));
    CustomDetector d;
    ASSIGN_OR_RETURN(d.name, Name(item["name"], "detectors.custom[].name"));
    if (std::find(allowed.begin(), allowed.end(), d.name) != allowed.end()) {
      return Error(item["name"], "custom detector name '" + d.name +
                                     "' clashes with a built-in detector");
    }
    for (const auto& other : p_->custom_detectors_) {
      if (other.name == d.name) {
        return Error(item["name"], "custom detector '" + d.name + "' is defined twice");
      }
    }
    ASSIGN_OR_RETURN(d.pattern, String(item["pattern"], "detectors.custom[].pattern"));
    ASSIGN_OR_RETURN(d.action, ActionOf(item["action"], "detectors.custom[].action"));
    d.placeholder = d.name;
    if (item["placeholder"]) {
      ASSIGN_OR_RETURN(d.placeholder, Name(item["placeholder"], "detectors.custom[].placeholder"));
    }
    std::transform(d.placeholder.begin(), d.placeholder.end(), d.placeholder.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    for (char c : d.placeholder) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
        return Error(item, "placeholder of custom detector '" + d.name +
                               "' may use only letters, digits and '_'");
      }
    }
    // Compile alone for a precise error.
    auto one = internal::Scanner::Create({{d.name, d.placeholder, d.pattern}});
    if (!one.ok()) return Error(item["pattern"], one.status().message());
    p_->custom_detectors_.push_back(std::move(d));
  }
  return common::OkStatus();
}

Status PolicyBuilder::ReadLimits(const YAML::Node& node) {
  RETURN_IF_ERROR(CheckMap(node, "limits", {"default", "roles", "users"}));
  if (node["default"]) {
    ASSIGN_OR_RETURN(p_->default_limits_, LimitsOf(node["default"], "limits.default"));
  }
  if (node["roles"]) {
    RETURN_IF_ERROR(CheckOpenMap(node["roles"], "limits.roles"));
    for (const auto& kv : node["roles"]) {
      RETURN_IF_ERROR(CheckRole(kv.first, kv.first.Scalar(), "limits.roles"));
      ASSIGN_OR_RETURN(p_->role_limits_[kv.first.Scalar()],
                       LimitsOf(kv.second, "limits.roles." + kv.first.Scalar()));
    }
  }
  if (node["users"]) {
    RETURN_IF_ERROR(CheckOpenMap(node["users"], "limits.users"));
    for (const auto& kv : node["users"]) {
      ASSIGN_OR_RETURN(std::string user, Name(kv.first, "user name"));
      ASSIGN_OR_RETURN(p_->user_limits_[user], LimitsOf(kv.second, "limits.users." + user));
    }
  }
  return common::OkStatus();
}

Status PolicyBuilder::ReadLegalHolds(const YAML::Node& node) {
  if (!node.IsSequence()) return Error(node, "legal_holds must be a list");
  for (const auto& item : node) {
    RETURN_IF_ERROR(CheckMap(item, "legal_holds[]", {"id", "reason", "users", "conversations"},
                             {"id"}));
    LegalHold h;
    ASSIGN_OR_RETURN(h.id, Name(item["id"], "legal_holds[].id"));
    for (const auto& other : p_->legal_holds_) {
      if (other.id == h.id) return Error(item["id"], "legal hold '" + h.id + "' is defined twice");
    }
    if (item["reason"]) {
      ASSIGN_OR_RETURN(h.reason, String(item["reason"], "legal_holds[].reason"));
    }
    if (item["users"]) {
      ASSIGN_OR_RETURN(h.users, StringList(item["users"], "legal_holds[].users"));
    }
    if (item["conversations"]) {
      ASSIGN_OR_RETURN(h.conversations,
                       StringList(item["conversations"], "legal_holds[].conversations"));
    }
    if (h.users.empty() && h.conversations.empty()) {
      return Error(item, "legal hold '" + h.id + "' covers nothing; list users or conversations");
    }
    p_->legal_holds_.push_back(std::move(h));
  }
  return common::OkStatus();
}

Status PolicyBuilder::CompileScanner() {
  std::vector<internal::DetectorSpec> specs = internal::BuiltinDetectorSpecs();
  // Markings: every class's banners and portion markings, longest first.
  std::vector<std::string> markings;
  for (const Classification& c : p_->classifications_) {
    markings.insert(markings.end(), c.markings.begin(), c.markings.end());
  }
  std::sort(markings.begin(), markings.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  if (!markings.empty()) {
    std::string alt;
    for (const std::string& m : markings) {
      if (!alt.empty()) alt += "|";
      alt += RE2::QuoteMeta(m);
    }
    specs.push_back({"marking", "MARKING", alt, internal::Validator::kNone});
  }
  for (const CustomDetector& d : p_->custom_detectors_) {
    specs.push_back({d.name, d.placeholder, d.pattern, internal::Validator::kNone});
  }
  auto scanner = internal::Scanner::Create(std::move(specs));
  if (!scanner.ok()) return Error(YAML::Mark::null_mark(), scanner.status().message());
  p_->scanner_ = std::move(scanner).value();
  return common::OkStatus();
}

void PolicyBuilder::ComputeHash() {
  using common::Json;
  auto limits_json = [](const Limits& l) {
    Json j = Json::MakeObject();
    if (l.prompt_tokens) j.Set("prompt_tokens", *l.prompt_tokens);
    if (l.output_tokens) j.Set("output_tokens", *l.output_tokens);
    if (l.requests_per_minute) j.Set("requests_per_minute", *l.requests_per_minute);
    if (l.tokens_per_minute) j.Set("tokens_per_minute", *l.tokens_per_minute);
    if (l.concurrent_streams) j.Set("concurrent_streams", *l.concurrent_streams);
    return j;
  };
  auto strings = [](const std::vector<std::string>& v, bool sort) {
    std::vector<std::string> s = v;
    if (sort) std::sort(s.begin(), s.end());
    Json j = Json::MakeArray();
    for (auto& x : s) j.Push(x);
    return j;
  };
  Json root = Json::MakeObject();
  root.Set("version", p_->version_);
  root.Set("site", Json(Json::Object{{"name", p_->site_}, {"jurisdiction", p_->jurisdiction_}}));
  std::vector<std::string> nets;
  for (const Cidr& c : p_->networks_) nets.push_back(c.text);
  root.Set("networks", Json(Json::Object{{"allow", strings(nets, true)},
                                         {"unix_socket", p_->allow_unix_socket_}}));
  root.Set("roles", strings(p_->roles_, true));
  Json models = Json::MakeObject();
  for (const ModelPin& m : p_->models_) {
    Json labels = Json::MakeObject();
    for (const auto& [k, v] : m.labels) labels.Set(k, v);
    models.Set(m.name, Json(Json::Object{{"sha256", m.sha256}, {"labels", labels}}));
  }
  root.Set("models", models);
  Json classes = Json::MakeObject();
  for (const Classification& c : p_->classifications_) {
    Json cj = Json::MakeObject();
    cj.Set("level", c.level);
    cj.Set("roles", strings(c.roles, true));
    Json mj = Json::MakeObject();
    mj.Set("names", c.models.any_name ? Json("any") : strings(c.models.names, true));
    mj.Set("require_pinned", c.models.require_pinned);
    Json lj = Json::MakeObject();
    for (const auto& [k, v] : c.models.labels) lj.Set(k, strings(v, true));
    mj.Set("labels", lj);
    cj.Set("models", mj);
    cj.Set("content_retention",
           c.retention.store_content ? Json(c.retention.content_seconds) : Json("none"));
    cj.Set("audit_retention", c.retention.audit_seconds);
    Json dj = Json::MakeObject();
    for (const auto& [k, v] : c.detector_actions) dj.Set(k, std::string(ActionName(v)));
    cj.Set("detectors", dj);
    cj.Set("markings", strings(c.markings, true));
    classes.Set(c.name, cj);
  }
  root.Set("classifications",
           Json(Json::Object{{"default", p_->default_classification_}, {"classes", classes}}));
  Json det = Json::MakeObject();
  for (std::string_view d : kBuiltinDetectors) {
    det.Set(std::string(d), std::string(ActionName(p_->DetectorAction(d))));
  }
  Json custom = Json::MakeArray();  // order matters: earlier patterns win
  for (const CustomDetector& d : p_->custom_detectors_) {
    custom.Push(Json(Json::Object{{"name", d.name},
                                  {"pattern", d.pattern},
                                  {"placeholder", d.placeholder},
                                  {"action", std::string(ActionName(d.action))}}));
  }
  det.Set("custom", custom);
  root.Set("detectors", det);
  Json roles = Json::MakeObject(), users = Json::MakeObject();
  for (const auto& [k, v] : p_->role_limits_) roles.Set(k, limits_json(v));
  for (const auto& [k, v] : p_->user_limits_) users.Set(k, limits_json(v));
  root.Set("limits", Json(Json::Object{{"default", limits_json(p_->default_limits_)},
                                       {"roles", roles},
                                       {"users", users}}));
  Json holds = Json::MakeObject();
  for (const LegalHold& h : p_->legal_holds_) {
    holds.Set(h.id, Json(Json::Object{{"reason", h.reason},
                                      {"users", strings(h.users, true)},
                                      {"conversations", strings(h.conversations, true)}}));
  }
  root.Set("legal_holds", holds);
  Json::DumpOptions opts;
  opts.sort_keys = true;
  p_->canonical_ = root.Dump(opts);
  p_->hash_ = common::HexEncode(common::Sha256::Hash(p_->canonical_));
}

StatusOr<std::shared_ptr<const Policy>> PolicyBuilder::Build(std::string_view text) {
  if (text.size() > kMaxPolicyBytes) {
    return Error(YAML::Mark::null_mark(), "policy is larger than 4 MiB");
  }
  if (NestingTooDeep(text)) {
    return Error(YAML::Mark::null_mark(), "policy nests deeper than " +
                                              std::to_string(kMaxNesting) + " levels");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Error(e.mark, "YAML syntax error: " + e.msg);
  }
  p_.reset(new Policy());
  p_->source_name_ = source_;
  if (!root.IsDefined() || root.IsNull()) {
    return Error(YAML::Mark::null_mark(), "policy is empty; expected a mapping with 'version: 1'");
  }
  RETURN_IF_ERROR(CheckMap(root, "the top level",
                           {"version", "site", "networks", "roles", "models", "classifications",
                            "detectors", "limits", "legal_holds"},
                           {"version", "site", "networks", "roles", "classifications"}));
  const YAML::Node version = root["version"];
  if (!version.IsScalar() || version.Scalar() != "1") {
    return Error(version, "unsupported policy version '" +
                              (version.IsScalar() ? version.Scalar() : std::string("?")) +
                              "'; expected 1");
  }
  RETURN_IF_ERROR(ReadSite(root["site"]));
  RETURN_IF_ERROR(ReadNetworks(root["networks"]));
  RETURN_IF_ERROR(ReadRoles(root["roles"]));
  if (root["models"]) RETURN_IF_ERROR(ReadModels(root["models"]));
  if (root["detectors"]) RETURN_IF_ERROR(ReadDetectors(root["detectors"]));
  RETURN_IF_ERROR(ReadClassifications(root["classifications"]));
  // Class detector overrides may name built-in, marking or custom detectors.
  {
    const YAML::Node classes = root["classifications"]["classes"];
    for (const auto& kv : classes) {
      const YAML::Node det = kv.second["detectors"];
      if (!det) continue;
      for (const auto& d : det) {
        const std::string& name = d.first.Scalar();
        bool known = std::find(kBuiltinDetectors.begin(), kBuiltinDetectors.end(), name) !=
                     kBuiltinDetectors.end();
        for (const auto& c : p_->custom_detectors_) known = known || c.name == name;
        if (!known) {
          std::vector<std::string> all(kBuiltinDetectors.begin(), kBuiltinDetectors.end());
          for (const auto& c : p_->custom_detectors_) all.push_back(c.name);
          return Error(d.first, "unknown detector '" + name + "' under classifications.classes." +
                                    kv.first.Scalar() + ".detectors; expected one of: " +
                                    Join(all));
        }
      }
    }
  }
  if (root["limits"]) RETURN_IF_ERROR(ReadLimits(root["limits"]));
  if (root["legal_holds"]) RETURN_IF_ERROR(ReadLegalHolds(root["legal_holds"]));
  RETURN_IF_ERROR(CompileScanner());
  ComputeHash();
  return std::shared_ptr<const Policy>(std::move(p_));
}

StatusOr<std::shared_ptr<const Policy>> Policy::FromYaml(std::string_view yaml,
                                                         std::string_view source_name) {
  try {
    PolicyBuilder builder(source_name.empty() ? "policy" : source_name);
    return builder.Build(yaml);
  } catch (const std::exception& e) {
    // yaml-cpp throws on conversions we did not anticipate: refuse the file.
    return common::InvalidArgumentError(std::string(source_name) +
                                        ": policy could not be read: " + e.what());
  }
}

StatusOr<std::shared_ptr<const Policy>> Policy::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::NotFoundError("cannot open policy file " + path);
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxPolicyBytes) {
      return common::InvalidArgumentError(path + ": policy is larger than 4 MiB");
    }
  }
  if (in.bad()) return common::UnavailableError("error reading policy file " + path);
  return FromYaml(text, path);
}

}  // namespace policy
