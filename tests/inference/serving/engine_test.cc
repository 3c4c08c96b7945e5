// Engine step loop over a paged fake model: threading, streaming, stop
// conditions, cancellation, queue bounds, errors. (The real model runs in
// engine_model_test.cc.)
#include "inference/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "paged_fake_model.h"

namespace inference {
namespace {

using common::StatusCode;
using testing::PagedFakeModel;

struct Result {
  std::vector<int32_t> tokens;
  std::string text;
  GenerateEvent final;
  int events = 0;
  bool started = false;
};

Result Collect(GenerationStream& stream) {
  Result r;
  GenerateEvent ev;
  while (stream.Next(&ev)) {
    ++r.events;
    if (ev.kind == GenerateEvent::Kind::kFinished) {
      r.final = ev;
      break;
    }
    if (ev.kind == GenerateEvent::Kind::kStarted) {
      EXPECT_EQ(r.events, 1) << "kStarted must come first";
      r.started = true;
      continue;
    }
    if (ev.token >= 0) r.tokens.push_back(ev.token);
    r.text += ev.text;
  }
  return r;
}

std::vector<int32_t> Reference(std::vector<int32_t> prompt, int n, int n_vocab = 64) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(PagedFakeModel::Next(prompt, n_vocab));
    prompt.push_back(out.back());
  }
  return out;
}

GenerateRequest Greedy(std::vector<int32_t> prompt, int max_tokens) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  return r;
}

EngineOptions SmallOptions(int num_blocks = 64, int block_size = 4) {
  EngineOptions o;
  o.scheduler.num_blocks = num_blocks;
  o.scheduler.block_size = block_size;
  o.scheduler.max_num_seqs = 8;
  o.scheduler.max_batched_tokens = 32;
  o.scheduler.max_prefill_chunk = 8;
  return o;
}

// Letters for ids: id -> 'a' + id % 26 (ids >= 60 are multi-byte pieces).
std::string Letters(int32_t id) { return std::string(1, static_cast<char>('a' + id % 26)); }

TEST(EngineTest, GreedyRequestStreamsTheModelsTokensAndEndsWithLength) {
  PagedFakeModel model;
  auto engine = *Engine::Create(&model, SmallOptions());
  const std::vector<int32_t> prompt{1, 5, 9, 13, 17, 21, 3};
  auto stream = *engine->Submit(Greedy(prompt, 12));
  const Result r = Collect(*stream);
  EXPECT_EQ(r.tokens, Reference(prompt, 12));
  EXPECT_EQ(r.final.kind, GenerateEvent::Kind::kFinished);
  EXPECT_EQ(r.final.reason, FinishReason::kLength);
  EXPECT_EQ(r.final.usage.prompt_tokens, 7);
  EXPECT_EQ(r.final.usage.completion_tokens, 12);
  EXPECT_TRUE(r.started);
  GenerateEvent ev;
  EXPECT_FALSE(stream->Next(&ev));  // nothing after the final event
  const auto stats = engine->Stats();
  EXPECT_EQ(stats.kv_blocks_free, stats.kv_blocks_total);
  EXPECT_EQ(stats.tokens_generated, 12);
}

TEST(EngineTest, ConcurrentRequestsAreBatchedAndGiveTheSameTokensAsAlone) {
  PagedFakeModel model;
  auto engine = *Engine::Create(&model, SmallOptions());
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 8; ++i) {
    std::vector<int32_t> p;
    for (int j = 0; j <= i * 3; ++j) p.push_back((i * 11 + j * 3) % 64);
    prompts.push_back(p);
  }
  std::vector<Result> results(prompts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < prompts.size(); ++i) {
    threads.emplace_back([&, i] {
      auto stream = *engine->Submit(Greedy(prompts[i], 20));
      results[i] = Collect(*stream);
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(results[i].tokens, Reference(prompts[i], 20)) << "request " << i;
  }
  EXPECT_GT(model.max_batch(), 1);
}

TEST(EngineTest, TinyCachePreemptsAndStillGivesTheSameTokens) {
  PagedFakeModel model;
  EngineOptions o = SmallOptions(/*num_blocks=*/10, /*block_size=*/4);
  auto engine = *Engine::Create(&model, o);
  std::vector<std::unique_ptr<GenerationStream>> streams;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 4; ++i) {
    prompts.push_back({i + 1, i + 2, i + 3, i + 4, i + 5});
    streams.push_back(*engine->Submit(Greedy(prompts.back(), 25)));
  }
  for (size_t i = 0; i < streams.size(); ++i) {
    const Result r = Collect(*streams[i]);
    EXPECT_EQ(r.tokens, Reference(prompts[i], 25)) << "request " << i;
    EXPECT_EQ(r.final.reason, FinishReason::kLength);
  }
  EXPECT_GT(engine->Stats().preemptions, 0);
}

TEST(EngineTest, EndOfGenerationTokenStopsWithReasonStopAndNoText) {
  PagedFakeModel model;
  const std::vector<int32_t> prompt{7, 8, 9};
  const auto ref = Reference(prompt, 10);
  EngineOptions o = SmallOptions();
  const int32_t eog = ref[4];
  o.is_eog = [eog](int32_t id) { return id == eog; };
  o.token_bytes = Letters;
  auto engine = *Engine::Create(&model, o);
  auto stream = *engine->Submit(Greedy(prompt, 10));
  const Result r = Collect(*stream);
  const size_t first = std::find(ref.begin(), ref.end(), eog) - ref.begin();
  EXPECT_EQ(r.tokens, std::vector<int32_t>(ref.begin(), ref.begin() + first + 1));
  EXPECT_EQ(r.final.reason, FinishReason::kStop);
  std::string expected;
  for (size_t i = 0; i < first; ++i) expected += Letters(ref[i]);
  EXPECT_EQ(r.text, expected);  // the EOG token adds no text

  auto req = Greedy(prompt, 10);
  req.ignore_eos = true;
  auto again = *engine->Submit(req);
  EXPECT_EQ(Collect(*again).tokens, ref);
}

TEST(EngineTest, StopStringEndsGenerationAndIsNotEmitted) {
  PagedFakeModel model;
  const std::vector<int32_t> prompt{2, 4, 6};
  const auto ref = Reference(prompt, 16);
  std::string full;
  for (int32_t t : ref) full += Letters(t);
  // Stop at the two letters produced by tokens 6 and 7.
  const std::string stop = full.substr(6, 2);
  const size_t cut = full.find(stop);
  EngineOptions o = SmallOptions();
  o.token_bytes = Letters;
  auto engine = *Engine::Create(&model, o);
  auto req = Greedy(prompt, 16);
  req.stop = {stop};
  auto stream = *engine->Submit(req);
  const Result r = Collect(*stream);
  EXPECT_EQ(r.final.reason, FinishReason::kStop);
  EXPECT_EQ(r.text, full.substr(0, cut));
  EXPECT_EQ(r.tokens.size(), cut + 2);
}

TEST(EngineTest, LengthFinishReleasesTextHeldForAPossibleStopString) {
  PagedFakeModel model;
  const std::vector<int32_t> prompt{3, 1, 4};
  const auto ref = Reference(prompt, 5);
  std::string full;
  for (int32_t t : ref) full += Letters(t);
  EngineOptions o = SmallOptions();
  o.token_bytes = Letters;
  auto engine = *Engine::Create(&model, o);
  auto req = Greedy(prompt, 5);
  req.stop = {full.substr(4, 1) + "\x01"};  // last letter starts the stop string
  auto stream = *engine->Submit(req);
  const Result r = Collect(*stream);
  EXPECT_EQ(r.final.reason, FinishReason::kLength);
  EXPECT_EQ(r.text, full);
}

TEST(EngineTest, MultiByteCharactersAreNeverSplitAcrossEvents) {
  PagedFakeModel model;
  EngineOptions o = SmallOptions();
  // Every token contributes one byte of "é" (C3 A9) alternately: a character
  // spans two tokens. Odd ids: lead byte, even ids: continuation byte.
  o.token_bytes = [](int32_t id) { return std::string(1, id % 2 ? '\xC3' : '\xA9'); };
  auto engine = *Engine::Create(&model, o);
  auto stream = *engine->Submit(Greedy({1, 2, 3}, 30));
  GenerateEvent ev;
  std::string all;
  while (stream->Next(&ev)) {
    // Every event's text is valid UTF-8 by itself.
    for (size_t i = 0; i < ev.text.size(); ++i) {
      const auto c = static_cast<unsigned char>(ev.text[i]);
      if (c == 0xC3) {
        ASSERT_LT(i + 1, ev.text.size());
        EXPECT_EQ(static_cast<unsigned char>(ev.text[i + 1]), 0xA9);
        ++i;
      } else {
        EXPECT_EQ(ev.text.substr(i, 3), "\xEF\xBF\xBD");  // stray byte replaced
        i += 2;
      }
    }
    all += ev.text;
  }
  EXPECT_FALSE(all.empty());
}

TEST(EngineTest, CancelDuringAStepEndsTheStreamAndFreesItsBlocks) {
  PagedFakeModel model;
  auto engine = *Engine::Create(&model, SmallOptions());
  model.Hold();
  auto stream = *engine->Submit(Greedy({1, 2, 3, 4, 5}, 100));
  model.WaitForSteps(1);  // the prefill step is executing right now
  EXPECT_TRUE(engine->Cancel(stream->id()));
  EXPECT_FALSE(engine->Cancel(stream->id()));
  GenerateEvent ev;
  ASSERT_TRUE(stream->Next(&ev));
  EXPECT_EQ(ev.kind, GenerateEvent::Kind::kStarted);
  ASSERT_TRUE(stream->Next(&ev));
  EXPECT_EQ(ev.kind, GenerateEvent::Kind::kFinished);
  EXPECT_EQ(ev.reason, FinishReason::kCancelled);
  model.Release();
  EXPECT_FALSE(stream->Next(&ev));
  const auto stats = engine->Stats();
  EXPECT_EQ(stats.running + stats.waiting, 0);
  EXPECT_EQ(stats.kv_blocks_free, stats.kv_blocks_total);
}

TEST(EngineTest, DestroyingTheStreamCancelsTheRequest) {
  PagedFakeModel model;
  auto engine = *Engine::Create(&model, SmallOptions());
  model.Hold();
  {
    auto stream = *engine->Submit(Greedy({1, 2, 3}, 1000));
    model.WaitForSteps(1);
  }
  const auto stats = engine->Stats();
  EXPECT_EQ(stats.running + stats.waiting, 0);
  model.Release();
}

TEST(EngineTest, FullWaitingQueueRefusesWithResourceExhausted) {
  PagedFakeModel model;
  EngineOptions o = SmallOptions();
  o.scheduler.max_num_seqs = 1;
  o.scheduler.max_batched_tokens = 8;
  o.scheduler.max_waiting = 1;
  auto engine = *Engine::Create(&model, o);
  model.Hold();
  auto a = *engine->Submit(Greedy({1, 2}, 5));
  model.WaitForSteps(1);  // a is running, held
  auto b = *engine->Submit(Greedy({3, 4}, 5));
  auto c = engine->Submit(Greedy({5, 6}, 5));
  EXPECT_EQ(c.status().code(), StatusCode::kResourceExhausted);
  model.Release();
  EXPECT_EQ(Collect(*a).final.reason, FinishReason::kLength);
  EXPECT_EQ(Collect(*b).final.reason, FinishReason::kLength);
}

TEST(EngineTest, ForwardFailureEndsRequestsWithErrorReason) {
  PagedFakeModel model;
  auto engine = *Engine::Create(&model, SmallOptions());
  model.FailForwards();
  auto stream = *engine->Submit(Greedy({1, 2, 3}, 5));
  const Result r = Collect(*stream);
  EXPECT_EQ(r.final.reason, FinishReason::kError);
  EXPECT_EQ(r.final.error.code(), StatusCode::kInternal);
  EXPECT_EQ(engine->Stats().kv_blocks_free, engine->Stats().kv_blocks_total);
}

TEST(EngineTest, SubmitValidatesTokensSamplingAndLength) {
  PagedFakeModel model(64);
  auto engine = *Engine::Create(&model, SmallOptions(/*num_blocks=*/4, /*block_size=*/4));
  EXPECT_EQ(engine->Submit(Greedy({1, 64}, 4)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Submit(Greedy({-1}, 4)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Submit(Greedy({}, 4)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Submit(Greedy({1}, 0)).status().code(), StatusCode::kInvalidArgument);
  auto bad = Greedy({1}, 4);
  bad.sampling.top_p = 2;
  EXPECT_EQ(engine->Submit(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Submit(Greedy(std::vector<int32_t>(16, 1), 4)).status().code(),
            StatusCode::kOutOfRange);
}

TEST(EngineTest, SameSeedGivesSameSampledTokensEvenWhenBatchedWithOthers) {
  PagedFakeModel model;
  auto engine = *Engine::Create(&model, SmallOptions());
  auto sampled = [](uint64_t seed) {
    GenerateRequest r;
    r.prompt = {5, 6, 7};
    r.sampling.temperature = 1.5f;
    r.sampling.seed = seed;
    r.max_tokens = 24;
    return r;
  };
  auto alone = *engine->Submit(sampled(99));
  const auto a = Collect(*alone).tokens;
  auto s1 = *engine->Submit(sampled(99));
  auto noise = *engine->Submit(Greedy({1, 2, 3, 4, 5, 6, 7, 8, 9}, 24));
  auto s2 = *engine->Submit(sampled(100));
  EXPECT_EQ(Collect(*s1).tokens, a);
  EXPECT_NE(Collect(*s2).tokens, a);
  Collect(*noise);
  EXPECT_NE(a, Reference({5, 6, 7}, 24));  // really sampled, not greedy
}

TEST(EngineTest, TimingsComeFromTheInjectedClock) {
  PagedFakeModel model;
  EngineOptions o = SmallOptions();
  auto ticks = std::make_shared<std::atomic<int64_t>>(0);
  o.now_micros = [ticks] { return ticks->fetch_add(10) ; };
  auto engine = *Engine::Create(&model, o);
  auto stream = *engine->Submit(Greedy({1, 2, 3}, 3));
  const Result r = Collect(*stream);
  EXPECT_GT(r.final.timings.queue_micros, 0);
  EXPECT_GT(r.final.timings.prefill_micros, 0);
  EXPECT_GT(r.final.timings.decode_micros, 0);
  EXPECT_EQ(r.final.timings.queue_micros % 10, 0);
}

TEST(EngineTest, SharedPromptPrefixIsReusedWithinATenantOnly) {
  PagedFakeModel model;
  auto engine = *Engine::Create(&model, SmallOptions());
  std::vector<int32_t> prompt;
  for (int i = 0; i < 17; ++i) prompt.push_back((i * 5) % 64);
  auto req = Greedy(prompt, 3);
  req.tenant_key = "alice";
  auto first = *engine->Submit(req);
  const auto ref = Collect(*first);
  auto second = *engine->Submit(req);
  const auto again = Collect(*second);
  EXPECT_EQ(again.tokens, ref.tokens);
  EXPECT_EQ(again.final.usage.cached_prompt_tokens, 16);
  req.tenant_key = "bob";
  auto other = *engine->Submit(req);
  const auto theirs = Collect(*other);
  EXPECT_EQ(theirs.tokens, ref.tokens);
  EXPECT_EQ(theirs.final.usage.cached_prompt_tokens, 0);
}

TEST(EngineTest, ShutdownWithRequestsInFlightCancelsThem) {
  PagedFakeModel model;
  auto engine = *Engine::Create(&model, SmallOptions());
  auto stream = *engine->Submit(Greedy({1, 2, 3}, 200));
  engine.reset();
  GenerateEvent ev;
  GenerateEvent last;
  while (stream->Next(&ev)) last = ev;
  EXPECT_EQ(last.kind, GenerateEvent::Kind::kFinished);
  EXPECT_TRUE(last.reason == FinishReason::kCancelled || last.reason == FinishReason::kLength);
}

}  // namespace
}  // namespace inference
