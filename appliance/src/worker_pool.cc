#include "worker_pool.h"
#include "common/file.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "appliance/tls_material.h"

namespace appliance {

using common::Status;
using common::StatusOr;

struct WorkerPool::Worker {
  // Constant after Start().
  WorkerConfig config;
  std::string address;  // "unix:/path" or host:port
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<inference::v1::InferenceService::Stub> stub;
  WorkerPool* pool = nullptr;
  // Guarded by pool->mu_.
  WorkerState state = WorkerState::kStarting;
  std::string backend;
  std::vector<inference::v1::ModelInfo> models;
  uint32_t restarts = 0;
  std::string last_error;
  int64_t since_s = 0;
  pid_t pid = 0;
  uint32_t failed_probes = 0;  // in a row, while ready
  // Lock-free.
  std::atomic<uint32_t> active{0};
};

constexpr uint32_t kProbeFailuresToDrop = 3;

namespace {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string_view WorkerStateName(WorkerState state) {
  switch (state) {
    case WorkerState::kStarting: return "starting";
    case WorkerState::kReady: return "ready";
    case WorkerState::kUnavailable: return "unavailable";
    case WorkerState::kRestarting: return "restarting";
  }
  return "unknown";
}

WorkerPool::Lease& WorkerPool::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    if (worker_ != nullptr) worker_->active.fetch_sub(1);
    worker_ = o.worker_;
    o.worker_ = nullptr;
  }
  return *this;
}

WorkerPool::Lease::~Lease() {
  if (worker_ != nullptr) worker_->active.fetch_sub(1);
}

inference::v1::InferenceService::Stub* WorkerPool::Lease::stub() const {
  return worker_->stub.get();
}

const std::string& WorkerPool::Lease::worker_id() const { return worker_->config.name; }

bool WorkerPool::Lease::remote() const { return worker_->config.remote(); }

StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::Start(const GatewayConfig& config,
                                                        EventSink events) {
  auto pool = std::unique_ptr<WorkerPool>(new WorkerPool());
  pool->events_ = std::move(events);
  pool->stop_grace_ = std::chrono::milliseconds(config.worker_stop_ms);
  for (const auto& wc : config.workers) {
    auto w = std::make_unique<Worker>();
    w->config = wc;
    w->pool = pool.get();
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
    // Reconnect quickly after a worker restart.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    if (wc.remote()) {
      grpc::SslCredentialsOptions ssl;
      ASSIGN_OR_RETURN(ssl.pem_root_certs, common::ReadFile(wc.tls_ca));
      ASSIGN_OR_RETURN(ssl.pem_cert_chain, common::ReadFile(wc.tls_cert));
      ASSIGN_OR_RETURN(ssl.pem_private_key, common::ReadFile(wc.tls_key));
      w->address = wc.address;
      w->channel = grpc::CreateCustomChannel(wc.address, grpc::SslCredentials(ssl), args);
    } else {
      w->address = "unix:" + wc.socket;
      w->channel = grpc::CreateCustomChannel(w->address, grpc::InsecureChannelCredentials(), args);
    }
    w->stub = inference::v1::InferenceService::NewStub(w->channel);
    w->since_s = NowSeconds();
    pool->workers_.push_back(std::move(w));
  }
  for (auto& w : pool->workers_) {
    Worker* raw = w.get();
    pool->threads_.emplace_back([p = pool.get(), raw] { p->Supervise(raw); });
  }
  return pool;
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    for (auto& w : workers_) {
      if (w->pid > 0) ::kill(w->pid, SIGTERM);
    }
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Status WorkerPool::Spawn(Worker* w) {
  std::vector<std::string> args = w->config.spawn;
  for (auto& a : args) {
    size_t pos;
    while ((pos = a.find("{socket}")) != std::string::npos) a.replace(pos, 8, w->config.socket);
  }
  ::unlink(w->config.socket.c_str());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return common::UnavailableError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // The worker dies with the gateway; it never outlives its supervisor.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  std::lock_guard lock(mu_);
  w->pid = pid;
  return common::OkStatus();
}

void WorkerPool::Probe(Worker* w) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  ctx.set_wait_for_ready(true);
  inference::v1::ListModelsResponse models;
  grpc::Status s = w->stub->ListModels(&ctx, {}, &models);
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    // Waiting for the connection timed out; ask once more without waiting so
    // the channel's own reason (refused, TLS handshake failed) is reported.
    grpc::ClientContext again;
    again.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::Status why = w->stub->ListModels(&again, {}, &models);
    if (why.error_code() == grpc::StatusCode::UNAVAILABLE) s = why;
  }
  inference::v1::StatusResponse status;
  if (s.ok()) {
    grpc::ClientContext ctx2;
    ctx2.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    w->stub->Status(&ctx2, {}, &status);
  }
  bool became_ready = false;
  bool became_unavailable = false;
  {
    std::lock_guard lock(mu_);
    if (!s.ok()) {
      w->last_error = s.error_message();
      // A worker busy with a full batch may answer a probe late: one late
      // answer does not take it out of rotation (streams still flow); three
      // failed probes in a row do. A spawned worker that exits is noticed
      // at once by its supervisor (waitpid), not here.
      if (w->state == WorkerState::kReady && ++w->failed_probes >= kProbeFailuresToDrop) {
        w->state = WorkerState::kUnavailable;
        w->since_s = NowSeconds();
        became_unavailable = true;
      }
    }
  }
  if (became_unavailable) {
    if (events_) events_(w->config.name, "unavailable", s.error_message());
    return;
  }
  if (!s.ok()) return;
  {
    std::lock_guard lock(mu_);
    w->failed_probes = 0;
    bool all_ready = models.models_size() > 0;
    for (const auto& m : models.models()) {
      all_ready &= m.state() == inference::v1::ModelInfo::STATE_READY;
    }
    w->models.assign(models.models().begin(), models.models().end());
    w->backend = status.backend();
    if (all_ready && w->state != WorkerState::kReady) {
      w->state = WorkerState::kReady;
      w->since_s = NowSeconds();
      became_ready = true;
    }
  }
  if (became_ready) {
    cv_.notify_all();
    if (events_) events_(w->config.name, "ready", "");
  }
}

void WorkerPool::Supervise(Worker* w) {
  const bool spawned = !w->config.spawn.empty();
  std::chrono::milliseconds backoff(200);
  while (!stop_) {
    if (spawned) {
      Status s = Spawn(w);
      if (!s.ok()) {
        std::lock_guard lock(mu_);
        w->last_error = s.message();
      }
    }
    // Probe until ready, then watch (spawned: until the process exits).
    while (!stop_) {
      if (spawned) {
        pid_t pid;
        {
          std::lock_guard lock(mu_);
          pid = w->pid;
        }
        int wstatus = 0;
        if (pid > 0 && ::waitpid(pid, &wstatus, WNOHANG) == pid) {
          std::string why = WIFSIGNALED(wstatus)
                                ? std::string("killed by signal ") + std::to_string(WTERMSIG(wstatus))
                                : "exited with status " + std::to_string(WEXITSTATUS(wstatus));
          {
            std::lock_guard lock(mu_);
            w->pid = 0;
            w->state = WorkerState::kRestarting;
            w->last_error = why;
            w->since_s = NowSeconds();
            ++w->restarts;
          }
          if (!stop_ && events_) events_(w->config.name, "exited", why);
          break;
        }
      }
      Probe(w);
      std::unique_lock lock(mu_);
      const bool ready = w->state == WorkerState::kReady;
      cv_.wait_for(lock, ready ? std::chrono::milliseconds(250) : std::chrono::milliseconds(50),
                   [&] { return stop_.load(); });
      if (ready) backoff = std::chrono::milliseconds(200);
    }
    if (!spawned || stop_) break;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, backoff, [&] { return stop_.load(); });
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
  }
  if (spawned) {
    pid_t pid;
    {
      std::lock_guard lock(mu_);
      pid = w->pid;
    }
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      const auto until = std::chrono::steady_clock::now() + stop_grace_;
      while (std::chrono::steady_clock::now() < until) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(20));
      }
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
}

StatusOr<WorkerPool::Lease> WorkerPool::Pick(const std::string& model) {
  std::lock_guard lock(mu_);
  Worker* best = nullptr;
  bool known = false, any_ready = false;
  for (auto& w : workers_) {
    const bool has = std::any_of(w->models.begin(), w->models.end(),
                                 [&](const auto& m) { return m.name() == model; });
    known |= has;
    if (!has || w->state != WorkerState::kReady) continue;
    any_ready = true;
    if (w->active.load() >= w->config.capacity) continue;
    if (best == nullptr || w->active.load() < best->active.load()) best = w.get();
  }
  if (best == nullptr) {
    if (!known) {
      return Status(common::StatusCode::kNotFound, "no worker serves model '" + model + "'",
                    "MODEL_NOT_FOUND");
    }
    if (!any_ready) {
      return Status(common::StatusCode::kUnavailable,
                    "the worker for model '" + model + "' is not ready (starting or restarting)",
                    "WORKER_UNAVAILABLE");
    }
    return Status(common::StatusCode::kResourceExhausted,
                  "every worker for model '" + model + "' is at capacity", "WORKERS_BUSY");
  }
  best->active.fetch_add(1);
  return Lease(best);
}

bool WorkerPool::WaitReady(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return std::all_of(workers_.begin(), workers_.end(),
                       [](const auto& w) { return w->state == WorkerState::kReady; });
  });
}

std::vector<WorkerSnapshot> WorkerPool::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<WorkerSnapshot> out;
  for (const auto& w : workers_) {
    WorkerSnapshot s;
    s.id = w->config.name;
    s.address = w->address;
    s.state = w->state;
    s.backend = w->backend;
    s.models = w->models;
    s.active_streams = w->active.load();
    s.capacity = w->config.capacity;
    s.restarts = w->restarts;
    s.last_error = w->last_error;
    s.since_s = w->since_s;
    s.pid = w->pid;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<inference::v1::ModelInfo> WorkerPool::Models() const {
  std::lock_guard lock(mu_);
  std::vector<inference::v1::ModelInfo> out;
  for (const auto& w : workers_) {
    for (const auto& m : w->models) {
      if (std::none_of(out.begin(), out.end(), [&](const auto& o) { return o.name() == m.name(); })) {
        out.push_back(m);
      }
    }
  }
  return out;
}

}  // namespace appliance
