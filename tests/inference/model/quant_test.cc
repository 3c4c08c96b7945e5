#include "inference/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace inference {
namespace {

std::vector<float> RandomRow(int n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

TEST(HalfTest, KnownBitPatterns) {
  EXPECT_EQ(Fp32ToFp16(1.0f), 0x3C00);
  EXPECT_EQ(Fp32ToFp16(-2.0f), 0xC000);
  EXPECT_EQ(Fp32ToFp16(65504.0f), 0x7BFF);
  EXPECT_EQ(Fp32ToFp16(65520.0f), 0x7C00);             // rounds to infinity
  EXPECT_EQ(Fp32ToFp16(5.9604645e-08f), 0x0001);       // smallest subnormal
  EXPECT_EQ(Fp32ToFp16(1.0f + 1.0f / 2048), 0x3C00);   // tie: to even
  EXPECT_EQ(Fp32ToFp16(1.0f + 3.0f / 2048), 0x3C02);   // tie: to even (up)
  EXPECT_EQ(Fp32ToFp16(NAN) & 0x7E00, 0x7E00);
  EXPECT_EQ(Fp16ToFp32(0x3555), 0.333251953125f);
  EXPECT_EQ(Fp16ToFp32(0x0001), 5.9604644775390625e-08f);
  EXPECT_TRUE(std::isinf(Fp16ToFp32(0xFC00)));
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;  // NaN payloads
    ASSERT_EQ(Fp32ToFp16(Fp16ToFp32(static_cast<uint16_t>(h))), h) << h;
  }
}

TEST(Bf16Test, RoundsToNearestEven) {
  EXPECT_EQ(Fp32ToBf16(1.0f), 0x3F80);
  EXPECT_EQ(Bf16ToFp32(0x3F80), 1.0f);
  uint32_t u = 0x3F808000;  // exactly halfway between 0x3F80 and 0x3F81
  float f;
  std::memcpy(&f, &u, 4);
  EXPECT_EQ(Fp32ToBf16(f), 0x3F80);
  u = 0x3F818000;
  std::memcpy(&f, &u, 4);
  EXPECT_EQ(Fp32ToBf16(f), 0x3F82);
}

TEST(QuantTest, Q4_0BlockOfExactLevelsRoundTrips) {
  // max |x| = 8 at a negative value gives d = 1: levels -8..7 are exact.
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>((i % 16) - 8);
  BlockQ4_0 b;
  QuantizeRowQ4_0(x.data(), &b, 32);
  EXPECT_EQ(Fp16ToFp32(b.d), 1.0f);
  EXPECT_EQ(b.qs[0], 0x00);
  EXPECT_EQ(b.qs[15], 0xFF);
  std::vector<float> y(32);
  DequantizeRowQ4_0(&b, y.data(), 32);
  EXPECT_EQ(x, y);
}

TEST(QuantTest, Q8_0ScaleIsMaxOver127) {
  std::vector<float> x(32, 0.0f);
  x[3] = -2.54f;
  x[7] = 1.27f;
  BlockQ8_0 b;
  QuantizeRowQ8_0(x.data(), &b, 32);
  EXPECT_EQ(b.d, Fp32ToFp16(0.02f));
  EXPECT_EQ(b.qs[3], -127);
  EXPECT_EQ(b.qs[7], 64);  // 63.5 rounds away from zero, as roundf does
}

// Relative RMS error after a round trip, per type, on Gaussian data. The
// bounds are those the formats achieve (ggml's test-quantize-fns uses
// similar thresholds); a layout or packing bug gives errors near 1.
struct Case {
  GgmlType type;
  double max_rel_rms;
};

class RoundTripTest : public ::testing::TestWithParam<Case> {};

TEST_P(RoundTripTest, ErrorIsWithinTheFormatsBound) {
  const Case c = GetParam();
  const int n = 4096;
  std::vector<float> x = RandomRow(n, 42, 0.02f);
  auto row = GgmlRowBytes(c.type, n);
  ASSERT_TRUE(row.ok());
  std::vector<uint8_t> q(*row);
  ASSERT_TRUE(QuantizeRow(c.type, x.data(), q.data(), n).ok());
  std::vector<float> y(n);
  ASSERT_TRUE(DequantizeRow(c.type, q.data(), y.data(), n).ok());
  double err = 0, ref = 0;
  for (int i = 0; i < n; ++i) {
    err += (x[i] - y[i]) * (x[i] - y[i]);
    ref += x[i] * x[i];
  }
  double rel = std::sqrt(err / ref);
  EXPECT_LT(rel, c.max_rel_rms) << GgmlTypeName(c.type);
  EXPECT_GT(rel, 0.0) << GgmlTypeName(c.type);
  // Deterministic: same bytes twice.
  std::vector<uint8_t> q2(*row);
  ASSERT_TRUE(QuantizeRow(c.type, x.data(), q2.data(), n).ok());
  EXPECT_EQ(q, q2);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, RoundTripTest,
                         ::testing::Values(Case{GgmlType::kF16, 1e-3}, Case{GgmlType::kBF16, 5e-3},
                                           Case{GgmlType::kQ8_0, 0.01}, Case{GgmlType::kQ4_0, 0.12},
                                           Case{GgmlType::kQ4_1, 0.11}, Case{GgmlType::kQ5_0, 0.06},
                                           Case{GgmlType::kQ5_1, 0.06}, Case{GgmlType::kQ4_K, 0.10},
                                           Case{GgmlType::kQ5_K, 0.05}, Case{GgmlType::kQ6_K, 0.025},
                                           Case{GgmlType::kQ8_K, 0.01}),
                         [](const auto& p) { return std::string(GgmlTypeName(p.param.type)); });

TEST(QuantTest, ZeroRowsQuantizeToZero) {
  std::vector<float> x(256, 0.0f), y(256, 1.0f);
  for (GgmlType t : {GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    std::vector<uint8_t> q(*GgmlRowBytes(t, 256));
    ASSERT_TRUE(QuantizeRow(t, x.data(), q.data(), 256).ok());
    ASSERT_TRUE(DequantizeRow(t, q.data(), y.data(), 256).ok());
    for (float v : y) ASSERT_EQ(v, 0.0f) << GgmlTypeName(t);
  }
}

TEST(QuantTest, GenericEntryPointsCheckTypeAndLength) {
  std::vector<float> x(100);
  std::vector<uint8_t> q(1000);
  EXPECT_EQ(QuantizeRow(GgmlType::kQ4_K, x.data(), q.data(), 100).code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(QuantizeRow(GgmlType::kIQ2_XXS, x.data(), q.data(), 256).code(), common::StatusCode::kUnimplemented);
}

TEST(QuantTest, Q4_KScalesPackAndUnpack) {
  std::vector<float> x = RandomRow(256, 7, 1.0f);
  BlockQ4_K b;
  QuantizeRowQ4_K(x.data(), &b, 256);
  // Every unpacked 6-bit scale is in range and at least one reaches 63.
  int max_sc = 0;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    GetScaleMinK4(j, b.scales, &sc, &m);
    EXPECT_LE(sc, 63);
    EXPECT_LE(m, 63);
    max_sc = std::max<int>(max_sc, sc);
  }
  EXPECT_EQ(max_sc, 63);
}

}  // namespace
}  // namespace inference
