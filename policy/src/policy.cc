#include "policy/policy.h"

#include <algorithm>
#include <sstream>

#include "parse_util.h"
#include "scanner.h"

namespace policy {

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kOff: return "off";
    case Action::kRedactInAudit: return "redact_in_audit";
    case Action::kRedactBeforeModel: return "redact_before_model";
    case Action::kBlock: return "block";
  }
  return "off";
}

Policy::Policy() = default;
Policy::~Policy() = default;

const Classification* Policy::FindClassification(std::string_view name) const {
  for (const Classification& c : classifications_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::optional<Retention> Policy::RetentionFor(std::string_view classification) const {
  const Classification* c =
      FindClassification(classification.empty() ? default_classification_ : classification);
  if (!c) return std::nullopt;
  return c->retention;
}

const ModelPin* Policy::FindModel(std::string_view name) const {
  for (const ModelPin& m : models_) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

Action Policy::DetectorAction(std::string_view detector) const {
  auto it = detector_actions_.find(detector);
  if (it != detector_actions_.end()) return it->second;
  for (const CustomDetector& d : custom_detectors_) {
    if (d.name == detector) return d.action;
  }
  // Defaults when the policy does not mention a built-in detector.
  if (detector == "ssn" || detector == "card" || detector == "iban") {
    return Action::kRedactBeforeModel;
  }
  if (detector == "api_key" || detector == "private_key") return Action::kBlock;
  if (detector == "marking") return Action::kOff;
  if (std::find(kBuiltinDetectors.begin(), kBuiltinDetectors.end(), detector) !=
      kBuiltinDetectors.end()) {
    return Action::kRedactInAudit;
  }
  return Action::kOff;
}

Action Policy::DetectorActionFor(const Classification& cls, std::string_view detector) const {
  auto it = cls.detector_actions.find(std::string(detector));
  if (it != cls.detector_actions.end()) return it->second;
  return DetectorAction(detector);
}

Limits Policy::LimitsFor(std::string_view user, const std::vector<std::string>& roles) const {
  using Field = std::optional<int64_t> Limits::*;
  static constexpr Field kFields[] = {&Limits::prompt_tokens, &Limits::output_tokens,
                                      &Limits::requests_per_minute, &Limits::tokens_per_minute,
                                      &Limits::concurrent_streams};
  Limits out;
  auto user_it = user_limits_.find(user);
  for (Field f : kFields) {
    if (user_it != user_limits_.end() && (user_it->second.*f)) {
      out.*f = user_it->second.*f;
      continue;
    }
    // The most generous of the roles that set this field.
    bool any_role = false;
    bool unlimited = false;
    int64_t best = 0;
    for (const std::string& role : roles) {
      auto it = role_limits_.find(role);
      if (it == role_limits_.end()) continue;
      if (!(it->second.*f)) continue;
      any_role = true;
      best = std::max(best, *(it->second.*f));
    }
    (void)unlimited;
    if (any_role) {
      out.*f = best;
    } else {
      out.*f = default_limits_.*f;
    }
  }
  return out;
}

std::vector<std::string> Policy::HoldsFor(std::string_view user,
                                          std::string_view conversation) const {
  std::vector<std::string> out;
  for (const LegalHold& h : legal_holds_) {
    bool hit = (!user.empty() && std::find(h.users.begin(), h.users.end(), user) != h.users.end()) ||
               (!conversation.empty() && std::find(h.conversations.begin(), h.conversations.end(),
                                                   conversation) != h.conversations.end());
    if (hit) out.push_back(h.id);
  }
  return out;
}

namespace {
std::string LimitsText(const Limits& l) {
  std::ostringstream o;
  auto f = [&](const char* name, const std::optional<int64_t>& v) {
    o << " " << name << "=" << (v ? std::to_string(*v) : std::string("unlimited"));
  };
  f("prompt_tokens", l.prompt_tokens);
  f("output_tokens", l.output_tokens);
  f("requests_per_minute", l.requests_per_minute);
  f("tokens_per_minute", l.tokens_per_minute);
  f("concurrent_streams", l.concurrent_streams);
  return o.str();
}
}  // namespace

std::string Policy::Summary() const {
  std::ostringstream o;
  o << "policy " << source_name_ << " (version " << version_ << ")\n";
  o << "sha256: " << hash_ << "\n";
  o << "site: " << site_ << "  jurisdiction: " << jurisdiction_ << "\n";
  o << "client networks:";
  for (const Cidr& c : networks_) o << " " << c.text;
  o << (allow_unix_socket_ ? "  (+ local Unix socket)" : "  (Unix socket refused)") << "\n";
  o << "roles:";
  for (const auto& r : roles_) o << " " << r;
  o << "\n";
  o << "models pinned: " << models_.size() << "\n";
  for (const ModelPin& m : models_) {
    o << "  " << m.name << " sha256:" << m.sha256.substr(0, 16) << "...";
    for (const auto& [k, v] : m.labels) o << " " << k << "=" << v;
    o << "\n";
  }
  o << "classifications (default " << default_classification_ << "):\n";
  for (const Classification& c : classifications_) {
    o << "  " << c.name << " level " << c.level << ": roles";
    for (const auto& r : c.roles) o << " " << r;
    o << "; models ";
    if (c.models.any_name) {
      o << "any";
    } else {
      for (size_t i = 0; i < c.models.names.size(); ++i) o << (i ? "," : "") << c.models.names[i];
    }
    o << (c.models.require_pinned ? " (pinned)" : " (unpinned allowed)");
    o << "; content "
      << (c.retention.store_content ? internal::FormatDuration(c.retention.content_seconds)
                                    : std::string("none (hash only)"))
      << "; audit " << internal::FormatDuration(c.retention.audit_seconds);
    if (!c.markings.empty()) o << "; markings " << c.markings.size();
    o << "\n";
  }
  o << "detectors:";
  for (std::string_view d : kBuiltinDetectors) o << " " << d << "=" << ActionName(DetectorAction(d));
  for (const CustomDetector& d : custom_detectors_) {
    o << " " << d.name << "=" << ActionName(d.action) << "(custom)";
  }
  o << "\n";
  o << "limits: default" << LimitsText(default_limits_) << "\n";
  for (const auto& [role, l] : role_limits_) o << "  role " << role << ":" << LimitsText(l) << "\n";
  for (const auto& [user, l] : user_limits_) o << "  user " << user << ":" << LimitsText(l) << "\n";
  o << "legal holds: " << legal_holds_.size() << "\n";
  for (const LegalHold& h : legal_holds_) {
    o << "  " << h.id << ": " << h.users.size() << " user(s), " << h.conversations.size()
      << " conversation(s)\n";
  }
  return o.str();
}

}  // namespace policy
