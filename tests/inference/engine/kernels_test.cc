// CPU kernels against plain double-precision loops, for every weight type and every instruction
// set this processor supports.
#include "backend/cpu/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/thread_pool.h"
#include "inference/quant.h"
#include "kernel_test_util.h"

namespace inference::cpu {
namespace {

using test_util::AllKernels;
using test_util::RandomVector;

// The activation row as the kernel sees it, back in floats (our Q8 formats are exact to undo).
std::vector<float> DequantizeActivations(ActivationFormat f, const std::vector<uint8_t>& a,
                                         int64_t n) {
  std::vector<float> x(n);
  if (f == ActivationFormat::kF32) {
    std::memcpy(x.data(), a.data(), n * sizeof(float));
  } else if (f == ActivationFormat::kQ8_0) {
    const ActQ8_0* b = reinterpret_cast<const ActQ8_0*>(a.data());
    for (int64_t i = 0; i < n; ++i) x[i] = b[i / kQK].d * b[i / kQK].qs[i % kQK];
  } else {
    const ActQ8_K* b = reinterpret_cast<const ActQ8_K*>(a.data());
    for (int64_t i = 0; i < n; ++i) x[i] = b[i / kQKK].d * b[i / kQKK].qs[i % kQKK];
  }
  return x;
}

struct TypeCase {
  GgmlType type;
  int64_t n;
};

class DotTest : public ::testing::TestWithParam<TypeCase> {};

// For each type: quantize random weight rows with quant.h's reference quantizer, multiply with 1..4
// activation rows, and compare with sum(dequantized w * dequantized x) in double. The only error
// left is float accumulation: tolerance 1e-4 of sum|w*x|.
TEST_P(DotTest, MatchesDoublePrecisionDotOfDequantizedOperands) {
  const TypeCase tc = GetParam();
  const int64_t n = tc.n;
  const auto w_f = RandomVector(n, 1, 0.5f);
  auto row_bytes = GgmlRowBytes(tc.type, n);
  ASSERT_TRUE(row_bytes.ok());
  std::vector<uint8_t> w(*row_bytes);
  ASSERT_TRUE(QuantizeRow(tc.type, w_f.data(), w.data(), n).ok());
  std::vector<float> w_deq(n);
  ASSERT_TRUE(inference::DequantizeRow(tc.type, w.data(), w_deq.data(), n).ok());

  for (const Kernels* k : AllKernels()) {
    TypeTraits tt;
    ASSERT_TRUE(GetTypeTraits(*k, tc.type, &tt));
    const size_t act_bytes = ActivationBytes(tt.act, n);
    std::vector<uint8_t> acts(act_bytes * kMaxDotCols);
    std::vector<std::vector<float>> x_deq;
    for (int j = 0; j < kMaxDotCols; ++j) {
      const auto x = RandomVector(n, 100 + j, 2.0f);
      ConvertActivations(*k, tt.act, x.data(), n, acts.data() + j * act_bytes);
      std::vector<uint8_t> one(acts.begin() + j * act_bytes, acts.begin() + (j + 1) * act_bytes);
      x_deq.push_back(DequantizeActivations(tt.act, one, n));
    }
    for (int nx = 1; nx <= kMaxDotCols; ++nx) {
      float out[kMaxDotCols];
      tt.dot(n, w.data(), acts.data(), act_bytes, nx, out);
      for (int j = 0; j < nx; ++j) {
        double ref = 0.0, mag = 0.0;
        for (int64_t i = 0; i < n; ++i) {
          ref += static_cast<double>(w_deq[i]) * x_deq[j][i];
          mag += std::fabs(static_cast<double>(w_deq[i]) * x_deq[j][i]);
        }
        EXPECT_NEAR(out[j], ref, 1e-4 * mag + 1e-6)
            << GgmlTypeName(tc.type) << " isa=" << k->isa << " nx=" << nx << " j=" << j;
      }
    }
  }
}

// Against the unquantized activations the error of Q8 activation rounding remains: within 1% of
// sum|w*x| (the 8-bit step is 1/254 of the block's range).
TEST_P(DotTest, CloseToFloatDotWithUnquantizedActivations) {
  const TypeCase tc = GetParam();
  const int64_t n = tc.n;
  const auto w_f = RandomVector(n, 7, 0.5f);
  std::vector<uint8_t> w(*GgmlRowBytes(tc.type, n));
  ASSERT_TRUE(QuantizeRow(tc.type, w_f.data(), w.data(), n).ok());
  std::vector<float> w_deq(n);
  ASSERT_TRUE(inference::DequantizeRow(tc.type, w.data(), w_deq.data(), n).ok());
  const auto x = RandomVector(n, 8, 1.0f);
  const Kernels& k = BestKernels();
  TypeTraits tt;
  ASSERT_TRUE(GetTypeTraits(k, tc.type, &tt));
  std::vector<uint8_t> act(ActivationBytes(tt.act, n));
  ConvertActivations(k, tt.act, x.data(), n, act.data());
  float out;
  tt.dot(n, w.data(), act.data(), act.size(), 1, &out);
  double ref = 0.0, mag = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    ref += static_cast<double>(w_deq[i]) * x[i];
    mag += std::fabs(static_cast<double>(w_deq[i]) * x[i]);
  }
  EXPECT_NEAR(out, ref, 0.01 * mag);
}

INSTANTIATE_TEST_SUITE_P(
    AllWeightTypes, DotTest,
    ::testing::Values(TypeCase{GgmlType::kF32, 67}, TypeCase{GgmlType::kF32, 1024},
                      TypeCase{GgmlType::kF16, 75}, TypeCase{GgmlType::kF16, 512},
                      TypeCase{GgmlType::kBF16, 77}, TypeCase{GgmlType::kBF16, 512},
                      TypeCase{GgmlType::kQ8_0, 32}, TypeCase{GgmlType::kQ8_0, 2048},
                      TypeCase{GgmlType::kQ4_0, 32}, TypeCase{GgmlType::kQ4_0, 2048},
                      TypeCase{GgmlType::kQ4_K, 256}, TypeCase{GgmlType::kQ4_K, 1024},
                      TypeCase{GgmlType::kQ5_K, 256}, TypeCase{GgmlType::kQ5_K, 1024},
                      TypeCase{GgmlType::kQ6_K, 256}, TypeCase{GgmlType::kQ6_K, 1024}),
    [](const ::testing::TestParamInfo<TypeCase>& case_info) {
      return std::string(GgmlTypeName(case_info.param.type)) + "_" + std::to_string(case_info.param.n);
    });

TEST(KernelsTest, BestKernelsPicksTheWidestSupportedIsa) {
  const Kernels& best = BestKernels();
  if (Avx512Kernels() != nullptr) {
    EXPECT_STREQ(best.isa, "AVX-512 VNNI");
  } else if (Avx2Kernels() != nullptr) {
    EXPECT_STREQ(best.isa, "AVX2");
  } else {
    EXPECT_STREQ(best.isa, "generic");
  }
}

TEST(KernelsTest, ActivationQuantizationKeepsBlockSums) {
  const auto x = RandomVector(512, 3);
  std::vector<ActQ8_0> q(512 / kQK);
  for (const Kernels* k : AllKernels()) {
    k->quantize_q8_0(x.data(), q.data(), 512);
    for (const ActQ8_0& b : q) {
      int sum = 0;
      for (int8_t v : b.qs) sum += v;
      EXPECT_EQ(b.sum, sum);
    }
  }
  std::vector<ActQ8_K> qk(2);
  for (const Kernels* k : AllKernels()) {
    k->quantize_q8_k(x.data(), qk.data(), 512);
    for (const ActQ8_K& b : qk) {
      for (int g = 0; g < 16; ++g) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += b.qs[g * 16 + i];
        EXPECT_EQ(b.bsums[g], sum);
      }
    }
  }
}

TEST(KernelsTest, AxpyAndFloatDotMatchPlainLoops) {
  const auto a = RandomVector(133, 4);
  const auto b = RandomVector(133, 5);
  for (const Kernels* k : AllKernels()) {
    double ref = 0.0;
    for (int i = 0; i < 133; ++i) ref += static_cast<double>(a[i]) * b[i];
    EXPECT_NEAR(k->dot_ff(a.data(), b.data(), 133), ref, 1e-4);
    std::vector<float> y = b;
    k->axpy(0.5f, a.data(), y.data(), 133);
    for (int i = 0; i < 133; ++i) EXPECT_FLOAT_EQ(y[i], b[i] + 0.5f * a[i]);
  }
}

TEST(ThreadPoolTest, ParallelForVisitsEveryIndexOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      pool.ParallelFor(n, 3, [&](int64_t b, int64_t e, int t) {
        EXPECT_GE(t, 0);
        EXPECT_LT(t, threads);
        for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "threads=" << threads;
    }
  }
}

TEST(ThreadPoolTest, RunCallsTheCallerAndEachJoiningWorkerAtMostOnce) {
  ThreadPool pool(3);
  for (int iter = 0; iter < 500; ++iter) {
    std::atomic<int> calls[3] = {0, 0, 0};
    pool.Run([&](int t) { calls[t].fetch_add(1); });
    ASSERT_EQ(calls[0].load(), 1);
    ASSERT_LE(calls[1].load(), 1);
    ASSERT_LE(calls[2].load(), 1);
  }
}

TEST(ThreadPoolTest, WorkersJoinLongLoops) {
  // A loop long enough for the workers to wake up gets work on more than one thread.
  ThreadPool pool(2);
  std::atomic<int> seen_worker{0};
  for (int iter = 0; iter < 50 && seen_worker.load() == 0; ++iter) {
    pool.ParallelFor(64, 1, [&](int64_t, int64_t, int t) {
      if (t != 0) seen_worker.store(1);
      volatile double x = 0;
      for (int i = 0; i < 20000; ++i) x = x + i;
    });
  }
  EXPECT_EQ(seen_worker.load(), 1);
}

}  // namespace
}  // namespace inference::cpu
