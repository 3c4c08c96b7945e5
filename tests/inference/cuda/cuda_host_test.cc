// Host-side logic of the CUDA backend, tested without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "inference/cuda_backend.h"
#include "inference/model.h"

namespace inference {
namespace {

constexpr size_t kGiB = size_t{1} << 30;
constexpr size_t kMiB = size_t{1} << 20;

TEST(PlanDeviceMemoryTest, KvCacheTakesTheConfiguredShareOfWhatTheWeightsLeave) {
  // 8B Q8_0-like: 8.5 GiB of weights on a 141 GiB device, 2 MiB per KV block.
  auto plan = PlanDeviceMemory(141 * kGiB, 8 * kGiB + 512 * kMiB, 2 * kMiB, 16, 512 * kMiB, 0.9);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const size_t left = 141 * kGiB - (8 * kGiB + 512 * kMiB) - 512 * kMiB;
  EXPECT_EQ(plan->kv_blocks, static_cast<int>(static_cast<size_t>(left * 0.9) / (2 * kMiB)));
  EXPECT_EQ(plan->kv_bytes, static_cast<size_t>(plan->kv_blocks) * 2 * kMiB);
  EXPECT_EQ(plan->weight_bytes, 8 * kGiB + 512 * kMiB);
}

TEST(PlanDeviceMemoryTest, ModelThatDoesNotFitSaysHowMuchIsNeededAndFree) {
  auto plan = PlanDeviceMemory(10 * kGiB, 16 * kGiB, 2 * kMiB, 16, 512 * kMiB);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), common::StatusCode::kResourceExhausted);
  EXPECT_EQ(plan.status().reason(), "GPU_MEMORY");
  EXPECT_NE(plan.status().message().find("needs 16.53 GiB"), std::string::npos)
      << plan.status().message();
  EXPECT_NE(plan.status().message().find("only 10.00 GiB is free"), std::string::npos);
}

TEST(PlanDeviceMemoryTest, MinimumCacheIsGrantedWhenItFits) {
  auto plan = PlanDeviceMemory(1 * kGiB, 1 * kGiB - 64 * kMiB, 1 * kMiB, 8, 32 * kMiB, 0.5);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_GE(plan->kv_blocks, 8);
}

TEST(PlanDeviceMemoryTest, RejectsNonsenseParameters) {
  EXPECT_EQ(PlanDeviceMemory(kGiB, 0, 0, 1, 0).status().code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanDeviceMemory(kGiB, 0, kMiB, 1, 0, 1.5).status().code(),
            common::StatusCode::kInvalidArgument);
}

TEST(FormatBytesTest, PicksAReadableUnit) {
  EXPECT_EQ(FormatBytes(512), "512 bytes");
  EXPECT_EQ(FormatBytes(3 * kMiB / 2), "1.5 MiB");
  EXPECT_EQ(FormatBytes(3 * kGiB / 2), "1.50 GiB");
}

// Where there is no GPU (CI), asking for CUDA explicitly is a clear UNAVAILABLE
// error and "auto" runs the model on the CPU.
TEST(BackendSelectionTest, AutoFallsBackToTheCpuWithoutAGpuAndCudaSaysWhy) {
  const std::string model = std::string(ASSISTANT_SOURCE_DIR) + "/models/stories260K.gguf";
  auto cuda = CreateCudaBackend(CudaBackendOptions{});
  ModelOptions cuda_only;
  cuda_only.backend = "cuda";
  auto forced = Model::Load(model, cuda_only);
  ModelOptions automatic;
  auto chosen = Model::Load(model, automatic);
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  if (cuda.ok()) {
    // A GPU machine: both land on CUDA.
    ASSERT_TRUE(forced.ok()) << forced.status();
    EXPECT_EQ((*chosen)->backend_name().rfind("cuda (", 0), 0u);
  } else {
    EXPECT_EQ(cuda.status().code(), common::StatusCode::kUnavailable);
    EXPECT_FALSE(cuda.status().message().empty());
    ASSERT_FALSE(forced.ok());
    EXPECT_EQ(forced.status().code(), common::StatusCode::kUnavailable);
    EXPECT_EQ((*chosen)->backend_name().rfind("cpu (", 0), 0u) << (*chosen)->backend_name();
  }
  ModelOptions bogus;
  bogus.backend = "tpu";
  EXPECT_EQ(Model::Load(model, bogus).status().code(), common::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace inference

namespace inference {
namespace {

TEST(GraphBucketTest, SmallestBucketThatFitsAndNoneAboveTheLargest) {
  const std::vector<int> b = DefaultGraphBuckets();
  ASSERT_TRUE(std::is_sorted(b.begin(), b.end()));
  EXPECT_EQ(GraphBucketFor(1, b), 1);
  EXPECT_EQ(GraphBucketFor(3, b), 4);
  EXPECT_EQ(GraphBucketFor(5, b), 6);
  EXPECT_EQ(GraphBucketFor(17, b), 24);
  EXPECT_EQ(GraphBucketFor(64, b), 64);
  EXPECT_EQ(GraphBucketFor(65, b), 96);
  EXPECT_EQ(GraphBucketFor(128, b), 128);
  EXPECT_EQ(GraphBucketFor(129, b), 0);
  EXPECT_EQ(GraphBucketFor(0, b), 0);
  EXPECT_EQ(GraphBucketFor(5, std::vector<int>{}), 0);
  // Padding never adds more than half the rows.
  for (int rows = 1; rows <= 128; ++rows) {
    EXPECT_LE(GraphBucketFor(rows, b) - rows, rows / 2) << rows;
  }
}

TEST(AttentionTilesTest, LongStepsAreTiledPerSequenceShortOnesNot) {
  const std::vector<int32_t> table;
  const std::vector<StepSequence> seqs{{0, 40, 0, table}, {40, 3, 17, table}, {43, 16, 5, table}};
  const std::vector<int32_t> want{0, 16, 16, 16, 32, 8, 40, 3, 43, 16};
  EXPECT_EQ(PlanAttentionTiles(seqs, 59, 16, 32), want);
  EXPECT_TRUE(PlanAttentionTiles(seqs, 59, 16, 64).empty());  // below the threshold
  EXPECT_TRUE(PlanAttentionTiles(seqs, 59, 16, 0).empty());   // flash prefill off
  // Every row is in exactly one tile, and a tile never spans two sequences.
  const auto tiles = PlanAttentionTiles(seqs, 59, 16, 1);
  std::vector<int> covered(59, 0);
  for (size_t i = 0; i < tiles.size(); i += 2) {
    int seq = -1;
    for (int r = tiles[i]; r < tiles[i] + tiles[i + 1]; ++r) {
      ++covered[r];
      const int s = r < 40 ? 0 : r < 43 ? 1 : 2;
      if (seq == -1) seq = s;
      EXPECT_EQ(s, seq);
    }
  }
  EXPECT_EQ(covered, std::vector<int>(59, 1));
}

TEST(PrefillAttentionPlanTest, LongSequencesGoToTheGemmsAndEveryOtherRowIsTiled) {
  // A 300-row prompt, a decode row, a 40-row chunk after 8,000 cached positions, a 20-row prompt.
  const std::vector<StepSequence> seqs = {{0, 300, 0, {}}, {300, 1, 57, {}},
                                          {301, 40, 8000, {}}, {341, 20, 0, {}}};
  auto plan = PlanPrefillAttention(seqs, 361, 16, 64, 32, 8192);
  EXPECT_EQ(plan.gemm_sequences, (std::vector<int32_t>{0, 2}));
  // The decode row and the 20-row prompt are tiled, although each is under the flash threshold.
  EXPECT_EQ(plan.tiles, (std::vector<int32_t>{300, 1, 341, 16, 357, 4}));
  // Past the position limit (the score matrix would be too large): tiled instead.
  plan = PlanPrefillAttention(seqs, 361, 16, 64, 32, 4096);
  EXPECT_EQ(plan.gemm_sequences, (std::vector<int32_t>{0}));
  EXPECT_EQ(plan.tiles.size(), 2u * (1 + 3 + 2));
  // GEMMs off: exactly the flash plan.
  plan = PlanPrefillAttention(seqs, 361, 16, 64, 0, 8192);
  EXPECT_TRUE(plan.gemm_sequences.empty());
  EXPECT_EQ(plan.tiles, PlanAttentionTiles(seqs, 361, 16, 64));
}

TEST(GraphScheduleTest, WarmThenCaptureThenReplayPerBucket) {
  using A = GraphSchedule::Action;
  GraphSchedule s;
  EXPECT_EQ(s.Next(8, 1).action, A::kEager);
  EXPECT_EQ(s.Next(8, 1).action, A::kCapture);
  s.Captured(8, 1);
  EXPECT_EQ(s.Next(8, 1).action, A::kReplay);
  EXPECT_EQ(s.Next(8, 1).action, A::kReplay);
  EXPECT_EQ(s.Next(16, 1).action, A::kEager);  // another bucket has its own warm-up
  EXPECT_EQ(s.recorded(), 1);
}

TEST(GraphScheduleTest, NewGenerationDropsEveryGraph) {
  using A = GraphSchedule::Action;
  GraphSchedule s;
  s.Next(4, 7);
  s.Next(4, 7);
  s.Captured(4, 7);
  ASSERT_EQ(s.Next(4, 7).action, A::kReplay);
  // The KV cache or an activation buffer was reallocated: generation 8.
  const auto d = s.Next(4, 8);
  EXPECT_TRUE(d.drop_graphs);
  EXPECT_EQ(d.action, A::kEager);
  EXPECT_EQ(s.recorded(), 0);
  EXPECT_FALSE(s.Next(4, 8).drop_graphs);
  // Memory moved while recording: the capture is not trusted.
  s.Captured(4, 9);
  EXPECT_EQ(s.Next(4, 9).action, A::kEager);
}

TEST(GraphScheduleTest, ThreeFailedCapturesLeaveThatBucketEager) {
  using A = GraphSchedule::Action;
  GraphSchedule s;
  for (int i = 0; i < GraphSchedule::kMaxFailures; ++i) {
    EXPECT_EQ(s.Next(32, 1).action, A::kEager);
    EXPECT_EQ(s.Next(32, 1).action, A::kCapture);
    s.CaptureFailed(32);
  }
  EXPECT_EQ(s.Next(32, 1).action, A::kEager);
  EXPECT_EQ(s.Next(32, 1).action, A::kEager);
  // Other buckets still record.
  EXPECT_EQ(s.Next(2, 1).action, A::kEager);
  EXPECT_EQ(s.Next(2, 1).action, A::kCapture);
  EXPECT_TRUE(s.enabled());
  s.Disable();
  EXPECT_FALSE(s.enabled());
  EXPECT_EQ(s.Next(2, 1).action, A::kEager);
}

}  // namespace
}  // namespace inference
