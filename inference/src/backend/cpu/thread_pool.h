// A fixed pool of worker threads running one parallel loop at a time.
//
// The calling thread takes part as worker 0. Workers spin briefly for the next loop (a decode
// step issues hundreds of small loops) and then sleep on a futex-backed atomic wait.
#ifndef INFERENCE_SRC_BACKEND_CPU_THREAD_POOL_H_
#define INFERENCE_SRC_BACKEND_CPU_THREAD_POOL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace inference::cpu {

class ThreadPool {
 public:
  // n_threads >= 1 (including the caller).
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(thread_index) once on each of the size() threads and returns when all are done.
  // Not reentrant: one caller at a time, and fn must not call Run.
  void Run(const std::function<void(int thread_index)>& fn);

  // Splits [0, n) into chunks of `grain` and hands them out dynamically:
  // fn(begin, end, thread_index).
  void ParallelFor(int64_t n, int64_t grain,
                   const std::function<void(int64_t begin, int64_t end, int thread)>& fn);

 private:
  void WorkerLoop(int index);

  // Constant after construction.
  const int n_threads_;
  std::vector<std::thread> workers_;

  // Shared with the workers.
  std::atomic<uint64_t> generation_{0};  // bumped to start a loop
  std::atomic<int> pending_{0};          // workers still running the current loop
  std::atomic<bool> stop_{false};
  const std::function<void(int)>* job_ = nullptr;  // valid while pending_ > 0
};

}  // namespace inference::cpu

#endif  // INFERENCE_SRC_BACKEND_CPU_THREAD_POOL_H_
