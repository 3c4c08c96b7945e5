// The serving engine on a real model: stories260K.gguf must reproduce the
// recorded greedy continuations through the whole stack (scheduler, paged
// KV cache, sampler, detokenizer), alone, batched, under preemption, and
// with prefix reuse.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "inference/engine.h"
#include "inference/model.h"
#include "serving/token_text.h"

namespace inference {
namespace {

const std::string kDir = std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/tinyllamas/";

struct Case {
  std::vector<int32_t> prompt;
  std::vector<int32_t> expected;
  std::string text;
};

std::vector<Case> LoadCases() {
  std::ifstream in(kDir + "stories260K.greedy.jsonl");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = common::Json::Parse(line);
    EXPECT_TRUE(j.ok());
    if (!j.ok()) continue;
    Case c;
    for (const auto& v : j->Find("prompt_ids")->as_array()) c.prompt.push_back(static_cast<int32_t>(v.as_int()));
    for (const auto& v : j->Find("greedy_ids")->as_array()) c.expected.push_back(static_cast<int32_t>(v.as_int()));
    c.text = j->Find("text")->as_string();
    cases.push_back(std::move(c));
  }
  return cases;
}

struct Output {
  std::vector<int32_t> ids;
  std::string text;
  GenerateEvent final;
};

Output Drain(GenerationStream& s) {
  Output o;
  GenerateEvent ev;
  while (s.Next(&ev)) {
    if (ev.kind == GenerateEvent::Kind::kToken) {
      if (ev.token >= 0) o.ids.push_back(ev.token);
      o.text += ev.text;
    } else if (ev.kind == GenerateEvent::Kind::kFinished) {
      o.final = ev;
    }
  }
  return o;
}

class EngineModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cases_ = LoadCases();
    ASSERT_EQ(cases_.size(), 10u);
    ModelOptions mo;
    mo.threads = 1;
    auto m = Model::Load(kDir + "stories260K.gguf", mo);
    ASSERT_TRUE(m.ok()) << m.status();
    model_ = std::move(m).value();
    auto t = MakeTokenText(model_->file());
    ASSERT_TRUE(t.ok()) << t.status();
    text_ = std::move(t).value();
  }

  std::unique_ptr<Engine> MakeEngine(int num_blocks, int block_size, int max_num_seqs = 16,
                                     int chunk = 256) {
    EngineOptions o;
    o.scheduler.num_blocks = num_blocks;
    o.scheduler.block_size = block_size;
    o.scheduler.max_num_seqs = max_num_seqs;
    o.scheduler.max_batched_tokens = std::max(64, max_num_seqs);
    o.scheduler.max_prefill_chunk = chunk;
    o.token_bytes = text_.token_bytes;
    o.is_eog = text_.is_eog;
    auto e = Engine::Create(model_.get(), std::move(o));
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? std::move(e).value() : nullptr;
  }

  GenerateRequest Greedy(const Case& c) {
    GenerateRequest r;
    r.prompt = c.prompt;
    r.sampling.temperature = 0;
    r.max_tokens = static_cast<int>(c.expected.size());
    r.ignore_eos = true;
    return r;
  }

  std::vector<Case> cases_;
  std::unique_ptr<Model> model_;
  TokenText text_;
};

TEST_F(EngineModelTest, EachPromptAloneReproducesRecordedIdsAndText) {
  auto engine = MakeEngine(64, 16);
  for (size_t i = 0; i < cases_.size(); ++i) {
    auto s = engine->Submit(Greedy(cases_[i]));
    ASSERT_TRUE(s.ok()) << s.status();
    const Output o = Drain(**s);
    EXPECT_EQ(o.ids, cases_[i].expected) << "prompt " << i;
    EXPECT_EQ(o.text, cases_[i].text) << "prompt " << i;
    EXPECT_EQ(o.final.reason, FinishReason::kLength);
  }
}

TEST_F(EngineModelTest, AllPromptsConcurrentlyBatchedReproduceRecordedIds) {
  // Small chunks and budget: prefill chunks and decodes share steps.
  auto engine = MakeEngine(128, 16, /*max_num_seqs=*/16, /*chunk=*/4);
  std::vector<std::unique_ptr<GenerationStream>> streams;
  for (const auto& c : cases_) streams.push_back(std::move(engine->Submit(Greedy(c))).value());
  for (size_t i = 0; i < cases_.size(); ++i) {
    EXPECT_EQ(Drain(*streams[i]).ids, cases_[i].expected) << "prompt " << i;
  }
  EXPECT_GT(engine->Stats().steps, 0);
}

TEST_F(EngineModelTest, FromManyThreadsAtOnceReproducesRecordedIds) {
  auto engine = MakeEngine(128, 16);
  std::vector<Output> outs(cases_.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < cases_.size(); ++i) {
    threads.emplace_back([&, i] { outs[i] = Drain(*std::move(engine->Submit(Greedy(cases_[i]))).value()); });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < cases_.size(); ++i) EXPECT_EQ(outs[i].ids, cases_[i].expected) << i;
}

TEST_F(EngineModelTest, TinyCacheForcesPreemptionAndStillReproducesRecordedIds) {
  // 10 sequences of up to 78 tokens need ~50 blocks of 16; give them 12.
  auto engine = MakeEngine(12, 16);
  std::vector<std::unique_ptr<GenerationStream>> streams;
  for (const auto& c : cases_) streams.push_back(std::move(engine->Submit(Greedy(c))).value());
  for (size_t i = 0; i < cases_.size(); ++i) {
    EXPECT_EQ(Drain(*streams[i]).ids, cases_[i].expected) << "prompt " << i;
  }
  EXPECT_GT(engine->Stats().preemptions, 0);
  EXPECT_EQ(engine->Stats().kv_blocks_free, 12);
}

TEST_F(EngineModelTest, RepeatedPromptReusesCachedBlocksAndGivesTheSameIds) {
  auto engine = MakeEngine(64, 4);
  const Case& c = cases_[5];  // 14-token prompt: three full blocks of 4
  auto first = Drain(*std::move(engine->Submit(Greedy(c))).value());
  auto second = Drain(*std::move(engine->Submit(Greedy(c))).value());
  EXPECT_EQ(first.final.usage.cached_prompt_tokens, 0);
  EXPECT_EQ(second.final.usage.cached_prompt_tokens, 12);
  EXPECT_EQ(second.ids, c.expected);
}

TEST_F(EngineModelTest, SeededSamplingIsReproducibleAndEosEndsWithStop) {
  auto engine = MakeEngine(64, 16);
  GenerateRequest r;
  r.prompt = cases_[0].prompt;
  r.sampling.temperature = 1.0f;
  r.sampling.top_p = 0.9f;
  r.sampling.seed = 1234;
  r.max_tokens = 200;
  const auto a = Drain(*std::move(engine->Submit(r)).value());
  const auto b = Drain(*std::move(engine->Submit(r)).value());
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.text, b.text);
  if (a.final.reason == FinishReason::kStop) {
    EXPECT_TRUE(text_.is_eog(a.ids.back()));
  } else {
    EXPECT_EQ(a.final.reason, FinishReason::kLength);
    EXPECT_EQ(a.ids.size(), 200u);
  }
}

TEST_F(EngineModelTest, StopStringCutsTheRecordedText) {
  auto engine = MakeEngine(64, 16);
  const Case& c = cases_[0];  // ", there was a little girl named Lily. She loved ..."
  auto r = Greedy(c);
  r.stop = {"Lily."};
  const auto o = Drain(*std::move(engine->Submit(r)).value());
  EXPECT_EQ(o.final.reason, FinishReason::kStop);
  EXPECT_EQ(o.text, c.text.substr(0, c.text.find("Lily.")));
}

}  // namespace
}  // namespace inference
