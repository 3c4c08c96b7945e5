#include "inference/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <random>
#include <set>
#include <vector>

namespace inference {
namespace {

using common::StatusCode;

std::vector<int32_t> Iota(int n, int32_t start = 1) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

SequenceRequest Req(uint64_t id, std::vector<int32_t> prompt, int max_new = 4,
                    std::string tenant = "t") {
  SequenceRequest r;
  r.id = id;
  r.prompt = std::move(prompt);
  r.max_new_tokens = max_new;
  r.tenant_key = std::move(tenant);
  return r;
}

// A stand-in for the model: the next token is a function of the whole
// sequence so far, so any scheduling mistake (wrong chunk, lost token, wrong
// position) changes the output.
int32_t Oracle(const std::vector<int32_t>& seq) {
  uint32_t h = 2166136261u;
  for (int32_t t : seq) h = (h ^ static_cast<uint32_t>(t)) * 16777619u;
  return static_cast<int32_t>(h % 1000) + 1;
}

// Plays the executor: keeps each sequence's cache contents (what was fed at
// which position) and checks every chunk against it.
class FakeExecutor {
 public:
  explicit FakeExecutor(const Scheduler& s) : block_size_(s.config().block_size) {}

  std::vector<SequenceUpdate> Run(const SchedulerOutput& out) {
    std::vector<SequenceUpdate> updates;
    std::set<int32_t> blocks_written;
    for (const auto& s : out.sequences) {
      auto& fed = fed_[s.id];
      // Positions restart at 0 after a preemption, or at a prefix-cache hit.
      fed.resize(s.start_pos);
      const size_t end = s.start_pos + s.tokens.size();
      EXPECT_GE(s.block_table.size() * block_size_, end) << "block table too short";
      EXPECT_LT((s.block_table.size() - 1) * block_size_, end) << "block table too long";
      // No two sequences write the same block in one step.
      for (size_t pos = s.start_pos; pos < end; ++pos) {
        const int32_t b = s.block_table[pos / block_size_];
        if (pos % block_size_ == 0 || pos == static_cast<size_t>(s.start_pos)) {
          EXPECT_TRUE(blocks_written.insert(b).second) << "block " << b << " written twice";
        }
      }
      fed.insert(fed.end(), s.tokens.begin(), s.tokens.end());
      SequenceUpdate u;
      u.id = s.id;
      if (s.want_logits) u.token = Oracle(fed);
      updates.push_back(u);
    }
    return updates;
  }
  void Forget(uint64_t id) { fed_.erase(id); }
  void SetPrefix(uint64_t id, std::vector<int32_t> tokens) { fed_[id] = std::move(tokens); }

 private:
  int block_size_;
  std::map<uint64_t, std::vector<int32_t>> fed_;
};

// Runs the scheduler until idle; returns generated tokens per id.
std::map<uint64_t, std::vector<int32_t>> RunToCompletion(
    Scheduler& sched, std::map<uint64_t, std::vector<int32_t>> prompts,
    std::map<uint64_t, FinishReason>* reasons = nullptr, int max_steps = 10000) {
  FakeExecutor exec(sched);
  for (auto& [id, p] : prompts) exec.SetPrefix(id, {});
  std::map<uint64_t, std::vector<int32_t>> generated;
  for (int step = 0; step < max_steps && sched.HasWork(); ++step) {
    auto out = sched.Schedule();
    EXPECT_FALSE(out.empty()) << "work left but nothing scheduled";
    if (out.empty()) break;
    for (uint64_t id : out.preempted) exec.Forget(id);
    for (const auto& s : out.sequences) {
      // A prefix-cache hit: the executor's view starts with the cached tokens.
      if (s.start_pos > 0) {
        std::vector<int32_t> full = prompts[s.id];
        full.insert(full.end(), generated[s.id].begin(), generated[s.id].end());
        full.resize(s.start_pos);
        exec.SetPrefix(s.id, full);
      }
    }
    auto updates = exec.Run(out);
    for (const auto& u : updates) {
      if (u.token >= 0) generated[u.id].push_back(u.token);
    }
    for (const auto& f : sched.Update(out, updates)) {
      if (reasons) (*reasons)[f.id] = f.reason;
    }
  }
  EXPECT_FALSE(sched.HasWork());
  return generated;
}

std::vector<int32_t> Reference(std::vector<int32_t> prompt, int n) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    const int32_t t = Oracle(prompt);
    out.push_back(t);
    prompt.push_back(t);
  }
  return out;
}

TEST(SchedulerTest, CreateRefusesBudgetSmallerThanBatch) {
  SchedulerConfig c;
  c.max_num_seqs = 8;
  c.max_batched_tokens = 4;
  EXPECT_EQ(Scheduler::Create(c).status().code(), StatusCode::kInvalidArgument);
  c = SchedulerConfig{};
  c.num_blocks = 2;
  c.block_size = 4;
  c.max_model_len = 9;
  EXPECT_EQ(Scheduler::Create(c).status().code(), StatusCode::kInvalidArgument);
}

TEST(SchedulerTest, AddValidatesRequests) {
  SchedulerConfig c;
  c.num_blocks = 4;
  c.block_size = 4;  // 16-token context
  auto s = *Scheduler::Create(c);
  EXPECT_EQ(s->Add(Req(1, {})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Add(Req(1, {1, 2}, 0)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Add(Req(1, Iota(16))).code(), StatusCode::kOutOfRange);
  ASSERT_TRUE(s->Add(Req(1, Iota(10), 100)).ok());
  EXPECT_EQ(s->MaxNewTokens(1), 6);  // clamped to the context
  EXPECT_EQ(s->Add(Req(1, Iota(3))).code(), StatusCode::kAlreadyExists);
}

TEST(SchedulerTest, FullWaitingQueueRefusesWithResourceExhausted) {
  SchedulerConfig c;
  c.max_waiting = 2;
  auto s = *Scheduler::Create(c);
  ASSERT_TRUE(s->Add(Req(1, Iota(3))).ok());
  ASSERT_TRUE(s->Add(Req(2, Iota(3))).ok());
  const auto st = s->Add(Req(3, Iota(3)));
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.reason(), "QUEUE_FULL");
  // Admission frees queue slots.
  auto out = s->Schedule();
  EXPECT_EQ(out.sequences.size(), 2u);
  EXPECT_TRUE(s->Add(Req(3, Iota(3))).ok());
}

TEST(SchedulerTest, PrefillThenOneTokenPerDecodeStep) {
  SchedulerConfig c;
  c.block_size = 4;
  auto s = *Scheduler::Create(c);
  ASSERT_TRUE(s->Add(Req(7, Iota(5), 3)).ok());
  auto out = s->Schedule();
  ASSERT_EQ(out.sequences.size(), 1u);
  EXPECT_EQ(out.sequences[0].start_pos, 0);
  EXPECT_EQ(out.sequences[0].tokens, Iota(5));
  EXPECT_EQ(out.sequences[0].block_table.size(), 2u);
  EXPECT_TRUE(out.sequences[0].want_logits);
  std::vector<SequenceUpdate> u{{7, 500, false, false}};
  EXPECT_TRUE(s->Update(out, u).empty());

  out = s->Schedule();
  ASSERT_EQ(out.sequences.size(), 1u);
  EXPECT_EQ(out.sequences[0].start_pos, 5);
  EXPECT_EQ(out.sequences[0].tokens, std::vector<int32_t>{500});
  u = {{7, 501, false, false}};
  EXPECT_TRUE(s->Update(out, u).empty());
  out = s->Schedule();
  u = {{7, 502, false, false}};
  auto fin = s->Update(out, u);
  ASSERT_EQ(fin.size(), 1u);
  EXPECT_EQ(fin[0].reason, FinishReason::kLength);
  EXPECT_FALSE(s->HasWork());
  EXPECT_EQ(s->blocks().NumFreeBlocks(), c.num_blocks);
}

TEST(SchedulerTest, LongPromptIsSplitIntoChunksAndOnlyLastWantsLogits) {
  SchedulerConfig c;
  c.block_size = 4;
  c.max_prefill_chunk = 4;
  auto s = *Scheduler::Create(c);
  ASSERT_TRUE(s->Add(Req(1, Iota(10), 1)).ok());
  std::vector<int> sizes;
  std::vector<bool> logits;
  for (int i = 0; i < 3; ++i) {
    auto out = s->Schedule();
    ASSERT_EQ(out.sequences.size(), 1u);
    EXPECT_EQ(out.sequences[0].start_pos, i * 4);
    sizes.push_back(static_cast<int>(out.sequences[0].tokens.size()));
    logits.push_back(out.sequences[0].want_logits);
    std::vector<SequenceUpdate> u{{1, out.sequences[0].want_logits ? 9 : -1, false, false}};
    s->Update(out, u);
  }
  EXPECT_EQ(sizes, (std::vector<int>{4, 4, 2}));
  EXPECT_EQ(logits, (std::vector<bool>{false, false, true}));
  EXPECT_FALSE(s->HasWork());
}

TEST(SchedulerTest, DecodesComeFirstAndPrefillFillsTheRemainingBudget) {
  SchedulerConfig c;
  c.block_size = 4;
  c.max_num_seqs = 4;
  c.max_batched_tokens = 8;
  auto s = *Scheduler::Create(c);
  ASSERT_TRUE(s->Add(Req(1, Iota(3), 10)).ok());
  ASSERT_TRUE(s->Add(Req(2, Iota(3), 10)).ok());
  auto out = s->Schedule();
  ASSERT_EQ(out.sequences.size(), 2u);
  std::vector<SequenceUpdate> u{{1, 5, false, false}, {2, 6, false, false}};
  s->Update(out, u);

  ASSERT_TRUE(s->Add(Req(3, Iota(20), 10)).ok());
  out = s->Schedule();
  ASSERT_EQ(out.sequences.size(), 3u);
  EXPECT_EQ(out.sequences[0].tokens.size(), 1u);
  EXPECT_EQ(out.sequences[1].tokens.size(), 1u);
  EXPECT_EQ(out.sequences[2].id, 3u);
  EXPECT_EQ(out.sequences[2].tokens.size(), 6u);  // 8 - 2 decodes
  EXPECT_FALSE(out.sequences[2].want_logits);
  EXPECT_EQ(out.num_tokens, 8);
}

TEST(SchedulerTest, MaxNumSeqsBoundsTheBatch) {
  SchedulerConfig c;
  c.max_num_seqs = 2;
  auto s = *Scheduler::Create(c);
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(s->Add(Req(id, Iota(2))).ok());
  auto out = s->Schedule();
  EXPECT_EQ(out.sequences.size(), 2u);
  EXPECT_EQ(s->num_running(), 2);
  EXPECT_EQ(s->num_waiting(), 1);
}

TEST(SchedulerTest, StopAndErrorUpdatesFinishWithTheirReasons) {
  auto s = *Scheduler::Create(SchedulerConfig{});
  ASSERT_TRUE(s->Add(Req(1, Iota(2), 10)).ok());
  ASSERT_TRUE(s->Add(Req(2, Iota(2), 10)).ok());
  auto out = s->Schedule();
  std::vector<SequenceUpdate> u{{1, 4, true, false}, {2, -1, false, true}};
  auto fin = s->Update(out, u);
  ASSERT_EQ(fin.size(), 2u);
  EXPECT_EQ(fin[0].id, 1u);
  EXPECT_EQ(fin[0].reason, FinishReason::kStop);
  EXPECT_EQ(fin[1].id, 2u);
  EXPECT_EQ(fin[1].reason, FinishReason::kError);
  EXPECT_FALSE(s->HasWork());
}

TEST(SchedulerTest, AbortWorksWhileWaitingRunningOrMidStep) {
  SchedulerConfig c;
  c.max_num_seqs = 1;
  auto s = *Scheduler::Create(c);
  ASSERT_TRUE(s->Add(Req(1, Iota(4))).ok());
  ASSERT_TRUE(s->Add(Req(2, Iota(4))).ok());
  auto out = s->Schedule();  // 1 running, 2 waiting
  EXPECT_TRUE(s->Abort(2));
  EXPECT_TRUE(s->Abort(1));  // between Schedule and Update
  EXPECT_FALSE(s->Abort(1));
  std::vector<SequenceUpdate> u{{1, 3, false, false}};
  EXPECT_TRUE(s->Update(out, u).empty());  // skipped, no crash
  EXPECT_FALSE(s->HasWork());
  EXPECT_EQ(s->blocks().NumFreeBlocks(), c.num_blocks);
}

TEST(SchedulerTest, FullCachePreemptsNewestAndResumesWithSameTokens) {
  SchedulerConfig c;
  c.num_blocks = 6;
  c.block_size = 4;
  c.max_num_seqs = 4;
  c.max_batched_tokens = 64;
  auto s = *Scheduler::Create(c);
  std::map<uint64_t, std::vector<int32_t>> prompts{{1, Iota(6, 10)}, {2, Iota(6, 20)},
                                                   {3, Iota(6, 30)}};
  for (auto& [id, p] : prompts) ASSERT_TRUE(s->Add(Req(id, p, 10)).ok());
  std::map<uint64_t, FinishReason> reasons;
  auto got = RunToCompletion(*s, prompts, &reasons);
  EXPECT_GT(s->stats().preemptions, 0);
  for (auto& [id, p] : prompts) {
    EXPECT_EQ(got[id], Reference(p, 10)) << "sequence " << id;
    EXPECT_EQ(reasons[id], FinishReason::kLength);
  }
  EXPECT_EQ(s->blocks().NumFreeBlocks(), c.num_blocks);
}

TEST(SchedulerTest, PreemptedSequenceGoesToTheFrontOfTheQueue) {
  SchedulerConfig c;
  c.num_blocks = 3;
  c.block_size = 2;
  c.max_num_seqs = 4;
  c.max_batched_tokens = 16;
  c.enable_prefix_caching = false;
  auto s = *Scheduler::Create(c);
  ASSERT_TRUE(s->Add(Req(1, Iota(2), 3)).ok());
  ASSERT_TRUE(s->Add(Req(2, Iota(2), 3)).ok());
  ASSERT_TRUE(s->Add(Req(3, Iota(2), 3)).ok());
  auto out = s->Schedule();  // 3 seqs x 1 block each: cache full
  ASSERT_EQ(out.sequences.size(), 3u);
  std::vector<SequenceUpdate> u{{1, 7, false, false}, {2, 7, false, false}, {3, 7, false, false}};
  s->Update(out, u);
  ASSERT_TRUE(s->Add(Req(4, Iota(2), 3)).ok());
  out = s->Schedule();  // each needs a second block: 3 is preempted, then 2
  EXPECT_EQ(out.preempted, (std::vector<uint64_t>{3, 2}));
  ASSERT_EQ(out.sequences.size(), 1u);
  EXPECT_EQ(out.sequences[0].id, 1u);
  EXPECT_EQ(s->num_waiting(), 3);
  // Nothing new is admitted in a step that preempted.
  EXPECT_EQ(s->num_running(), 1);
}

TEST(SchedulerTest, IdenticalPromptReusesFullBlocksOfSameTenantOnly) {
  SchedulerConfig c;
  c.block_size = 4;
  auto s = *Scheduler::Create(c);
  const auto prompt = Iota(10);
  std::map<uint64_t, std::vector<int32_t>> first{{1, prompt}};
  ASSERT_TRUE(s->Add(Req(1, prompt, 2, "alice")).ok());
  RunToCompletion(*s, first);

  ASSERT_TRUE(s->Add(Req(2, prompt, 2, "alice")).ok());
  ASSERT_TRUE(s->Add(Req(3, prompt, 2, "bob")).ok());
  auto out = s->Schedule();
  ASSERT_EQ(out.sequences.size(), 2u);
  EXPECT_EQ(out.sequences[0].start_pos, 8);  // two full blocks reused
  EXPECT_EQ(out.sequences[0].tokens.size(), 2u);
  EXPECT_EQ(out.sequences[1].start_pos, 0);  // other tenant: nothing shared
  EXPECT_EQ(s->stats().prefix_hit_tokens, 8);
}

TEST(SchedulerTest, PrefixHitNeverCoversTheWholePrompt) {
  SchedulerConfig c;
  c.block_size = 4;
  auto s = *Scheduler::Create(c);
  const auto prompt = Iota(8);  // exactly two blocks
  std::map<uint64_t, std::vector<int32_t>> first{{1, prompt}};
  ASSERT_TRUE(s->Add(Req(1, prompt, 1)).ok());
  RunToCompletion(*s, first);
  ASSERT_TRUE(s->Add(Req(2, prompt, 1)).ok());
  auto out = s->Schedule();
  ASSERT_EQ(out.sequences.size(), 1u);
  EXPECT_EQ(out.sequences[0].start_pos, 4);  // last block recomputed for logits
  EXPECT_TRUE(out.sequences[0].want_logits);
}

TEST(SchedulerTest, ConcurrentSequencesSharePrefixBlocksByRefCount) {
  SchedulerConfig c;
  c.block_size = 4;
  c.max_prefill_chunk = 4;
  c.max_batched_tokens = 4;
  c.max_num_seqs = 4;
  auto s = *Scheduler::Create(c);
  const auto prompt = Iota(9);
  ASSERT_TRUE(s->Add(Req(1, prompt, 5)).ok());
  // Prefill seq 1 in chunks of 4: blocks get committed as they fill.
  for (int i = 0; i < 2; ++i) {
    auto out = s->Schedule();
    std::vector<SequenceUpdate> u{{1, -1, false, false}};
    s->Update(out, u);
  }
  ASSERT_TRUE(s->Add(Req(2, prompt, 5)).ok());
  auto out = s->Schedule();
  ASSERT_EQ(out.sequences.size(), 2u);
  const auto& b = out.sequences[1];
  EXPECT_EQ(b.start_pos, 8);
  EXPECT_EQ(b.block_table[0], out.sequences[0].block_table[0]);
  EXPECT_EQ(b.block_table[1], out.sequences[0].block_table[1]);
  EXPECT_NE(b.block_table[2], out.sequences[0].block_table[2]);
  EXPECT_EQ(s->blocks().RefCount(b.block_table[0]), 2);
}

TEST(SchedulerTest, RandomWorkloadWithAbortsMatchesUnbatchedReferenceAndFreesEverything) {
  SchedulerConfig c;
  c.num_blocks = 16;
  c.block_size = 4;
  c.max_num_seqs = 6;
  c.max_batched_tokens = 16;
  c.max_prefill_chunk = 8;
  c.max_waiting = 1000;
  auto s = *Scheduler::Create(c);
  std::mt19937 rng(1234);
  std::map<uint64_t, std::vector<int32_t>> prompts;
  std::map<uint64_t, int> max_new;
  std::set<uint64_t> aborted;
  FakeExecutor exec(*s);
  std::map<uint64_t, std::vector<int32_t>> generated;
  uint64_t next_id = 1;
  for (int step = 0; step < 3000; ++step) {
    if (next_id <= 60 && rng() % 3 != 0) {
      // Half the prompts share a 8-token opening, to exercise prefix reuse.
      std::vector<int32_t> p = rng() % 2 ? Iota(8, 100) : std::vector<int32_t>{};
      const int extra = 1 + static_cast<int>(rng() % 20);
      for (int i = 0; i < extra; ++i) p.push_back(static_cast<int32_t>(rng() % 50));
      const int n = 1 + static_cast<int>(rng() % 30);
      ASSERT_TRUE(s->Add(Req(next_id, p, n, next_id % 3 ? "a" : "b")).ok());
      prompts[next_id] = p;
      max_new[next_id] = s->MaxNewTokens(next_id);
      ++next_id;
    }
    if (rng() % 25 == 0 && next_id > 1) {
      const uint64_t victim = 1 + rng() % (next_id - 1);
      if (s->Abort(victim)) aborted.insert(victim);
    }
    if (!s->HasWork()) {
      if (next_id > 60) break;
      continue;
    }
    auto out = s->Schedule();
    ASSERT_FALSE(out.empty());
    for (uint64_t id : out.preempted) exec.Forget(id);
    for (const auto& sc : out.sequences) {
      if (sc.start_pos > 0) {
        std::vector<int32_t> full = prompts[sc.id];
        full.insert(full.end(), generated[sc.id].begin(), generated[sc.id].end());
        full.resize(sc.start_pos);
        exec.SetPrefix(sc.id, full);
      }
    }
    auto updates = exec.Run(out);
    for (const auto& u : updates) {
      if (u.token >= 0) generated[u.id].push_back(u.token);
    }
    s->Update(out, updates);
  }
  EXPECT_FALSE(s->HasWork());
  EXPECT_GT(s->stats().preemptions, 0);
  EXPECT_GT(s->stats().prefix_hit_tokens, 0);
  EXPECT_EQ(s->blocks().NumFreeBlocks(), c.num_blocks);
  int checked = 0;
  for (auto& [id, p] : prompts) {
    if (aborted.count(id)) continue;
    EXPECT_EQ(generated[id], Reference(p, max_new[id])) << "sequence " << id;
    ++checked;
  }
  EXPECT_GT(checked, 30);
}

}  // namespace
}  // namespace inference
