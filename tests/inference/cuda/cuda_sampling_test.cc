// Device sampling, host side (no GPU needed): which sampler runs where, the device algorithm's
// host reference against the CPU Sampler (same seed => same tokens, including the rows handed
// back to the host), and the engine through Model::ForwardSample on stories260K.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "inference/device_sampling.h"
#include "inference/engine.h"
#include "inference/model.h"
#include "inference/sampler.h"

namespace inference {
namespace {

SamplingParams Params(float temperature, int top_k, float top_p, float min_p = 0.0f) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.min_p = min_p;
  return p;
}

TEST(SamplerPlacementTest, GreedyAndTopKRunOnTheDeviceTopPWithoutTopKMayFallBack) {
  EXPECT_EQ(ChooseSamplerPlacement(Params(0, 0, 1), true), SamplerPlacement::kDevice);
  EXPECT_EQ(ChooseSamplerPlacement(Params(0.8f, 40, 0.9f), true), SamplerPlacement::kDevice);
  EXPECT_EQ(ChooseSamplerPlacement(Params(0.8f, kDeviceSampleCandidates, 1), true),
            SamplerPlacement::kDevice);
  EXPECT_EQ(ChooseSamplerPlacement(Params(0.8f, 0, 0.95f), true),
            SamplerPlacement::kDeviceOrFallback);
  EXPECT_EQ(ChooseSamplerPlacement(Params(1.0f, 0, 1), true), SamplerPlacement::kDeviceOrFallback);
  EXPECT_EQ(ChooseSamplerPlacement(Params(0.8f, kDeviceSampleCandidates + 1, 1), true),
            SamplerPlacement::kHost);
  // A backend without a sampling kernel: always the host.
  EXPECT_EQ(ChooseSamplerPlacement(Params(0, 0, 1), false), SamplerPlacement::kHost);
  EXPECT_STREQ(SamplerPlacementName(SamplerPlacement::kDeviceOrFallback), "device-or-host");
}

TEST(SamplerPlacementTest, HostRowsDrawNothingAndDeviceRowsDrawOnceLikeTheCpu) {
  SamplingParams p = Params(0.7f, 0, 0.9f);
  p.seed = 42;
  Sampler a(p), b(p), c(p);
  std::vector<PenaltyEntry> pen;
  const std::vector<int32_t> history{1, 2, 3};
  DeviceSampleRow host = MakeDeviceSampleRow(a, SamplerPlacement::kHost, history, 1, &pen);
  EXPECT_EQ(host.mode, DeviceSampleRow::kHost);
  DeviceSampleRow dev = MakeDeviceSampleRow(b, SamplerPlacement::kDeviceOrFallback, history, 1, &pen);
  EXPECT_EQ(dev.mode, DeviceSampleRow::kSample);
  EXPECT_EQ(dev.uniform, c.DrawUniform());       // the first draw of the same seed
  EXPECT_EQ(a.DrawUniform(), dev.uniform);       // the host row consumed none
  EXPECT_FLOAT_EQ(dev.inv_temperature, 1.0f / 0.7f);
}

TEST(SamplerPlacementTest, PenaltyWindowMatchesTheSampler) {
  SamplingParams p = Params(0, 0, 1);
  p.repetition_penalty = 1.3f;
  p.penalty_last_n = 4;
  p.penalize_prompt = false;
  Sampler s(p);
  // prompt [5, 5, 6], generated [7, 7, 5, 8, 7]: the last 4 generated = 7, 5, 8, 7.
  const std::vector<int32_t> history{5, 5, 6, 7, 7, 5, 8, 7};
  const auto counts = s.PenaltyCounts(history, 3);
  const std::vector<std::pair<int32_t, int>> want{{5, 1}, {7, 2}, {8, 1}};
  EXPECT_EQ(counts, want);
  std::vector<PenaltyEntry> pen{{99, 1}};  // entries of an earlier row stay in place
  DeviceSampleRow row = MakeDeviceSampleRow(s, SamplerPlacement::kDevice, history, 3, &pen);
  EXPECT_EQ(row.mode, DeviceSampleRow::kGreedy);
  EXPECT_EQ(row.penalty_offset, 1);
  EXPECT_EQ(row.penalty_count, 3);
  ASSERT_EQ(pen.size(), 4u);
  EXPECT_EQ(pen[2].token, 7);
  EXPECT_EQ(pen[2].count, 2);
  SamplingParams off = Params(0, 0, 1);
  EXPECT_TRUE(Sampler(off).PenaltyCounts(history, 3).empty());
}

// Runs `steps` tokens through the CPU Sampler and through the device path (reference algorithm,
// host finishing the handed-back rows) from the same seed; returns how many rows went back.
int CompareStreams(const SamplingParams& p, int n_vocab, int steps, int cap, uint64_t logit_seed,
                   float spread) {
  std::mt19937 rng(static_cast<uint32_t>(logit_seed));
  std::normal_distribution<float> dist(0.0f, spread);
  Sampler cpu(p), dev(p);
  std::vector<int32_t> history{1, 2, 3, 2};
  int fallbacks = 0;
  for (int step = 0; step < steps; ++step) {
    std::vector<float> logits(static_cast<size_t>(n_vocab));
    for (auto& v : logits) v = dist(rng);
    logits[static_cast<size_t>(step % n_vocab)] = -std::numeric_limits<float>::infinity();
    logits[7] = logits[8];  // a tie: lower index first on both sides

    std::vector<float> a = logits;
    const int32_t want = cpu.Sample(a, history, 2);

    std::vector<PenaltyEntry> pen;
    const DeviceSampleRow row =
        MakeDeviceSampleRow(dev, ChooseSamplerPlacement(p, true), history, 2, &pen);
    const DeviceSampleRow rows[] = {row};
    int32_t got = SampleRowsReferenceWithCap(logits, n_vocab, rows, pen, cap)[0];
    if (got == kSampleOnHost) {
      ++fallbacks;
      std::vector<float> b = logits;
      got = row.mode == DeviceSampleRow::kSample ? dev.SampleWithUniform(b, history, 2, row.uniform)
                                                 : dev.Sample(b, history, 2);
    }
    EXPECT_EQ(got, want) << "step " << step << " top_k " << p.top_k << " top_p " << p.top_p
                         << " min_p " << p.min_p << " cap " << cap;
    if (got != want) return fallbacks;
    history.push_back(want);
  }
  return fallbacks;
}

TEST(DeviceSamplingReferenceTest, SameSeedGivesTheCpuSamplersTokens) {
  struct Config {
    float t;
    int k;
    float p;
    float min_p;
  };
  const Config configs[] = {{0, 0, 1, 0},      {0.8f, 40, 0.9f, 0}, {1.0f, 0, 1, 0},
                            {0.7f, 0, 0.95f, 0}, {1.2f, 0, 1, 0.05f}, {0.5f, 1, 1, 0},
                            {0.9f, 300, 0.8f, 0.02f}};
  int seed = 0;
  for (const Config& c : configs) {
    SamplingParams p = Params(c.t, c.k, c.p, c.min_p);
    p.seed = static_cast<uint64_t>(++seed);
    p.repetition_penalty = 1.1f;
    p.frequency_penalty = 0.2f;
    p.presence_penalty = 0.1f;
    CompareStreams(p, 3000, 40, kDeviceSampleCandidates, 100 + seed, 2.0f);
  }
}

TEST(DeviceSamplingReferenceTest, RowsBeyondTheCandidatesGoBackToTheHostWithTheSameDraw) {
  // 8 candidates out of 500 flat-ish logits: top-p 0.95 and plain sampling often need more.
  SamplingParams p = Params(1.0f, 0, 0.95f);
  p.seed = 9;
  EXPECT_GT(CompareStreams(p, 500, 60, 8, 5, 0.5f), 0);
  SamplingParams q = Params(1.0f, 0, 1.0f, 0.01f);
  q.seed = 10;
  EXPECT_GT(CompareStreams(q, 500, 60, 8, 6, 0.5f), 0);
  SamplingParams plain = Params(1.0f, 0, 1.0f);
  plain.seed = 11;
  EXPECT_GT(CompareStreams(plain, 500, 60, 8, 7, 0.5f), 0);
  // Peaked logits: the 8 candidates hold almost all the mass; most rows stay on the device.
  SamplingParams peaked = Params(0.5f, 0, 0.9f);
  peaked.seed = 12;
  EXPECT_LT(CompareStreams(peaked, 500, 60, 8, 8, 6.0f), 30);
}

TEST(DeviceSamplingReferenceTest, AllMinusInfinityRowIsArgmaxAndHostRowsAreHandedBack) {
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> logits{ninf, ninf, ninf, 1.0f, 5.0f, 2.0f};  // two rows of 3
  DeviceSampleRow sample;
  sample.mode = DeviceSampleRow::kSample;
  sample.uniform = 0.5;
  DeviceSampleRow host;
  host.mode = DeviceSampleRow::kHost;
  const DeviceSampleRow rows[] = {sample, host};
  const auto tokens = SampleRowsReference(logits, 3, rows, {});
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0], 0);  // the CPU's ArgMax of an all -inf row
  EXPECT_EQ(tokens[1], kSampleOnHost);
}

// The engine with sampling on the "device" path (the reference algorithm behind
// Model::ForwardSample on the CPU backend) produces exactly the host path's tokens.
TEST(DeviceSamplingEngineTest, DevicePathGivesTheHostPathsTokensOnStories260K) {
  const std::string path = std::string(ASSISTANT_SOURCE_DIR) + "/models/stories260K.gguf";
  auto run = [&](const std::string& sampling) {
    ModelOptions mo;
    mo.threads = 1;
    mo.backend = "cpu";
    mo.sampling = sampling;
    auto model = Model::Load(path, mo);
    EXPECT_TRUE(model.ok()) << model.status();
    std::vector<std::vector<int32_t>> out;
    if (!model.ok()) return out;
    EXPECT_EQ((*model)->samples_on_device(), sampling == "device");
    EngineOptions o;
    o.scheduler.num_blocks = 64;
    o.scheduler.block_size = 16;
    o.scheduler.max_num_seqs = 8;
    o.scheduler.max_batched_tokens = 64;
    o.scheduler.max_prefill_chunk = 64;
    auto engine = Engine::Create(model->get(), std::move(o));
    EXPECT_TRUE(engine.ok()) << engine.status();
    if (!engine.ok()) return out;
    std::vector<std::unique_ptr<GenerationStream>> streams;
    const SamplingParams configs[] = {Params(0, 0, 1), Params(0.8f, 40, 0.9f),
                                      Params(1.0f, 0, 0.95f), Params(1.1f, 0, 1, 0.05f)};
    for (int i = 0; i < 4; ++i) {
      GenerateRequest r;
      r.prompt = {1, 403, 407, 261, 378 + i};
      r.sampling = configs[i];
      r.sampling.seed = 1234 + static_cast<uint64_t>(i);
      r.sampling.repetition_penalty = i == 1 ? 1.2f : 1.0f;
      r.sampling.presence_penalty = i == 3 ? 0.5f : 0.0f;
      r.max_tokens = 24;
      r.ignore_eos = true;
      auto s = (*engine)->Submit(std::move(r));
      EXPECT_TRUE(s.ok()) << s.status();
      if (s.ok()) streams.push_back(std::move(s).value());
    }
    for (auto& s : streams) {
      std::vector<int32_t> ids;
      GenerateEvent ev;
      while (s->Next(&ev)) {
        if (ev.kind == GenerateEvent::Kind::kToken && ev.token >= 0) ids.push_back(ev.token);
        if (ev.kind == GenerateEvent::Kind::kFinished) {
          EXPECT_EQ(ev.reason, FinishReason::kLength) << ev.error;
        }
      }
      out.push_back(ids);
    }
    return out;
  };
  const auto host = run("host");
  const auto device = run("device");
  ASSERT_EQ(host.size(), 4u);
  for (const auto& ids : host) EXPECT_EQ(ids.size(), 24u);
  EXPECT_EQ(device, host);
  // Different seeds in the sampled requests give different continuations (the test can fail).
  EXPECT_NE(host[1], host[2]);

  ModelOptions bad;
  bad.sampling = "gpu";
  EXPECT_EQ(Model::Load(path, bad).status().code(), common::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace inference
