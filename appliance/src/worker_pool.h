// Workers: the local assistant-worker that assistantd spawns and supervises
// (Unix socket), and remote workers over mTLS. Routes by model and load.
#ifndef APPLIANCE_SRC_WORKER_POOL_H_
#define APPLIANCE_SRC_WORKER_POOL_H_

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/channel.h>

#include "appliance/config.h"
#include "common/status.h"
#include "inference/v1/inference.grpc.pb.h"

namespace appliance {

enum class WorkerState { kStarting, kReady, kUnavailable, kRestarting };

struct WorkerSnapshot {
  std::string id;
  std::string address;
  WorkerState state = WorkerState::kStarting;
  std::string backend;
  std::vector<inference::v1::ModelInfo> models;
  uint32_t active_streams = 0;
  uint32_t capacity = 0;
  uint32_t restarts = 0;
  std::string last_error;
  int64_t since_s = 0;
  pid_t pid = 0;
};

class WorkerPool {
 public:
  // Called (from a supervisor thread) when a worker exits or becomes ready:
  // (worker id, event "exited"/"ready"/"restarting", detail without content).
  using EventSink = std::function<void(const std::string&, const std::string&, const std::string&)>;

  static common::StatusOr<std::unique_ptr<WorkerPool>> Start(const GatewayConfig& config,
                                                             EventSink events);
  ~WorkerPool();  // stops supervision and terminates spawned workers

  struct Worker;
  // A routed slot on one worker; released on destruction.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept : worker_(o.worker_) { o.worker_ = nullptr; }
    Lease& operator=(Lease&& o) noexcept;
    ~Lease();
    inference::v1::InferenceService::Stub* stub() const;
    const std::string& worker_id() const;
    // A remote worker (mTLS over the network) rather than a local one that
    // assistantd spawned on this machine (Unix socket).
    bool remote() const;

   private:
    friend class WorkerPool;
    explicit Lease(Worker* w) : worker_(w) {}
    Worker* worker_ = nullptr;
  };
  // The least-loaded ready worker serving `model`. NOT_FOUND (MODEL_NOT_FOUND)
  // if no worker has it; UNAVAILABLE (WORKER_UNAVAILABLE) if none is ready;
  // RESOURCE_EXHAUSTED (WORKERS_BUSY) when all are at capacity.
  common::StatusOr<Lease> Pick(const std::string& model);

  // Blocks until every worker is ready or `timeout` passes.
  bool WaitReady(std::chrono::milliseconds timeout);
  std::vector<WorkerSnapshot> Snapshot() const;
  // Every model any ready worker serves (first worker wins on duplicates).
  std::vector<inference::v1::ModelInfo> Models() const;

 private:
  WorkerPool() = default;
  void Supervise(Worker* w);
  common::Status Spawn(Worker* w);
  void Probe(Worker* w);

  EventSink events_;
  std::chrono::milliseconds stop_grace_{5000};
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex mu_;  // guards the mutable fields of every Worker
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

std::string_view WorkerStateName(WorkerState state);

}  // namespace appliance

#endif  // APPLIANCE_SRC_WORKER_POOL_H_
