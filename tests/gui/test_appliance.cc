#include "test_appliance.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QUuid>
#include <QtDebug>

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "assistant/v1/admin.grpc.pb.h"
#include "assistant/v1/audit.grpc.pb.h"
#include "assistant/v1/chat.grpc.pb.h"
#include "assistant/v1/conversations.grpc.pb.h"
#include "assistant/v1/health.grpc.pb.h"
#include "assistant/v1/models.grpc.pb.h"
#include "assistant/v1/policy.grpc.pb.h"

namespace gui_test {
namespace v1 = assistant::v1;
using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;

#define RETURN_IF_BAD(expr)          \
  do {                              \
    ::grpc::Status _s = (expr);     \
    if (!_s.ok()) return _s;        \
  } while (0)

namespace {

const char kStory[] =
    "Once upon a time, there was a little fox named Pip. Pip liked to hop in the "
    "tall grass near the river. One day Pip found a shiny blue stone. He showed it "
    "to his friend the owl, and they laughed together until the sun went down.";

const char kCodeAnswer[] =
    "<think>The user wants a short loop in C++. A for loop from 1 to 3 that prints each "
    "number is the clearest answer.</think>Here is a loop that counts to three:\n\n"
    "```cpp\nfor (int i = 1; i <= 3; ++i) {\n  std::cout << i << '\\n';\n}\n```\n\n"
    "It prints **1**, **2** and **3**, one per line.";

bool runOpenssl(const QString& dir, const QStringList& args) {
  QProcess p;
  p.setWorkingDirectory(dir);
  p.start(QStringLiteral("openssl"), args);
  if (!p.waitForFinished(30000) || p.exitCode() != 0) {
    qWarning() << "openssl" << args << "failed:" << p.readAllStandardError();
    return false;
  }
  return true;
}

// CA + leaf certificates (P-256), valid one day.
bool makeCa(const QString& dir, const QString& name) {
  return runOpenssl(dir, {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                          "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-subj",
                          "/CN=" + name, "-days", "1"});
}

bool makeLeaf(const QString& dir, const QString& ca, const QString& name, const QString& cn,
              const QString& ext) {
  QFile extFile(QDir(dir).filePath(name + ".ext"));
  if (!extFile.open(QIODevice::WriteOnly)) return false;
  extFile.write(ext.toUtf8());
  extFile.close();
  return runOpenssl(dir, {"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn}) &&
         runOpenssl(dir, {"x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                          "-CAcreateserial", "-out", name + ".pem", "-days", "1", "-extfile",
                          name + ".ext"});
}

std::string readFile(const QString& path) {
  QFile f(path);
  f.open(QIODevice::ReadOnly);
  return f.readAll().toStdString();
}

google::protobuf::Duration days(int n) {
  google::protobuf::Duration d;
  d.set_seconds(int64_t(n) * 86400);
  return d;
}

google::protobuf::Timestamp now() {
  google::protobuf::Timestamp t;
  t.set_seconds(QDateTime::currentSecsSinceEpoch());
  return t;
}

// Adds the ErrorDetail to the trailers and returns the status.
Status fail(ServerContext* ctx, StatusCode code, const std::string& reason, const std::string& message,
            const std::string& remedy = {}, const std::string& rule = {}, uint64_t seq = 0) {
  v1::ErrorDetail d;
  d.set_reason(reason);
  d.set_message(message);
  d.set_remedy(remedy);
  d.set_audit_sequence(seq);
  if (!rule.empty()) {
    auto* r = d.add_policy_reasons();
    r->set_rule_id(rule);
    r->set_message(message);
    r->set_denies(true);
  }
  ctx->AddTrailingMetadata("assistant-error-bin", d.SerializeAsString());
  return Status(code, message);
}

}  // namespace

struct TestAppliance::Impl final : v1::HealthService::Service,
                                   v1::MyPolicyService::Service,
                                   v1::ModelService::Service,
                                   v1::ChatService::Service,
                                   v1::ConversationService::Service,
                                   v1::AdminService::Service,
                                   v1::AuditService::Service {
  QString dir;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
  std::atomic<int> cancelled{0};
  std::atomic<int> chats{0};

  std::mutex mu;
  std::map<std::string, v1::Conversation> conversations;  // guarded by mu
  std::vector<v1::AuditRecord> ledger;                     // guarded by mu
  std::map<std::string, v1::LegalHold> holds;              // guarded by mu
  std::string policyYaml = "version: 1\nsite: berlin-1\ndefault_classification: INTERNAL\n";
  std::string policyHash = "3f1a9c0d5e7b2a4c";
  int nextId = 1;

  v1::MyPolicy policy() const {
    v1::MyPolicy p;
    p.set_user_id("alice");
    p.add_roles("user");
    p.add_roles("auditor");
    p.add_roles("admin");
    p.set_site("berlin-1");
    p.set_jurisdiction("DE");
    p.set_default_classification("INTERNAL");
    p.set_policy_hash(policyHash);
    auto* pub = p.add_classifications();
    pub->set_name("PUBLIC");
    pub->set_description("Public information");
    *pub->mutable_retention()->mutable_content_retention() = days(7);
    pub->add_models("stories260K");
    pub->add_models("stories15M");
    pub->set_incognito_allowed(true);
    auto* internal = p.add_classifications();
    internal->set_name("INTERNAL");
    internal->set_description("Internal use only");
    *internal->mutable_retention()->mutable_content_retention() = days(30);
    internal->add_models("stories260K");
    internal->add_models("stories15M");
    (*internal->mutable_detectors())["EMAIL"] = "redact_before_model";
    (*internal->mutable_detectors())["SSN"] = "block";
    internal->set_incognito_allowed(true);
    auto* conf = p.add_classifications();
    conf->set_name("CONFIDENTIAL");
    conf->set_description("Confidential: content not stored");
    conf->mutable_retention()->set_not_stored(true);
    conf->add_models("stories260K");
    (*conf->mutable_detectors())["EMAIL"] = "redact_before_model";
    return p;
  }

  std::string subject(ServerContext* ctx) {
    auto cn = ctx->auth_context()->FindPropertyValues("x509_common_name");
    if (!cn.empty()) return std::string(cn.front().data(), cn.front().size());
    auto it = ctx->client_metadata().find("authorization");
    if (it != ctx->client_metadata().end()) {
      std::string v(it->second.data(), it->second.size());
      if (v == "Bearer " + TestAppliance::validToken().toStdString()) return "bob";
      if (v == "Bearer " + TestAppliance::expiredToken().toStdString()) return "!expired";
    }
    return {};
  }

  Status authenticate(ServerContext* ctx, std::string* who) {
    *who = subject(ctx);
    if (*who == "!expired") {
      return fail(ctx, StatusCode::UNAUTHENTICATED, "TOKEN_EXPIRED", "the access token has expired",
                  "Ask your administrator for a new token.");
    }
    if (who->empty()) {
      return fail(ctx, StatusCode::UNAUTHENTICATED, "NO_CREDENTIALS", "no client certificate or token");
    }
    return Status::OK;
  }

  uint64_t audit(v1::AuditRecord r) {  // requires mu
    r.set_sequence(ledger.size() + 1);
    *r.mutable_time() = now();
    r.set_policy_hash(policyHash);
    r.set_leaf_hash(QString::number(qHash(QString::number(r.sequence())), 16).toStdString());
    ledger.push_back(r);
    return r.sequence();
  }

  // Health
  Status Check(ServerContext* ctx, const v1::HealthCheckRequest*, v1::HealthCheckResponse* out) override {
    out->set_status(v1::HealthCheckResponse::SERVING);
    out->set_version("0.1.0-test");
    out->set_site("berlin-1");
    out->set_caller(subject(ctx));
    return Status::OK;
  }

  // MyPolicy
  Status GetMyPolicy(ServerContext* ctx, const v1::GetMyPolicyRequest*, v1::MyPolicy* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    *out = policy();
    out->set_user_id(who);
    return Status::OK;
  }

  // Models
  Status ListModels(ServerContext* ctx, const v1::ListModelsRequest* req, v1::ListModelsResponse* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    const v1::MyPolicy current = policy();
    for (const auto& c : current.classifications()) {
      if (!req->classification().empty() && c.name() != req->classification()) continue;
      for (const auto& name : c.models()) {
        bool seen = false;
        for (const auto& m : out->models()) seen |= m.name() == name;
        if (seen) continue;
        auto* m = out->add_models();
        m->set_name(name);
        m->set_architecture("llama");
        m->set_parameters(name == "stories260K" ? 260000 : 15000000);
        m->set_quantization("F32");
        m->set_sha256(name == "stories260K" ? "9a1bd4b3c1e0f6a7d2c8e5f40b3a6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c"
                                            : "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0");
        (*m->mutable_labels())["origin"] = "karpathy/tinyllamas";
        (*m->mutable_labels())["licence"] = "MIT";
        m->set_context_length(512);
        m->set_backend("cpu (AVX2, 2 threads)");
        m->set_state(v1::Model::STATE_READY);
        m->add_allowed_classifications(c.name());
      }
    }
    return Status::OK;
  }

  // Chat
  Status Chat(ServerContext* ctx, const v1::ChatRequest* req, grpc::ServerWriter<v1::ChatEvent>* w) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    ++chats;
    if (req->messages_size() == 0) {
      return fail(ctx, StatusCode::INVALID_ARGUMENT, "NO_MESSAGES", "the request has no message");
    }
    const std::string classification = req->classification().empty() ? "INTERNAL" : req->classification();
    v1::ClassificationInfo info;
    bool known = false;
    const v1::MyPolicy current = policy();
    for (const auto& c : current.classifications()) {
      if (c.name() == classification) { info = c; known = true; }
    }
    const QString prompt = QString::fromStdString(req->messages(req->messages_size() - 1).content());
    std::string conversationId = req->conversation_id();
    uint64_t seq = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      v1::AuditRecord r;
      r.set_event_type("chat_request");
      r.set_subject(who);
      r.set_classification(classification);
      r.set_model(req->model());
      r.set_conversation_id(conversationId);
      r.set_request_id(req->client_request_id());
      static const QRegularExpression ssn(QStringLiteral("\\b\\d{3}-\\d{2}-\\d{4}\\b"));
      std::string denyRule, denyMessage, remedy, reason;
      if (!known) {
        denyRule = "classification." + classification;
        denyMessage = "classification '" + classification + "' may not be processed at site berlin-1";
        remedy = "Choose one of the classifications offered.";
        reason = "POLICY_DENIED";
      } else if (info.detectors().count("SSN") && ssn.match(prompt).hasMatch()) {
        denyRule = "detectors.SSN.block";
        denyMessage = "the message contains a social security number, which this classification blocks";
        remedy = "Remove the social security number from your message, or ask your administrator.";
        reason = "SENSITIVE_DATA_BLOCKED";
      }
      if (!denyRule.empty()) {
        r.set_decision("deny");
        auto* pr = r.add_reasons();
        pr->set_rule_id(denyRule);
        pr->set_message(denyMessage);
        pr->set_denies(true);
        seq = audit(r);
        return fail(ctx, StatusCode::PERMISSION_DENIED, reason, denyMessage, remedy, denyRule, seq);
      }
      r.set_decision("allow");
      const bool notStored = req->incognito() || info.retention().not_stored();
      if (conversationId.empty()) {
        conversationId = "c" + std::to_string(nextId++);
        v1::Conversation c;
        c.mutable_summary()->set_id(conversationId);
        c.mutable_summary()->set_title(prompt.section(' ', 0, 4).toStdString());
        c.mutable_summary()->set_classification(classification);
        c.mutable_summary()->set_model(req->model());
        *c.mutable_summary()->mutable_created() = now();
        if (notStored) {
          c.mutable_summary()->mutable_retention()->set_not_stored(true);
          c.set_content_not_stored(true);
        } else {
          *c.mutable_summary()->mutable_retention() = info.retention();
        }
        if (!req->incognito()) conversations[conversationId] = c;
      } else if (!conversations.count(conversationId)) {
        return fail(ctx, StatusCode::NOT_FOUND, "CONVERSATION_NOT_FOUND", "no such conversation");
      }
      r.set_conversation_id(conversationId);
      seq = audit(r);
    }

    v1::ChatEvent ev;
    auto* start = ev.mutable_start();
    start->set_conversation_id(conversationId);
    start->set_request_id(QUuid::createUuid().toString(QUuid::WithoutBraces).toStdString());
    start->set_model(req->model().empty() ? "stories260K" : req->model());
    start->set_classification(classification);
    if (req->incognito()) {
      start->mutable_retention()->set_not_stored(true);
    } else {
      *start->mutable_retention() = info.retention();
    }
    start->set_site("berlin-1");
    start->set_policy_hash(policyHash);
    start->set_audit_sequence(seq);
    static const QRegularExpression email(QStringLiteral("[\\w.+-]+@[\\w-]+\\.[\\w.]+"));
    auto m = email.match(prompt);
    if (m.hasMatch() && info.detectors().count("EMAIL")) {
      auto* red = start->add_redactions();
      red->set_type("EMAIL");
      red->set_action(info.detectors().at("EMAIL"));
      red->set_placeholder("[EMAIL_1]");
      red->set_begin(static_cast<uint32_t>(prompt.left(m.capturedStart()).toUtf8().size()));
      red->set_end(static_cast<uint32_t>(prompt.left(m.capturedEnd()).toUtf8().size()));
    }
    w->Write(ev);

    const bool endless = prompt.contains(QLatin1String("endless"));
    const bool code = prompt.contains(QLatin1String("C++"));
    const QStringList words = QString::fromLatin1(code ? kCodeAnswer : kStory).split(' ');
    std::string answer;
    uint32_t tokens = 0;
    bool wasCancelled = false;
    const int limit = endless ? 2000000 : static_cast<int>(words.size());
    for (int i = 0; i < limit; ++i) {
      if (ctx->IsCancelled()) { wasCancelled = true; break; }
      v1::ChatEvent d;
      std::string piece = (i == 0 ? "" : " ") + words[i % words.size()].toStdString();
      d.mutable_delta()->set_text(piece);
      d.mutable_delta()->set_tokens(1);
      if (!w->Write(d)) { wasCancelled = true; break; }
      answer += piece;
      ++tokens;
    }
    if (wasCancelled || ctx->IsCancelled()) {
      ++cancelled;
      std::lock_guard<std::mutex> lock(mu);
      v1::AuditRecord r;
      r.set_event_type("chat_outcome");
      r.set_subject(who);
      r.set_decision("allow");
      r.set_finish_reason("cancelled");
      r.set_completion_tokens(tokens);
      r.set_conversation_id(conversationId);
      audit(r);
      return Status(StatusCode::CANCELLED, "cancelled by the client");
    }
    uint64_t endSeq = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = conversations.find(conversationId);
      if (it != conversations.end() && !it->second.content_not_stored()) {
        if (req->conversation_id().empty()) it->second.clear_messages();
        for (const auto& msg : req->messages()) *it->second.add_messages() = msg;
        auto* a = it->second.add_messages();
        a->set_role(v1::ChatMessage::ROLE_ASSISTANT);
        a->set_content(answer);
      }
      if (it != conversations.end()) {
        it->second.mutable_summary()->set_message_count(static_cast<uint32_t>(it->second.messages_size()));
        *it->second.mutable_summary()->mutable_updated() = now();
      }
      v1::AuditRecord r;
      r.set_event_type("chat_outcome");
      r.set_subject(who);
      r.set_decision("allow");
      r.set_classification(classification);
      r.set_model(start->model());
      r.set_prompt_tokens(static_cast<uint32_t>(prompt.size() / 4 + 1));
      r.set_completion_tokens(tokens);
      r.set_finish_reason("stop");
      r.set_conversation_id(conversationId);
      r.set_content_sha256("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8");
      endSeq = audit(r);
    }
    v1::ChatEvent end;
    end.mutable_end()->set_finish_reason(v1::ChatEnd::FINISH_REASON_STOP);
    end.mutable_end()->mutable_usage()->set_completion_tokens(tokens);
    end.mutable_end()->mutable_timings()->set_decode_tokens_per_second(612.5);
    end.mutable_end()->set_audit_sequence(endSeq);
    w->Write(end);
    return Status::OK;
  }

  // Conversations
  Status ListConversations(ServerContext* ctx, const v1::ListConversationsRequest* req,
                           v1::ListConversationsResponse* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    std::lock_guard<std::mutex> lock(mu);
    const QString needle = QString::fromStdString(req->title_contains());
    for (auto it = conversations.rbegin(); it != conversations.rend(); ++it) {
      if (!QString::fromStdString(it->second.summary().title()).contains(needle, Qt::CaseInsensitive)) continue;
      *out->add_conversations() = it->second.summary();
    }
    return Status::OK;
  }

  Status GetConversation(ServerContext* ctx, const v1::GetConversationRequest* req, v1::Conversation* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    std::lock_guard<std::mutex> lock(mu);
    auto it = conversations.find(req->id());
    if (it == conversations.end()) {
      return fail(ctx, StatusCode::NOT_FOUND, "CONVERSATION_NOT_FOUND", "no such conversation");
    }
    *out = it->second;
    return Status::OK;
  }

  Status DeleteConversation(ServerContext* ctx, const v1::DeleteConversationRequest* req,
                            v1::DeleteConversationResponse* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    std::lock_guard<std::mutex> lock(mu);
    auto it = conversations.find(req->id());
    if (it == conversations.end()) {
      return fail(ctx, StatusCode::NOT_FOUND, "CONVERSATION_NOT_FOUND", "no such conversation");
    }
    for (const auto& [id, h] : holds) {
      if (h.conversation_id() == req->id() || h.user_id() == who) {
        return fail(ctx, StatusCode::FAILED_PRECONDITION, "LEGAL_HOLD",
                    "a legal hold applies to this conversation", "It can be deleted once the hold is released.");
      }
    }
    conversations.erase(it);
    v1::AuditRecord r;
    r.set_event_type("conversation_shred");
    r.set_subject(who);
    r.set_decision("allow");
    r.set_conversation_id(req->id());
    out->set_audit_sequence(audit(r));
    return Status::OK;
  }

  // Admin
  Status GetPolicy(ServerContext* ctx, const v1::GetPolicyRequest*, v1::PolicyDocument* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    std::lock_guard<std::mutex> lock(mu);
    out->set_yaml(policyYaml);
    out->set_hash(policyHash);
    out->set_version(1);
    return Status::OK;
  }

  static v1::ValidatePolicyResponse check(const std::string& yaml) {
    v1::ValidatePolicyResponse r;
    try {
      YAML::Node n = YAML::Load(yaml);
      if (!n.IsMap()) {
        auto* e = r.add_errors();
        e->set_line(1);
        e->set_column(1);
        e->set_message("a policy is a mapping of keys to values");
      } else if (!n["version"]) {
        auto* e = r.add_errors();
        e->set_line(1);
        e->set_column(1);
        e->set_message("missing required key 'version'");
      }
    } catch (const YAML::Exception& ex) {
      auto* e = r.add_errors();
      e->set_line(static_cast<uint32_t>(ex.mark.line + 1));
      e->set_column(static_cast<uint32_t>(ex.mark.column + 1));
      e->set_message(ex.msg);
    }
    r.set_valid(r.errors_size() == 0);
    if (r.valid()) {
      r.set_hash(QString::number(qHash(QString::fromStdString(yaml)), 16).toStdString());
      r.set_summary("Valid: 3 classifications, 2 models, site berlin-1");
    }
    return r;
  }

  Status ValidatePolicy(ServerContext* ctx, const v1::ValidatePolicyRequest* req,
                        v1::ValidatePolicyResponse* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    *out = check(req->yaml());
    return Status::OK;
  }

  Status ApplyPolicy(ServerContext* ctx, const v1::ApplyPolicyRequest* req, v1::ApplyPolicyResponse* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    auto v = check(req->yaml());
    if (!v.valid()) {
      return fail(ctx, StatusCode::INVALID_ARGUMENT, "POLICY_INVALID", "the policy has errors");
    }
    std::lock_guard<std::mutex> lock(mu);
    if (!req->expected_current_hash().empty() && req->expected_current_hash() != policyHash) {
      return fail(ctx, StatusCode::FAILED_PRECONDITION, "POLICY_CHANGED", "the running policy changed meanwhile");
    }
    policyYaml = req->yaml();
    policyHash = v.hash();
    v1::AuditRecord r;
    r.set_event_type("policy_change");
    r.set_subject(who);
    r.set_decision("allow");
    out->set_hash(policyHash);
    out->set_audit_sequence(audit(r));
    return Status::OK;
  }

  Status ListLegalHolds(ServerContext* ctx, const v1::ListLegalHoldsRequest*, v1::ListLegalHoldsResponse* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [id, h] : holds) *out->add_holds() = h;
    return Status::OK;
  }

  Status PlaceLegalHold(ServerContext* ctx, const v1::PlaceLegalHoldRequest* req, v1::LegalHold* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    std::lock_guard<std::mutex> lock(mu);
    out->set_id("hold-" + std::to_string(nextId++));
    if (req->has_user_id()) out->set_user_id(req->user_id());
    if (req->has_conversation_id()) out->set_conversation_id(req->conversation_id());
    out->set_reason(req->reason());
    *out->mutable_placed() = now();
    out->set_placed_by(who);
    holds[out->id()] = *out;
    return Status::OK;
  }

  Status ReleaseLegalHold(ServerContext* ctx, const v1::ReleaseLegalHoldRequest* req,
                          v1::ReleaseLegalHoldResponse*) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    std::lock_guard<std::mutex> lock(mu);
    if (!holds.erase(req->id())) return fail(ctx, StatusCode::NOT_FOUND, "HOLD_NOT_FOUND", "no such hold");
    return Status::OK;
  }

  Status GetWorkerStatus(ServerContext* ctx, const v1::GetWorkerStatusRequest*, v1::WorkerStatusResponse* out) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    auto* w = out->add_workers();
    w->set_id("local");
    w->set_address("unix:/run/assistant/worker.sock");
    w->set_state(v1::WorkerStatus::STATE_READY);
    w->set_backend("cpu (AVX2, 2 threads)");
    w->add_models("stories260K");
    w->add_models("stories15M");
    w->set_capacity(8);
    return Status::OK;
  }

  // Audit
  bool matches(const v1::AuditFilter& f, const v1::AuditRecord& r) const {
    if (!f.subject().empty() && f.subject() != r.subject()) return false;
    if (!f.decision().empty() && f.decision() != r.decision()) return false;
    if (!f.classification().empty() && f.classification() != r.classification()) return false;
    if (!f.conversation_id().empty() && f.conversation_id() != r.conversation_id()) return false;
    if (f.from_sequence() > r.sequence()) return false;
    if (f.event_types_size() > 0) {
      bool any = false;
      for (const auto& t : f.event_types()) any |= t == r.event_type();
      if (!any) return false;
    }
    return true;
  }

  Status QueryRecords(ServerContext* ctx, const v1::QueryRecordsRequest* req,
                      grpc::ServerWriter<v1::AuditRecord>* w) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    std::vector<v1::AuditRecord> copy;
    {
      std::lock_guard<std::mutex> lock(mu);
      copy = ledger;
    }
    uint64_t n = 0;
    for (const auto& r : copy) {
      if (!matches(req->filter(), r)) continue;
      if (req->filter().limit() && n >= req->filter().limit()) break;
      w->Write(r);
      ++n;
    }
    return Status::OK;
  }

  Status Verify(ServerContext* ctx, const v1::VerifyRequest*, grpc::ServerWriter<v1::VerifyProgress>* w) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    uint64_t total;
    {
      std::lock_guard<std::mutex> lock(mu);
      total = ledger.size();
    }
    for (uint64_t i = 1; i <= total; ++i) {
      v1::VerifyProgress p;
      p.set_records_checked(i);
      p.set_records_total(total);
      if (i == total) {
        p.mutable_verdict()->set_ok(true);
        p.mutable_verdict()->set_tree_size(total);
        p.mutable_verdict()->set_root_hash("7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730");
        p.mutable_verdict()->set_summary("Ledger intact: " + std::to_string(total) +
                                         " records, every hash and signature checks out");
      }
      w->Write(p);
    }
    return Status::OK;
  }

  Status Export(ServerContext* ctx, const v1::ExportRequest* req, grpc::ServerWriter<v1::ExportChunk>* w) override {
    std::string who;
    RETURN_IF_BAD(authenticate(ctx, &who));
    std::string jsonl;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& r : ledger) {
        if (!matches(req->filter(), r)) continue;
        jsonl += "{\"sequence\":" + std::to_string(r.sequence()) + ",\"event\":\"" + r.event_type() +
                 "\",\"decision\":\"" + r.decision() + "\"}\n";
      }
      v1::AuditRecord e;
      e.set_event_type("export");
      e.set_subject(who);
      e.set_decision("allow");
      audit(e);
    }
    auto send = [w](const std::string& path, const std::string& data) {
      for (size_t off = 0; off < data.size() || off == 0; off += 64) {
        v1::ExportChunk c;
        c.set_path(path);
        c.set_data(data.substr(off, 64));
        c.set_end_of_file(off + 64 >= data.size());
        w->Write(c);
        if (off + 64 >= data.size()) break;
      }
    };
    send("records.jsonl", jsonl);
    send("public_key.pem", "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAtest\n-----END PUBLIC KEY-----\n");
    send("manifest.json", "{\"files\":[\"records.jsonl\",\"public_key.pem\"]}\n");
    return Status::OK;
  }

  // The unused audit methods answer UNIMPLEMENTED through the base class.
};

TestAppliance::TestAppliance(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

TestAppliance::~TestAppliance() {
  if (m_impl->server) m_impl->server->Shutdown();
}

std::unique_ptr<TestAppliance> TestAppliance::start(const QString& dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  const QString ext = QStringLiteral("subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  if (!makeCa(dir, "ca") || !makeCa(dir, "rogue-ca") ||
      !makeLeaf(dir, "ca", "server", "localhost", ext) ||
      !makeLeaf(dir, "ca", "alice", "alice", QStringLiteral("extendedKeyUsage=clientAuth\n")) ||
      !makeLeaf(dir, "rogue-ca", "mallory", "mallory", QStringLiteral("extendedKeyUsage=clientAuth\n"))) {
    return nullptr;
  }
  QDir d(dir);
  grpc::SslServerCredentialsOptions opts(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  opts.pem_root_certs = readFile(d.filePath("ca.pem"));
  opts.pem_key_cert_pairs.push_back({readFile(d.filePath("server.key")), readFile(d.filePath("server.pem"))});
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(opts), &impl->port);
  builder.RegisterService(static_cast<v1::HealthService::Service*>(impl.get()));
  builder.RegisterService(static_cast<v1::MyPolicyService::Service*>(impl.get()));
  builder.RegisterService(static_cast<v1::ModelService::Service*>(impl.get()));
  builder.RegisterService(static_cast<v1::ChatService::Service*>(impl.get()));
  builder.RegisterService(static_cast<v1::ConversationService::Service*>(impl.get()));
  builder.RegisterService(static_cast<v1::AdminService::Service*>(impl.get()));
  builder.RegisterService(static_cast<v1::AuditService::Service*>(impl.get()));
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port == 0) {
    qWarning() << "test appliance: cannot listen";
    return nullptr;
  }
  return std::unique_ptr<TestAppliance>(new TestAppliance(std::move(impl)));
}

QString TestAppliance::address() const { return QStringLiteral("localhost:%1").arg(m_impl->port); }

gui::ConnectionSettings TestAppliance::settings() const {
  QDir d(m_impl->dir);
  gui::ConnectionSettings s;
  s.address = address();
  s.caPath = d.filePath("ca.pem");
  s.certPath = d.filePath("alice.pem");
  s.keyPath = d.filePath("alice.key");
  return s;
}

gui::ConnectionSettings TestAppliance::untrustedSettings() const {
  QDir d(m_impl->dir);
  gui::ConnectionSettings s = settings();
  s.certPath = d.filePath("mallory.pem");
  s.keyPath = d.filePath("mallory.key");
  return s;
}

int TestAppliance::cancelledStreams() const { return m_impl->cancelled.load(); }
int TestAppliance::chatRequests() const { return m_impl->chats.load(); }
QString TestAppliance::storyPrefix() { return QString::fromLatin1(kStory).left(40); }

}  // namespace gui_test
