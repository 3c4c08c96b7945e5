// Tensor parallelism, host side: the checks a user meets first (GPU count, shapes, NCCL), and
// the sharding plan of every architecture's tensors, including that the shards of all ranks put
// back together give the full tensor byte for byte.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include "backend/cuda/rank_threads.h"
#include "inference/model.h"
#include "inference/tensor_parallel.h"

namespace inference {
namespace {

ModelConfig Llama() {
  ModelConfig c;
  c.arch = "llama";
  c.n_embd = 512;
  c.n_head = 8;
  c.n_head_kv = 4;  // GQA
  c.head_dim = 64;
  c.head_dim_v = 64;
  c.n_ff = 1024;
  c.n_layer = 1;
  c.n_vocab = 100;
  return c;
}

TEST(TensorParallelCheckTest, MoreRanksThanGpusSaysHowManyArePresent) {
  const Status s = ValidateTensorParallel(Llama(), 4, 1);
  EXPECT_EQ(s.code(), common::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.reason(), "GPU_COUNT");
  EXPECT_NE(s.message().find("4 GPUs was asked for but 1 GPU is present"), std::string::npos)
      << s.message();
  EXPECT_TRUE(ValidateTensorParallel(Llama(), 4, 8).ok());
  EXPECT_EQ(ValidateTensorParallel(Llama(), 0, 8).code(), common::StatusCode::kInvalidArgument);
}

TEST(TensorParallelCheckTest, HeadsKeyValueHeadsAndFfnMustDivide) {
  ModelConfig c = Llama();
  Status s = ValidateTensorParallel(c, 8, 8);  // 8 heads but 4 key/value heads
  EXPECT_EQ(s.code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("key/value head count"), std::string::npos) << s.message();
  c.n_head = 6;
  c.n_head_kv = 6;
  s = ValidateTensorParallel(c, 4, 8);
  EXPECT_NE(s.message().find("attention head count (6)"), std::string::npos) << s.message();
  c = Llama();
  c.n_ff = 1002;
  EXPECT_NE(ValidateTensorParallel(c, 16, 16).message().find("head"), std::string::npos);
  EXPECT_NE(ValidateTensorParallel(c, 4, 4).message().find("FFN width (1002)"), std::string::npos);
  c = Llama();
  c.n_expert = 8;
  c.n_ff_exp = 102;
  EXPECT_NE(ValidateTensorParallel(c, 4, 4).message().find("expert FFN width"), std::string::npos);
}

TEST(TensorParallelCheckTest, RankConfigDividesHeadsAndWidths) {
  ModelConfig c = Llama();
  c.n_expert = 4;
  c.n_ff_exp = 256;
  c.n_ff_shexp = 512;
  auto r = RankConfig(c, 2);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->n_head, 4);
  EXPECT_EQ(r->n_head_kv, 2);
  EXPECT_EQ(r->n_ff, 512);
  EXPECT_EQ(r->n_ff_exp, 128);
  EXPECT_EQ(r->n_ff_shexp, 256);
  EXPECT_EQ(r->n_embd, c.n_embd);
  EXPECT_EQ(r->head_dim, c.head_dim);
}

TEST(TensorParallelCheckTest, OneGpuNeverTouchesNcclAndMissingNcclIsUnavailable) {
  EXPECT_TRUE(CheckNcclForTensorParallel(1).ok());
  const Status s = CheckNcclForTensorParallel(2);
  if (!s.ok()) {  // the library is absent on most CI machines
    EXPECT_EQ(s.code(), common::StatusCode::kUnavailable);
    EXPECT_EQ(s.reason(), "NCCL");
    EXPECT_NE(s.message().find("libnccl.so.2"), std::string::npos) << s.message();
  }
}

TEST(TensorParallelCheckTest, ModelLoadRefusesWithTheReason) {
  const std::string path = std::string(ASSISTANT_SOURCE_DIR) + "/models/stories260K.gguf";
  ModelOptions cpu;
  cpu.backend = "cpu";
  cpu.tensor_parallel = 2;
  auto a = Model::Load(path, cpu);
  EXPECT_EQ(a.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find("needs the cuda backend"), std::string::npos);
  ModelOptions many;
  many.tensor_parallel = 64;  // more GPUs than any machine of ours has
  EXPECT_EQ(Model::Load(path, many).status().code(), common::StatusCode::kFailedPrecondition);
}

struct Tensor {
  GgufTensor t;
  std::vector<uint8_t> bytes;
};

Tensor Make(const std::string& name, std::vector<uint64_t> dims, GgmlType type, uint32_t seed) {
  Tensor x;
  const uint64_t rows = dims.size() > 1 ? dims[1] : 1, mats = dims.size() > 2 ? dims[2] : 1;
  const uint64_t row_bytes = *GgmlRowBytes(type, dims[0]);
  x.bytes.resize(row_bytes * rows * mats);
  std::mt19937 rng(seed);
  for (auto& b : x.bytes) b = static_cast<uint8_t>(rng());
  uint64_t elems = 1;
  for (uint64_t d : dims) elems *= d;
  x.t = GgufTensor{name, dims, type, 0, x.bytes.size(), x.bytes.data(), elems};
  return x;
}

// Splits `x` across `ranks`, checks each shard's split and size, and puts the shards back.
void ExpectReassembles(const ModelConfig& c, int ranks, const Tensor& x, ShardSplit want,
                       bool reduce = false) {
  const uint64_t cols = x.t.dims[0];
  const uint64_t rows = x.t.dims.size() > 1 ? x.t.dims[1] : 1;
  const uint64_t mats = x.t.dims.size() > 2 ? x.t.dims[2] : 1;
  const uint64_t row_bytes = *GgmlRowBytes(x.t.type, cols);
  std::vector<std::vector<uint8_t>> parts;
  std::vector<TensorShard> shards;
  for (int r = 0; r < ranks; ++r) {
    auto s = ShardTensor(c, ranks, r, x.t.name, x.t.dims, x.t.type);
    ASSERT_TRUE(s.ok()) << x.t.name << ": " << s.status();
    EXPECT_EQ(s->split, want) << x.t.name;
    EXPECT_EQ(s->all_reduce_after, reduce) << x.t.name;
    auto b = ExtractShard(x.t, *s);
    ASSERT_TRUE(b.ok()) << b.status();
    if (want != ShardSplit::kReplicated) {
      EXPECT_EQ(b->size(), x.bytes.size() / ranks) << x.t.name;
    }
    shards.push_back(*s);
    parts.push_back(std::move(*b));
  }
  std::vector<uint8_t> whole;
  if (want == ShardSplit::kReplicated) {
    for (const auto& p : parts) EXPECT_EQ(p, x.bytes) << x.t.name;
    return;
  }
  if (want == ShardSplit::kRows) {
    const uint64_t per = row_bytes * static_cast<uint64_t>(shards[0].count);
    for (uint64_t m = 0; m < mats; ++m) {
      for (const auto& p : parts) whole.insert(whole.end(), p.begin() + m * per, p.begin() + (m + 1) * per);
    }
  } else {
    const uint64_t width = row_bytes / ranks;
    for (uint64_t r = 0; r < rows * mats; ++r) {
      for (const auto& p : parts) whole.insert(whole.end(), p.begin() + r * width, p.begin() + (r + 1) * width);
    }
  }
  EXPECT_EQ(whole, x.bytes) << x.t.name << " does not reassemble";
}

TEST(TensorParallelPlanTest, LlamaGqaShardsReassembleInEveryType) {
  const ModelConfig c = Llama();
  const uint64_t d = 512, q_w = 8 * 64, kv_w = 4 * 64, ff = 1024;
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0,
                        GgmlType::kQ4_0, GgmlType::kQ4_K, GgmlType::kQ6_K}) {
    for (int ranks : {1, 2}) {
      SCOPED_TRACE(std::string(GgmlTypeName(type)) + " ranks " + std::to_string(ranks));
      const ShardSplit rows = ranks == 1 ? ShardSplit::kReplicated : ShardSplit::kRows;
      const ShardSplit cols = ranks == 1 ? ShardSplit::kReplicated : ShardSplit::kCols;
      ExpectReassembles(c, ranks, Make("blk.0.attn_q.weight", {d, q_w}, type, 1), rows);
      ExpectReassembles(c, ranks, Make("blk.0.attn_k.weight", {d, kv_w}, type, 2), rows);
      ExpectReassembles(c, ranks, Make("blk.0.attn_v.weight", {d, kv_w}, type, 3), rows);
      ExpectReassembles(c, ranks, Make("blk.0.attn_output.weight", {q_w, d}, type, 4), cols, ranks > 1);
      ExpectReassembles(c, ranks, Make("blk.0.ffn_gate.weight", {d, ff}, type, 5), rows);
      ExpectReassembles(c, ranks, Make("blk.0.ffn_up.weight", {d, ff}, type, 6), rows);
      ExpectReassembles(c, ranks, Make("blk.0.ffn_down.weight", {ff, d}, type, 7), cols, ranks > 1);
      ExpectReassembles(c, ranks, Make("token_embd.weight", {d, 100}, type, 8), ShardSplit::kReplicated);
      ExpectReassembles(c, ranks, Make("output.weight", {d, 100}, type, 9), ShardSplit::kReplicated);
      ExpectReassembles(c, ranks, Make("blk.0.attn_norm.weight", {d}, GgmlType::kF32, 10), ShardSplit::kReplicated);
    }
  }
  // Rank r holds query heads [2r, 2r+2) and key/value head r of 4 ranks (GQA groups whole).
  auto q = ShardTensor(c, 4, 3, "blk.7.attn_q.weight", {d, q_w}, GgmlType::kF16);
  auto k = ShardTensor(c, 4, 3, "blk.7.attn_k.weight", {d, kv_w}, GgmlType::kF16);
  ASSERT_TRUE(q.ok() && k.ok());
  EXPECT_EQ(q->begin, 6 * 64);
  EXPECT_EQ(q->count, 2 * 64);
  EXPECT_EQ(k->begin, 3 * 64);
  EXPECT_EQ(k->count, 64);
}

TEST(TensorParallelPlanTest, QuantizedBlocksAreNeverCut) {
  // 4 heads of 64 over 2 ranks: 128 input columns each, not a multiple of Q4_K's 256.
  ModelConfig c = Llama();
  c.n_head = 4;
  c.n_head_kv = 4;
  auto s = ShardTensor(c, 2, 0, "blk.0.attn_output.weight", {256, 512}, GgmlType::kQ4_K);
  EXPECT_EQ(s.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("would cut Q4_K blocks of 256"), std::string::npos)
      << s.status().message();
  EXPECT_TRUE(ShardTensor(c, 2, 0, "blk.0.attn_output.weight", {256, 512}, GgmlType::kQ8_0).ok());
  // A dimension that is not heads x width is refused rather than split wrongly.
  EXPECT_EQ(ShardTensor(c, 2, 0, "blk.0.attn_q.weight", {512, 200}, GgmlType::kF32).status().code(),
            common::StatusCode::kInvalidArgument);
}

TEST(TensorParallelPlanTest, Qwen2BiasesMoeExpertsAndMlaSplitWithTheirHeads) {
  ModelConfig c = Llama();
  c.arch = "qwen2moe";
  c.n_expert = 4;
  c.n_ff_exp = 256;
  c.n_ff_shexp = 512;
  const int ranks = 2;
  ExpectReassembles(c, ranks, Make("blk.1.attn_q.bias", {512}, GgmlType::kF32, 20), ShardSplit::kCols);
  ExpectReassembles(c, ranks, Make("blk.1.attn_k.bias", {256}, GgmlType::kF32, 21), ShardSplit::kCols);
  ExpectReassembles(c, ranks, Make("blk.1.attn_v.bias", {256}, GgmlType::kF32, 22), ShardSplit::kCols);
  ExpectReassembles(c, ranks, Make("blk.1.ffn_gate_inp.weight", {512, 4}, GgmlType::kF32, 23), ShardSplit::kReplicated);
  ExpectReassembles(c, ranks, Make("blk.1.ffn_gate_exps.weight", {512, 256, 4}, GgmlType::kQ8_0, 24), ShardSplit::kRows);
  ExpectReassembles(c, ranks, Make("blk.1.ffn_up_exps.weight", {512, 256, 4}, GgmlType::kQ4_K, 25), ShardSplit::kRows);
  ExpectReassembles(c, ranks, Make("blk.1.ffn_down_exps.weight", {256, 512, 4}, GgmlType::kQ8_0, 26), ShardSplit::kCols, true);
  ExpectReassembles(c, ranks, Make("blk.1.ffn_gate_shexp.weight", {512, 512}, GgmlType::kF16, 27), ShardSplit::kRows);
  ExpectReassembles(c, ranks, Make("blk.1.ffn_down_shexp.weight", {512, 512}, GgmlType::kF16, 28), ShardSplit::kCols, true);
  ExpectReassembles(c, ranks, Make("blk.1.ffn_gate_inp_shexp.weight", {512}, GgmlType::kF32, 29), ShardSplit::kReplicated);

  // DeepSeek-V2 MLA: 8 heads of 64 (+32 rope) keys, 64 values; latent 128 shared.
  ModelConfig m = Llama();
  m.arch = "deepseek2";
  m.n_head = 8;
  m.n_head_kv = 8;
  m.head_dim = 96;
  m.head_dim_v = 64;
  m.n_nope_mla = 64;
  m.n_rot_mla = 32;
  m.kv_lora_rank = 128;
  m.q_lora_rank = 256;
  ExpectReassembles(m, 4, Make("blk.0.attn_q_a.weight", {512, 256}, GgmlType::kQ8_0, 30), ShardSplit::kReplicated);
  ExpectReassembles(m, 4, Make("blk.0.attn_q_b.weight", {256, 8 * 96}, GgmlType::kQ8_0, 31), ShardSplit::kRows);
  ExpectReassembles(m, 4, Make("blk.0.attn_kv_a_mqa.weight", {512, 128 + 32}, GgmlType::kQ8_0, 32), ShardSplit::kReplicated);
  ExpectReassembles(m, 4, Make("blk.0.attn_kv_b.weight", {128, 8 * (64 + 64)}, GgmlType::kQ8_0, 33), ShardSplit::kRows);
  ExpectReassembles(m, 4, Make("blk.0.attn_output.weight", {8 * 64, 512}, GgmlType::kQ8_0, 34), ShardSplit::kCols, true);
}

// The per-GPU threads of a tensor-parallel model: each rank runs on its own thread, the same
// thread every step (CUDA's current device is per thread), all ranks finish before RunAll
// returns, and an error names its GPU.
TEST(RankThreadsTest, EachRankRunsOnItsOwnThreadEveryStepAndErrorsNameTheGpu) {
  RankThreads threads(4);
  std::vector<std::thread::id> first(4), again(4);
  std::atomic<int> ran{0};
  ASSERT_TRUE(threads.RunAll([&](int r) {
    first[static_cast<size_t>(r)] = std::this_thread::get_id();
    ++ran;
    return common::OkStatus();
  }).ok());
  EXPECT_EQ(ran.load(), 4);
  for (int step = 0; step < 50; ++step) {
    ASSERT_TRUE(threads.RunAll([&](int r) {
      again[static_cast<size_t>(r)] = std::this_thread::get_id();
      ++ran;
      return common::OkStatus();
    }).ok());
    ASSERT_EQ(again, first);
  }
  EXPECT_EQ(ran.load(), 4 + 50 * 4);
  EXPECT_EQ(std::set<std::thread::id>(first.begin(), first.end()).size(), 4u);
  EXPECT_EQ(first[0] == std::this_thread::get_id(), false);
  const Status s = threads.RunAll([](int r) {
    return r == 2 ? common::InternalError("device fault") : common::OkStatus();
  });
  EXPECT_EQ(s.code(), common::StatusCode::kInternal);
  EXPECT_NE(s.message().find("GPU 2"), std::string::npos) << s.message();
  // Still usable after an error.
  EXPECT_TRUE(threads.RunAll([](int) { return common::OkStatus(); }).ok());
}

}  // namespace
}  // namespace inference
