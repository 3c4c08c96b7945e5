#include "inference/synth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "inference/gguf.h"
#include "inference/quant.h"
#include "inference/tokenizer.h"

namespace inference {
namespace {

std::string DataPath(const std::string& rel) { return std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/" + rel; }

std::unique_ptr<GgufFile> Vocab() {
  auto g = GgufFile::Open(DataPath("tinyllamas/stories260K.gguf"));
  EXPECT_TRUE(g.ok());
  return std::move(*g);
}

std::unique_ptr<GgufFile> Synth(const SynthConfig& c, const GgufFile* vocab) {
  auto bytes = SynthesizeToBytes(c, vocab);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  if (!bytes.ok()) return nullptr;
  auto f = GgufFile::FromBuffer(std::move(*bytes));
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? std::move(*f) : nullptr;
}

// Mean and standard deviation of a tensor's first row, dequantized.
std::pair<double, double> RowStats(const GgufTensor& t) {
  std::vector<float> row(t.dims[0]);
  EXPECT_TRUE(DequantizeRow(t.type, t.data, row.data(), static_cast<int64_t>(row.size())).ok());
  double sum = 0, sq = 0;
  for (float v : row) sum += v;
  double mean = sum / static_cast<double>(row.size());
  for (float v : row) sq += (v - mean) * (v - mean);
  return {mean, std::sqrt(sq / static_cast<double>(row.size()))};
}

class SynthPresetTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SynthPresetTest, WritesAValidModelWithTheVocabularysTokenizer) {
  auto vocab = Vocab();
  auto cfg = SynthPreset(GetParam());
  ASSERT_TRUE(cfg.ok());
  auto g = Synth(*cfg, vocab.get());
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->architecture(), cfg->arch);
  EXPECT_EQ(*g->GetUint(cfg->arch + ".block_count"), 2u);
  const GgufTensor* emb = g->FindTensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->dims, (std::vector<uint64_t>{256, 512}));
  EXPECT_NE(g->FindTensor("output_norm.weight"), nullptr);
  EXPECT_NE(g->FindTensor("blk.1.attn_output.weight"), nullptr);
  auto tok = Tokenizer::FromGguf(*g);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->vocab_size(), 512);
  EXPECT_EQ((*tok)->Encode("Once upon a time", false).size(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Tiny, SynthPresetTest,
                         ::testing::Values("tiny", "tiny-qwen2", "tiny-qwen3", "tiny-qwen2moe", "tiny-qwen3moe",
                                           "tiny-deepseek2"),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

TEST(Synth, ArchitectureSpecificTensorsFollowLlamaCppNames) {
  auto vocab = Vocab();
  auto q2 = Synth(*SynthPreset("tiny-qwen2"), vocab.get());
  EXPECT_NE(q2->FindTensor("blk.0.attn_q.bias"), nullptr);
  EXPECT_EQ(q2->FindTensor("blk.0.attn_q_norm.weight"), nullptr);
  auto q3 = Synth(*SynthPreset("tiny-qwen3"), vocab.get());
  EXPECT_NE(q3->FindTensor("blk.0.attn_k_norm.weight"), nullptr);
  EXPECT_EQ(q3->FindTensor("blk.0.attn_q.bias"), nullptr);
  auto moe = Synth(*SynthPreset("tiny-qwen2moe"), vocab.get());
  const GgufTensor* exps = moe->FindTensor("blk.0.ffn_down_exps.weight");
  ASSERT_NE(exps, nullptr);
  EXPECT_EQ(exps->dims, (std::vector<uint64_t>{256, 256, 8}));
  EXPECT_NE(moe->FindTensor("blk.0.ffn_gate_inp_shexp.weight"), nullptr);
  EXPECT_EQ(*moe->GetUint("qwen2moe.expert_used_count"), 2u);
  auto ds = Synth(*SynthPreset("tiny-deepseek2"), vocab.get());
  EXPECT_NE(ds->FindTensor("blk.0.ffn_gate.weight"), nullptr);  // leading dense block
  EXPECT_NE(ds->FindTensor("blk.1.ffn_gate_exps.weight"), nullptr);
  const GgufTensor* kvb = ds->FindTensor("blk.1.attn_kv_b.weight");
  ASSERT_NE(kvb, nullptr);
  EXPECT_EQ(kvb->dims, (std::vector<uint64_t>{256, 4 * (64 + 64)}));
  EXPECT_EQ(ds->FindTensor("blk.1.attn_kv_a_mqa.weight")->dims, (std::vector<uint64_t>{256, 256 + 32}));
  EXPECT_EQ(*ds->GetUint("deepseek2.attention.key_length"), 96u);
}

class SynthTypeTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(SynthTypeTest, MatricesAreStoredInTheTypeWithTheIntendedScale) {
  SynthConfig c = *SynthPreset("tiny");
  c.type = GetParam();
  auto g = Synth(c, nullptr);
  ASSERT_NE(g, nullptr);
  const GgufTensor* q = g->FindTensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, GetParam());
  auto [mean, sd] = RowStats(*q);
  EXPECT_NEAR(sd, 1.0 / std::sqrt(256.0), 0.012) << GgmlTypeName(GetParam());
  EXPECT_NEAR(mean, 0.0, 0.02);
  const GgufTensor* norm = g->FindTensor("blk.0.attn_norm.weight");
  EXPECT_EQ(norm->type, GgmlType::kF32);
  auto [nmean, nsd] = RowStats(*norm);
  EXPECT_NEAR(nmean, 1.0, 0.01);
  EXPECT_LT(nsd, 0.05);
}

INSTANTIATE_TEST_SUITE_P(Types, SynthTypeTest,
                         ::testing::Values(GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0,
                                           GgmlType::kQ4_0, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K),
                         [](const auto& p) { return std::string(GgmlTypeName(p.param)); });

TEST(Synth, SameSeedSameBytesOtherSeedOtherWeights) {
  SynthConfig c = *SynthPreset("tiny");
  auto a = SynthesizeToBytes(c, nullptr);
  auto b = SynthesizeToBytes(c, nullptr);
  c.seed = 2;
  auto d = SynthesizeToBytes(c, nullptr);
  ASSERT_TRUE(a.ok() && b.ok() && d.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *d);
  EXPECT_EQ(a->size(), d->size());
}

TEST(Synth, GeneratedVocabularyTokenizes) {
  SynthConfig c = *SynthPreset("tiny");
  c.n_vocab = 300;
  auto g = Synth(c, nullptr);
  ASSERT_NE(g, nullptr);
  auto tok = Tokenizer::FromGguf(*g);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->vocab_size(), 300);
  std::vector<int32_t> ids = (*tok)->Encode("hi", false);
  EXPECT_EQ((*tok)->Decode(ids), "hi");
}

TEST(Synth, BadConfigsAreRejected) {
  SynthConfig c;
  c.arch = "gpt5";
  EXPECT_EQ(SynthesizeToBytes(c, nullptr).status().code(), common::StatusCode::kInvalidArgument);
  c = *SynthPreset("tiny-qwen3moe");
  c.n_expert_used = 9;
  EXPECT_EQ(SynthesizeToBytes(c, nullptr).status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(SynthPreset("huge").status().code(), common::StatusCode::kNotFound);
}

TEST(Synth, LargePresetsHaveTheRealShapes) {
  auto t = SynthPreset("tinyllama-1.1b");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->n_embd, 2048u);
  EXPECT_EQ(t->n_layer, 22u);
  EXPECT_EQ(t->n_head_kv, 4u);
  EXPECT_EQ(t->n_ff, 5632u);
  auto l = SynthPreset("llama3-8b");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->n_ff, 14336u);
  EXPECT_EQ(l->n_vocab, 128256u);
}

}  // namespace
}  // namespace inference
