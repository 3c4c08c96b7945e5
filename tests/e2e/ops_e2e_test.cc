// End to end, the operational promises: fail closed when the ledger cannot
// be written (also with the request overlapped with the worker's prefill),
// and remote workers over mutual TLS.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>

#include "assistant/v1/conversations.grpc.pb.h"
#include "common/json.h"
#include "e2e_fixture.h"
#include "fault_vfs.h"
#include "inference/v1/inference.grpc.pb.h"

namespace e2e {
namespace {

namespace v1 = assistant::v1;

// Releases legal hold `id` through `admin`; `ctx` keeps the error detail.
grpc::Status ReleaseHold(v1::AdminService::Stub& admin, const std::string& id,
                         grpc::ClientContext* ctx, v1::ReleaseLegalHoldResponse* resp) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::ReleaseLegalHoldRequest req;
  req.set_id(id);
  return admin.ReleaseLegalHold(ctx, req, resp);
}

// ---------------------------------------------------------------- fail closed

TEST_F(Appliance, LedgerThatCannotBeWrittenRefusesTheChatBeforeAnyTokenAndRecovers) {
  static audit::internal::FaultInjector faults;
  faults.Set(audit::internal::FaultInjector::Fault::kNone);
  ASSERT_TRUE(audit::internal::RegisterFaultVfs("e2e-faulty", &faults).ok());
  StartAppliance(DefaultPolicy(),
                 [](appliance::GatewayOptions& o) { o.ledger_sqlite_vfs = "e2e-faulty"; });
  ASSERT_TRUE(Chat(As("alice"), "Once upon a time", "", 8).status.ok());

  // The disk is full: the request record cannot be made durable, so nothing
  // of the answer may reach the client, although the (local) worker was
  // already asked to start on it.
  faults.Set(audit::internal::FaultInjector::Fault::kDiskFull);
  ChatResult refused = Chat(As("alice"), "Once upon a time", "", 64);
  faults.Set(audit::internal::FaultInjector::Fault::kNone);
  ASSERT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.detail;
  EXPECT_EQ(refused.detail.reason(), "AUDIT_UNAVAILABLE");
  EXPECT_EQ(refused.deltas, 0);
  EXPECT_TRUE(refused.text.empty());
  EXPECT_TRUE(refused.start.conversation_id().empty()) << "no ChatStart without a durable record";

  // The ledger recovers; the outage itself is on the record.
  ChatResult ok = Chat(As("alice"), "Once upon a time", "", 8);
  ASSERT_TRUE(ok.status.ok()) << ok.detail;
  EXPECT_EQ(RecordAt(ok.start.audit_sequence()).event_type(), "chat_request");
  v1::AuditFilter f;
  f.add_event_types("audit_failure");
  EXPECT_EQ(Records(f).size(), 1u);
}

// ---------------------------------------------------------------- audit access

// The details of the audit_access/export records, by action.
std::vector<common::Json> AccessRecords(const std::vector<v1::AuditRecord>& records,
                                        const std::string& action) {
  std::vector<common::Json> out;
  for (const auto& r : records) {
    auto d = common::Json::Parse(r.details_json());
    if (!d.ok()) continue;
    const common::Json* a = d->Find("action");
    if (a != nullptr && a->is_string() && a->as_string() == action) out.push_back(*d);
  }
  return out;
}

TEST_F(Appliance, AuditorQueriesVerificationsAndExportsAreThemselvesAudited) {
  StartAppliance();
  ASSERT_TRUE(Chat(As("alice"), "Once upon a time", "", 4).status.ok());
  ASSERT_TRUE(Chat(As("alice"), "Once upon a time", "", 4).status.ok());
  auto auditor = Stub<v1::AuditService>(As("auditor"));
  {
    v1::AuditFilter f;
    f.add_event_types("chat_outcome");
    f.set_subject("alice");
    ASSERT_EQ(Records(f).size(), 2u);
  }
  uint64_t verified = 0;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto reader = auditor->Verify(&ctx, {});
    v1::VerifyProgress p;
    while (reader->Read(&p)) verified = p.records_checked();
    ASSERT_TRUE(reader->Finish().ok());
  }
  uint64_t exported = 0;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ExportRequest req;
    req.mutable_filter()->set_subject("alice");
    auto reader = auditor->Export(&ctx, req);
    v1::ExportChunk chunk;
    std::string records;
    while (reader->Read(&chunk)) {
      if (chunk.path() == "records.jsonl") records += chunk.data();
    }
    ASSERT_TRUE(reader->Finish().ok());
    exported = static_cast<uint64_t>(std::count(records.begin(), records.end(), '\n'));
    ASSERT_GE(exported, 4u);  // two requests, two outcomes
  }

  v1::AuditFilter access;
  access.add_event_types("audit_access");
  const auto accesses = Records(access);
  for (const auto& r : accesses) {
    EXPECT_EQ(r.subject(), "local-auditor");
    EXPECT_EQ(r.details_json().find("Once upon"), std::string::npos) << "no content";
  }
  // The query: its filter and how many records it returned.
  auto queries = AccessRecords(accesses, "QueryRecords");
  ASSERT_GE(queries.size(), 1u);
  const common::Json& q = queries.front();
  ASSERT_NE(q.Find("filter"), nullptr);
  EXPECT_EQ(q.Find("filter")->Find("subject")->as_string(), "alice");
  EXPECT_EQ(q.Find("filter")->Find("event_types")->as_array().at(0).as_string(), "chat_outcome");
  EXPECT_EQ(q.Find("records")->as_int(), 2);
  // The verification: how many records it checked.
  auto verifies = AccessRecords(accesses, "Verify");
  ASSERT_EQ(verifies.size(), 1u);
  EXPECT_EQ(static_cast<uint64_t>(verifies[0].Find("records")->as_int()), verified);
  // The export: an `export` event with its filter and count.
  v1::AuditFilter exports;
  exports.add_event_types("export");
  auto export_records = Records(exports);
  ASSERT_EQ(export_records.size(), 1u);
  EXPECT_EQ(export_records[0].subject(), "local-auditor");
  auto e = AccessRecords(export_records, "Export");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].Find("filter")->Find("subject")->as_string(), "alice");
  EXPECT_EQ(static_cast<uint64_t>(e[0].Find("records")->as_int()), exported);
}

// ---------------------------------------------------------------- legal holds

TEST_F(Appliance, LegalHoldOnAUserThroughTheAdminApiSuspendsDeletionAndPurgeUntilReleased) {
  // Chats happen "40 days ago", so their content retention (30 days for
  // INTERNAL) has ended and a purge would shred them.
  StartAppliance(DefaultPolicy(), [](appliance::GatewayOptions& o) {
    o.clock = [] { return std::chrono::system_clock::now() - std::chrono::hours(24 * 40); };
  });
  ChatResult first = Chat(As("alice"), "Once upon a time", "", 4);
  ASSERT_TRUE(first.status.ok()) << first.detail;
  ASSERT_FALSE(first.start.retention().not_stored());
  auto admin = Stub<v1::AdminService>(As("client"));
  v1::LegalHold hold;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::PlaceLegalHoldRequest req;
    req.set_user_id("alice");
    req.set_reason("case 2026-17");
    ASSERT_TRUE(admin->PlaceLegalHold(&ctx, req, &hold).ok());
  }
  EXPECT_EQ(hold.user_id(), "alice");
  EXPECT_EQ(hold.placed_by(), "local-admin");
  // A conversation started after the hold is held too.
  ChatResult second = Chat(As("alice"), "Once upon a time", "", 4);
  ASSERT_TRUE(second.status.ok()) << second.detail;
  EXPECT_FALSE(first.start.retention().legal_hold());
  EXPECT_TRUE(second.start.retention().legal_hold()) << "the requester is told";
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ListLegalHoldsResponse list;
    ASSERT_TRUE(admin->ListLegalHolds(&ctx, {}, &list).ok());
    ASSERT_EQ(list.holds_size(), 1);
    EXPECT_EQ(list.holds(0).id(), hold.id());
    EXPECT_EQ(list.holds(0).reason(), "case 2026-17");
  }
  // Neither the user's delete nor the retention purge destroys held content.
  auto conversations = Stub<v1::ConversationService>(As("alice"));
  for (const auto& id : {first.start.conversation_id(), second.start.conversation_id()}) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::DeleteConversationRequest req;
    req.set_id(id);
    v1::DeleteConversationResponse resp;
    grpc::Status s = conversations->DeleteConversation(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << id;
    EXPECT_EQ(DetailOf(ctx).reason(), "LEGAL_HOLD");
  }
  auto purge = [&] {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::PurgeNowResponse resp;
    EXPECT_TRUE(admin->PurgeNow(&ctx, {}, &resp).ok());
    return resp;
  };
  v1::PurgeNowResponse held = purge();
  EXPECT_EQ(held.conversations_shredded(), 0u);
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetConversationRequest req;
    req.set_id(first.start.conversation_id());
    v1::Conversation c;
    ASSERT_TRUE(conversations->GetConversation(&ctx, req, &c).ok());
    EXPECT_EQ(c.messages_size(), 2);
  }
  // Released: the purge shreds them.
  {
    grpc::ClientContext ctx;
    v1::ReleaseLegalHoldResponse resp;
    ASSERT_TRUE(ReleaseHold(*admin, hold.id(), &ctx, &resp).ok());
    EXPECT_EQ(RecordAt(resp.audit_sequence()).event_type(), "legal_hold");
  }
  v1::PurgeNowResponse released = purge();
  EXPECT_EQ(released.conversations_shredded(), 2u);
  // Both steps are on the record, by the admin, with the hold's id.
  v1::AuditFilter f;
  f.add_event_types("legal_hold");
  auto records = Records(f);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].decision(), "hold");
  EXPECT_EQ(records[1].decision(), "release");
  for (const auto& r : records) {
    EXPECT_EQ(r.subject(), "local-admin");
    EXPECT_NE(r.details_json().find(hold.id()), std::string::npos);
  }
}

TEST_F(Appliance, LegalHoldOnOneConversationAndPolicyHoldsCannotBeReleasedThroughTheApi) {
  StartAppliance(Patch(DefaultPolicy(), "legal_holds: []",
                       "legal_holds:\n  - id: lh-policy\n    reason: from the policy\n    users: [bob]"));
  ChatResult kept = Chat(As("alice"), "Once upon a time", "", 4);
  ChatResult other = Chat(As("alice"), "Once upon a time", "", 4);
  ASSERT_TRUE(kept.status.ok() && other.status.ok());
  auto admin = Stub<v1::AdminService>(As("client"));
  v1::LegalHold hold;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::PlaceLegalHoldRequest req;
    req.set_conversation_id(kept.start.conversation_id());
    ASSERT_TRUE(admin->PlaceLegalHold(&ctx, req, &hold).ok());
  }
  auto conversations = Stub<v1::ConversationService>(As("alice"));
  auto erase = [&](const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::DeleteConversationRequest req;
    req.set_id(id);
    v1::DeleteConversationResponse resp;
    return conversations->DeleteConversation(&ctx, req, &resp).error_code();
  };
  EXPECT_EQ(erase(kept.start.conversation_id()), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(erase(other.start.conversation_id()), grpc::StatusCode::OK);
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ListLegalHoldsResponse list;
    ASSERT_TRUE(admin->ListLegalHolds(&ctx, {}, &list).ok());
    ASSERT_EQ(list.holds_size(), 2);  // the API's and the policy's
  }
  {
    grpc::ClientContext ctx;
    v1::ReleaseLegalHoldResponse resp;
    EXPECT_EQ(ReleaseHold(*admin, "lh-policy", &ctx, &resp).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(DetailOf(ctx).reason(), "HOLD_IN_POLICY");
  }
  {
    grpc::ClientContext ctx;
    v1::ReleaseLegalHoldResponse resp;
    ASSERT_TRUE(ReleaseHold(*admin, hold.id(), &ctx, &resp).ok());
  }
  EXPECT_EQ(erase(kept.start.conversation_id()), grpc::StatusCode::OK);
}

// ---------------------------------------------------------------- remote workers

// A port that was free a moment ago (the worker binds it; it prints no port).
int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

class RemoteWorker : public Appliance {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/assistant-remote-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    work_ = tmpl;
    // The worker's own CA (its server certificate, and the gateway's client
    // certificate for it) and an unrelated CA.
    appliance::TlsGenerationOptions wo;
    wo.client_common_name = "assistantd";
    auto worker_tls = appliance::EnsureLocalTls(work_ + "/worker-ca", wo);
    ASSERT_TRUE(worker_tls.ok()) << worker_tls.status();
    worker_tls_ = *worker_tls;
    auto other_tls = appliance::EnsureLocalTls(work_ + "/other-ca", wo);
    ASSERT_TRUE(other_tls.ok()) << other_tls.status();
    other_tls_ = *other_tls;
  }

  void TearDown() override {
    for (pid_t pid : pids_) {
      ::kill(pid, SIGTERM);
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
    Appliance::TearDown();
    if (!HasFailure()) std::filesystem::remove_all(work_);
  }

  // Starts assistant-worker on 127.0.0.1 over mTLS with `server` as its
  // certificate; it accepts clients certified by the worker CA. Returns the
  // address.
  std::string StartWorker(const std::string& name, const appliance::TlsPaths& server) {
    const int port = FreeLoopbackPort();
    EXPECT_GT(port, 0);
    const std::string address = "127.0.0.1:" + std::to_string(port);
    common::Json tcp = common::Json::MakeObject();
    tcp.Set("address", address);
    tcp.Set("cert", server.server_cert);
    tcp.Set("key", server.server_key);
    tcp.Set("client_ca", worker_tls_.ca_cert);
    common::Json model = common::Json::MakeObject();
    model.Set("name", "stories260K");
    model.Set("path", std::string(ASSISTANT_SOURCE_DIR) + "/models/stories260K.gguf");
    common::Json models = common::Json::MakeArray();
    models.Push(std::move(model));
    common::Json config = common::Json::MakeObject();
    config.Set("tcp", std::move(tcp));
    config.Set("threads", 1);
    config.Set("models", std::move(models));
    const std::string path = work_ + "/" + name + ".json";
    WriteText(path, config.Dump());
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execl(ASSISTANT_WORKER_BIN, ASSISTANT_WORKER_BIN, "--config", path.c_str(),
              static_cast<char*>(nullptr));
      _exit(127);
    }
    EXPECT_GT(pid, 0);
    pids_.push_back(pid);
    return address;
  }

  appliance::WorkerConfig RemoteConfig(const std::string& name, const std::string& address) const {
    appliance::WorkerConfig w;
    w.name = name;
    w.address = address;
    w.tls_ca = worker_tls_.ca_cert;  // the only CA the gateway trusts for workers
    w.tls_cert = worker_tls_.client_cert;
    w.tls_key = worker_tls_.client_key;
    return w;
  }

  v1::WorkerStatusResponse Workers() {
    auto admin = Stub<v1::AdminService>(As("client"));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::WorkerStatusResponse ws;
    EXPECT_TRUE(admin->GetWorkerStatus(&ctx, {}, &ws).ok());
    return ws;
  }

  std::string work_;
  appliance::TlsPaths worker_tls_, other_tls_;
  std::vector<pid_t> pids_;
};

TEST_F(RemoteWorker, ChatStreamsThroughAWorkerReachedOverMutualTls) {
  const std::string address = StartWorker("remote", worker_tls_);
  StartAppliance(DefaultPolicy(), [&](appliance::GatewayOptions& o) {
    o.config.workers = {RemoteConfig("gpu-host-1", address)};
  });
  ChatResult r = Chat(As("alice"), "Once upon a time", "", 16);
  ASSERT_TRUE(r.status.ok()) << r.detail;
  EXPECT_EQ(r.end.usage().completion_tokens(), 16u);
  EXPECT_FALSE(r.text.empty());
  v1::AuditRecord outcome = RecordAt(r.end.audit_sequence());
  EXPECT_EQ(outcome.event_type(), "chat_outcome");
  auto details = common::Json::Parse(outcome.details_json());
  ASSERT_TRUE(details.ok()) << outcome.details_json();
  ASSERT_NE(details->Find("worker"), nullptr);
  EXPECT_EQ(details->Find("worker")->as_string(), "gpu-host-1");
  v1::WorkerStatusResponse ws = Workers();
  ASSERT_EQ(ws.workers_size(), 1);
  EXPECT_EQ(ws.workers(0).address(), address);
  EXPECT_EQ(ws.workers(0).state(), v1::WorkerStatus::STATE_READY);
}

TEST_F(RemoteWorker, WorkerWhoseCertificateAnotherCaSignedIsRefused) {
  // The worker runs and would accept the gateway, but presents a server
  // certificate that the CA configured for workers did not sign.
  const std::string address = StartWorker("impostor", other_tls_);
  // It is really serving: a client that trusts its CA gets an answer.
  {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadText(other_tls_.ca_cert);
    ssl.pem_cert_chain = ReadText(worker_tls_.client_cert);
    ssl.pem_private_key = ReadText(worker_tls_.client_key);
    auto stub = inference::v1::InferenceService::NewStub(
        grpc::CreateChannel(address, grpc::SslCredentials(ssl)));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    ctx.set_wait_for_ready(true);
    inference::v1::ListModelsResponse models;
    ASSERT_TRUE(stub->ListModels(&ctx, {}, &models).ok());
  }
  StartAppliance(DefaultPolicy(), [&](appliance::GatewayOptions& o) {
    o.config.workers = {RemoteConfig("impostor", address)};
    o.worker_ready_timeout = std::chrono::milliseconds(1500);
  });
  v1::WorkerStatusResponse ws = Workers();
  ASSERT_EQ(ws.workers_size(), 1);
  EXPECT_NE(ws.workers(0).state(), v1::WorkerStatus::STATE_READY);
  EXPECT_EQ(ws.workers(0).models_size(), 0);
  EXPECT_NE(ws.workers(0).last_error().find("andshake failed"), std::string::npos)
      << ws.workers(0).last_error();
  // No prompt is routed to it.
  ChatResult r = Chat(As("alice"), "Once upon a time", "", 8);
  ASSERT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE) << r.detail;
  EXPECT_EQ(r.detail.reason(), "WORKER_UNAVAILABLE");
  EXPECT_EQ(r.deltas, 0);
}

}  // namespace
}  // namespace e2e
