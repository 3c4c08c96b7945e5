// CPU backend ops against plain loops: rotary embeddings (both pairings, offsets, frequency
// factors), per-head RMS norm, paged attention over a scattered block table with GQA in both KV
// cache types, MoE routing, expert products and step validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "inference/backend.h"
#include "inference/gguf.h"
#include "kernel_test_util.h"

namespace inference {
namespace {

using cpu::test_util::RandomVector;

class CpuBackendTest : public ::testing::Test, protected cpu::test_util::BackendFixture {
 protected:
  void SetUp() override { CreateBackend(); }

  // An F32 weight over `values`, held alive by the fixture.
  const BackendWeight& F32Weight(const std::vector<float>& values, std::vector<uint64_t> dims) {
    return UploadF32(values, std::move(dims));
  }
};

TEST_F(CpuBackendTest, RopeMatchesPlainRotationForBothPairingsWithOffsetsAndFactors) {
  const int n_head = 3, head_stride = 12, rot_offset = 4, n_rot = 8;
  const std::vector<float> factors = {1.0f, 2.0f, 4.0f, 8.0f};
  const BackendWeight& ff = F32Weight(factors, {4});
  for (RopeMode mode : {RopeMode::kNormal, RopeMode::kNeox}) {
    for (bool use_factors : {false, true}) {
      const std::vector<int32_t> tokens = {0, 0, 0}, table = {};
      StepInput step;
      step.tokens = tokens;
      step.sequences.push_back({0, 3, 5, table});  // positions 5, 6, 7
      ASSERT_TRUE(backend_->BeginStep(step).ok());
      TensorView x = Buffer(3, n_head * head_stride);
      const auto init = RandomVector(3 * n_head * head_stride, 9);
      std::memcpy(x.data, init.data(), init.size() * sizeof(float));
      backend_->Rope(x, {n_head, head_stride, rot_offset, n_rot, mode, 10000.0f,
                         use_factors ? &ff : nullptr});
      for (int r = 0; r < 3; ++r) {
        for (int h = 0; h < n_head; ++h) {
          std::vector<double> want(head_stride);
          const float* in = init.data() + r * x.cols + h * head_stride;
          for (int i = 0; i < head_stride; ++i) want[i] = in[i];
          for (int i = 0; i < n_rot / 2; ++i) {
            const double theta = (5 + r) * std::pow(10000.0, -2.0 * i / n_rot) /
                                 (use_factors ? factors[i] : 1.0);
            const int a = rot_offset + (mode == RopeMode::kNormal ? 2 * i : i);
            const int b = rot_offset + (mode == RopeMode::kNormal ? 2 * i + 1 : i + n_rot / 2);
            want[a] = in[a] * std::cos(theta) - in[b] * std::sin(theta);
            want[b] = in[a] * std::sin(theta) + in[b] * std::cos(theta);
          }
          for (int i = 0; i < head_stride; ++i) {
            EXPECT_NEAR(x.data[r * x.cols + h * head_stride + i], want[i], 1e-5)
                << "mode " << static_cast<int>(mode) << " factors " << use_factors;
          }
        }
      }
    }
  }
}

TEST_F(CpuBackendTest, RmsNormAppliesPerHeadWhenGammaIsNarrower) {
  const auto g = RandomVector(4, 3);
  const BackendWeight& gamma = F32Weight(g, {4});
  TensorView x = Buffer(2, 8);
  const auto init = RandomVector(16, 4);
  std::memcpy(x.data, init.data(), 64);
  TensorView y = Buffer(2, 8);
  backend_->RmsNorm(x, gamma, 1e-6f, y);
  for (int seg = 0; seg < 4; ++seg) {
    double ss = 0.0;
    for (int i = 0; i < 4; ++i) ss += init[seg * 4 + i] * init[seg * 4 + i];
    const double s = 1.0 / std::sqrt(ss / 4 + 1e-6);
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(y.data[seg * 4 + i], init[seg * 4 + i] * s * g[i], 1e-5);
  }
}

// Two sequences in one step over scattered blocks; attention must equal a dense causal
// softmax over each sequence's own keys, for an F32 cache (1e-5) and an F16 cache (2e-3).
TEST_F(CpuBackendTest, PagedAttentionOverScatteredBlocksMatchesDenseCausalAttention) {
  const int n_head = 4, n_kv = 2, hd_k = 8, hd_v = 6, block = 4;
  for (KvCacheType type : {KvCacheType::kF32, KvCacheType::kF16}) {
    ASSERT_TRUE(backend_->AllocateKvCache(type, 1, 8, block, n_kv * hd_k, n_kv * hd_v).ok());
    const std::vector<int32_t> table_a = {5, 1, 7}, table_b = {2, 6};
    const int len_a = 10, len_b = 7;  // both prefilled in one step
    std::vector<int32_t> tokens(len_a + len_b, 0);
    StepInput step;
    step.tokens = tokens;
    step.sequences.push_back({0, len_a, 0, table_a});
    step.sequences.push_back({len_a, len_b, 0, table_b});
    ASSERT_TRUE(backend_->BeginStep(step).ok());
    const int n = len_a + len_b;
    TensorView q = Buffer(n, n_head * hd_k), k = Buffer(n, n_kv * hd_k), v = Buffer(n, n_kv * hd_v);
    TensorView out = Buffer(n, n_head * hd_v);
    const auto qi = RandomVector(q.rows * q.cols, 1), ki = RandomVector(k.rows * k.cols, 2),
               vi = RandomVector(v.rows * v.cols, 3);
    std::memcpy(q.data, qi.data(), qi.size() * 4);
    std::memcpy(k.data, ki.data(), ki.size() * 4);
    std::memcpy(v.data, vi.data(), vi.size() * 4);
    const float scale = 0.3f;
    backend_->PagedAttention({0, n_head, n_kv, hd_k, hd_v, scale}, q, k, v, out);
    for (int r = 0; r < n; ++r) {
      const int first = r < len_a ? 0 : len_a;
      for (int h = 0; h < n_head; ++h) {
        const int kh = h / (n_head / n_kv);
        std::vector<double> s;
        for (int j = first; j <= r; ++j) {
          double dot = 0;
          for (int i = 0; i < hd_k; ++i) dot += qi[r * q.cols + h * hd_k + i] * ki[j * k.cols + kh * hd_k + i];
          s.push_back(dot * scale);
        }
        const double mx = *std::max_element(s.begin(), s.end());
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int i = 0; i < hd_v; ++i) {
          double want = 0;
          for (int j = first; j <= r; ++j) want += s[j - first] / sum * vi[j * v.cols + kh * hd_v + i];
          EXPECT_NEAR(out.data[r * out.cols + h * hd_v + i], want,
                      type == KvCacheType::kF32 ? 1e-5 : 2e-3);
        }
      }
    }
  }
}

TEST_F(CpuBackendTest, MoeRouteSelectsTopKWithBiasNormalizationAndScale) {
  TensorView logits = Buffer(1, 4);
  const float l[4] = {1.0f, 3.0f, 2.0f, 0.5f};
  std::memcpy(logits.data, l, sizeof(l));
  TensorView ids = Buffer(1, 2), w = Buffer(1, 2);
  double p[4], sum = 0;
  for (int e = 0; e < 4; ++e) sum += p[e] = std::exp(l[e]);
  for (double& x : p) x /= sum;

  backend_->MoeRoute(logits, {4, 2, MoeGating::kSoftmax, false, 1.0f}, nullptr, ids, w);
  EXPECT_EQ(ids.ints()[0], 1);
  EXPECT_EQ(ids.ints()[1], 2);
  EXPECT_NEAR(w.data[0], p[1], 1e-6);
  EXPECT_NEAR(w.data[1], p[2], 1e-6);

  backend_->MoeRoute(logits, {4, 2, MoeGating::kSoftmax, true, 2.0f}, nullptr, ids, w);
  EXPECT_NEAR(w.data[0], 2.0 * p[1] / (p[1] + p[2]), 1e-6);

  // A selection bias moves expert 3 into the top 2, but its weight stays its probability.
  const BackendWeight& bias = F32Weight({0.0f, 0.0f, 0.0f, 1.0f}, {4});
  backend_->MoeRoute(logits, {4, 2, MoeGating::kSoftmax, false, 1.0f}, &bias, ids, w);
  EXPECT_EQ(ids.ints()[0], 3);
  EXPECT_EQ(ids.ints()[1], 1);
  EXPECT_NEAR(w.data[0], p[3], 1e-6);

  backend_->MoeRoute(logits, {4, 1, MoeGating::kSigmoid, false, 1.0f}, nullptr, ids, w);
  EXPECT_EQ(ids.ints()[0], 1);
  EXPECT_NEAR(w.data[0], 1.0 / (1.0 + std::exp(-3.0)), 1e-6);
}

TEST_F(CpuBackendTest, MoeMatMulUsesEachSlotsExpert) {
  // 3 experts of 2x3; two tokens, two slots each.
  const auto e = RandomVector(3 * 2 * 3, 5);
  const BackendWeight& experts = F32Weight(e, {3, 2, 3});
  TensorView x = Buffer(2, 3);
  const auto xi = RandomVector(6, 6);
  std::memcpy(x.data, xi.data(), 24);
  TensorView ids = Buffer(2, 2);
  const int32_t chosen[4] = {2, 0, 1, 2};
  std::memcpy(ids.data, chosen, sizeof(chosen));
  TensorView y = Buffer(4, 2);
  backend_->MoeMatMul(experts, x, false, ids, y);
  for (int t = 0; t < 2; ++t) {
    for (int j = 0; j < 2; ++j) {
      for (int o = 0; o < 2; ++o) {
        double want = 0;
        for (int i = 0; i < 3; ++i) want += e[chosen[t * 2 + j] * 6 + o * 3 + i] * xi[t * 3 + i];
        EXPECT_NEAR(y.data[(t * 2 + j) * 2 + o], want, 1e-5);
      }
    }
  }
}

TEST_F(CpuBackendTest, BeginStepRejectsBadLayouts) {
  ASSERT_TRUE(backend_->AllocateKvCache(KvCacheType::kF16, 1, 4, 16, 8, 8).ok());
  const std::vector<int32_t> tokens = {1, 2, 3}, ok_table = {0}, bad_table = {4};
  StepInput step;
  step.tokens = tokens;
  step.sequences.push_back({0, 3, 0, bad_table});
  EXPECT_EQ(backend_->BeginStep(step).code(), common::StatusCode::kInvalidArgument);
  step.sequences[0] = {0, 4, 0, ok_table};  // more rows than tokens
  EXPECT_EQ(backend_->BeginStep(step).code(), common::StatusCode::kInvalidArgument);
  step.sequences[0] = {0, 2, 0, ok_table};
  step.sequences.push_back({1, 2, 0, ok_table});  // overlapping rows
  EXPECT_EQ(backend_->BeginStep(step).code(), common::StatusCode::kInvalidArgument);
  step.sequences.pop_back();
  step.logit_rows = {3};
  EXPECT_EQ(backend_->BeginStep(step).code(), common::StatusCode::kInvalidArgument);
  step.logit_rows = {1};
  EXPECT_TRUE(backend_->BeginStep(step).ok());
  EXPECT_EQ(backend_->AllocateKvCache(KvCacheType::kF16, 1, 0, 16, 8, 8).code(),
            common::StatusCode::kInvalidArgument);
}

TEST_F(CpuBackendTest, UnsupportedWeightTypeIsUnimplemented) {
  std::vector<uint8_t> bytes(20 * 2);
  GgufTensor t;
  t.name = "q4_1";
  t.dims = {32, 2};
  t.type = GgmlType::kQ4_1;
  t.n_elements = 64;
  t.n_bytes = bytes.size();
  t.offset = 0;
  t.data = bytes.data();
  EXPECT_EQ(backend_->UploadWeight(t).status().code(), common::StatusCode::kUnimplemented);
}

TEST_F(CpuBackendTest, NameSaysCpuIsaAndThreads) {
  const std::string name = backend_->name();
  EXPECT_EQ(name.rfind("cpu (", 0), 0u) << name;
  EXPECT_NE(name.find("2 threads"), std::string::npos) << name;
}

}  // namespace
}  // namespace inference
