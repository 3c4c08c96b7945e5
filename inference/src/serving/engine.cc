#include "inference/engine.h"

#include <algorithm>
#include <utility>

#include "inference/device_sampling.h"
#include "serving/utf8.h"

namespace inference {

// One request's state. Fields marked "engine thread" are touched only by the
// step thread (sampling, text); the rest is guarded by Engine::mu_.
struct Engine::Request {
  Request(uint64_t request_id, const SamplingParams& params, std::vector<std::string> stops)
      : id(request_id), sampler(params), stop(std::move(stops)) {}

  const uint64_t id;
  std::shared_ptr<GenerationStream::Channel> channel;
  size_t prompt_len = 0;
  bool ignore_eos = false;
  // Engine thread.
  std::vector<int32_t> history;  // prompt + generated, for penalties
  Sampler sampler;
  StopMatcher stop;
  std::string utf8_pending;      // bytes of an unfinished UTF-8 character
  // Guarded by mu_.
  bool done = false;
  Usage usage;
  int64_t submit_us = 0;
  int64_t first_scheduled_us = -1;
  int64_t first_token_us = -1;
};

namespace {
void Push(GenerationStream::Channel& ch, GenerateEvent ev, bool final_event) {
  {
    std::lock_guard<std::mutex> lock(ch.mu);
    ch.events.push_back(std::move(ev));
    if (final_event) ch.closed = true;
  }
  ch.cv.notify_all();
}
}  // namespace

// ---------------------------------------------------------------- stream

GenerationStream::~GenerationStream() {
  bool closed;
  {
    std::lock_guard<std::mutex> lock(channel_->mu);
    closed = channel_->closed;
  }
  // A closed channel means the request is over (the engine may even be gone).
  if (!closed) engine_->Cancel(id_);
}

bool GenerationStream::Next(GenerateEvent* event) {
  return NextFor(event, std::chrono::microseconds::max()) == Wait::kEvent;
}

GenerationStream::Wait GenerationStream::NextFor(GenerateEvent* event,
                                                 std::chrono::microseconds timeout) {
  if (channel_->delivered_final) return Wait::kEnd;
  std::unique_lock<std::mutex> lock(channel_->mu);
  auto ready = [&] { return !channel_->events.empty(); };
  if (timeout == std::chrono::microseconds::max()) {
    channel_->cv.wait(lock, ready);
  } else if (!channel_->cv.wait_for(lock, timeout, ready)) {
    return Wait::kTimeout;
  }
  *event = std::move(channel_->events.front());
  channel_->events.pop_front();
  if (event->kind == GenerateEvent::Kind::kFinished) channel_->delivered_final = true;
  return Wait::kEvent;
}

void GenerationStream::Cancel() {
  {
    std::lock_guard<std::mutex> lock(channel_->mu);
    if (channel_->closed) return;
  }
  engine_->Cancel(id_);
}

// ---------------------------------------------------------------- engine

common::StatusOr<std::unique_ptr<Engine>> Engine::Create(Model* model, EngineOptions options) {
  if (model == nullptr) return common::InvalidArgumentError("engine: no model");
  SchedulerConfig config = options.scheduler;
  const ModelConfig& mc = model->config();
  if (mc.n_vocab <= 0) return common::InvalidArgumentError("engine: model has no vocabulary");
  if (config.block_size <= 0) {
    return common::InvalidArgumentError("engine: block_size must be positive");
  }
  if (config.num_blocks == 0) {
    const size_t per_block = model->KvBytesPerBlock(config.block_size);
    if (per_block == 0) return common::InternalError("engine: model reports 0 KV bytes per block");
    config.num_blocks = static_cast<int>(std::min<size_t>(options.kv_cache_bytes / per_block,
                                                          size_t{1} << 24));
    if (config.num_blocks < 1) {
      return common::InvalidArgumentError(
          "engine: kv_cache_bytes " + std::to_string(options.kv_cache_bytes) +
          " is smaller than one KV block (" + std::to_string(per_block) + " bytes)");
    }
  }
  const int capacity = config.num_blocks * config.block_size;
  if (config.max_model_len == 0) {
    config.max_model_len = capacity;
    if (mc.n_ctx_train > 0) config.max_model_len = std::min(capacity, mc.n_ctx_train);
  }
  ASSIGN_OR_RETURN(auto scheduler, Scheduler::Create(config));
  RETURN_IF_ERROR(model->AllocateKvCache(config.num_blocks, config.block_size));
  return std::unique_ptr<Engine>(
      new Engine(model, std::move(options), config, std::move(scheduler)));
}

Engine::Engine(Model* model, EngineOptions options, SchedulerConfig config,
               std::unique_ptr<Scheduler> scheduler)
    : model_(model),
      options_(std::move(options)),
      config_(config),
      n_vocab_(model->config().n_vocab),
      scheduler_(std::move(scheduler)) {
  thread_ = std::thread([this] { Loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  while (!requests_.empty()) {
    auto req = requests_.begin()->second;
    scheduler_->Abort(req->id);
    Finish(*req, FinishReason::kCancelled, common::OkStatus());
  }
}

int64_t Engine::Now() const {
  if (options_.now_micros) return options_.now_micros();
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

common::StatusOr<std::unique_ptr<GenerationStream>> Engine::Submit(GenerateRequest request) {
  RETURN_IF_ERROR(request.sampling.Validate());
  if (request.max_tokens < 1) {
    return common::InvalidArgumentError("max_tokens must be at least 1");
  }
  for (size_t i = 0; i < request.prompt.size(); ++i) {
    if (request.prompt[i] < 0 || request.prompt[i] >= n_vocab_) {
      return common::InvalidArgumentError("prompt token " + std::to_string(i) + " (id " +
                                          std::to_string(request.prompt[i]) +
                                          ") is outside the vocabulary of " +
                                          std::to_string(n_vocab_));
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_) return common::UnavailableError("engine is shutting down");
  const uint64_t id = next_id_++;
  auto req = std::make_shared<Request>(id, request.sampling, request.stop);
  req->channel = std::make_shared<GenerationStream::Channel>();
  req->prompt_len = request.prompt.size();
  req->ignore_eos = request.ignore_eos;
  req->history = request.prompt;
  req->usage.prompt_tokens = static_cast<int>(request.prompt.size());
  req->submit_us = Now();

  SequenceRequest seq;
  seq.id = id;
  seq.prompt = std::move(request.prompt);
  seq.tenant_key = std::move(request.tenant_key);
  seq.max_new_tokens = request.max_tokens;
  RETURN_IF_ERROR(scheduler_->Add(std::move(seq)));
  requests_.emplace(id, req);
  lock.unlock();
  work_cv_.notify_all();
  return std::unique_ptr<GenerationStream>(new GenerationStream(this, id, req->channel));
}

bool Engine::Cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = requests_.find(id);
  if (it == requests_.end()) return false;
  auto req = it->second;
  scheduler_->Abort(id);
  Finish(*req, FinishReason::kCancelled, common::OkStatus());
  return true;
}

void Engine::Finish(Request& req, FinishReason reason, common::Status error) {
  if (req.done) return;
  req.done = true;
  const int64_t now = Now();
  GenerateEvent ev;
  ev.kind = GenerateEvent::Kind::kFinished;
  ev.reason = reason;
  ev.error = std::move(error);
  ev.usage = req.usage;
  if (req.first_scheduled_us >= 0) {
    ev.timings.queue_micros = req.first_scheduled_us - req.submit_us;
    const int64_t first = req.first_token_us >= 0 ? req.first_token_us : now;
    ev.timings.prefill_micros = first - req.first_scheduled_us;
    if (req.first_token_us >= 0) ev.timings.decode_micros = now - req.first_token_us;
  } else {
    ev.timings.queue_micros = now - req.submit_us;
  }
  Push(*req.channel, std::move(ev), /*final_event=*/true);
  requests_.erase(req.id);
}

EngineStats Engine::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  EngineStats s;
  s.running = scheduler_->num_running();
  s.waiting = scheduler_->num_waiting();
  s.kv_blocks_total = scheduler_->blocks().num_blocks();
  s.kv_blocks_free = scheduler_->blocks().NumFreeBlocks();
  s.max_model_len = scheduler_->max_model_len();
  s.steps = scheduler_->stats().steps;
  s.preemptions = scheduler_->stats().preemptions;
  s.prefix_hit_tokens = scheduler_->stats().prefix_hit_tokens;
  s.tokens_generated = tokens_generated_;
  s.prompt_tokens_computed = prompt_tokens_computed_;
  return s;
}

void Engine::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stop_ || scheduler_->HasWork(); });
    if (stop_) return;
    Step(lock);
  }
}

void Engine::Step(std::unique_lock<std::mutex>& lock) {
  // 1. Schedule (mu_ held).
  SchedulerOutput out = scheduler_->Schedule();
  if (out.empty()) return;
  std::vector<std::shared_ptr<Request>> reqs;
  reqs.reserve(out.sequences.size());
  const int64_t t0 = Now();
  for (const auto& s : out.sequences) {
    auto req = requests_.at(s.id);
    if (req->first_scheduled_us < 0) {
      req->first_scheduled_us = t0;
      req->usage.cached_prompt_tokens = s.start_pos;
      GenerateEvent ev;
      ev.kind = GenerateEvent::Kind::kStarted;
      ev.usage = req->usage;
      Push(*req->channel, std::move(ev), false);
    }
    if (static_cast<size_t>(s.start_pos) < req->prompt_len) {
      prompt_tokens_computed_ += static_cast<int64_t>(s.tokens.size());
    }
    reqs.push_back(std::move(req));
  }
  lock.unlock();

  // 2. Execute (no lock: Submit and Cancel proceed meanwhile).
  ForwardBatch batch;
  batch.sequences.reserve(out.sequences.size());
  for (const auto& s : out.sequences) {
    batch.sequences.push_back(SequenceChunk{s.tokens, s.start_pos, s.block_table, s.want_logits});
  }
  // Sampling runs on the model's device when it can (only token ids come back); each request's
  // Sampler stays here and supplies its penalty window and its random draw.
  const bool device_sampling = model_->samples_on_device();
  std::vector<DeviceSampleRow> sample_rows;
  std::vector<PenaltyEntry> penalties;
  if (device_sampling) {
    for (size_t i = 0; i < out.sequences.size(); ++i) {
      if (!out.sequences[i].want_logits) continue;
      Request& req = *reqs[i];
      sample_rows.push_back(MakeDeviceSampleRow(
          req.sampler, ChooseSamplerPlacement(req.sampler.params(), true), req.history,
          req.prompt_len, &penalties));
    }
  }
  std::vector<float> logits;
  std::vector<int32_t> device_tokens;
  const common::Status status =
      device_sampling
          ? model_->ForwardSample(batch, sample_rows, penalties, &device_tokens, &logits)
          : model_->Forward(batch, &logits);

  // 3. Sample and detokenize (engine-thread state only).
  struct Emitted {
    size_t index;
    int32_t token;
    std::string text;
  };
  std::vector<Emitted> emitted;
  std::vector<SequenceUpdate> updates(out.sequences.size());
  size_t row = 0, host_row = 0;
  for (size_t i = 0; i < out.sequences.size(); ++i) {
    const auto& s = out.sequences[i];
    Request& req = *reqs[i];
    updates[i].id = s.id;
    if (!status.ok()) {
      updates[i].error = true;
      continue;
    }
    if (!s.want_logits) continue;
    int32_t token = kSampleOnHost;
    if (device_sampling) {
      if (row >= device_tokens.size()) {
        updates[i].error = true;
        continue;
      }
      token = device_tokens[row];
    }
    if (token == kSampleOnHost) {
      // Host sampling: every row without device sampling, and the rows the device handed back.
      const size_t at = device_sampling ? host_row : row;
      if (logits.size() < (at + 1) * static_cast<size_t>(n_vocab_)) {
        updates[i].error = true;
        continue;
      }
      std::span<float> l(logits.data() + at * n_vocab_, static_cast<size_t>(n_vocab_));
      if (device_sampling && sample_rows[row].mode == DeviceSampleRow::kSample) {
        token = req.sampler.SampleWithUniform(l, req.history, req.prompt_len,
                                              sample_rows[row].uniform);
      } else {
        token = req.sampler.Sample(l, req.history, req.prompt_len);
      }
      ++host_row;
    }
    ++row;
    req.history.push_back(token);
    updates[i].token = token;
    std::string text;
    const bool eog = !req.ignore_eos && options_.is_eog && options_.is_eog(token);
    if (eog) {
      updates[i].stop = true;
    } else if (options_.token_bytes) {
      req.utf8_pending += options_.token_bytes(token);
      const size_t complete = CompleteUtf8Prefix(req.utf8_pending);
      text = req.stop.Push(SanitizeUtf8(req.utf8_pending.substr(0, complete)));
      req.utf8_pending.erase(0, complete);
      if (req.stop.stopped()) updates[i].stop = true;
    }
    emitted.push_back(Emitted{i, token, std::move(text)});
  }

  // 4. Update (mu_ held): deliver tokens, retire finished sequences.
  lock.lock();
  const int64_t t1 = Now();
  const auto finished = scheduler_->Update(out, updates);
  for (auto& e : emitted) {
    Request& req = *reqs[e.index];
    if (req.done) continue;  // cancelled while the step ran
    ++req.usage.completion_tokens;
    ++tokens_generated_;
    if (req.first_token_us < 0) req.first_token_us = t1;
    GenerateEvent ev;
    ev.kind = GenerateEvent::Kind::kToken;
    ev.token = e.token;
    ev.text = std::move(e.text);
    Push(*req.channel, std::move(ev), false);
  }
  for (const auto& f : finished) {
    auto it = requests_.find(f.id);
    if (it == requests_.end()) continue;
    Request& req = *it->second;
    if (f.reason == FinishReason::kError) {
      Finish(req, f.reason,
             status.ok() ? common::InternalError("model returned too few logits")
                         : status.WithContext("forward step failed"));
      continue;
    }
    if (!req.stop.stopped()) {
      // Release text held back for a possible stop string or partial character.
      std::string tail = req.stop.Push(SanitizeUtf8(req.utf8_pending));
      req.utf8_pending.clear();
      tail += req.stop.Flush();
      if (!tail.empty()) {
        GenerateEvent ev;
        ev.kind = GenerateEvent::Kind::kToken;
        ev.text = std::move(tail);
        Push(*req.channel, std::move(ev), false);
      }
    }
    Finish(req, f.reason, common::OkStatus());
  }
}

}  // namespace inference
