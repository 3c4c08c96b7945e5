#include "appliance/gateway.h"
#include "common/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "appliance/tls_material.h"
#include "audit/keys.h"
#include "common/secret.h"
#include "common/sha256.h"
#include "core.h"
#include "health_service.h"
#include "services.h"

namespace appliance {

using common::Status;
using common::StatusOr;

namespace {

Status MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return common::UnavailableError("cannot create " + dir + ": " + std::strerror(errno));
  }
  return common::OkStatus();
}

bool Exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// The worker's own JSON configuration (inference/worker/config.h).
Status WriteWorkerConfig(const WorkerConfig& w, const std::vector<ModelConfig>& models,
                         const std::string& path) {
  if (models.empty()) return common::InvalidArgumentError("no models configured for worker " + w.name);
  common::Json root = common::Json::MakeObject();
  root.Set("unix_socket", w.socket);
  common::Json list = common::Json::MakeArray();
  for (const auto& m : models) {
    common::Json e = common::Json::MakeObject();
    e.Set("name", m.name);
    e.Set("path", m.path);
    if (!m.sha256.empty()) e.Set("sha256", m.sha256);
    list.Push(std::move(e));
  }
  root.Set("models", std::move(list));
  const std::string text = root.Dump() + "\n";
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return common::UnavailableError("cannot write " + path);
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok ? common::OkStatus()
                                   : common::UnavailableError("cannot write " + path);
}

class GatewayImpl final : public Gateway {
 public:
  ~GatewayImpl() override { Shutdown(std::chrono::milliseconds(0)); }

  Status Init(GatewayOptions options) {
    core_.config = std::move(options.config);
    core_.version = options.version;
    core_.clock = options.clock ? options.clock : SystemClock();
    core_.started_s = core_.NowSeconds();
    const GatewayConfig& c = core_.config;
    const std::string& state = c.state_dir;
    RETURN_IF_ERROR(MakeDir(state));
    ::chmod(state.c_str(), 0700);
    RETURN_IF_ERROR(MakeDir(state + "/audit"));
    RETURN_IF_ERROR(MakeDir(state + "/run"));

    // TLS: configured material, or generated local material.
    TlsPaths tls;
    if (c.tls_ca.empty()) {
      ASSIGN_OR_RETURN(tls, EnsureLocalTls(state + "/tls"));
      const std::string auditor = state + "/tls/auditor.pem";
      if (!Exists(auditor)) {
        RETURN_IF_ERROR(IssueClientCertificate(tls, "local-auditor", auditor, state + "/tls/auditor.key"));
      }
    } else {
      tls.ca_cert = c.tls_ca;
      tls.server_cert = c.tls_cert;
      tls.server_key = c.tls_key;
    }

    // Users: the configured directory, or a generated one for the local setup.
    std::string users_file = c.users_file;
    if (users_file.empty() && c.tls_ca.empty()) {
      users_file = state + "/users.yaml";
      if (!Exists(users_file)) {
        const std::string text =
            "# Generated on first run for the local setup: the operator's certificate\n"
            "# (tls/client.pem) may chat and administer; tls/auditor.pem reads the audit.\n"
            "users:\n"
            "  - id: local-admin\n    certificate: local-admin\n    roles: [user, admin]\n"
            "  - id: local-auditor\n    certificate: local-auditor\n    roles: [auditor]\n";
        FILE* f = std::fopen(users_file.c_str(), "w");
        if (f == nullptr) return common::UnavailableError("cannot write " + users_file);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
      }
    }
    if (!users_file.empty()) {
      ASSIGN_OR_RETURN(core_.users, UserDirectory::FromFile(users_file));
    }
    if (!c.jwt_issuers.empty()) {
      std::vector<JwtVerifier::Issuer> issuers;
      for (const auto& j : c.jwt_issuers) {
        issuers.push_back({j.issuer, j.audience, j.keys_file, j.user_claim, j.roles_claim});
      }
      ASSIGN_OR_RETURN(core_.jwt, JwtVerifier::Create(issuers, core_.clock));
    }
    ASSIGN_OR_RETURN(core_.tokens, TokenStore::Open(state + "/tokens.json", core_.clock));
    core_.auth_limiter = std::make_unique<AuthFailureLimiter>(c.auth_failures_per_minute, core_.clock);
    core_.rate_limiter = std::make_unique<policy::RateLimiter>(&core_.steady_clock);

    // Policy: the configured file, else STATE/policy.yaml (seeded from the default).
    core_.policy_path = c.policy_file.empty() ? state + "/policy.yaml" : c.policy_file;
    if (!Exists(core_.policy_path)) {
      return common::NotFoundError("no policy file at " + core_.policy_path +
                                   " (scripts/run copies policy/config/default-policy.yaml there)");
    }
    ASSIGN_OR_RETURN(core_.policy, policy::PolicyHolder::FromFile(core_.policy_path));
    ASSIGN_OR_RETURN(core_.policy_yaml, common::ReadFile(core_.policy_path));
    core_.policy_applied_s = core_.NowSeconds();
    core_.policy_applied_by = "file:" + core_.policy_path;

    // Audit: master key, signing key, ledger, vault. Under systemd the keys come
    // from the service's credentials ($CREDENTIALS_DIRECTORY/master-key and
    // audit-signing-key, see packaging/) and nothing is generated; otherwise
    // (development, scripts/run) they live in STATE/keys, created on first run.
    const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
    std::string master_path = state + "/keys/master.key";
    std::string signing_path = state + "/keys/audit-signing.key";
    if (credentials != nullptr && *credentials != '\0') {
      master_path = std::string(credentials) + "/master-key";
      signing_path = std::string(credentials) + "/audit-signing-key";
      if (!Exists(master_path) || !Exists(signing_path)) {
        return common::FailedPreconditionError(
            "CREDENTIALS_DIRECTORY is set but lacks master-key or audit-signing-key (" +
            std::string(credentials) + "); refusing to generate keys in the state directory");
      }
    } else {
      RETURN_IF_ERROR(MakeDir(state + "/keys"));
      if (!Exists(master_path)) RETURN_IF_ERROR(audit::MasterKey::GenerateFile(master_path));
      if (!Exists(signing_path)) {
        ASSIGN_OR_RETURN(auto signer, audit::Signer::Generate("assistant-audit." + c.site));
        RETURN_IF_ERROR(signer->WriteFile(signing_path));
      }
    }
    ASSIGN_OR_RETURN(audit::MasterKey master, audit::MasterKey::FromFile(master_path));
    core_.master_key.emplace(std::move(master));
    ASSIGN_OR_RETURN(std::unique_ptr<audit::Signer> signer, audit::Signer::FromFile(signing_path));
    audit::LedgerOptions lo;
    core_.ledger_path = state + "/audit/ledger.db";
    lo.path = core_.ledger_path;
    lo.sqlite_vfs = options.ledger_sqlite_vfs;
    lo.signer = std::shared_ptr<const audit::Signer>(std::move(signer));
    lo.on_failure = [](const Status& s) {
      LogEvent("error", "audit ledger appends failing",
               common::Json(common::Json::Object{{"error", s.message()}}));
    };
    ASSIGN_OR_RETURN(core_.ledger, audit::Ledger::Open(*core_.master_key, std::move(lo)));
    audit::VaultOptions vo;
    vo.dir = state + "/audit";
    ASSIGN_OR_RETURN(core_.vault, audit::ContentVault::Open(*core_.master_key, std::move(vo)));
    RETURN_IF_ERROR(core_.conversations.Load(state + "/conversations.json"));
    RETURN_IF_ERROR(core_.holds.Load(state + "/legal-holds.json"));

    // Workers.
    GatewayConfig wc = c;
    for (auto& w : wc.workers) {
      if (!w.remote() && w.socket.empty()) w.socket = state + "/run/worker-" + w.name + ".sock";
      if (w.spawn.size() == 1) {
        // Only the program: give it a config with the socket and every model.
        RETURN_IF_ERROR(WriteWorkerConfig(w, c.models, state + "/run/worker-" + w.name + ".json"));
        w.spawn.push_back("--config");
        w.spawn.push_back(state + "/run/worker-" + w.name + ".json");
      }
    }
    core_.config.workers = wc.workers;
    ASSIGN_OR_RETURN(core_.workers,
                     WorkerPool::Start(wc, [this](const std::string& id, const std::string& event,
                                                  const std::string& detail) {
                       OnWorkerEvent(id, event, detail);
                     }));
    if (!core_.config.workers.empty() && !core_.workers->WaitReady(options.worker_ready_timeout)) {
      LogEvent("warn", "not every worker is ready yet; serving anyway");
    }

    // The public API over TLS.
    grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    ASSIGN_OR_RETURN(ssl.pem_root_certs, common::ReadFile(tls.ca_cert));
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    ASSIGN_OR_RETURN(pair.private_key, common::ReadFile(tls.server_key));
    ASSIGN_OR_RETURN(pair.cert_chain, common::ReadFile(tls.server_cert));
    ssl.pem_key_cert_pairs.push_back(pair);
    common::SecureZero(pair.private_key.data(), pair.private_key.size());
    health_ = std::make_unique<HealthServiceImpl>(
        core_.version, c.site, [this](assistant::v1::HealthCheckResponse* r) { ProbeComponents(r); });
    chat_ = std::make_unique<ChatServiceImpl>(&core_);
    conversations_ = std::make_unique<ConversationServiceImpl>(&core_);
    models_ = std::make_unique<ModelServiceImpl>(&core_);
    my_policy_ = std::make_unique<MyPolicyServiceImpl>(&core_);
    admin_ = std::make_unique<AdminServiceImpl>(&core_);
    audit_ = std::make_unique<AuditServiceImpl>(&core_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(c.listen, grpc::SslServerCredentials(ssl), &port_);
    for (grpc::Service* s : std::initializer_list<grpc::Service*>{
             health_.get(), chat_.get(), conversations_.get(), models_.get(), my_policy_.get(),
             admin_.get(), audit_.get()}) {
      builder.RegisterService(s);
    }
    builder.SetMaxReceiveMessageSize(static_cast<int>(c.message_bytes_limit) + 64 * 1024);
    // The synchronous server runs each call on a thread of its pool. gRPC's
    // default (at most 2 idle pollers) ends a thread after nearly every call
    // and starts another for the next one: at hundreds of chats per second
    // that is thread creation on every request's path. Keep as many idle
    // threads as streams may run at once; they wait in epoll, costing only
    // their stacks.
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                                static_cast<int>(std::min<uint32_t>(c.max_streams, 1024)) + 8);
    server_ = builder.BuildAndStart();
    common::SecureZero(ssl.pem_key_cert_pairs[0].private_key.data(),
                       ssl.pem_key_cert_pairs[0].private_key.size());
    if (server_ == nullptr || port_ == 0) {
      return common::UnavailableError("cannot listen on " + c.listen +
                                      " (in use, or not an address of this machine)");
    }
    if (!c.metrics_listen.empty()) {
      ASSIGN_OR_RETURN(metrics_server_,
                       MetricsServer::Start(c.metrics_listen, [this] { return RenderMetrics(); }));
    }
    audit::Record start;
    start.event = audit::EventType::kConfigChange;
    start.subject = "assistantd";
    start.decision = "allow";
    start.policy_sha256 = core_.policy->Current()->hash();
    common::Json d = common::Json::MakeObject();
    d.Set("action", "start");
    d.Set("version", core_.version);
    start.details = d.Dump();
    RETURN_IF_ERROR(core_.Append(std::move(start)).status());
    return common::OkStatus();
  }

  int port() const override { return port_; }
  int metrics_port() const override { return metrics_server_ ? metrics_server_->port() : 0; }

  Status ReloadPolicy() override {
    auto text = common::ReadFile(core_.policy_path);
    if (!text.ok()) return text.status();
    return ApplyPolicyText(&core_, *text, core_.policy_path, "SIGHUP").status();
  }

  void Shutdown(std::chrono::milliseconds grace) override {
    std::lock_guard lock(shutdown_mu_);
    if (server_ == nullptr) return;
    core_.draining = true;
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_->Wait();
    server_.reset();
    metrics_server_.reset();
    core_.workers.reset();
    core_.vault.reset();
    core_.ledger.reset();  // drains pending appends
  }

 private:
  void OnWorkerEvent(const std::string& id, const std::string& event, const std::string& detail) {
    if (event == "exited") core_.metrics.worker_restarts.fetch_add(1);
    LogEvent(event == "exited" || event == "unavailable" ? "warn" : "info", "worker " + event,
             common::Json(common::Json::Object{{"worker", id}, {"detail", detail}}));
    if (core_.ledger == nullptr) return;
    audit::Record r;
    r.event = audit::EventType::kWorkerEvent;
    r.subject = "worker:" + id;
    common::Json d = common::Json::MakeObject();
    d.Set("event", event);
    d.Set("detail", detail);
    r.details = d.Dump();
    (void)core_.ledger->Append(std::move(r));
  }

  // Policy, ledger and workers for HealthService.Check: NOT_SERVING when the
  // ledger is gone (requests would be refused), DEGRADED when no worker is ready.
  void ProbeComponents(assistant::v1::HealthCheckResponse* r) {
    auto* pol = r->add_components();
    pol->set_name("policy");
    pol->set_ok(true);
    pol->set_detail("hash " + core_.policy->Current()->hash().substr(0, 16));
    auto* led = r->add_components();
    led->set_name("audit");
    led->set_ok(core_.ledger != nullptr && !core_.draining);
    led->set_detail(core_.ledger != nullptr ? std::to_string(core_.ledger->size()) + " records"
                                            : "ledger closed");
    if (!led->ok()) r->set_status(assistant::v1::HealthCheckResponse::NOT_SERVING);
    bool any_ready = false;
    for (const auto& w : core_.workers->Snapshot()) {
      auto* c = r->add_components();
      c->set_name("worker:" + w.id);
      c->set_ok(w.state == WorkerState::kReady);
      any_ready |= c->ok();
      std::string models;
      for (const auto& m : w.models) models += (models.empty() ? "" : ",") + m.name();
      c->set_detail(std::string(WorkerStateName(w.state)) + ", " + w.backend + ", models " + models +
                    ", " + std::to_string(w.restarts) + " restarts");
    }
    if (!any_ready && r->status() == assistant::v1::HealthCheckResponse::SERVING) {
      r->set_status(assistant::v1::HealthCheckResponse::DEGRADED);
    }
  }

  std::string RenderMetrics() {
    std::string g;
    g += "# HELP assistant_active_streams Chat streams in progress.\n"
         "# TYPE assistant_active_streams gauge\nassistant_active_streams " +
         std::to_string(core_.active_streams.load()) + "\n";
    g += "# HELP assistant_worker_ready Worker state (1 ready, 0 not).\n"
         "# TYPE assistant_worker_ready gauge\n";
    for (const auto& w : core_.workers->Snapshot()) {
      g += "assistant_worker_ready{worker=\"" + w.id + "\"} " +
           (w.state == WorkerState::kReady ? "1" : "0") + "\n";
      g += "assistant_worker_active_streams{worker=\"" + w.id + "\"} " +
           std::to_string(w.active_streams) + "\n";
    }
    return core_.metrics.Render(g);
  }

  Core core_;
  std::mutex shutdown_mu_;
  int port_ = 0;
  std::unique_ptr<HealthServiceImpl> health_;
  std::unique_ptr<ChatServiceImpl> chat_;
  std::unique_ptr<ConversationServiceImpl> conversations_;
  std::unique_ptr<ModelServiceImpl> models_;
  std::unique_ptr<MyPolicyServiceImpl> my_policy_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<AuditServiceImpl> audit_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<MetricsServer> metrics_server_;
};

}  // namespace

StatusOr<std::unique_ptr<Gateway>> Gateway::Start(GatewayOptions options) {
  auto g = std::make_unique<GatewayImpl>();
  RETURN_IF_ERROR(g->Init(std::move(options)));
  return std::unique_ptr<Gateway>(std::move(g));
}

}  // namespace appliance
