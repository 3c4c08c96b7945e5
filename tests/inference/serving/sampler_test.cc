#include "inference/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

namespace inference {
namespace {

SamplingParams Greedy() {
  SamplingParams p;
  p.temperature = 0;
  return p;
}

TEST(SamplerTest, GreedyPicksLargestLogitLowestIndexOnTies) {
  Sampler s(Greedy());
  std::vector<float> logits{0.1f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(s.Sample(logits, {}, 0), 1);
}

TEST(SamplerTest, ValidateNamesBadField) {
  SamplingParams p;
  p.top_p = 0;
  EXPECT_EQ(p.Validate().code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(p.Validate().message().find("top_p"), std::string::npos);
  p = SamplingParams{};
  p.temperature = -1;
  EXPECT_EQ(p.Validate().code(), common::StatusCode::kInvalidArgument);
  p = SamplingParams{};
  p.repetition_penalty = 0;
  EXPECT_EQ(p.Validate().code(), common::StatusCode::kInvalidArgument);
  p = SamplingParams{};
  p.min_p = 1.5f;
  EXPECT_EQ(p.Validate().code(), common::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SamplingParams{}.Validate().ok());
}

TEST(SamplerTest, TopKOneIsGreedyEvenAtHighTemperature) {
  SamplingParams p;
  p.temperature = 5.0f;
  p.top_k = 1;
  Sampler s(p);
  for (int i = 0; i < 50; ++i) {
    std::vector<float> logits{1.0f, 3.0f, 2.9f, 0.0f};
    EXPECT_EQ(s.Sample(logits, {}, 0), 1);
  }
}

TEST(SamplerTest, TopKRestrictsToKLargest) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 2;
  p.seed = 7;
  Sampler s(p);
  std::map<int, int> seen;
  for (int i = 0; i < 500; ++i) {
    std::vector<float> logits{0.0f, 1.0f, 1.0f, 0.5f};
    ++seen[s.Sample(logits, {}, 0)];
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_GT(seen[1], 150);
  EXPECT_GT(seen[2], 150);
}

TEST(SamplerTest, TopPKeepsSmallestSetReachingMass) {
  // probs ~ {0.5, 0.3, 0.2} via logits log(p).
  SamplingParams p;
  p.top_p = 0.7f;  // {0.5, 0.3} reaches 0.8 >= 0.7; 0.2 never drawn
  p.seed = 3;
  Sampler s(p);
  std::map<int, int> seen;
  for (int i = 0; i < 1000; ++i) {
    std::vector<float> logits{std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    ++seen[s.Sample(logits, {}, 0)];
  }
  EXPECT_EQ(seen.count(2), 0u);
  // 0.5/0.8 = 62.5% of draws for token 0.
  EXPECT_NEAR(seen[0] / 1000.0, 0.625, 0.06);
}

TEST(SamplerTest, MinPDropsTokensBelowFractionOfTop) {
  SamplingParams p;
  p.min_p = 0.5f;  // keep p >= 0.25 when p_max = 0.5
  p.seed = 11;
  Sampler s(p);
  std::map<int, int> seen;
  for (int i = 0; i < 500; ++i) {
    std::vector<float> logits{std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    ++seen[s.Sample(logits, {}, 0)];
  }
  EXPECT_EQ(seen.count(2), 0u);
  EXPECT_GT(seen[1], 0);
}

TEST(SamplerTest, LowTemperatureConcentratesOnTop) {
  SamplingParams p;
  p.temperature = 0.05f;
  p.seed = 1;
  Sampler s(p);
  for (int i = 0; i < 100; ++i) {
    std::vector<float> logits{1.0f, 1.5f, 0.5f};
    EXPECT_EQ(s.Sample(logits, {}, 0), 1);
  }
}

TEST(SamplerTest, SameSeedSameTokensDifferentSeedDiffers) {
  auto run = [](uint64_t seed) {
    SamplingParams p;
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      std::vector<float> logits(32);
      for (int j = 0; j < 32; ++j) logits[j] = static_cast<float>((j * 7) % 5);
      out.push_back(s.Sample(logits, {}, 0));
    }
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(SamplerTest, RngIsPortableFixedSequence) {
  // xoshiro256** seeded by splitmix64(0): fixed values, whatever the library.
  SamplerRng rng(0);
  const uint64_t first = rng.Next();
  SamplerRng again(0);
  EXPECT_EQ(again.Next(), first);
  double u = SamplerRng(5).Uniform();
  EXPECT_GE(u, 0.0);
  EXPECT_LT(u, 1.0);
}

TEST(SamplerTest, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  SamplingParams p = Greedy();
  p.repetition_penalty = 2.0f;
  Sampler s(p);
  std::vector<float> logits{4.0f, 3.0f, -1.0f};
  std::vector<int32_t> history{0, 2};
  EXPECT_EQ(s.Sample(logits, history, 0), 1);  // 4 -> 2 < 3
  EXPECT_FLOAT_EQ(logits[0], 2.0f);
  EXPECT_FLOAT_EQ(logits[2], -2.0f);
  EXPECT_FLOAT_EQ(logits[1], 3.0f);
}

TEST(SamplerTest, FrequencyAndPresencePenaltiesCountOccurrences) {
  SamplingParams p = Greedy();
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  Sampler s(p);
  std::vector<float> logits{5.0f, 5.0f, 5.0f};
  std::vector<int32_t> history{0, 0, 0, 1};
  s.Sample(logits, history, 0);
  EXPECT_FLOAT_EQ(logits[0], 5.0f - 1.5f - 0.25f);
  EXPECT_FLOAT_EQ(logits[1], 5.0f - 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(logits[2], 5.0f);
}

TEST(SamplerTest, PenaltyWindowAndPromptExclusion) {
  SamplingParams p = Greedy();
  p.repetition_penalty = 2.0f;
  p.penalty_last_n = 1;
  Sampler s(p);
  std::vector<float> logits{4.0f, 4.0f};
  std::vector<int32_t> history{0, 1};
  s.Sample(logits, history, 0);
  EXPECT_FLOAT_EQ(logits[0], 4.0f);  // outside the window
  EXPECT_FLOAT_EQ(logits[1], 2.0f);

  p.penalty_last_n = -1;
  p.penalize_prompt = false;
  Sampler s2(p);
  std::vector<float> l2{4.0f, 4.0f};
  s2.Sample(l2, history, /*prompt_len=*/1);
  EXPECT_FLOAT_EQ(l2[0], 4.0f);  // prompt token not penalised
  EXPECT_FLOAT_EQ(l2[1], 2.0f);
}

TEST(SamplerTest, NegativeInfinityLogitsAreNeverDrawn) {
  SamplingParams p;
  p.seed = 9;
  Sampler s(p);
  const float inf = std::numeric_limits<float>::infinity();
  for (int i = 0; i < 200; ++i) {
    std::vector<float> logits{-inf, 0.0f, -inf, 0.0f};
    const int32_t t = s.Sample(logits, {}, 0);
    EXPECT_TRUE(t == 1 || t == 3);
  }
}

TEST(StopMatcherTest, HoldsBackPossiblePrefixAndCutsAtStop) {
  StopMatcher m({"\nUser:"});
  EXPECT_EQ(m.Push("Hello"), "Hello");
  EXPECT_EQ(m.Push(" world\nUs"), " world");  // "\nUs" could start the stop string
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.Push("er: more"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.Push("anything"), "");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcherTest, FalseAlarmReleasesHeldText) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.Push("ST"), "");
  EXPECT_EQ(m.Push("AR"), "STAR");
  EXPECT_EQ(m.Push("S"), "");
  EXPECT_EQ(m.Flush(), "S");
}

TEST(StopMatcherTest, EarliestOfSeveralStopsWinsAndTextBeforeIsKept) {
  StopMatcher m({"b c", "c"});
  EXPECT_EQ(m.Push("a b c d"), "a ");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcherTest, StopInsideOneDeltaEmitsPrefix) {
  StopMatcher m({"."});
  EXPECT_EQ(m.Push("One. Two."), "One");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcherTest, NoStopsPassesEverything) {
  StopMatcher m({});
  EXPECT_EQ(m.Push("abc"), "abc");
  EXPECT_EQ(m.Flush(), "");
}

}  // namespace
}  // namespace inference
