// Engine: the serving step loop on its own thread.
//
//   loop: Scheduler::Schedule() -> Model::Forward() -> Sampler -> Scheduler::Update()
//
// Submit() queues a request and returns a GenerationStream that delivers one
// event per generated token (id + UTF-8 text delta, stop strings held back)
// and then exactly one final event (finish reason, usage, timings). Cancel()
// ends a request at any step: its final event is delivered at once and its KV
// blocks are freed before the next step. All public methods are thread-safe.
//
// Privacy: prompts and completions never reach a log or an error message;
// errors carry ids and lengths only.
#ifndef INFERENCE_ENGINE_H_
#define INFERENCE_ENGINE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "inference/model.h"
#include "inference/sampler.h"
#include "inference/scheduler.h"

namespace inference {

struct EngineOptions {
  // KV cache geometry and batching. num_blocks == 0: derived from
  // kv_cache_bytes and the model's bytes per block.
  SchedulerConfig scheduler{.num_blocks = 0};
  size_t kv_cache_bytes = size_t{256} << 20;
  // Bytes a token adds to the output text (a tokenizer's piece, byte tokens
  // decoded). Empty: events carry ids only.
  std::function<std::string(int32_t)> token_bytes;
  // End-of-generation tokens (EOS, EOT...). Empty: none.
  std::function<bool(int32_t)> is_eog;
  // Monotonic clock in microseconds, injectable for tests.
  std::function<int64_t()> now_micros;
};

// Text and content are never printed: see DebugString().
struct GenerateRequest {
  std::vector<int32_t> prompt;   // used exactly as given (no BOS added)
  SamplingParams sampling;
  std::string tenant_key;        // prefix-cache scope
  int max_tokens = 256;
  std::vector<std::string> stop;
  bool ignore_eos = false;       // keep going past EOS/EOG (benchmarks, tests)
};

struct Usage {
  int prompt_tokens = 0;
  int cached_prompt_tokens = 0;  // prompt tokens served from the prefix cache
  int completion_tokens = 0;
};

struct Timings {
  int64_t queue_micros = 0;    // submit -> first scheduled
  int64_t prefill_micros = 0;  // first scheduled -> first token
  int64_t decode_micros = 0;   // first token -> finish
};

struct GenerateEvent {
  // kStarted once, when the request is first scheduled (usage.prompt_tokens
  // and usage.cached_prompt_tokens set); then kToken*; then kFinished once.
  // A request cancelled or refused before it was scheduled has no kStarted.
  enum class Kind { kStarted, kToken, kFinished };
  Kind kind = Kind::kToken;
  // kToken. token == -1: no new token, only text released at the end (held
  // back while it could have begun a stop string or a UTF-8 character).
  int32_t token = -1;
  std::string text;            // may be empty (held back: partial UTF-8 or stop prefix)
  // kFinished (usage also in kStarted)
  FinishReason reason = FinishReason::kStop;
  common::Status error;        // set when reason == kError
  Usage usage;
  Timings timings;
};

class Engine;

// The consumer side of one request. Destroying it cancels the request. Must
// not outlive its Engine.
class GenerationStream {
 public:
  ~GenerationStream();
  GenerationStream(const GenerationStream&) = delete;
  GenerationStream& operator=(const GenerationStream&) = delete;

  uint64_t id() const { return id_; }
  // Blocks for the next event; false once the final event has been returned.
  bool Next(GenerateEvent* event);
  enum class Wait { kEvent, kTimeout, kEnd };
  // As Next, waiting at most `timeout`.
  Wait NextFor(GenerateEvent* event, std::chrono::microseconds timeout);
  void Cancel();

  // Shared between the stream and the engine thread (internal).
  struct Channel {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<GenerateEvent> events;  // guarded by mu
    bool closed = false;               // final event queued; guarded by mu
    bool delivered_final = false;      // consumer side only
  };

 private:
  friend class Engine;
  GenerationStream(Engine* engine, uint64_t id, std::shared_ptr<Channel> channel)
      : engine_(engine), id_(id), channel_(std::move(channel)) {}

  Engine* const engine_;
  const uint64_t id_;
  std::shared_ptr<Channel> channel_;
};

struct EngineStats {
  int running = 0;
  int waiting = 0;
  int kv_blocks_total = 0;
  int kv_blocks_free = 0;
  int max_model_len = 0;
  int64_t steps = 0;
  int64_t preemptions = 0;
  int64_t tokens_generated = 0;
  int64_t prompt_tokens_computed = 0;
  int64_t prefix_hit_tokens = 0;
};

class Engine {
 public:
  // Allocates the model's KV cache and starts the step thread. `model` must
  // outlive the engine and is used only by the engine thread.
  static common::StatusOr<std::unique_ptr<Engine>> Create(Model* model, EngineOptions options);
  ~Engine();  // cancels what is left, joins the thread
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // INVALID_ARGUMENT (bad sampling, empty prompt, token id outside the
  // vocabulary), OUT_OF_RANGE (prompt longer than the context),
  // RESOURCE_EXHAUSTED (waiting queue full).
  common::StatusOr<std::unique_ptr<GenerationStream>> Submit(GenerateRequest request);
  // Ends a request now (final event reason kCancelled). False if unknown or done.
  bool Cancel(uint64_t id);

  EngineStats Stats() const;
  const SchedulerConfig& scheduler_config() const { return config_; }

 private:
  struct Request;
  Engine(Model* model, EngineOptions options, SchedulerConfig config,
         std::unique_ptr<Scheduler> scheduler);
  void Loop();
  void Step(std::unique_lock<std::mutex>& lock);
  // Both with mu_ held.
  void Finish(Request& req, FinishReason reason, common::Status error);
  int64_t Now() const;

  // Constant after construction.
  Model* const model_;
  const EngineOptions options_;
  const SchedulerConfig config_;
  const int n_vocab_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::unique_ptr<Scheduler> scheduler_;                             // guarded by mu_
  std::unordered_map<uint64_t, std::shared_ptr<Request>> requests_;  // guarded by mu_
  uint64_t next_id_ = 1;                                             // guarded by mu_
  bool stop_ = false;                                                // guarded by mu_
  int64_t tokens_generated_ = 0;                                     // guarded by mu_
  int64_t prompt_tokens_computed_ = 0;                               // guarded by mu_

  std::thread thread_;
};

}  // namespace inference

#endif  // INFERENCE_ENGINE_H_
