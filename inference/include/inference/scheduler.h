// Scheduler: continuous batching over the paged KV cache, as pure logic.
//
// The step loop (engine.h) is  Schedule() -> execute -> Update():
//   - Schedule() decides which sequences run this step and how many tokens
//     each feeds: every running sequence gets its next token (decode) or its
//     next prompt chunk, then waiting sequences are admitted with prefill
//     chunks while the step's token budget and the KV cache allow.
//   - Update() takes what the executor sampled, appends the tokens, marks the
//     newly full blocks as shareable, and retires finished sequences.
// When the cache cannot hold the next step, the most recently admitted
// running sequence is preempted (recompute style: its blocks are released,
// it goes back to the FRONT of the waiting queue with prompt + generated
// tokens, and is prefilled again later; its full blocks usually survive in
// the prefix cache, so resuming is cheap). The waiting queue is bounded: Add()
// refuses with RESOURCE_EXHAUSTED instead of queueing without bound.
//
// No tensors, no threads, no clock: plain structs in and out. Not
// thread-safe; the engine thread owns it.
#ifndef INFERENCE_SCHEDULER_H_
#define INFERENCE_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "inference/kv_blocks.h"

namespace inference {

enum class FinishReason { kStop, kLength, kCancelled, kError };
std::string_view FinishReasonName(FinishReason reason);

struct SchedulerConfig {
  int num_blocks = 256;          // KV cache blocks
  int block_size = 16;           // tokens per block
  int max_num_seqs = 32;         // running at once (batch rows)
  int max_batched_tokens = 512;  // tokens fed per step, all sequences together
  int max_prefill_chunk = 256;   // tokens of one prompt per step (chunked prefill)
  int max_waiting = 256;         // waiting queue bound
  int max_model_len = 0;         // prompt + output; 0 = whole cache
  bool enable_prefix_caching = true;
};

// A new sequence. Content is never logged: ids and lengths only.
struct SequenceRequest {
  uint64_t id = 0;
  std::vector<int32_t> prompt;  // token ids, used exactly as given
  std::string tenant_key;       // prefix blocks are shared only within a tenant
  int max_new_tokens = 16;      // clamped to max_model_len - prompt length
};

// One sequence's share of a step.
struct ScheduledSequence {
  uint64_t id = 0;
  int32_t start_pos = 0;               // tokens already in the KV cache
  std::vector<int32_t> tokens;         // tokens to feed, positions start_pos...
  std::vector<int32_t> block_table;    // covers [0, start_pos + tokens.size())
  bool want_logits = false;            // this chunk ends the known tokens: sample one
};

struct SchedulerOutput {
  std::vector<ScheduledSequence> sequences;
  std::vector<uint64_t> preempted;     // preempted during this Schedule()
  int num_tokens = 0;                  // sum of tokens.size()
  bool empty() const { return sequences.empty(); }
};

// What the executor reports for one scheduled sequence.
struct SequenceUpdate {
  uint64_t id = 0;
  int32_t token = -1;     // sampled token (only when want_logits), else -1
  bool stop = false;      // the engine saw EOS/EOG or a stop string
  bool error = false;     // the step failed for this sequence
};

struct FinishedSequence {
  uint64_t id = 0;
  FinishReason reason = FinishReason::kStop;
};

class Scheduler {
 public:
  struct Stats {
    int64_t steps = 0;
    int64_t preemptions = 0;
    int64_t prefix_hit_tokens = 0;  // prompt tokens not recomputed thanks to the cache
    int64_t scheduled_tokens = 0;
  };

  static common::StatusOr<std::unique_ptr<Scheduler>> Create(const SchedulerConfig& config);

  const SchedulerConfig& config() const { return config_; }
  int max_model_len() const { return max_model_len_; }

  // Queues a sequence. INVALID_ARGUMENT: empty prompt or max_new_tokens < 1;
  // OUT_OF_RANGE: the prompt leaves no room in max_model_len; ALREADY_EXISTS:
  // id in use; RESOURCE_EXHAUSTED: the waiting queue is full.
  common::Status Add(SequenceRequest request);

  // Plans one step. Empty when there is nothing to run.
  SchedulerOutput Schedule();

  // Applies a step's results. Ids no longer known (aborted meanwhile) are
  // skipped. Returns the sequences that finished in this step (stop, error,
  // or length when max_new_tokens / max_model_len is reached).
  std::vector<FinishedSequence> Update(const SchedulerOutput& output,
                                       std::span<const SequenceUpdate> updates);

  // Removes a sequence wherever it is and frees its blocks. False if unknown.
  bool Abort(uint64_t id);

  bool HasWork() const { return !waiting_.empty() || !running_.empty(); }
  int num_waiting() const { return static_cast<int>(waiting_.size()); }
  int num_running() const { return static_cast<int>(running_.size()); }
  bool Contains(uint64_t id) const { return seqs_.count(id) != 0; }
  // Effective output limit after clamping; -1 if unknown id.
  int MaxNewTokens(uint64_t id) const;
  const KvBlockManager& blocks() const { return *blocks_; }
  const Stats& stats() const { return stats_; }

 private:
  struct Seq {
    uint64_t id = 0;
    std::string tenant_key;
    std::vector<int32_t> tokens;   // prompt + generated
    int prompt_len = 0;
    int max_new_tokens = 0;
    int num_computed = 0;          // tokens whose KV is in the cache
    int num_committed = 0;         // full blocks registered for sharing
    std::vector<int32_t> block_table;
    std::vector<BlockHash> hashes; // full blocks of `tokens`
    bool running = false;
  };

  Scheduler(const SchedulerConfig& config, int max_model_len,
            std::unique_ptr<KvBlockManager> blocks);
  // Grows seq's block table to cover `num_tokens`; false if the pool is short.
  bool EnsureBlocks(Seq& seq, int num_tokens);
  void Preempt(Seq& seq);
  void FreeBlocks(Seq& seq);
  void Remove(uint64_t id);
  ScheduledSequence MakeScheduled(const Seq& seq, int num_new) const;

  const SchedulerConfig config_;
  const int max_model_len_;
  std::unique_ptr<KvBlockManager> blocks_;
  std::unordered_map<uint64_t, std::unique_ptr<Seq>> seqs_;
  std::deque<Seq*> waiting_;
  std::vector<Seq*> running_;   // admission order; preemption takes the back
  Stats stats_;
};

}  // namespace inference

#endif  // INFERENCE_SCHEDULER_H_
