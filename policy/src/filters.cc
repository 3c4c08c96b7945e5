#include "filters.h"

#include <algorithm>
#include <map>
#include <string>

#include "parse_util.h"
#include "scanner.h"

namespace policy::internal {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class IdentityFilter final : public Filter {
 public:
  std::string_view name() const override { return "identity"; }
  Verdict Apply(DecisionState& s) const override {
    if (s.request.user_id.empty()) {
      s.Add("identity.missing", Effect::kDeny, "the request carries no authenticated user");
      return Verdict::kDeny;
    }
    return Verdict::kContinue;
  }
};

class NetworkFilter final : public Filter {
 public:
  std::string_view name() const override { return "network"; }
  Verdict Apply(DecisionState& s) const override {
    bool v6 = false, is_unix = false;
    uint8_t addr[16];
    if (!ParseClientAddress(s.request.client_address, &v6, addr, &is_unix)) {
      if (is_unix) {
        if (s.policy.allow_unix_socket()) {
          s.Add("network.unix_socket", Effect::kAllow, "client on the local Unix socket");
          return Verdict::kAllow;
        }
        s.Add("network.unix_socket_refused", Effect::kDeny,
              "the policy refuses clients on the local Unix socket");
        return Verdict::kDeny;
      }
      s.Add("network.bad_address", Effect::kDeny,
            "client address '" + s.request.client_address.substr(0, 64) +
                "' is not an IPv4 or IPv6 address");
      return Verdict::kDeny;
    }
    for (const Cidr& cidr : s.policy.networks()) {
      if (CidrContains(cidr, v6, addr)) {
        s.Add("network.allowed", Effect::kAllow, "client address is in " + cidr.text);
        return Verdict::kAllow;
      }
    }
    s.Add("network.not_allowed", Effect::kDeny,
          "client address " + s.request.client_address.substr(0, 64) +
              " is outside the allowed networks");
    return Verdict::kDeny;
  }
};

class ClassificationFilter final : public Filter {
 public:
  std::string_view name() const override { return "classification"; }
  Verdict Apply(DecisionState& s) const override {
    std::string name = s.request.classification;
    if (name.empty()) {
      name = s.policy.default_classification();
      s.Add("classification.default", Effect::kInfo,
            "no classification declared; the default " + name + " applies");
    }
    s.decision.classification = name;
    s.classification = s.policy.FindClassification(name);
    if (!s.classification) {
      s.Add("classification.unknown", Effect::kDeny,
            "classification '" + name.substr(0, 64) + "' is not defined by the policy");
      return Verdict::kDeny;
    }
    for (const std::string& role : s.request.roles) {
      const auto& allowed = s.classification->roles;
      if (std::find(allowed.begin(), allowed.end(), role) != allowed.end()) {
        s.Add("classification.role_allowed", Effect::kAllow,
              "role " + role + " may use class " + name);
        return Verdict::kAllow;
      }
    }
    s.Add("classification.role_not_allowed", Effect::kDeny,
          "none of the user's roles may use class " + name);
    return Verdict::kDeny;
  }
};

class ModelFilter final : public Filter {
 public:
  std::string_view name() const override { return "model"; }
  Verdict Apply(DecisionState& s) const override {
    const Classification* cls = s.classification;
    if (!cls) return Verdict::kContinue;  // already denied by the classification filter
    const RequestContext& r = s.request;
    if (r.model_name.empty()) {
      s.Add("model.missing", Effect::kDeny, "the request names no model");
      return Verdict::kDeny;
    }
    Verdict verdict = Verdict::kAllow;
    const ModelRule& rule = cls->models;
    if (!rule.any_name &&
        std::find(rule.names.begin(), rule.names.end(), r.model_name) == rule.names.end()) {
      s.Add("model.not_allowed_for_class", Effect::kDeny,
            "model " + r.model_name.substr(0, 128) + " may not process class " + cls->name);
      verdict = Verdict::kDeny;
    }
    std::map<std::string, std::string> labels = r.model_labels;
    const ModelPin* pin = s.policy.FindModel(r.model_name);
    if (pin) {
      if (Lower(r.model_sha256) != pin->sha256) {
        s.Add("model.hash_mismatch", Effect::kDeny,
              "model " + pin->name + " is pinned to sha256 " + pin->sha256.substr(0, 16) +
                  "... but the loaded file's hash " +
                  (r.model_sha256.empty() ? std::string("is unknown")
                                          : "is " + Lower(r.model_sha256).substr(0, 16) + "...") );
        verdict = Verdict::kDeny;
      } else {
        s.Add("model.pinned", Effect::kAllow, "model " + pin->name + " matches its pinned hash");
      }
      // The policy's own provenance labels for a pinned model are authoritative.
      for (const auto& [k, v] : pin->labels) labels[k] = v;
    } else if (rule.require_pinned) {
      s.Add("model.not_pinned", Effect::kDeny,
            "model " + r.model_name.substr(0, 128) + " is not pinned and class " + cls->name +
                " requires pinned models");
      verdict = Verdict::kDeny;
    }
    for (const auto& [label, accepted] : rule.labels) {
      auto it = labels.find(label);
      if (it == labels.end() ||
          std::find(accepted.begin(), accepted.end(), it->second) == accepted.end()) {
        s.Add("model.provenance", Effect::kDeny,
              "model " + r.model_name.substr(0, 128) + " has " + label + "=" +
                  (it == labels.end() ? std::string("(none)") : it->second.substr(0, 64)) +
                  "; class " + cls->name + " requires one of the accepted values");
        verdict = Verdict::kDeny;
      }
    }
    if (verdict == Verdict::kAllow && !pin) {
      s.Add("model.allowed", Effect::kAllow,
            "model " + r.model_name.substr(0, 128) + " may process class " + cls->name);
    }
    return verdict;
  }
};

class LimitsFilter final : public Filter {
 public:
  std::string_view name() const override { return "limits"; }
  Verdict Apply(DecisionState& s) const override {
    const RequestContext& r = s.request;
    Limits limits = s.policy.LimitsFor(r.user_id, r.roles);
    s.decision.obligations.limits = limits;
    Verdict verdict = Verdict::kContinue;
    int64_t prompt_tokens = r.prompt_tokens ? *r.prompt_tokens
                                            : static_cast<int64_t>((r.prompt.size() + 3) / 4);
    if (limits.prompt_tokens && prompt_tokens > *limits.prompt_tokens) {
      s.Add("limits.prompt_tokens", Effect::kDeny,
            "prompt has " + std::to_string(prompt_tokens) + " tokens" +
                (r.prompt_tokens ? "" : " (estimated)") + "; the limit is " +
                std::to_string(*limits.prompt_tokens));
      verdict = Verdict::kDeny;
    }
    if (limits.output_tokens && r.max_output_tokens > *limits.output_tokens) {
      s.Add("limits.output_tokens", Effect::kDeny,
            "request asks for " + std::to_string(r.max_output_tokens) +
                " output tokens; the limit is " + std::to_string(*limits.output_tokens));
      verdict = Verdict::kDeny;
    }
    if (r.max_output_tokens < 0 || (r.prompt_tokens && *r.prompt_tokens < 0)) {
      s.Add("limits.invalid_request", Effect::kDeny, "token counts must not be negative");
      verdict = Verdict::kDeny;
    }
    return verdict;
  }
};

class SensitiveDataFilter final : public Filter {
 public:
  std::string_view name() const override { return "sensitive_data"; }
  Verdict Apply(DecisionState& s) const override {
    const std::string_view prompt = s.request.prompt;
    Decision& d = s.decision;
    if (!ValidUtf8(prompt)) {
      s.Add("request.invalid_utf8", Effect::kDeny, "the prompt is not valid UTF-8");
      d.audit_prompt = "[INVALID_UTF8]";
      return Verdict::kDeny;
    }
    const Scanner& scanner = s.policy.scanner();
    const auto& specs = scanner.specs();
    std::vector<Action> actions(specs.size());
    std::vector<bool> enabled(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      actions[i] = s.classification ? s.policy.DetectorActionFor(*s.classification, specs[i].name)
                                    : s.policy.DetectorAction(specs[i].name);
      // Markings always run: they also check the declared classification.
      enabled[i] = actions[i] != Action::kOff || specs[i].name == "marking";
    }
    std::vector<Hit> hits = scanner.Scan(prompt, enabled);

    struct Count {
      int n = 0;
      Action action = Action::kOff;
    };
    std::map<std::string, Count> counts;  // detector -> occurrences
    Verdict verdict = Verdict::kContinue;
    std::string audit, model;
    audit.reserve(prompt.size());
    model.reserve(prompt.size());
    size_t last = 0;
    int marking_denials = 0;
    for (const Hit& h : hits) {
      const auto& spec = specs[h.detector];
      std::string_view value = prompt.substr(h.begin, h.end - h.begin);
      if (spec.name == "marking" && s.classification) {
        const Classification* marked = nullptr;
        for (const Classification& c : s.policy.classifications()) {
          if (std::find(c.markings.begin(), c.markings.end(), value) != c.markings.end()) {
            marked = &c;
          }
        }
        if (marked && marked->level > s.classification->level && marking_denials++ == 0) {
          s.Add("classification.marking_above_declared", Effect::kDeny,
                "the prompt carries a marking of class " + marked->name + " (level " +
                    std::to_string(marked->level) + ") but was declared " +
                    s.classification->name + " (level " +
                    std::to_string(s.classification->level) + ")");
          verdict = Verdict::kDeny;
        }
      }
      Action action = actions[h.detector];
      if (action == Action::kOff) continue;
      Count& c = counts[spec.name];
      ++c.n;
      c.action = action;
      std::string placeholder = s.pseudonyms->PlaceholderFor(spec.type, value);
      d.obligations.redactions.push_back({spec.name, h.begin, h.end, action, placeholder});
      audit.append(prompt.substr(last, h.begin - last));
      audit.append(placeholder);
      model.append(prompt.substr(last, h.begin - last));
      if (action == Action::kRedactBeforeModel) {
        model.append(placeholder);
        d.restore.Add(placeholder, std::string(value));
      } else {
        model.append(value);
      }
      last = h.end;
    }
    audit.append(prompt.substr(last));
    model.append(prompt.substr(last));
    for (const auto& [detector, c] : counts) {
      std::string what = std::to_string(c.n) + " " + detector + " finding(s)";
      switch (c.action) {
        case Action::kBlock:
          s.Add("detector." + detector + ".block", Effect::kDeny,
                what + "; the policy blocks them for this class");
          verdict = Verdict::kDeny;
          break;
        case Action::kRedactBeforeModel:
          s.Add("detector." + detector + ".redact_before_model", Effect::kRedact,
                what + " replaced by placeholders before the model and in the audit record");
          if (verdict == Verdict::kContinue) verdict = Verdict::kRedact;
          break;
        case Action::kRedactInAudit:
          s.Add("detector." + detector + ".redact_in_audit", Effect::kRedact,
                what + " replaced by placeholders in the audit record");
          if (verdict == Verdict::kContinue) verdict = Verdict::kRedact;
          break;
        case Action::kOff:
          break;
      }
    }
    d.audit_prompt = std::move(audit);
    d.model_prompt = std::move(model);
    return verdict;
  }
};

class RetentionFilter final : public Filter {
 public:
  std::string_view name() const override { return "retention"; }
  Verdict Apply(DecisionState& s) const override {
    if (!s.classification) return Verdict::kContinue;
    const Retention& r = s.classification->retention;
    s.decision.obligations.retention = r;
    s.Add("retention.class", Effect::kInfo,
          "content " + (r.store_content ? "kept " + FormatDuration(r.content_seconds)
                                        : std::string("never stored (hash only)")) +
              "; audit kept " + FormatDuration(r.audit_seconds));
    s.decision.obligations.legal_holds =
        s.policy.HoldsFor(s.request.user_id, s.request.conversation_id);
    for (const std::string& id : s.decision.obligations.legal_holds) {
      s.Add("retention.legal_hold", Effect::kInfo,
            "legal hold " + id + " applies: deletion is suspended");
    }
    return Verdict::kContinue;
  }
};

}  // namespace

std::unique_ptr<Filter> MakeIdentityFilter() { return std::make_unique<IdentityFilter>(); }
std::unique_ptr<Filter> MakeNetworkFilter() { return std::make_unique<NetworkFilter>(); }
std::unique_ptr<Filter> MakeClassificationFilter() {
  return std::make_unique<ClassificationFilter>();
}
std::unique_ptr<Filter> MakeModelFilter() { return std::make_unique<ModelFilter>(); }
std::unique_ptr<Filter> MakeLimitsFilter() { return std::make_unique<LimitsFilter>(); }
std::unique_ptr<Filter> MakeSensitiveDataFilter() {
  return std::make_unique<SensitiveDataFilter>();
}
std::unique_ptr<Filter> MakeRetentionFilter() { return std::make_unique<RetentionFilter>(); }

const std::vector<std::unique_ptr<Filter>>& DefaultChain() {
  static const auto* chain = [] {
    auto* v = new std::vector<std::unique_ptr<Filter>>();
    v->push_back(MakeIdentityFilter());
    v->push_back(MakeNetworkFilter());
    v->push_back(MakeClassificationFilter());
    v->push_back(MakeModelFilter());
    v->push_back(MakeLimitsFilter());
    v->push_back(MakeSensitiveDataFilter());
    v->push_back(MakeRetentionFilter());
    return v;
  }();
  return *chain;
}

}  // namespace policy::internal
