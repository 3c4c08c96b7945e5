// One thread per GPU for tensor parallelism (used by inference/src/arch/model.cc). Host code,
// tested on the CPU (tests/inference/cuda/cuda_tp_test.cc).
#ifndef INFERENCE_BACKEND_CUDA_RANK_THREADS_H_
#define INFERENCE_BACKEND_CUDA_RANK_THREADS_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"

namespace inference {

// One thread per GPU: RunAll(fn) runs fn(rank) on every rank's own thread and waits for all.
class RankThreads {
 public:
  explicit RankThreads(int n) : results_(static_cast<size_t>(n)) {
    for (int r = 0; r < n; ++r) threads_.emplace_back([this, r] { Loop(r); });
  }
  ~RankThreads() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  common::Status RunAll(const std::function<common::Status(int)>& fn) {
    std::unique_lock<std::mutex> lock(mu_);
    fn_ = &fn;
    pending_ = static_cast<int>(threads_.size());
    for (auto& r : results_) r = common::OkStatus();
    ++epoch_;
    cv_.notify_all();
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    fn_ = nullptr;
    for (size_t r = 0; r < results_.size(); ++r) {
      if (!results_[r].ok()) return results_[r].WithContext("GPU " + std::to_string(r));
    }
    return common::OkStatus();
  }

 private:
  void Loop(int rank) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || epoch_ != seen; });
      if (stop_) return;
      seen = epoch_;
      const std::function<common::Status(int)>* fn = fn_;
      lock.unlock();
      common::Status s = (*fn)(rank);
      lock.lock();
      results_[static_cast<size_t>(rank)] = std::move(s);
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<common::Status(int)>* fn_ = nullptr;  // guarded by mu_
  std::vector<common::Status> results_;                      // guarded by mu_
  int pending_ = 0;                                  // guarded by mu_
  uint64_t epoch_ = 0;                               // guarded by mu_
  bool stop_ = false;                                // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace inference

#endif  // INFERENCE_BACKEND_CUDA_RANK_THREADS_H_
