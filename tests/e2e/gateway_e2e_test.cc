// End to end over real mTLS on loopback with the real worker and stories260K.
#include <dirent.h>
#include <signal.h>

#include <fstream>

#include "audit/keys.h"
#include "audit/vault.h"
#include "common/json.h"
#include "assistant/v1/health.grpc.pb.h"
#include "e2e_fixture.h"

namespace e2e {
namespace {

namespace v1 = assistant::v1;

TEST_F(Appliance, ChatStreamsTheAnswerAndBothAuditRecordsExist) {
  StartAppliance();
  ChatResult r = Chat(As("alice"), "Once upon a time", "", 16);
  ASSERT_TRUE(r.status.ok()) << r.detail;
  EXPECT_FALSE(r.start.conversation_id().empty());
  EXPECT_EQ(r.start.model(), "stories260K");
  EXPECT_EQ(r.start.classification(), "INTERNAL");
  EXPECT_GT(r.deltas, 0);
  EXPECT_FALSE(r.text.empty());
  EXPECT_EQ(r.end.usage().completion_tokens(), 16u);
  EXPECT_EQ(r.end.finish_reason(), v1::ChatEnd::FINISH_REASON_LENGTH);
  v1::AuditRecord request = RecordAt(r.start.audit_sequence());
  EXPECT_EQ(request.event_type(), "chat_request");
  EXPECT_EQ(request.subject(), "alice");
  EXPECT_EQ(request.model_sha256(), "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
  EXPECT_EQ(request.conversation_id(), r.start.conversation_id());
  EXPECT_FALSE(request.certificate_fingerprint().empty());
  v1::AuditRecord outcome = RecordAt(r.end.audit_sequence());
  EXPECT_EQ(outcome.event_type(), "chat_outcome");
  EXPECT_EQ(outcome.finish_reason(), "length");
  EXPECT_EQ(outcome.completion_tokens(), 16u);
  // Health names the parts behind the gateway.
  auto health = Stub<v1::HealthService>(As("alice"));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::HealthCheckResponse h;
  ASSERT_TRUE(health->Check(&ctx, {}, &h).ok());
  EXPECT_EQ(h.status(), v1::HealthCheckResponse::SERVING);
  std::map<std::string, bool> components;
  for (const auto& c : h.components()) components[c.name()] = c.ok();
  EXPECT_TRUE(components["worker:local"]);
  EXPECT_TRUE(components["audit"]);
  EXPECT_TRUE(components["policy"]);
}

TEST_F(Appliance, ClientNetworkOutsideThePolicyIsDeniedWithReasonAndAudited) {
  StartAppliance(Patch(DefaultPolicy(), "    - 127.0.0.0/8        # loopback\n    - ::1/128\n", ""));
  ChatResult r = Chat(As("alice"), "hello");
  ASSERT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(r.error.reason(), "POLICY_DENIED");
  ASSERT_GT(r.error.policy_reasons_size(), 0);
  EXPECT_EQ(r.error.policy_reasons(0).rule_id().rfind("network.", 0), 0u) << r.error.policy_reasons(0).rule_id();
  v1::AuditRecord denial = RecordAt(r.error.audit_sequence());
  EXPECT_EQ(denial.event_type(), "denial");
  EXPECT_EQ(denial.decision(), "deny");
  EXPECT_EQ(denial.source_address(), "127.0.0.1");
}

TEST_F(Appliance, ClassificationTheRoleMayNotUseIsDeniedAndAudited) {
  StartAppliance();
  ChatResult r = Chat(As("alice"), "hello", "CUI");
  ASSERT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(r.error.reason(), "POLICY_DENIED");
  bool found = false;
  for (const auto& p : r.error.policy_reasons()) found |= p.rule_id() == "classification.role_not_allowed";
  EXPECT_TRUE(found);
  v1::AuditRecord denial = RecordAt(r.error.audit_sequence());
  EXPECT_EQ(denial.classification(), "CUI");
  EXPECT_EQ(denial.decision(), "deny");
}

TEST_F(Appliance, UnknownModelIsDeniedByThePolicy) {
  StartAppliance();
  auto stub = Stub<v1::ChatService>(As("alice"));
  v1::ChatRequest req;
  req.set_model("gpt-unknown");
  req.add_messages()->set_content("hi");
  grpc::ClientContext ctx;
  Deadline(&ctx);
  auto reader = stub->Chat(&ctx, req);
  v1::ChatEvent ev;
  while (reader->Read(&ev)) {
  }
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(DetailOf(ctx).reason(), "POLICY_DENIED");
}

TEST_F(Appliance, AuditorMayNotChatAndTheRefusalIsAudited) {
  StartAppliance();
  ChatResult r = Chat(As("auditor"), "hello");
  ASSERT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(r.error.reason(), "ROLE_REQUIRED");
  v1::AuditFilter f;
  f.add_event_types("denial");
  f.set_subject("local-auditor");
  EXPECT_EQ(Records(f).size(), 1u);
}

TEST_F(Appliance, RequestsPerMinuteLimitAnswersResourceExhaustedWithRetryHint) {
  StartAppliance(Patch(DefaultPolicy(), "    requests_per_minute: 30\n", "    requests_per_minute: 1\n"));
  ASSERT_TRUE(Chat(As("alice"), "one").status.ok());
  ChatResult r = Chat(As("alice"), "two");
  ASSERT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(r.error.reason(), "RATE_LIMITED");
  EXPECT_GT(r.error.retry_after().seconds(), 0);
  ASSERT_GT(r.error.policy_reasons_size(), 0);
  EXPECT_EQ(r.error.policy_reasons(0).rule_id(), "limits.requests_per_minute");
  v1::AuditRecord denial = RecordAt(r.error.audit_sequence());
  EXPECT_EQ(denial.event_type(), "denial");
}

TEST_F(Appliance, RedactionIsInTheAuditRecordAndNotInTheAnswer) {
  StartAppliance();
  ChatResult r = Chat(As("alice"), "My SSN is 123-45-6789 and mail jane.doe@example.com", "", 8);
  ASSERT_TRUE(r.status.ok()) << r.detail;
  ASSERT_EQ(r.start.redactions_size(), 2);
  v1::AuditRecord request = RecordAt(r.start.audit_sequence());
  EXPECT_EQ(request.decision(), "redact");
  ASSERT_EQ(request.redactions_size(), 2);
  EXPECT_EQ(request.redactions(0).placeholder(), "[SSN_1]");
  EXPECT_EQ(request.redactions(0).action(), "redact_before_model");
  EXPECT_EQ(request.redactions(1).placeholder(), "[EMAIL_1]");
  // The requester sees original values, never placeholders.
  EXPECT_EQ(r.text.find("[SSN_1]"), std::string::npos);
  EXPECT_EQ(r.text.find("[EMAIL_1]"), std::string::npos);
}

TEST_F(Appliance, DeletedConversationIsShreddedAndItsContentUnrecoverable) {
  StartAppliance();
  ChatResult r = Chat(As("alice"), "Once upon a time", "", 8);
  ASSERT_TRUE(r.status.ok()) << r.detail;
  const std::string id = r.start.conversation_id();
  auto stub = Stub<v1::ConversationService>(As("alice"));
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ListConversationsResponse list;
    ASSERT_TRUE(stub->ListConversations(&ctx, {}, &list).ok());
    ASSERT_EQ(list.conversations_size(), 1);
    EXPECT_EQ(list.conversations(0).id(), id);
  }
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetConversationRequest req;
    req.set_id(id);
    v1::Conversation c;
    ASSERT_TRUE(stub->GetConversation(&ctx, req, &c).ok());
    ASSERT_EQ(c.messages_size(), 2);
    EXPECT_EQ(c.messages(0).content(), "Once upon a time");
    EXPECT_EQ(c.messages(1).content(), r.text);
  }
  // Someone else cannot see it.
  {
    auto other = Stub<v1::ConversationService>(As("client"));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetConversationRequest req;
    req.set_id(id);
    v1::Conversation c;
    EXPECT_EQ(other->GetConversation(&ctx, req, &c).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  // The content ids, read before deletion from the gateway's index.
  std::vector<std::string> content_ids;
  for (const auto& [cid, c] : IndexedConversations(state_)) {
    for (const auto& m : c.Find("messages")->as_array()) content_ids.push_back(m.as_array()[1].as_string());
  }
  ASSERT_EQ(content_ids.size(), 2u);
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::DeleteConversationRequest req;
    req.set_id(id);
    v1::DeleteConversationResponse resp;
    ASSERT_TRUE(stub->DeleteConversation(&ctx, req, &resp).ok());
    EXPECT_EQ(RecordAt(resp.audit_sequence()).event_type(), "shred");
  }
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetConversationRequest req;
    req.set_id(id);
    v1::Conversation c;
    EXPECT_EQ(stub->GetConversation(&ctx, req, &c).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  // With the master key and the vault itself, the content stays unrecoverable.
  gateway_->Shutdown(std::chrono::milliseconds(100));
  auto key = audit::MasterKey::FromFile(state_ + "/keys/master.key");
  ASSERT_TRUE(key.ok());
  audit::VaultOptions vo;
  vo.dir = state_ + "/audit";
  auto vault = audit::ContentVault::Open(*key, vo);
  ASSERT_TRUE(vault.ok()) << vault.status();
  for (const auto& cid : content_ids) {
    auto content = (*vault)->OpenContent(cid);
    EXPECT_FALSE(content.ok());
    EXPECT_TRUE(content.status().code() == common::StatusCode::kFailedPrecondition ||
                content.status().code() == common::StatusCode::kNotFound)
        << content.status();
  }
}

TEST_F(Appliance, InvalidPolicyIsRefusedAndTheRunningPolicyStays) {
  StartAppliance();
  auto admin = Stub<v1::AdminService>(As("client"));
  v1::PolicyDocument before;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    ASSERT_TRUE(admin->GetPolicy(&ctx, {}, &before).ok());
  }
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ApplyPolicyRequest req;
    req.set_yaml("version: 1\nnetworks:\n  allow: [not-a-network]\n");
    v1::ApplyPolicyResponse resp;
    grpc::Status s = admin->ApplyPolicy(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(DetailOf(ctx).reason(), "POLICY_INVALID");
    EXPECT_NE(DetailOf(ctx).message().find("policy.yaml:"), std::string::npos) << DetailOf(ctx).message();
  }
  // SIGHUP path: a broken file on disk is refused too.
  WriteText(state_ + "/policy.yaml", "version: 1\nbogus_key: 1\n");
  common::Status reload = gateway_->ReloadPolicy();
  EXPECT_EQ(reload.code(), common::StatusCode::kInvalidArgument);
  v1::PolicyDocument after;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    ASSERT_TRUE(admin->GetPolicy(&ctx, {}, &after).ok());
  }
  EXPECT_EQ(after.hash(), before.hash());
  EXPECT_TRUE(Chat(As("alice"), "still serving").status.ok());
  // A valid change applies at once (hot reload) and is audited.
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ApplyPolicyRequest req;
    req.set_yaml(Patch(DefaultPolicy(), "      roles: [user, analyst, admin]\n      models:\n        names: [stories260K]\n        labels:\n          licence",
                       "      roles: [analyst, admin]\n      models:\n        names: [stories260K]\n        labels:\n          licence"));
    v1::ApplyPolicyResponse resp;
    ASSERT_TRUE(admin->ApplyPolicy(&ctx, req, &resp).ok());
    EXPECT_NE(resp.hash(), before.hash());
    EXPECT_EQ(RecordAt(resp.audit_sequence()).event_type(), "policy_change");
  }
  ChatResult denied = Chat(As("alice"), "now INTERNAL is not for users");
  EXPECT_EQ(denied.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(Appliance, AuditorVerifiesQueriesAndExportsAndAdminCannotTouchTheAudit) {
  StartAppliance();
  ASSERT_TRUE(Chat(As("alice"), "Once upon a time").status.ok());
  auto auditor = Stub<v1::AuditService>(As("auditor"));
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto reader = auditor->Verify(&ctx, {});
    v1::VerifyProgress p, last;
    while (reader->Read(&p)) last = p;
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_TRUE(last.verdict().ok()) << last.verdict().summary();
    EXPECT_GE(last.verdict().tree_size(), 4u);
  }
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto reader = auditor->Export(&ctx, {});
    v1::ExportChunk chunk;
    std::map<std::string, std::string> files;
    while (reader->Read(&chunk)) files[chunk.path()] += chunk.data();
    ASSERT_TRUE(reader->Finish().ok());
    ASSERT_TRUE(files.contains("records.jsonl"));
    ASSERT_TRUE(files.contains("manifest.json"));
    ASSERT_TRUE(files.contains("checkpoint.txt"));
    EXPECT_NE(files["records.jsonl"].find("\"chat_outcome\""), std::string::npos);
  }
  // The admin is refused every audit call; there is no API that alters records.
  auto as_admin = Stub<v1::AuditService>(As("root"));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  auto reader = as_admin->Verify(&ctx, {});
  v1::VerifyProgress p;
  while (reader->Read(&p)) {
  }
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(DetailOf(ctx).reason(), "ROLE_REQUIRED");
  // And the auditor cannot change configuration.
  auto admin_as_auditor = Stub<v1::AdminService>(As("auditor"));
  grpc::ClientContext ctx2;
  Deadline(&ctx2);
  v1::ApplyPolicyRequest req;
  req.set_yaml(DefaultPolicy());
  v1::ApplyPolicyResponse resp;
  EXPECT_EQ(admin_as_auditor->ApplyPolicy(&ctx2, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(Appliance, BearerTokensAreScopedRevocableAndFailuresAudited) {
  StartAppliance();
  auto admin = Stub<v1::AdminService>(As("client"));
  v1::CreateTokenResponse created;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::CreateTokenRequest req;
    req.set_name("ci");
    req.set_user_id("integration-bot");
    req.add_roles("user");
    req.mutable_lifetime()->set_seconds(3600);
    ASSERT_TRUE(admin->CreateToken(&ctx, req, &created).ok());
  }
  appliance::ClientOptions token;
  token.address = "127.0.0.1:" + std::to_string(gateway_->port());
  token.ca_cert_path = tls_.ca_cert;
  token.bearer_token = created.secret();
  ChatResult ok = Chat(token, "Once upon a time", "", 4);
  ASSERT_TRUE(ok.status.ok()) << ok.detail;
  EXPECT_EQ(RecordAt(ok.start.audit_sequence()).subject(), "integration-bot");
  // The secret is not on disk; only its hash.
  EXPECT_EQ(ReadText(state_ + "/tokens.json").find(created.secret()), std::string::npos);
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::RevokeTokenRequest req;
    req.set_id(created.token().id());
    v1::RevokeTokenResponse resp;
    ASSERT_TRUE(admin->RevokeToken(&ctx, req, &resp).ok());
  }
  ChatResult revoked = Chat(token, "again");
  EXPECT_EQ(revoked.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(revoked.error.reason(), "TOKEN_REVOKED");
  v1::AuditFilter f;
  f.add_event_types("auth_failure");
  EXPECT_EQ(Records(f).size(), 1u);
}

TEST_F(Appliance, ClientCancellationStopsGenerationAndIsAuditedAsCancelled) {
  StartAppliance();
  auto stub = Stub<v1::ChatService>(As("alice"));
  v1::ChatRequest req;
  req.add_messages()->set_content("Once upon a time");
  req.mutable_sampling()->set_max_tokens(400);
  grpc::ClientContext ctx;
  Deadline(&ctx);
  auto reader = stub->Chat(&ctx, req);
  v1::ChatEvent ev;
  ASSERT_TRUE(reader->Read(&ev));
  ASSERT_TRUE(ev.has_start());
  const std::string conversation = ev.start().conversation_id();
  ctx.TryCancel();
  while (reader->Read(&ev)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The outcome record is written once the gateway has stopped the worker.
  v1::AuditFilter f;
  f.add_event_types("chat_outcome");
  f.set_conversation_id(conversation);
  std::vector<v1::AuditRecord> outcome;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (outcome.empty() && std::chrono::steady_clock::now() < until) outcome = Records(f);
  ASSERT_EQ(outcome.size(), 1u);
  EXPECT_EQ(outcome[0].finish_reason(), "cancelled");
  EXPECT_LT(outcome[0].completion_tokens(), 400u);
}

TEST_F(Appliance, WorkerKilledMidStreamEndsTheStreamWithAClearAuditedErrorAndRestarts) {
  StartAppliance();
  // The worker's pid: the child process whose command line names our state dir.
  auto worker_pid = [&]() -> pid_t {
    DIR* proc = opendir("/proc");
    pid_t found = 0;
    while (dirent* e = readdir(proc)) {
      const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
      if (pid <= 0) continue;
      std::string cmd = ReadText("/proc/" + std::string(e->d_name) + "/cmdline");
      if (cmd.find("assistant-worker") != std::string::npos && cmd.find(state_) != std::string::npos) {
        found = pid;
      }
    }
    closedir(proc);
    return found;
  };
  const pid_t pid = worker_pid();
  ASSERT_GT(pid, 0);
  ChatResult r = Chat(As("alice"), "Once upon a time", "", 400, [&] { ::kill(pid, SIGKILL); });
  ASSERT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE) << r.detail;
  EXPECT_EQ(r.error.reason(), "WORKER_UNAVAILABLE");
  v1::AuditRecord outcome = RecordAt(r.error.audit_sequence());
  EXPECT_EQ(outcome.event_type(), "chat_outcome");
  EXPECT_EQ(outcome.finish_reason(), "error");
  // The supervisor restarts the worker; chats work again.
  auto admin = Stub<v1::AdminService>(As("client"));
  bool ready = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!ready && std::chrono::steady_clock::now() < until) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::WorkerStatusResponse ws;
    ASSERT_TRUE(admin->GetWorkerStatus(&ctx, {}, &ws).ok());
    ready = ws.workers(0).state() == v1::WorkerStatus::STATE_READY && ws.workers(0).restarts() == 1;
    if (!ready) {
      // Waits on the gateway (a status call), not a sleep in the test.
      grpc::ClientContext hc;
      Deadline(&hc);
      v1::ListModelsResponse lm;
      Stub<v1::ModelService>(As("alice"))->ListModels(&hc, {}, &lm);
    }
  }
  ASSERT_TRUE(ready);
  EXPECT_TRUE(Chat(As("alice"), "Once upon a time").status.ok());
  v1::AuditFilter f;
  f.add_event_types("worker_event");
  bool exit_recorded = false;
  for (const auto& rec : Records(f)) exit_recorded |= rec.details_json().find("exited") != std::string::npos;
  EXPECT_TRUE(exit_recorded);
}

}  // namespace
}  // namespace e2e
