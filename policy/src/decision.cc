#include "policy/decision.h"

#include <exception>
#include <sstream>

#include "common/secret.h"
#include "filters.h"
#include "scanner.h"

namespace policy {
namespace {

void Wipe(std::string& s) {
  if (!s.empty()) common::SecureZero(s.data(), s.size());
}

}  // namespace

std::string_view EffectName(Effect effect) {
  switch (effect) {
    case Effect::kAllow: return "allow";
    case Effect::kDeny: return "deny";
    case Effect::kRedact: return "redact";
    case Effect::kInfo: return "info";
  }
  return "info";
}

std::string PseudonymTable::PlaceholderFor(std::string_view type, std::string_view value) {
  std::string key;
  key.reserve(type.size() + 1 + value.size());
  key.append(type).push_back('\0');
  key.append(value);
  auto it = by_value_.find(key);
  if (it != by_value_.end()) {
    Wipe(key);
    return it->second;
  }
  int n = ++next_[std::string(type)];
  std::string placeholder = "[" + std::string(type) + "_" + std::to_string(n) + "]";
  by_value_.emplace(std::move(key), placeholder);
  return placeholder;
}

PseudonymTable::~PseudonymTable() {
  for (auto& [key, placeholder] : by_value_) Wipe(const_cast<std::string&>(key));
}

RestoreMap::~RestoreMap() {
  for (auto& [placeholder, original] : entries_) Wipe(original);
}

void RestoreMap::Add(std::string placeholder, std::string original) {
  entries_.emplace(std::move(placeholder), std::move(original));
}

std::string RestoreMap::Restore(std::string_view text) const {
  if (entries_.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '[') {
      size_t close = text.find(']', i);
      // Placeholders are short: "[PRIVATE_KEY_12]".
      if (close != std::string_view::npos && close - i < 80) {
        auto it = entries_.find(std::string(text.substr(i, close - i + 1)));
        if (it != entries_.end()) {
          out.append(it->second);
          i = close + 1;
          continue;
        }
      }
    }
    out.push_back(text[i]);
    ++i;
  }
  return out;
}

const Reason* Decision::FirstDenyReason() const {
  for (const Reason& r : reasons) {
    if (r.effect == Effect::kDeny) return &r;
  }
  return nullptr;
}

bool Decision::HasReason(std::string_view rule_id) const {
  for (const Reason& r : reasons) {
    if (r.rule_id == rule_id) return true;
  }
  return false;
}

std::string Decision::Describe() const {
  std::ostringstream o;
  o << (allow ? "ALLOW" : "DENY") << " class=" << classification
    << " policy=" << policy_hash.substr(0, 16) << " reasons=[";
  for (size_t i = 0; i < reasons.size(); ++i) {
    o << (i ? " " : "") << EffectName(reasons[i].effect) << ":" << reasons[i].rule_id;
  }
  o << "] redactions=[";
  for (size_t i = 0; i < obligations.redactions.size(); ++i) {
    const Redaction& r = obligations.redactions[i];
    o << (i ? " " : "") << r.placeholder << "@" << r.begin << "-" << r.end << ":"
      << ActionName(r.action);
  }
  o << "]";
  return o.str();
}

Decision Decide(const Policy& policy, const RequestContext& request,
                PseudonymTable* conversation) {
  Decision decision;
  decision.policy_hash = policy.hash();
  try {
    PseudonymTable local;
    internal::DecisionState state{policy, request, conversation ? conversation : &local, decision};
    bool denied = false;
    for (const auto& filter : internal::DefaultChain()) {
      if (filter->Apply(state) == internal::Verdict::kDeny) denied = true;
    }
    // Deny wins: any deny verdict (or deny reason) denies the whole request.
    denied = denied || decision.FirstDenyReason() != nullptr;
    decision.allow = !denied;
  } catch (const std::exception&) {
    decision.allow = false;
    decision.reasons.push_back(
        {"internal.error", Effect::kDeny, "the policy engine failed; the request is denied"});
  } catch (...) {
    decision.allow = false;
    decision.reasons.push_back(
        {"internal.error", Effect::kDeny, "the policy engine failed; the request is denied"});
  }
  if (!decision.allow) {
    // Nothing reaches the model; the audit copy keeps its redactions.
    decision.model_prompt.clear();
    decision.restore = RestoreMap();
  }
  return decision;
}

std::vector<Finding> FindSensitiveData(const Policy& policy, std::string_view text,
                                       bool all_detectors) {
  const internal::Scanner& scanner = policy.scanner();
  std::vector<bool> enabled(scanner.specs().size());
  for (size_t i = 0; i < enabled.size(); ++i) {
    enabled[i] = all_detectors || policy.DetectorAction(scanner.specs()[i].name) != Action::kOff;
  }
  std::vector<Finding> out;
  for (const internal::Hit& h : scanner.Scan(text, enabled)) {
    const auto& spec = scanner.specs()[h.detector];
    out.push_back({spec.name, spec.type, h.begin, h.end});
  }
  return out;
}

}  // namespace policy
