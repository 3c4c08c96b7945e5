// End to end on a real trained model: stories260K (llama, F32). The greedy continuation of every
// prompt in tinyllamas/stories260K.greedy.jsonl must equal the recorded ids, whether the
// sequences run alone, chunked, or batched together in one step.
//
// Those ids were recorded with a half-precision KV cache (llama.cpp's default): one prompt has a
// top-2 margin of 0.0034 that only an F16 cache reproduces, so they run with kv_cache_type "f16"
// (our default). With an F32 cache the model reproduces the float64 reference pass of
// stories260K.greedy.json (256 tokens from BOS, step-0 logits) instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "inference/gguf.h"
#include "inference/model.h"

namespace inference {
namespace {

const std::string kDir = std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/tinyllamas/";
constexpr int kBlockSize = 16;

struct Case {
  std::vector<int32_t> prompt;
  std::vector<int32_t> expected;
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
    for (const auto& v : j->Find("prompt_ids")->as_array()) c.prompt.push_back(v.as_int());
    for (const auto& v : j->Find("greedy_ids")->as_array()) c.expected.push_back(v.as_int());
    cases.push_back(std::move(c));
  }
  return cases;
}

int32_t Argmax(const float* l, int n) {
  return static_cast<int32_t>(std::max_element(l, l + n) - l);
}

// One sequence's state in the test's minimal greedy loop.
struct Seq {
  std::vector<int32_t> tokens;  // prompt + generated
  std::vector<int32_t> blocks;  // its own contiguous block ids
  size_t prompt_len = 0;
  int32_t cached = 0;           // positions already in the KV cache
};

class StoriesGreedyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cases_ = LoadCases();
    ASSERT_EQ(cases_.size(), 10u);
  }

  std::unique_ptr<Model> Load(int threads, const std::string& kv_cache_type = "f16") {
    ModelOptions o;
    o.threads = threads;
    o.kv_cache_type = kv_cache_type;
    auto m = Model::Load(kDir + "stories260K.gguf", o);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(*m) : nullptr;
  }

  // Runs every case to its expected length, `parallel` sequences per step, prompts fed in
  // chunks of at most `chunk` tokens. Returns the generated ids per case.
  std::vector<std::vector<int32_t>> Run(Model& model, size_t parallel, size_t chunk) {
    const int blocks_per_seq = 512 / kBlockSize;
    EXPECT_TRUE(model.AllocateKvCache(blocks_per_seq * static_cast<int>(parallel), kBlockSize).ok());
    std::vector<std::vector<int32_t>> out(cases_.size());
    const int n_vocab = model.config().n_vocab;
    for (size_t first = 0; first < cases_.size(); first += parallel) {
      std::vector<Seq> seqs;
      std::vector<size_t> ids;
      for (size_t i = first; i < std::min(cases_.size(), first + parallel); ++i) {
        Seq s;
        s.tokens = cases_[i].prompt;
        s.prompt_len = s.tokens.size();
        const int base = static_cast<int>(seqs.size()) * blocks_per_seq;
        s.blocks.resize(blocks_per_seq);
        std::iota(s.blocks.begin(), s.blocks.end(), base);
        seqs.push_back(std::move(s));
        ids.push_back(i);
      }
      while (true) {
        ForwardBatch batch;
        std::vector<size_t> active;
        for (size_t j = 0; j < seqs.size(); ++j) {
          Seq& s = seqs[j];
          if (s.tokens.size() - s.prompt_len >= cases_[ids[j]].expected.size()) continue;
          const size_t n = std::min(chunk, s.tokens.size() - s.cached);
          SequenceChunk c;
          c.tokens = std::span<const int32_t>(s.tokens.data() + s.cached, n);
          c.start_pos = s.cached;
          c.block_table = s.blocks;
          c.want_logits = s.cached + n == s.tokens.size();
          batch.sequences.push_back(c);
          active.push_back(j);
        }
        if (active.empty()) break;
        std::vector<float> logits;
        const Status st = model.Forward(batch, &logits);
        EXPECT_TRUE(st.ok()) << st.ToString();
        if (!st.ok()) return out;
        size_t li = 0;
        for (size_t a = 0; a < active.size(); ++a) {
          Seq& s = seqs[active[a]];
          s.cached += static_cast<int32_t>(batch.sequences[a].tokens.size());
          if (batch.sequences[a].want_logits) {
            s.tokens.push_back(Argmax(logits.data() + li * n_vocab, n_vocab));
            ++li;
          }
        }
        EXPECT_EQ(li * n_vocab, logits.size());
      }
      for (size_t j = 0; j < seqs.size(); ++j) {
        out[ids[j]].assign(seqs[j].tokens.begin() + seqs[j].prompt_len, seqs[j].tokens.end());
      }
    }
    return out;
  }

  std::vector<Case> cases_;
};

TEST_F(StoriesGreedyTest, EachPromptAloneReproducesRecordedIds) {
  auto model = Load(1);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->config().arch, "llama");
  EXPECT_EQ(model->config().n_vocab, 512);
  const auto got = Run(*model, 1, 1 << 20);
  for (size_t i = 0; i < cases_.size(); ++i) EXPECT_EQ(got[i], cases_[i].expected) << "case " << i;
}

TEST_F(StoriesGreedyTest, AllPromptsBatchedWithChunkedPrefillReproduceRecordedIds) {
  auto model = Load(2);
  ASSERT_NE(model, nullptr);
  const auto got = Run(*model, cases_.size(), 3);
  for (size_t i = 0; i < cases_.size(); ++i) EXPECT_EQ(got[i], cases_[i].expected) << "case " << i;
}

TEST_F(StoriesGreedyTest, FirstStepLogitsMatchFloat64Reference) {
  // stories260K.greedy.json: logits after BOS at position 0, from a float64 reference pass,
  // rounded to 6 decimals. Tolerance 1e-4 absolute (float32 accumulation over 5 layers).
  std::ifstream in(kDir + "stories260K.greedy.json");
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = common::Json::Parse(ss.str());
  ASSERT_TRUE(j.ok());
  const auto& ref = j->Find("logits_step0")->as_array();
  auto model = Load(1, "f32");
  ASSERT_NE(model, nullptr);
  ASSERT_TRUE(model->AllocateKvCache(4, kBlockSize).ok());
  const std::vector<int32_t> bos = {1}, table = {2};
  ForwardBatch batch;
  batch.sequences.push_back({bos, 0, table, true});
  std::vector<float> logits;
  ASSERT_TRUE(model->Forward(batch, &logits).ok());
  ASSERT_EQ(logits.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(logits[i], ref[i].as_double(), 1e-4) << i;
}

TEST_F(StoriesGreedyTest, F32CacheReproducesFloat64Reference256Tokens) {
  // Margin as small as 0.004 (step 185): only an accurate F32 pass gets every token.
  std::ifstream in(kDir + "stories260K.greedy.json");
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = common::Json::Parse(ss.str());
  ASSERT_TRUE(j.ok());
  cases_.assign(1, Case{{1}, {}});
  for (const auto& v : j->Find("tokens")->as_array()) cases_[0].expected.push_back(v.as_int());
  ASSERT_EQ(cases_[0].expected.size(), 256u);
  auto model = Load(2, "f32");
  ASSERT_NE(model, nullptr);
  const auto got = Run(*model, 1, 1 << 20);
  EXPECT_EQ(got[0], cases_[0].expected);
}

TEST_F(StoriesGreedyTest, UnknownKvCacheTypeIsRejected) {
  ModelOptions o;
  o.kv_cache_type = "q4";
  EXPECT_EQ(Model::Load(kDir + "stories260K.gguf", o).status().code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_EQ(Model::Load(kDir + "missing.gguf", ModelOptions{}).status().code(),
            common::StatusCode::kNotFound);
}

TEST_F(StoriesGreedyTest, BadInputsGiveSpecificErrors) {
  auto model = Load(1);
  ASSERT_NE(model, nullptr);
  const std::vector<int32_t> toks = {1, 2, 3}, bad_tok = {1, 512}, table = {0};
  std::vector<float> logits;
  ForwardBatch batch;
  batch.sequences.push_back({toks, 0, table, true});
  EXPECT_EQ(model->Forward(batch, &logits).code(), common::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(model->AllocateKvCache(2, kBlockSize).ok());
  batch.sequences[0] = {bad_tok, 0, table, true};
  EXPECT_EQ(model->Forward(batch, &logits).code(), common::StatusCode::kInvalidArgument);
  const std::vector<int32_t> outside = {7};
  batch.sequences[0] = {toks, 0, outside, true};
  EXPECT_EQ(model->Forward(batch, &logits).code(), common::StatusCode::kInvalidArgument);
  batch.sequences[0] = {toks, 15, table, true};  // positions 15..17 need two blocks
  EXPECT_EQ(model->Forward(batch, &logits).code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(model->CopyKvBlock(0, 2).code(), common::StatusCode::kOutOfRange);
}

TEST_F(StoriesGreedyTest, CopiedKvBlockContinuesLikeTheOriginal) {
  // Prefix sharing: copy a sequence's only block and continue from the copy.
  auto model = Load(1);
  ASSERT_NE(model, nullptr);
  ASSERT_TRUE(model->AllocateKvCache(4, kBlockSize).ok());
  const std::vector<int32_t> prompt = cases_[0].prompt;
  const std::vector<int32_t> t0 = {0}, t3 = {3};
  std::vector<float> a, b;
  ForwardBatch batch;
  batch.sequences.push_back({prompt, 0, t0, true});
  ASSERT_TRUE(model->Forward(batch, &a).ok());
  ASSERT_TRUE(model->CopyKvBlock(0, 3).ok());
  const std::vector<int32_t> next = {Argmax(a.data(), 512)};
  const int32_t pos = static_cast<int32_t>(prompt.size());
  batch.sequences[0] = {next, pos, t0, true};
  ASSERT_TRUE(model->Forward(batch, &a).ok());
  batch.sequences[0] = {next, pos, t3, true};
  ASSERT_TRUE(model->Forward(batch, &b).ok());
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace inference
