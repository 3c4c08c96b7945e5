// `assistant policy check FILE` and `assistant policy explain ...`.
#include "policy/cli.h"
#include "common/file.h"

#include <fstream>
#include <sstream>

#include "common/json.h"
#include "common/status.h"
#include "policy/decision.h"
#include "policy/policy.h"

namespace policy::cli {
namespace {

constexpr int kOk = 0;
constexpr int kInvalid = 1;
constexpr int kUsage = 2;
constexpr int kDenied = 3;

constexpr std::string_view kUsageText =
    "usage: assistant policy check FILE\n"
    "       assistant policy explain --policy FILE --request REQUEST.json [--json] "
    "[--show-prompts]\n"
    "\n"
    "REQUEST.json: {\"user\": \"alice\", \"roles\": [\"analyst\"], \"client_address\": "
    "\"10.1.2.3\",\n"
    "  \"classification\": \"CUI\", \"model\": \"name\", \"model_sha256\": \"hex\",\n"
    "  \"model_labels\": {\"licence\": \"MIT\"}, \"prompt\": \"...\", \"conversation_id\": "
    "\"c1\",\n"
    "  \"prompt_tokens\": 100, \"max_output_tokens\": 200}\n"
    "exit status: 0 valid/allowed, 1 invalid input, 2 usage, 3 denied\n";


struct Request {
  RequestContext context;
  std::string prompt;  // owns what context.prompt points to
};

common::Status RequestFromJson(const common::Json& j, Request* r) {
  using common::InvalidArgumentError;
  if (!j.is_object()) return InvalidArgumentError("the request must be a JSON object");
  RequestContext& c = r->context;
  for (const auto& member : j.as_object()) {
    // Not a structured binding: clang 14 cannot capture those in lambdas.
    const std::string& key = member.first;
    const common::Json& v = member.second;
    auto str = [&](std::string* out) -> common::Status {
      if (!v.is_string()) return InvalidArgumentError("request." + key + " must be a string");
      *out = v.as_string();
      return common::OkStatus();
    };
    auto count = [&](int64_t* out) -> common::Status {
      if (!v.is_int() || v.as_int() < 0) {
        return InvalidArgumentError("request." + key + " must be a non-negative integer");
      }
      *out = v.as_int();
      return common::OkStatus();
    };
    if (key == "user") {
      RETURN_IF_ERROR(str(&c.user_id));
    } else if (key == "roles") {
      if (!v.is_array()) return InvalidArgumentError("request.roles must be a list of strings");
      for (const auto& role : v.as_array()) {
        if (!role.is_string()) return InvalidArgumentError("request.roles must hold strings");
        c.roles.push_back(role.as_string());
      }
    } else if (key == "client_address") {
      RETURN_IF_ERROR(str(&c.client_address));
    } else if (key == "classification") {
      RETURN_IF_ERROR(str(&c.classification));
    } else if (key == "model") {
      RETURN_IF_ERROR(str(&c.model_name));
    } else if (key == "model_sha256") {
      RETURN_IF_ERROR(str(&c.model_sha256));
    } else if (key == "model_labels") {
      if (!v.is_object()) return InvalidArgumentError("request.model_labels must be an object");
      for (const auto& [k, lv] : v.as_object()) {
        if (!lv.is_string()) return InvalidArgumentError("request.model_labels hold strings");
        c.model_labels[k] = lv.as_string();
      }
    } else if (key == "prompt") {
      RETURN_IF_ERROR(str(&r->prompt));
    } else if (key == "conversation_id") {
      RETURN_IF_ERROR(str(&c.conversation_id));
    } else if (key == "prompt_tokens") {
      int64_t n = 0;
      RETURN_IF_ERROR(count(&n));
      c.prompt_tokens = n;
    } else if (key == "max_output_tokens") {
      RETURN_IF_ERROR(count(&c.max_output_tokens));
    } else {
      return InvalidArgumentError(
          "unknown key '" + key +
          "' in the request; expected one of: user, roles, client_address, classification, "
          "model, model_sha256, model_labels, prompt, conversation_id, prompt_tokens, "
          "max_output_tokens");
    }
  }
  c.prompt = r->prompt;
  return common::OkStatus();
}

std::string LimitText(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::string("unlimited");
}

common::Json LimitJson(const std::optional<int64_t>& v) {
  return v ? common::Json(*v) : common::Json();
}

int Check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() != 2) {
    err << kUsageText;
    return kUsage;
  }
  auto p = Policy::FromFile(args[1]);
  if (!p.ok()) {
    err << "policy check failed: " << p.status().message() << "\n";
    return kInvalid;
  }
  out << "OK: " << args[1] << " is valid\n" << (*p)->Summary();
  return kOk;
}

int Explain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string policy_path, request_path;
  bool json = false, show_prompts = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--policy" && i + 1 < args.size()) {
      policy_path = args[++i];
    } else if (args[i] == "--request" && i + 1 < args.size()) {
      request_path = args[++i];
    } else if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--show-prompts") {
      show_prompts = true;
    } else {
      err << "unknown argument '" << args[i] << "'\n" << kUsageText;
      return kUsage;
    }
  }
  if (policy_path.empty() || request_path.empty()) {
    err << kUsageText;
    return kUsage;
  }
  auto p = Policy::FromFile(policy_path);
  if (!p.ok()) {
    err << "invalid policy: " << p.status().message() << "\n";
    return kInvalid;
  }
  auto text = common::ReadFile(request_path);
  if (!text.ok()) {
    err << text.status().message() << "\n";
    return kInvalid;
  }
  auto j = common::Json::Parse(*text);
  if (!j.ok()) {
    err << request_path << ": " << j.status().message() << "\n";
    return kInvalid;
  }
  Request request;
  if (common::Status s = RequestFromJson(*j, &request); !s.ok()) {
    err << request_path << ": " << s.message() << "\n";
    return kInvalid;
  }
  const Decision d = Decide(**p, request.context);
  const Obligations& o = d.obligations;
  if (json) {
    using common::Json;
    Json root = Json::MakeObject();
    root.Set("allow", d.allow);
    root.Set("classification", d.classification);
    root.Set("policy_hash", d.policy_hash);
    Json reasons = Json::MakeArray();
    for (const Reason& r : d.reasons) {
      reasons.Push(Json(Json::Object{{"rule_id", r.rule_id},
                                     {"effect", std::string(EffectName(r.effect))},
                                     {"message", r.message}}));
    }
    root.Set("reasons", reasons);
    Json ob = Json::MakeObject();
    ob.Set("content_retention_seconds",
           o.retention.store_content ? Json(o.retention.content_seconds) : Json("none"));
    ob.Set("audit_retention_seconds", o.retention.audit_seconds);
    Json holds = Json::MakeArray();
    for (const auto& h : o.legal_holds) holds.Push(h);
    ob.Set("legal_holds", holds);
    ob.Set("limits", Json(Json::Object{{"prompt_tokens", LimitJson(o.limits.prompt_tokens)},
                                       {"output_tokens", LimitJson(o.limits.output_tokens)},
                                       {"requests_per_minute",
                                        LimitJson(o.limits.requests_per_minute)},
                                       {"tokens_per_minute", LimitJson(o.limits.tokens_per_minute)},
                                       {"concurrent_streams",
                                        LimitJson(o.limits.concurrent_streams)}}));
    Json red = Json::MakeArray();
    for (const Redaction& r : o.redactions) {
      red.Push(Json(Json::Object{{"detector", r.detector},
                                 {"begin", static_cast<uint64_t>(r.begin)},
                                 {"end", static_cast<uint64_t>(r.end)},
                                 {"action", std::string(ActionName(r.action))},
                                 {"placeholder", r.placeholder}}));
    }
    ob.Set("redactions", red);
    root.Set("obligations", ob);
    if (show_prompts) {
      root.Set("audit_prompt", d.audit_prompt);
      root.Set("model_prompt", d.model_prompt);
    }
    common::Json::DumpOptions opts;
    opts.indent = 2;
    out << root.Dump(opts) << "\n";
  } else {
    out << "decision: " << (d.allow ? "ALLOW" : "DENY") << "\n";
    out << "classification: " << d.classification << "\n";
    out << "policy: " << d.policy_hash << "\n";
    out << "reasons:\n";
    for (const Reason& r : d.reasons) {
      std::string effect(EffectName(r.effect));
      effect.resize(7, ' ');
      out << "  " << effect << r.rule_id << ": " << r.message << "\n";
    }
    out << "obligations:\n";
    out << "  content retention: "
        << (o.retention.store_content ? FormatDuration(o.retention.content_seconds)
                                      : std::string("none (only the hash is stored)"))
        << "\n";
    out << "  audit retention: " << FormatDuration(o.retention.audit_seconds) << "\n";
    out << "  legal holds:";
    if (o.legal_holds.empty()) out << " none";
    for (const auto& h : o.legal_holds) out << " " << h;
    out << "\n";
    out << "  limits: prompt_tokens=" << LimitText(o.limits.prompt_tokens)
        << " output_tokens=" << LimitText(o.limits.output_tokens)
        << " requests_per_minute=" << LimitText(o.limits.requests_per_minute)
        << " tokens_per_minute=" << LimitText(o.limits.tokens_per_minute)
        << " concurrent_streams=" << LimitText(o.limits.concurrent_streams) << "\n";
    out << "  redactions: " << o.redactions.size() << "\n";
    for (const Redaction& r : o.redactions) {
      out << "    " << r.placeholder << " " << r.detector << " bytes " << r.begin << "-" << r.end
          << " " << ActionName(r.action) << "\n";
    }
    if (show_prompts) {
      out << "audit copy: " << d.audit_prompt << "\n";
      out << "model copy: " << (d.allow ? d.model_prompt : std::string("(not sent)")) << "\n";
    }
  }
  return d.allow ? kOk : kDenied;
}

}  // namespace

int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsageText;
    return args.empty() ? kUsage : kOk;
  }
  if (args[0] == "check") return Check(args, out, err);
  if (args[0] == "explain") return Explain(args, out, err);
  err << "unknown policy command '" << args[0] << "'\n" << kUsageText;
  return kUsage;
}

}  // namespace policy::cli
