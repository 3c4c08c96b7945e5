#include "inference/scheduler.h"

#include <algorithm>
#include <utility>

namespace inference {

std::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "unknown";
}

common::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(const SchedulerConfig& config) {
  if (config.max_num_seqs < 1 || config.max_waiting < 0 || config.max_prefill_chunk < 1) {
    return common::InvalidArgumentError(
        "scheduler: max_num_seqs and max_prefill_chunk must be positive, max_waiting >= 0");
  }
  if (config.max_batched_tokens < config.max_num_seqs) {
    // Otherwise some running sequence could not even decode one token a step.
    return common::InvalidArgumentError(
        "scheduler: max_batched_tokens (" + std::to_string(config.max_batched_tokens) +
        ") must be at least max_num_seqs (" + std::to_string(config.max_num_seqs) + ")");
  }
  ASSIGN_OR_RETURN(auto blocks, KvBlockManager::Create(config.num_blocks, config.block_size,
                                                       config.enable_prefix_caching));
  const int64_t capacity = static_cast<int64_t>(config.num_blocks) * config.block_size;
  int64_t max_len = config.max_model_len > 0 ? config.max_model_len : capacity;
  if (max_len > capacity) {
    return common::InvalidArgumentError("scheduler: max_model_len " +
                                        std::to_string(config.max_model_len) +
                                        " exceeds the KV cache (" + std::to_string(capacity) +
                                        " tokens)");
  }
  return std::unique_ptr<Scheduler>(
      new Scheduler(config, static_cast<int>(max_len), std::move(blocks)));
}

Scheduler::Scheduler(const SchedulerConfig& config, int max_model_len,
                     std::unique_ptr<KvBlockManager> blocks)
    : config_(config), max_model_len_(max_model_len), blocks_(std::move(blocks)) {}

common::Status Scheduler::Add(SequenceRequest request) {
  if (request.prompt.empty()) {
    return common::InvalidArgumentError("sequence " + std::to_string(request.id) +
                                        ": empty prompt");
  }
  if (request.max_new_tokens < 1) {
    return common::InvalidArgumentError("sequence " + std::to_string(request.id) +
                                        ": max_new_tokens must be at least 1");
  }
  const int prompt_len = static_cast<int>(request.prompt.size());
  if (request.prompt.size() >= static_cast<size_t>(max_model_len_)) {
    return common::OutOfRangeError("sequence " + std::to_string(request.id) + ": prompt of " +
                                   std::to_string(request.prompt.size()) +
                                   " tokens leaves no room in the context of " +
                                   std::to_string(max_model_len_));
  }
  if (seqs_.count(request.id)) {
    return common::AlreadyExistsError("sequence " + std::to_string(request.id) +
                                      " already exists");
  }
  if (static_cast<int>(waiting_.size()) >= config_.max_waiting) {
    return common::Status(common::StatusCode::kResourceExhausted,
                          "waiting queue is full (" + std::to_string(config_.max_waiting) +
                              " sequences)",
                          "QUEUE_FULL");
  }
  auto seq = std::make_unique<Seq>();
  seq->id = request.id;
  seq->tenant_key = std::move(request.tenant_key);
  seq->tokens = std::move(request.prompt);
  seq->prompt_len = prompt_len;
  seq->max_new_tokens = std::min(request.max_new_tokens, max_model_len_ - prompt_len);
  waiting_.push_back(seq.get());
  seqs_.emplace(request.id, std::move(seq));
  return common::OkStatus();
}

int Scheduler::MaxNewTokens(uint64_t id) const {
  auto it = seqs_.find(id);
  return it == seqs_.end() ? -1 : it->second->max_new_tokens;
}

bool Scheduler::EnsureBlocks(Seq& seq, int num_tokens) {
  const int bs = blocks_->block_size();
  const int needed = (num_tokens + bs - 1) / bs - static_cast<int>(seq.block_table.size());
  if (needed <= 0) return true;
  return blocks_->Allocate(needed, &seq.block_table);
}

void Scheduler::FreeBlocks(Seq& seq) {
  blocks_->Release(seq.block_table);
  seq.block_table.clear();
  seq.num_computed = 0;
  seq.num_committed = 0;
}

void Scheduler::Preempt(Seq& seq) {
  FreeBlocks(seq);
  seq.running = false;
  running_.erase(std::find(running_.begin(), running_.end(), &seq));
  waiting_.push_front(&seq);
  ++stats_.preemptions;
}

ScheduledSequence Scheduler::MakeScheduled(const Seq& seq, int num_new) const {
  ScheduledSequence s;
  s.id = seq.id;
  s.start_pos = seq.num_computed;
  s.tokens.assign(seq.tokens.begin() + seq.num_computed,
                  seq.tokens.begin() + seq.num_computed + num_new);
  const int bs = blocks_->block_size();
  const size_t covering = static_cast<size_t>((seq.num_computed + num_new + bs - 1) / bs);
  s.block_table.assign(seq.block_table.begin(), seq.block_table.begin() + covering);
  s.want_logits = seq.num_computed + num_new == static_cast<int>(seq.tokens.size());
  return s;
}

SchedulerOutput Scheduler::Schedule() {
  SchedulerOutput out;
  int budget = config_.max_batched_tokens;

  // 1. Running sequences: decode one token, or the next prompt chunk.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Seq* seq = running_[i];
    const int remaining = static_cast<int>(seq->tokens.size()) - seq->num_computed;
    const int num_new = std::min({remaining, budget, config_.max_prefill_chunk});
    bool scheduled = false;
    while (true) {
      if (EnsureBlocks(*seq, seq->num_computed + num_new)) {
        scheduled = true;
        break;
      }
      // Cache full: preempt the most recently admitted sequence.
      Seq* victim = running_.back();
      out.preempted.push_back(victim->id);
      Preempt(*victim);
      if (victim == seq) break;
    }
    if (!scheduled) break;  // seq was the last running one and was preempted
    out.sequences.push_back(MakeScheduled(*seq, num_new));
    budget -= num_new;
    ++i;
  }

  // 2. Waiting sequences, first come first served, unless we just had to preempt.
  if (out.preempted.empty()) {
    while (!waiting_.empty() && budget > 0 &&
           static_cast<int>(running_.size()) < config_.max_num_seqs) {
      Seq* seq = waiting_.front();
      // Prefix reuse: full blocks already computed for this tenant. Always
      // leave at least the last token to compute, so there are logits.
      std::vector<int32_t> cached;
      if (blocks_->prefix_caching()) {
        ExtendBlockHashes(seq->tenant_key, blocks_->block_size(), seq->tokens, &seq->hashes);
        const size_t max_blocks = (seq->tokens.size() - 1) / blocks_->block_size();
        cached = blocks_->FindCachedPrefix(seq->hashes, max_blocks);
        blocks_->Acquire(cached);
      }
      seq->block_table = cached;
      seq->num_computed = static_cast<int>(cached.size()) * blocks_->block_size();
      seq->num_committed = static_cast<int>(cached.size());
      const int remaining = static_cast<int>(seq->tokens.size()) - seq->num_computed;
      const int num_new = std::min({remaining, budget, config_.max_prefill_chunk});
      if (!EnsureBlocks(*seq, seq->num_computed + num_new)) {
        FreeBlocks(*seq);
        break;  // head of line waits for blocks; no overtaking keeps FCFS fair
      }
      stats_.prefix_hit_tokens += seq->num_computed;
      waiting_.pop_front();
      seq->running = true;
      running_.push_back(seq);
      out.sequences.push_back(MakeScheduled(*seq, num_new));
      budget -= num_new;
    }
  }

  for (const auto& s : out.sequences) out.num_tokens += static_cast<int>(s.tokens.size());
  if (!out.sequences.empty()) ++stats_.steps;
  stats_.scheduled_tokens += out.num_tokens;
  return out;
}

std::vector<FinishedSequence> Scheduler::Update(const SchedulerOutput& output,
                                                std::span<const SequenceUpdate> updates) {
  std::unordered_map<uint64_t, const SequenceUpdate*> by_id;
  for (const auto& u : updates) by_id[u.id] = &u;
  std::vector<FinishedSequence> finished;
  const int bs = blocks_->block_size();

  for (const auto& s : output.sequences) {
    auto it = seqs_.find(s.id);
    if (it == seqs_.end()) continue;  // aborted meanwhile
    Seq& seq = *it->second;
    // Preempted after being scheduled (cannot happen within one Schedule, but
    // be defensive): its chunk no longer matches its cache state.
    if (!seq.running || seq.num_computed != s.start_pos) continue;
    const SequenceUpdate* u = by_id.count(s.id) ? by_id[s.id] : nullptr;
    if (u != nullptr && u->error) {
      finished.push_back({seq.id, FinishReason::kError});
      continue;
    }
    seq.num_computed += static_cast<int>(s.tokens.size());

    // Newly full blocks become shareable.
    if (blocks_->prefix_caching()) {
      const int full = seq.num_computed / bs;
      if (full > seq.num_committed) {
        ExtendBlockHashes(seq.tenant_key, bs,
                          std::span<const int32_t>(seq.tokens.data(), full * bs), &seq.hashes);
        for (int b = seq.num_committed; b < full; ++b) {
          blocks_->Commit(seq.block_table[b], seq.hashes[b]);
        }
        seq.num_committed = full;
      }
    }

    if (!s.want_logits) continue;
    if (u == nullptr || u->token < 0) {
      finished.push_back({seq.id, FinishReason::kError});
      continue;
    }
    seq.tokens.push_back(u->token);
    const int generated = static_cast<int>(seq.tokens.size()) - seq.prompt_len;
    if (u->stop) {
      finished.push_back({seq.id, FinishReason::kStop});
    } else if (generated >= seq.max_new_tokens) {
      finished.push_back({seq.id, FinishReason::kLength});
    }
  }
  for (const auto& f : finished) Remove(f.id);
  return finished;
}

void Scheduler::Remove(uint64_t id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  Seq* seq = it->second.get();
  FreeBlocks(*seq);
  if (seq->running) {
    running_.erase(std::find(running_.begin(), running_.end(), seq));
  } else {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), seq));
  }
  seqs_.erase(it);
}

bool Scheduler::Abort(uint64_t id) {
  if (!seqs_.count(id)) return false;
  Remove(id);
  return true;
}

}  // namespace inference
