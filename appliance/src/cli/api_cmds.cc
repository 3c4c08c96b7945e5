// `assistant` subcommands that call the public API: chat, models,
// conversations, my-policy, admin, audit.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "appliance/tls_material.h"
#include "common/file.h"
#include "common/json.h"
#include "common/sha256.h"
#include "assistant/v1/admin.grpc.pb.h"
#include "assistant/v1/audit.grpc.pb.h"
#include "assistant/v1/chat.grpc.pb.h"
#include "assistant/v1/conversations.grpc.pb.h"
#include "assistant/v1/models.grpc.pb.h"
#include "assistant/v1/policy.grpc.pb.h"
#include "cli_common.h"

namespace appliance::cli {
namespace {

namespace v1 = assistant::v1;

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

// Parsed "--flag value" / "--flag" options and positional arguments.
struct Args {
  std::map<std::string, std::string> opts;
  std::vector<std::string> positional;
  bool help = false;
  bool Has(const std::string& k) const { return opts.contains(k); }
  std::string Get(const std::string& k, const std::string& def = "") const {
    auto it = opts.find(k);
    return it == opts.end() ? def : it->second;
  }
};

// `flags` are options without a value.
bool ParseArgs(const std::vector<std::string>& in, size_t start,
               const std::vector<std::string>& flags, Args* out, std::string* error) {
  for (size_t i = start; i < in.size(); ++i) {
    const std::string& a = in[i];
    if (a == "--help" || a == "-h") {
      out->help = true;
    } else if (a.rfind("--", 0) == 0 && a.size() > 2) {
      if (std::find(flags.begin(), flags.end(), a) != flags.end()) {
        out->opts[a] = "1";
      } else if (i + 1 < in.size()) {
        out->opts[a] = in[++i];
      } else {
        *error = a + " needs a value";
        return false;
      }
    } else {
      out->positional.push_back(a);
    }
  }
  return true;
}

template <typename Stub>
std::unique_ptr<Stub> Connect(const Invocation& inv, const char* cmd) {
  auto channel = MakeClientChannel(inv.options.client);
  if (!channel.ok()) {
    std::cerr << "assistant " << cmd << ": " << channel.status().message() << "\n";
    return nullptr;
  }
  return std::make_unique<Stub>(*channel);
}

void Prepare(const Invocation& inv, grpc::ClientContext* ctx, int seconds = 30) {
  PrepareContext(inv.options.client, ctx);
  if (seconds > 0) ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

int Fail(const char* cmd, const grpc::Status& s, const grpc::ClientContext& ctx) {
  std::cerr << "assistant " << cmd << ": " << FromGrpcStatus(s, ctx).message() << "\n";
  return s.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                 s.error_code() == grpc::StatusCode::UNAUTHENTICATED
             ? 3
             : 1;
}

std::string Seconds(int64_t s) {
  if (s == 0) return "0";
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  return std::to_string(s) + "s";
}

std::string TimeText(int64_t s) {
  char buf[32];
  std::time_t t = s;
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// ------------------------------------------------------------------ chat

constexpr char kChatHelp[] =
    "usage: assistant [GLOBAL OPTIONS] chat [OPTIONS] [MESSAGE...]\n\n"
    "Sends MESSAGE (or standard input when none is given) and streams the answer.\n"
    "The footer (on stderr) names the conversation and the audit records.\n\n"
    "  --model NAME            model (default: the policy's default)\n"
    "  --classification NAME   data classification, e.g. INTERNAL\n"
    "  --conversation ID       continue a conversation\n"
    "  --system TEXT           a system message first\n"
    "  --max-tokens N          upper bound on the answer's tokens\n"
    "  --temperature T         0 = greedy\n"
    "  --seed N                same seed, same answer\n"
    "  --incognito             store nothing of this conversation's content\n";

}  // namespace

int RunChat(Invocation& inv) {
  Args args;
  std::string error;
  if (!ParseArgs(inv.args, 0, {"--incognito"}, &args, &error)) {
    std::cerr << "assistant chat: " << error << "\n";
    return 2;
  }
  if (args.help) {
    std::cout << kChatHelp;
    return 0;
  }
  std::string message;
  for (const auto& p : args.positional) message += (message.empty() ? "" : " ") + p;
  if (message.empty()) {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    message = ss.str();
  }
  if (message.empty()) {
    std::cerr << "assistant chat: nothing to send\n";
    return 2;
  }
  auto stub = Connect<v1::ChatService::Stub>(inv, "chat");
  if (!stub) return 1;
  v1::ChatRequest req;
  req.set_model(args.Get("--model"));
  req.set_classification(args.Get("--classification"));
  req.set_conversation_id(args.Get("--conversation"));
  req.set_incognito(args.Has("--incognito"));
  if (args.Has("--system")) {
    auto* m = req.add_messages();
    m->set_role(v1::ChatMessage::ROLE_SYSTEM);
    m->set_content(args.Get("--system"));
  }
  auto* m = req.add_messages();
  m->set_role(v1::ChatMessage::ROLE_USER);
  m->set_content(message);
  try {
    if (args.Has("--max-tokens")) req.mutable_sampling()->set_max_tokens(std::stoul(args.Get("--max-tokens")));
    if (args.Has("--temperature")) req.mutable_sampling()->set_temperature(std::stof(args.Get("--temperature")));
    if (args.Has("--seed")) req.mutable_sampling()->set_seed(std::stoull(args.Get("--seed")));
  } catch (const std::exception&) {
    std::cerr << "assistant chat: --max-tokens, --temperature and --seed take numbers\n";
    return 2;
  }
  grpc::ClientContext ctx;
  Prepare(inv, &ctx, 600);
  auto reader = stub->Chat(&ctx, req);
  v1::ChatEvent ev;
  v1::ChatStart start;
  v1::ChatEnd end;
  while (reader->Read(&ev)) {
    if (inv.options.json) {
      std::cout << ToJson(ev) << "\n" << std::flush;
    }
    if (ev.has_start()) {
      start = ev.start();
      if (!inv.options.json && start.redactions_size() > 0) {
        std::cerr << "[policy: " << start.redactions_size() << " sensitive value(s) redacted:";
        for (const auto& r : start.redactions()) std::cerr << " " << r.placeholder() << " (" << r.action() << ")";
        std::cerr << "]\n";
      }
    } else if (ev.has_delta() && !inv.options.json) {
      std::cout << ev.delta().text() << std::flush;
    } else if (ev.has_end()) {
      end = ev.end();
    }
  }
  grpc::Status s = reader->Finish();
  if (!inv.options.json) std::cout << "\n";
  if (!s.ok()) return Fail("chat", s, ctx);
  if (!inv.options.json) {
    const char* reason = v1::ChatEnd::FinishReason_Name(end.finish_reason()).c_str() + 14;
    std::cerr << "[conversation " << start.conversation_id() << " | model " << start.model() << " | "
              << start.classification() << " | " << end.usage().completion_tokens() << " tokens, "
              << reason << " | audit records #" << start.audit_sequence() << " and #"
              << end.audit_sequence() << " | content "
              << (start.retention().not_stored()
                      ? std::string("not stored")
                      : "kept " + Seconds(start.retention().content_retention().seconds()))
              << "]\n";
  }
  return 0;
}

// ------------------------------------------------------------------ models

namespace {

// `models import`: registers a GGUF file for an air-gapped site, offline:
// its SHA-256, size and provenance labels go into STATE/models.json, which
// assistantd loads at start. Prints the policy entry that pins it.
int ImportModel(const Invocation& inv) {
  std::string file, name, registry;
  std::map<std::string, std::string> labels;
  for (size_t i = 1; i < inv.args.size(); ++i) {
    const std::string& a = inv.args[i];
    auto next = [&]() -> std::string { return i + 1 < inv.args.size() ? inv.args[++i] : ""; };
    if (a == "--help" || a == "-h") {
      std::cout << "usage: assistant models import FILE.gguf [--name NAME] [--label KEY=VALUE]...\n"
                   "                                [--registry FILE]\n\n"
                   "Registers a model file offline: computes its SHA-256 and records it with its\n"
                   "provenance labels in the registry (default STATE/models.json, read by\n"
                   "assistantd at start). Prints the policy entry that pins the model.\n";
      return 0;
    }
    if (a == "--name") name = next();
    else if (a == "--registry") registry = next();
    else if (a == "--label") {
      const std::string kv = next();
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "assistant models import: --label needs KEY=VALUE\n";
        return 2;
      }
      labels[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (file.empty() && a.rfind("--", 0) != 0) {
      file = a;
    } else {
      std::cerr << "assistant models import: unexpected argument '" << a << "'\n";
      return 2;
    }
  }
  if (file.empty()) {
    std::cerr << "assistant models import: give the GGUF file\n";
    return 2;
  }
  std::error_code ec;
  const std::string path = std::filesystem::absolute(file, ec).string();
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  if (!in || std::string(magic, 4) != "GGUF") {
    std::cerr << "assistant models import: " << file << " is not a GGUF file\n";
    return 1;
  }
  auto sha = common::Sha256File(path);
  if (!sha.ok()) {
    std::cerr << "assistant models import: " << sha.status().message() << "\n";
    return 1;
  }
  if (name.empty()) name = std::filesystem::path(path).stem().string();
  if (registry.empty()) {
    const std::string state = inv.options.state_dir.empty() ? "state" : inv.options.state_dir;
    registry = state + "/models.json";
  }
  common::Json root = common::Json::MakeObject();
  root.Set("models", common::Json::MakeArray());
  if (std::filesystem::exists(registry)) {
    auto text = common::ReadFile(registry);
    auto parsed = text.ok() ? common::Json::Parse(*text) : common::StatusOr<common::Json>(text.status());
    if (!parsed.ok() || parsed->Find("models") == nullptr) {
      std::cerr << "assistant models import: " << registry << " is not a model registry\n";
      return 1;
    }
    root = *parsed;
  }
  common::Json entry = common::Json::MakeObject();
  entry.Set("name", name);
  entry.Set("path", path);
  entry.Set("sha256", *sha);
  entry.Set("bytes", static_cast<int64_t>(std::filesystem::file_size(path, ec)));
  common::Json lj = common::Json::MakeObject();
  for (const auto& [k, v] : labels) lj.Set(k, v);
  entry.Set("labels", lj);
  common::Json models = common::Json::MakeArray();
  for (const auto& m : root.Find("models")->as_array()) {
    const common::Json* n = m.Find("name");
    if (n == nullptr || n->as_string() != name) models.Push(m);
  }
  models.Push(entry);
  root.Set("models", models);
  std::filesystem::create_directories(std::filesystem::path(registry).parent_path(), ec);
  {
    std::ofstream out(registry + ".tmp", std::ios::trunc);
    common::Json::DumpOptions o;
    o.indent = 2;
    out << root.Dump(o) << "\n";
    if (!out) {
      std::cerr << "assistant models import: cannot write " << registry << "\n";
      return 1;
    }
  }
  std::filesystem::rename(registry + ".tmp", registry, ec);
  if (inv.options.json) {
    std::cout << entry.Dump() << "\n";
    return 0;
  }
  std::cout << "registered " << name << " (" << entry.Find("bytes")->as_int() << " bytes)\n"
            << "  sha256 " << *sha << "\n  registry " << registry
            << " (restart assistantd to serve it)\nPin it in the policy:\nmodels:\n  - name: " << name
            << "\n    sha256: " << *sha << "\n";
  if (!labels.empty()) {
    std::cout << "    labels:\n";
    for (const auto& [k, v] : labels) std::cout << "      " << k << ": " << v << "\n";
  }
  return 0;
}

}  // namespace

int RunModels(Invocation& inv) {
  if (!inv.args.empty() && inv.args[0] == "import") return ImportModel(inv);
  Args args;
  std::string error;
  if (!ParseArgs(inv.args, 0, {}, &args, &error) || args.help) {
    std::cout << "usage: assistant [GLOBAL OPTIONS] models [--classification NAME]\n"
                 "       assistant [GLOBAL OPTIONS] models import FILE.gguf --label KEY=VALUE ...\n\n"
                 "Lists the models the appliance serves, with hash and provenance labels;\n"
                 "import registers a model file offline (models import --help).\n";
    return args.help ? 0 : 2;
  }
  auto stub = Connect<v1::ModelService::Stub>(inv, "models");
  if (!stub) return 1;
  v1::ListModelsRequest req;
  req.set_classification(args.Get("--classification"));
  v1::ListModelsResponse resp;
  grpc::ClientContext ctx;
  Prepare(inv, &ctx);
  grpc::Status s = stub->ListModels(&ctx, req, &resp);
  if (!s.ok()) return Fail("models", s, ctx);
  if (inv.options.json) {
    std::cout << ToJson(resp) << "\n";
    return 0;
  }
  for (const auto& m : resp.models()) {
    std::cout << m.name() << "  " << m.architecture() << ", " << m.parameters() << " parameters, "
              << m.quantization() << ", " << m.file_size_bytes() << " bytes, " << m.backend() << "\n"
              << "  sha256 " << m.sha256() << "\n  classifications:";
    for (const auto& c : m.allowed_classifications()) std::cout << " " << c;
    std::cout << "\n";
    if (!m.labels().empty()) {
      std::cout << "  labels:";
      for (const auto& [k, v] : m.labels()) std::cout << " " << k << "=" << v;
      std::cout << "\n";
    }
  }
  return 0;
}

// ------------------------------------------------------------------ conversations

int RunConversations(Invocation& inv) {
  const std::string sub = inv.args.empty() ? "--help" : inv.args[0];
  Args args;
  std::string error;
  ParseArgs(inv.args, 1, {}, &args, &error);
  if (sub == "--help" || sub == "-h" || args.help ||
      (sub != "list" && sub != "get" && sub != "delete")) {
    std::cout << "usage: assistant [GLOBAL OPTIONS] conversations list\n"
                 "       assistant [GLOBAL OPTIONS] conversations get ID\n"
                 "       assistant [GLOBAL OPTIONS] conversations delete ID\n\n"
                 "Your conversations. delete crypto-shreds the content: its key is destroyed.\n";
    return sub == "--help" || sub == "-h" || args.help ? 0 : 2;
  }
  auto stub = Connect<v1::ConversationService::Stub>(inv, "conversations");
  if (!stub) return 1;
  grpc::ClientContext ctx;
  Prepare(inv, &ctx);
  if (sub == "list") {
    v1::ListConversationsRequest req;
    req.mutable_page()->set_page_size(1000);
    v1::ListConversationsResponse resp;
    grpc::Status s = stub->ListConversations(&ctx, req, &resp);
    if (!s.ok()) return Fail("conversations", s, ctx);
    if (inv.options.json) {
      std::cout << ToJson(resp) << "\n";
      return 0;
    }
    for (const auto& c : resp.conversations()) {
      std::cout << c.id() << "  " << TimeText(c.updated().seconds()) << "  " << c.classification()
                << "  " << c.model() << "  " << c.message_count() << " messages  "
                << (c.retention().not_stored() ? "not stored" : "expires " + TimeText(c.expires().seconds()))
                << "\n";
    }
    return 0;
  }
  if (args.positional.empty()) {
    std::cerr << "assistant conversations " << sub << ": give the conversation id\n";
    return 2;
  }
  if (sub == "get") {
    v1::GetConversationRequest req;
    req.set_id(args.positional[0]);
    v1::Conversation resp;
    grpc::Status s = stub->GetConversation(&ctx, req, &resp);
    if (!s.ok()) return Fail("conversations", s, ctx);
    if (inv.options.json) {
      std::cout << ToJson(resp) << "\n";
      return 0;
    }
    std::cout << resp.summary().id() << " (" << resp.summary().classification() << ", "
              << resp.summary().model() << ")\n";
    if (resp.content_not_stored()) std::cout << "  content not stored (policy retention: none)\n";
    for (const auto& m : resp.messages()) {
      std::cout << (m.role() == v1::ChatMessage::ROLE_ASSISTANT ? "assistant: " : "you: ")
                << m.content() << "\n";
    }
    return 0;
  }
  v1::DeleteConversationRequest req;
  req.set_id(args.positional[0]);
  v1::DeleteConversationResponse resp;
  grpc::Status s = stub->DeleteConversation(&ctx, req, &resp);
  if (!s.ok()) return Fail("conversations", s, ctx);
  if (inv.options.json) {
    std::cout << ToJson(resp) << "\n";
  } else {
    std::cout << "deleted " << req.id() << ": its key is destroyed (audit record #"
              << resp.audit_sequence() << ")\n";
  }
  return 0;
}

// ------------------------------------------------------------------ my-policy

int RunMyPolicy(Invocation& inv) {
  for (const auto& a : inv.args) {
    if (a == "--help" || a == "-h") {
      std::cout << "usage: assistant [GLOBAL OPTIONS] my-policy\n\n"
                   "What the policy means for you: classifications, retention, models, limits.\n";
      return 0;
    }
  }
  auto stub = Connect<v1::MyPolicyService::Stub>(inv, "my-policy");
  if (!stub) return 1;
  grpc::ClientContext ctx;
  Prepare(inv, &ctx);
  v1::MyPolicy resp;
  grpc::Status s = stub->GetMyPolicy(&ctx, {}, &resp);
  if (!s.ok()) return Fail("my-policy", s, ctx);
  if (inv.options.json) {
    std::cout << ToJson(resp) << "\n";
    return 0;
  }
  std::cout << "you are " << resp.user_id() << " (roles:";
  for (const auto& r : resp.roles()) std::cout << " " << r;
  std::cout << ") at " << resp.site() << ", " << resp.jurisdiction() << "\n"
            << "default classification " << resp.default_classification() << "; policy "
            << resp.policy_hash().substr(0, 12) << "\n";
  for (const auto& c : resp.classifications()) {
    std::cout << "  " << c.name() << ": content "
              << (c.retention().not_stored() ? std::string("not stored")
                                             : "kept " + Seconds(c.retention().content_retention().seconds()))
              << ", audit kept " << Seconds(c.retention().audit_retention().seconds()) << ", models:";
    for (const auto& m : c.models()) std::cout << " " << m;
    std::cout << "\n";
  }
  const auto& l = resp.limits();
  std::cout << "limits: " << l.requests_per_minute() << " requests/min, " << l.tokens_per_minute()
            << " tokens/min, " << l.concurrent_streams() << " concurrent, " << l.max_output_tokens()
            << " output tokens (0 = no limit)\n";
  return 0;
}

// ------------------------------------------------------------------ admin

namespace {

constexpr char kAdminHelp[] =
    "usage: assistant [GLOBAL OPTIONS] admin COMMAND\n\n"
    "Administration (role admin). An admin cannot alter or delete audit records.\n\n"
    "  token create --user ID --roles user[,auditor] [--name N] [--days D]\n"
    "                                   prints the secret once\n"
    "  token list | token revoke ID\n"
    "  policy get | policy validate FILE | policy apply FILE\n"
    "  workers                          worker status\n"
    "  hold CONVERSATION_ID --reason R  place a legal hold on a conversation\n"
    "  hold --user ID --reason R        ... on every conversation of a user (also future ones)\n"
    "  holds                            list legal holds (API and policy)\n"
    "  release-hold HOLD_ID             release a hold placed through the API\n"
    "  purge                            run the retention sweeper now\n";

}  // namespace

int RunAdmin(Invocation& inv) {
  const std::vector<std::string>& a = inv.args;
  if (a.empty() || a[0] == "--help" || a[0] == "-h") {
    std::cout << kAdminHelp;
    return a.empty() ? 2 : 0;
  }
  Args args;
  std::string error;
  const size_t start = (a[0] == "token" || a[0] == "policy") ? 2 : 1;
  if (!ParseArgs(a, start, {}, &args, &error)) {
    std::cerr << "assistant admin: " << error << "\n";
    return 2;
  }
  if (args.help) {
    std::cout << kAdminHelp;
    return 0;
  }
  auto stub = Connect<v1::AdminService::Stub>(inv, "admin");
  if (!stub) return 1;
  grpc::ClientContext ctx;
  Prepare(inv, &ctx);
  const std::string sub = a.size() > 1 ? a[1] : "";
  if (a[0] == "token" && sub == "create") {
    v1::CreateTokenRequest req;
    req.set_user_id(args.Get("--user"));
    req.set_name(args.Get("--name", "integration"));
    std::stringstream roles(args.Get("--roles", "user"));
    for (std::string r; std::getline(roles, r, ',');) req.add_roles(r);
    req.mutable_lifetime()->set_seconds(std::stoll(args.Get("--days", "90")) * 86400);
    v1::CreateTokenResponse resp;
    grpc::Status s = stub->CreateToken(&ctx, req, &resp);
    if (!s.ok()) return Fail("admin token create", s, ctx);
    if (inv.options.json) {
      std::cout << ToJson(resp) << "\n";
    } else {
      std::cout << "token " << resp.token().id() << " for " << resp.token().user_id() << ", expires "
                << TimeText(resp.token().expires().seconds()) << "\n"
                << "secret (shown once; stored only as a hash):\n" << resp.secret() << "\n";
    }
    return 0;
  }
  if (a[0] == "token" && sub == "list") {
    v1::ListTokensResponse resp;
    grpc::Status s = stub->ListTokens(&ctx, {}, &resp);
    if (!s.ok()) return Fail("admin token list", s, ctx);
    if (inv.options.json) {
      std::cout << ToJson(resp) << "\n";
      return 0;
    }
    for (const auto& t : resp.tokens()) {
      std::cout << t.id() << "  " << t.name() << "  " << t.user_id() << "  expires "
                << TimeText(t.expires().seconds()) << (t.revoked() ? "  REVOKED" : "") << "\n";
    }
    return 0;
  }
  if (a[0] == "token" && sub == "revoke" && !args.positional.empty()) {
    v1::RevokeTokenRequest req;
    req.set_id(args.positional[0]);
    v1::RevokeTokenResponse resp;
    grpc::Status s = stub->RevokeToken(&ctx, req, &resp);
    if (!s.ok()) return Fail("admin token revoke", s, ctx);
    std::cout << (inv.options.json ? "{}" : "revoked " + req.id()) << "\n";
    return 0;
  }
  if (a[0] == "policy" && sub == "get") {
    v1::PolicyDocument resp;
    grpc::Status s = stub->GetPolicy(&ctx, {}, &resp);
    if (!s.ok()) return Fail("admin policy get", s, ctx);
    std::cout << (inv.options.json ? ToJson(resp) + "\n" : resp.yaml());
    return 0;
  }
  if (a[0] == "policy" && (sub == "validate" || sub == "apply") && !args.positional.empty()) {
    auto text = common::ReadFile(args.positional[0]);
    if (!text.ok()) {
      std::cerr << "assistant admin policy: " << text.status().message() << "\n";
      return 2;
    }
    if (sub == "validate") {
      v1::ValidatePolicyRequest req;
      req.set_yaml(*text);
      v1::ValidatePolicyResponse resp;
      grpc::Status s = stub->ValidatePolicy(&ctx, req, &resp);
      if (!s.ok()) return Fail("admin policy validate", s, ctx);
      if (inv.options.json) {
        std::cout << ToJson(resp) << "\n";
      } else if (resp.valid()) {
        std::cout << "valid, hash " << resp.hash() << "\n" << resp.summary() << "\n";
      } else {
        for (const auto& e : resp.errors()) {
          std::cout << args.positional[0] << ":" << e.line() << ":" << e.column() << ": " << e.message() << "\n";
        }
      }
      return resp.valid() ? 0 : 1;
    }
    v1::ApplyPolicyRequest req;
    req.set_yaml(*text);
    v1::ApplyPolicyResponse resp;
    grpc::Status s = stub->ApplyPolicy(&ctx, req, &resp);
    if (!s.ok()) return Fail("admin policy apply", s, ctx);
    std::cout << (inv.options.json ? ToJson(resp)
                                   : "applied, hash " + resp.hash() + " (audit record #" +
                                         std::to_string(resp.audit_sequence()) + ")")
              << "\n";
    return 0;
  }
  if (a[0] == "workers") {
    v1::WorkerStatusResponse resp;
    grpc::Status s = stub->GetWorkerStatus(&ctx, {}, &resp);
    if (!s.ok()) return Fail("admin workers", s, ctx);
    if (inv.options.json) {
      std::cout << ToJson(resp) << "\n";
      return 0;
    }
    for (const auto& w : resp.workers()) {
      std::cout << w.id() << "  " << w.address() << "  "
                << v1::WorkerStatus::State_Name(w.state()).substr(6) << "  " << w.backend() << "  "
                << w.active_streams() << "/" << w.capacity() << " streams, " << w.restarts()
                << " restarts" << (w.last_error().empty() ? "" : "  last error: " + w.last_error())
                << "\n";
    }
    return 0;
  }
  if (a[0] == "hold" && (!args.positional.empty() || args.Has("--user"))) {
    v1::PlaceLegalHoldRequest req;
    if (args.Has("--user")) {
      req.set_user_id(args.Get("--user"));
    } else {
      req.set_conversation_id(args.positional[0]);
    }
    req.set_reason(args.Get("--reason"));
    v1::LegalHold resp;
    grpc::Status s = stub->PlaceLegalHold(&ctx, req, &resp);
    if (!s.ok()) return Fail("admin hold", s, ctx);
    std::cout << (inv.options.json ? ToJson(resp)
                                   : "legal hold " + resp.id() + " placed on " +
                                         (resp.user_id().empty() ? "conversation " + resp.conversation_id()
                                                                 : "user " + resp.user_id()))
              << "\n";
    return 0;
  }
  if (a[0] == "holds") {
    v1::ListLegalHoldsResponse resp;
    grpc::Status s = stub->ListLegalHolds(&ctx, {}, &resp);
    if (!s.ok()) return Fail("admin holds", s, ctx);
    if (inv.options.json) {
      std::cout << ToJson(resp) << "\n";
      return 0;
    }
    for (const auto& h : resp.holds()) {
      std::cout << h.id() << "  "
                << (h.user_id().empty() ? "conversation " + h.conversation_id() : "user " + h.user_id())
                << "  by " << h.placed_by() << (h.reason().empty() ? "" : "  reason: " + h.reason())
                << "\n";
    }
    if (resp.holds().empty()) std::cout << "no legal holds\n";
    return 0;
  }
  if (a[0] == "release-hold" && !args.positional.empty()) {
    v1::ReleaseLegalHoldRequest req;
    req.set_id(args.positional[0]);
    v1::ReleaseLegalHoldResponse resp;
    grpc::Status s = stub->ReleaseLegalHold(&ctx, req, &resp);
    if (!s.ok()) return Fail("admin release-hold", s, ctx);
    std::cout << (inv.options.json ? ToJson(resp)
                                   : "legal hold " + req.id() + " released (audit record #" +
                                         std::to_string(resp.audit_sequence()) + ")")
              << "\n";
    return 0;
  }
  if (a[0] == "purge") {
    v1::PurgeNowResponse resp;
    grpc::Status s = stub->PurgeNow(&ctx, {}, &resp);
    if (!s.ok()) return Fail("admin purge", s, ctx);
    std::cout << (inv.options.json ? ToJson(resp)
                                   : std::to_string(resp.conversations_shredded()) + " shredded, " +
                                         std::to_string(resp.skipped_for_legal_hold()) + " held, " +
                                         std::to_string(resp.ledger_records_removed()) +
                                         " ledger records past retention removed")
              << "\n";
    return 0;
  }
  std::cerr << "assistant admin: unknown or incomplete command\n" << kAdminHelp;
  return 2;
}

// ------------------------------------------------------------------ audit

namespace {

constexpr char kAuditHelp[] =
    "usage: assistant [GLOBAL OPTIONS] audit COMMAND   (role auditor; try --as auditor)\n\n"
    "  verify [--checkpoint FILE]   verify the whole ledger (and that it extends FILE)\n"
    "  query [--subject U] [--type chat_request] [--decision deny] [--conversation ID]\n"
    "        [--from SEQ] [--limit N]\n"
    "  export --out DIR [same filters]   evidence bundle: records.jsonl, checkpoint,\n"
    "                                    signing key, manifest with hashes\n"
    "  checkpoint                    print the signed checkpoint of the current head\n"
    "  key                           print the public key that signs checkpoints\n"
    "Exit status of verify: 0 intact, 1 tampering found.\n"
    "Offline, on the database files with the key: assistant ledger --help (when built).\n";

bool FillFilter(const Args& args, v1::AuditFilter* f) {
  f->set_subject(args.Get("--subject"));
  if (args.Has("--type")) f->add_event_types(args.Get("--type"));
  f->set_decision(args.Get("--decision"));
  f->set_conversation_id(args.Get("--conversation"));
  f->set_classification(args.Get("--classification"));
  try {
    if (args.Has("--from")) f->set_from_sequence(std::stoull(args.Get("--from")));
    if (args.Has("--limit")) f->set_limit(std::stoull(args.Get("--limit")));
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

}  // namespace

int RunAudit(Invocation& inv) {
  const std::vector<std::string>& a = inv.args;
  if (a.empty() || a[0] == "--help" || a[0] == "-h") {
    std::cout << kAuditHelp;
    return a.empty() ? 2 : 0;
  }
  Args args;
  std::string error;
  if (!ParseArgs(a, 1, {}, &args, &error)) {
    std::cerr << "assistant audit: " << error << "\n";
    return 2;
  }
  if (args.help) {
    std::cout << kAuditHelp;
    return 0;
  }
  auto stub = Connect<v1::AuditService::Stub>(inv, "audit");
  if (!stub) return 1;
  grpc::ClientContext ctx;
  Prepare(inv, &ctx, 600);
  if (a[0] == "verify") {
    v1::VerifyRequest req;
    if (args.Has("--checkpoint")) {
      auto text = common::ReadFile(args.Get("--checkpoint"));
      if (!text.ok()) {
        std::cerr << "assistant audit verify: " << text.status().message() << "\n";
        return 2;
      }
      req.set_trusted_checkpoint(*text);
    }
    auto reader = stub->Verify(&ctx, req);
    v1::VerifyProgress p;
    v1::VerifyVerdict verdict;
    bool have = false;
    while (reader->Read(&p)) {
      if (p.has_verdict()) {
        verdict = p.verdict();
        have = true;
      }
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return Fail("audit verify", s, ctx);
    if (inv.options.json) {
      std::cout << ToJson(verdict) << "\n";
    } else {
      std::cout << verdict.summary() << "\n";
      if (!verdict.ok()) {
        std::cout << "first bad record: #" << verdict.first_bad_sequence() << " (" << verdict.problem() << ")\n";
      }
    }
    return have && verdict.ok() ? 0 : 1;
  }
  if (a[0] == "query" || a[0] == "export") {
    v1::AuditFilter filter;
    if (!FillFilter(args, &filter)) {
      std::cerr << "assistant audit: --from and --limit take numbers\n";
      return 2;
    }
    if (a[0] == "query") {
      v1::QueryRecordsRequest req;
      *req.mutable_filter() = filter;
      auto reader = stub->QueryRecords(&ctx, req);
      v1::AuditRecord r;
      while (reader->Read(&r)) {
        if (inv.options.json) {
          std::cout << ToJson(r) << "\n";
          continue;
        }
        std::cout << "#" << r.sequence() << " " << TimeText(r.time().seconds()) << " " << r.event_type()
                  << " " << (r.subject().empty() ? "-" : r.subject()) << " " << r.decision();
        if (!r.model().empty()) std::cout << " model=" << r.model();
        if (!r.classification().empty()) std::cout << " class=" << r.classification();
        if (!r.conversation_id().empty()) std::cout << " conv=" << r.conversation_id();
        if (r.completion_tokens() > 0) std::cout << " tokens=" << r.prompt_tokens() << "+" << r.completion_tokens();
        for (const auto& why : r.reasons()) std::cout << " [" << why.rule_id() << "]";
        for (const auto& red : r.redactions()) std::cout << " redacted:" << red.placeholder();
        if (!r.finish_reason().empty()) std::cout << " finish=" << r.finish_reason();
        std::cout << "\n";
      }
      grpc::Status s = reader->Finish();
      return s.ok() ? 0 : Fail("audit query", s, ctx);
    }
    const std::string out = args.Get("--out");
    if (out.empty()) {
      std::cerr << "assistant audit export: give --out DIR\n";
      return 2;
    }
    std::filesystem::create_directories(out);
    v1::ExportRequest req;
    *req.mutable_filter() = filter;
    auto reader = stub->Export(&ctx, req);
    v1::ExportChunk chunk;
    std::map<std::string, std::ofstream> files;
    while (reader->Read(&chunk)) {
      if (chunk.path().find("..") != std::string::npos || chunk.path().find('/') != std::string::npos) {
        std::cerr << "assistant audit export: refusing path " << chunk.path() << "\n";
        return 1;
      }
      auto& f = files[chunk.path()];
      if (!f.is_open()) f.open(out + "/" + chunk.path(), std::ios::binary | std::ios::trunc);
      f << chunk.data();
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return Fail("audit export", s, ctx);
    for (auto& [path, f] : files) {
      f.close();
      std::cout << out << "/" << path << "\n";
    }
    return 0;
  }
  if (a[0] == "checkpoint") {
    v1::Checkpoint resp;
    grpc::Status s = stub->CreateCheckpoint(&ctx, {}, &resp);
    if (!s.ok()) return Fail("audit checkpoint", s, ctx);
    std::cout << (inv.options.json ? ToJson(resp) + "\n" : resp.text());
    return 0;
  }
  if (a[0] == "key") {
    v1::SigningKey resp;
    grpc::Status s = stub->GetSigningKey(&ctx, {}, &resp);
    if (!s.ok()) return Fail("audit key", s, ctx);
    std::cout << (inv.options.json ? ToJson(resp) : resp.public_key_pem()) << "\n";
    return 0;
  }
  std::cerr << "assistant audit: unknown command '" << a[0] << "'\n" << kAuditHelp;
  return 2;
}

}  // namespace appliance::cli
