// Repacked Q8_0 / Q4_0 / F32 matrices (16-row interleaved groups) and their micro-kernels, for every
// instruction set this processor supports, against the plain per-row kernels and double-precision
// loops; and the CPU backend ops that read repacked weights (products over column tiles, gathered
// expert rows, embedding lookups, exact router products) against plain loops.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"
#include "inference/backend.h"
#include "inference/gguf.h"
#include "inference/model.h"
#include "inference/quant.h"
#include "inference/synth.h"
#include "kernel_test_util.h"

namespace inference::cpu {
namespace {

using test_util::AllKernels;
using test_util::RandomVector;

// rows x cols random weights in the file layout of `type`.
std::vector<uint8_t> QuantizedMatrix(GgmlType type, int64_t rows, int64_t cols, uint32_t seed) {
  const size_t row_bytes = *GgmlRowBytes(type, cols);
  std::vector<uint8_t> w(row_bytes * rows);
  for (int64_t r = 0; r < rows; ++r) {
    const auto f = RandomVector(cols, seed + static_cast<uint32_t>(r), 0.5f);
    EXPECT_TRUE(QuantizeRow(type, f.data(), w.data() + r * row_bytes, cols).ok());
  }
  return w;
}

std::vector<uint8_t> Repacked(GgmlType type, const std::vector<uint8_t>& w, int64_t rows,
                              int64_t cols) {
  std::vector<uint8_t> p(RepackedMatrixBytes(type, rows, cols));
  RepackGroups(type, w.data(), rows, cols, 0, (rows + kRowGroup - 1) / kRowGroup, p.data());
  return p;
}

struct Shape {
  GgmlType type;
  int64_t rows;
  int64_t cols;
};

std::string ShapeName(const ::testing::TestParamInfo<Shape>& info) {
  return std::string(GgmlTypeName(info.param.type)) + "_" + std::to_string(info.param.rows) +
         "x" + std::to_string(info.param.cols);
}

class RepackTest : public ::testing::TestWithParam<Shape> {};

TEST_P(RepackTest, RepackedRowsDequantizeExactlyLikeTheFileRows) {
  const Shape s = GetParam();
  const auto w = QuantizedMatrix(s.type, s.rows, s.cols, 7);
  const auto p = Repacked(s.type, w, s.rows, s.cols);
  EXPECT_EQ(p.size(), static_cast<size_t>((s.rows + kRowGroup - 1) / kRowGroup) *
                          GroupBlockBytes(s.type) * RepackedBlocks(s.cols));
  const size_t row_bytes = *GgmlRowBytes(s.type, s.cols);
  std::vector<float> want(s.cols), got(s.cols);
  for (int64_t r = 0; r < s.rows; ++r) {
    ASSERT_TRUE(inference::DequantizeRow(s.type, w.data() + r * row_bytes, want.data(), s.cols).ok());
    DequantizeRepackedRow(s.type, p.data(), s.cols, r, got.data());
    for (int64_t i = 0; i < s.cols; ++i) ASSERT_EQ(got[i], want[i]) << "row " << r << " col " << i;
  }
}

// Every group x 1..kMaxGroupCols columns, every ISA copy: each real row equals the plain per-row
// kernel (same integer block sums; float order differs) and the double-precision dot of the
// dequantized operands; padding rows give exactly 0.
TEST_P(RepackTest, GroupKernelsMatchPlainRowKernelsAndDoubleReference) {
  const Shape s = GetParam();
  const auto w = QuantizedMatrix(s.type, s.rows, s.cols, 11);
  const auto p = Repacked(s.type, w, s.rows, s.cols);
  const size_t row_bytes = *GgmlRowBytes(s.type, s.cols);
  const int64_t nb = RepackedBlocks(s.cols);
  const int64_t groups = (s.rows + kRowGroup - 1) / kRowGroup;
  std::vector<std::vector<float>> w_deq(s.rows, std::vector<float>(s.cols));
  for (int64_t r = 0; r < s.rows; ++r) {
    ASSERT_TRUE(inference::DequantizeRow(s.type, w.data() + r * row_bytes, w_deq[r].data(), s.cols).ok());
  }
  for (const Kernels* k : AllKernels()) {
    const GroupDotFn gdot = GroupDotFor(*k, s.type);
    TypeTraits tt;
    ASSERT_TRUE(GetTypeTraits(*k, s.type, &tt));
    const DotFn dot = tt.dot;
    // Rows padded to whole blocks (F32 rows of other lengths), the padding zero.
    const size_t act_bytes = ActivationBytes(tt.act, RepackedBlocks(s.cols) * kQK);
    std::vector<uint8_t> acts(act_bytes * kMaxGroupCols, 0);
    std::vector<std::vector<float>> x_deq;
    for (int j = 0; j < kMaxGroupCols; ++j) {
      const auto x = RandomVector(s.cols, 300 + j, 2.0f);
      ConvertActivations(*k, tt.act, x.data(), s.cols, acts.data() + j * act_bytes);
      if (tt.act == ActivationFormat::kF32) {
        x_deq.push_back(x);
        continue;
      }
      const ActQ8_0* b = reinterpret_cast<const ActQ8_0*>(acts.data() + j * act_bytes);
      std::vector<float> xd(s.cols);
      for (int64_t i = 0; i < s.cols; ++i) xd[i] = b[i / kQK].d * b[i / kQK].qs[i % kQK];
      x_deq.push_back(xd);
    }
    for (int nx = 1; nx <= kMaxGroupCols; ++nx) {
      for (int64_t g = 0; g < groups; ++g) {
        float out[kRowGroup * kMaxGroupCols];
        gdot(nb, p.data() + g * nb * GroupBlockBytes(s.type), acts.data(), act_bytes, nx, out);
        for (int j = 0; j < nx; ++j) {
          for (int r = 0; r < kRowGroup; ++r) {
            const int64_t row = g * kRowGroup + r;
            const float got = out[j * kRowGroup + r];
            if (row >= s.rows) {
              EXPECT_EQ(got, 0.0f) << "padding row " << row << " isa=" << k->isa;
              continue;
            }
            float plain;
            dot(s.cols, w.data() + row * row_bytes, acts.data() + j * act_bytes, act_bytes, 1,
                &plain);
            double ref = 0.0, mag = 0.0;
            for (int64_t i = 0; i < s.cols; ++i) {
              ref += static_cast<double>(w_deq[row][i]) * x_deq[j][i];
              mag += std::fabs(static_cast<double>(w_deq[row][i]) * x_deq[j][i]);
            }
            EXPECT_NEAR(got, ref, 1e-5 * mag + 1e-6)
                << "isa=" << k->isa << " nx=" << nx << " col " << j << " row " << row;
            EXPECT_NEAR(got, plain, 1e-5 * mag + 1e-6)
                << "isa=" << k->isa << " nx=" << nx << " col " << j << " row " << row;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RepackTest,
    ::testing::Values(Shape{GgmlType::kQ8_0, 1, 32}, Shape{GgmlType::kQ8_0, 16, 64},
                      Shape{GgmlType::kQ8_0, 37, 96}, Shape{GgmlType::kQ8_0, 48, 320},
                      Shape{GgmlType::kQ4_0, 1, 32}, Shape{GgmlType::kQ4_0, 15, 64},
                      Shape{GgmlType::kQ4_0, 37, 96}, Shape{GgmlType::kQ4_0, 48, 320},
                      Shape{GgmlType::kF32, 1, 32}, Shape{GgmlType::kF32, 17, 64},
                      Shape{GgmlType::kF32, 37, 96}, Shape{GgmlType::kF32, 512, 64},
                      Shape{GgmlType::kF32, 64, 172}, Shape{GgmlType::kF32, 5, 7}),
    ShapeName);

// --- The backend over repacked weights ---------------------------------------------------------

class RepackedBackendTest : public ::testing::TestWithParam<GgmlType>,
                            protected test_util::BackendFixture {
 protected:
  void SetUp() override { CreateBackend(); }

  // A quantized weight of `dims` (ne0 first) of the parameter's type.
  const BackendWeight& Weight(const std::vector<uint8_t>& bytes, std::vector<uint64_t> dims) {
    return Upload(GetParam(), bytes, std::move(dims));
  }

  std::vector<float> DequantizedMatrix(const std::vector<uint8_t>& w, int64_t rows, int64_t cols,
                                       size_t offset = 0) {
    const size_t row_bytes = *GgmlRowBytes(GetParam(), cols);
    std::vector<float> out(rows * cols);
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_TRUE(inference::DequantizeRow(GetParam(), w.data() + offset + r * row_bytes,
                                           out.data() + r * cols, cols).ok());
    }
    return out;
  }
};

// 37 output rows (two full groups and a padded one); 1, 9 and 300 tokens (300 spans two column
// tiles of the product and a partial micro-kernel). Tolerance: the 8-bit activation rounding,
// 1% of sum |w * x|.
TEST_P(RepackedBackendTest, MatMulMatchesPlainLoopsForPaddedGroupsAndColumnTiles) {
  constexpr int64_t kRows = 37, kCols = 96;
  const auto w = QuantizedMatrix(GetParam(), kRows, kCols, 21);
  const BackendWeight& weight = Weight(w, {kCols, kRows});
  const auto wd = DequantizedMatrix(w, kRows, kCols);
  for (int64_t n : {1, 9, 300}) {
    TensorView x = Buffer(n, kCols);
    const auto xv = RandomVector(n * kCols, static_cast<uint32_t>(n), 1.5f);
    std::memcpy(x.data, xv.data(), xv.size() * sizeof(float));
    TensorView y = Buffer(n, kRows);
    backend_->MatMul(weight, x, y);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t o = 0; o < kRows; ++o) {
        double want = 0.0, mag = 0.0;
        for (int64_t i = 0; i < kCols; ++i) {
          want += static_cast<double>(wd[o * kCols + i]) * xv[t * kCols + i];
          mag += std::fabs(static_cast<double>(wd[o * kCols + i]) * xv[t * kCols + i]);
        }
        ASSERT_NEAR(y.data[t * kRows + o], want, 1e-2 * mag) << "n=" << n << " t=" << t << " o=" << o;
      }
    }
  }
}

// A 3-D expert stack: each (token, slot) uses its expert's repacked matrix; tokens gathered.
TEST_P(RepackedBackendTest, MoeMatMulOverRepackedExpertsUsesEachSlotsExpert) {
  constexpr int64_t kExperts = 3, kRows = 20, kCols = 64, kTokens = 5, kSlots = 2;
  const size_t mat_bytes = *GgmlRowBytes(GetParam(), kCols) * kRows;
  std::vector<uint8_t> all;
  for (int e = 0; e < kExperts; ++e) {
    const auto m = QuantizedMatrix(GetParam(), kRows, kCols, 40 + 100 * e);
    all.insert(all.end(), m.begin(), m.end());
  }
  const BackendWeight& experts = Weight(all, {kCols, kRows, kExperts});
  TensorView x = Buffer(kTokens, kCols);
  const auto xv = RandomVector(kTokens * kCols, 9);
  std::memcpy(x.data, xv.data(), xv.size() * sizeof(float));
  TensorView ids = Buffer(kTokens, kSlots);
  const int32_t chosen[kTokens * kSlots] = {2, 0, 1, 2, 0, 1, 2, 1, 0, 2};
  std::memcpy(ids.data, chosen, sizeof(chosen));
  TensorView y = Buffer(kTokens * kSlots, kRows);
  backend_->MoeMatMul(experts, x, false, ids, y);
  for (int64_t t = 0; t < kTokens; ++t) {
    for (int64_t j = 0; j < kSlots; ++j) {
      const int e = chosen[t * kSlots + j];
      const auto wd = DequantizedMatrix(all, kRows, kCols, e * mat_bytes);
      for (int64_t o = 0; o < kRows; ++o) {
        double want = 0.0, mag = 0.0;
        for (int64_t i = 0; i < kCols; ++i) {
          want += static_cast<double>(wd[o * kCols + i]) * xv[t * kCols + i];
          mag += std::fabs(static_cast<double>(wd[o * kCols + i]) * xv[t * kCols + i]);
        }
        ASSERT_NEAR(y.data[(t * kSlots + j) * kRows + o], want, 1e-2 * mag)
            << "token " << t << " slot " << j << " expert " << e << " row " << o;
      }
    }
  }
}

// A table used both for lookups and as the tied output projection: lookups de-interleave the
// repacked rows exactly; the exact product (MoE routers) expands the same rows.
TEST_P(RepackedBackendTest, EmbedAndExactProductReadRepackedRowsExactly) {
  constexpr int64_t kVocab = 37, kCols = 64;
  const auto w = QuantizedMatrix(GetParam(), kVocab, kCols, 77);
  const BackendWeight& table = Weight(w, {kCols, kVocab});
  const auto wd = DequantizedMatrix(w, kVocab, kCols);
  const std::vector<int32_t> tokens = {36, 0, 17, 16, 15, 33};
  StepInput step;
  step.tokens = tokens;
  StepSequence seq;
  seq.n_tokens = static_cast<int32_t>(tokens.size());
  step.sequences.push_back(seq);
  ASSERT_TRUE(backend_->BeginStep(step).ok());
  TensorView out = Buffer(static_cast<int64_t>(tokens.size()), kCols);
  backend_->Embed(table, out);
  for (size_t t = 0; t < tokens.size(); ++t) {
    for (int64_t i = 0; i < kCols; ++i) {
      ASSERT_EQ(out.data[t * kCols + i], wd[tokens[t] * kCols + i]) << "token " << tokens[t];
    }
  }
  TensorView y = Buffer(static_cast<int64_t>(tokens.size()), kVocab);
  backend_->MatMulExact(table, out, y);
  for (size_t t = 0; t < tokens.size(); ++t) {
    for (int64_t o = 0; o < kVocab; ++o) {
      double want = 0.0, mag = 0.0;
      for (int64_t i = 0; i < kCols; ++i) {
        want += static_cast<double>(wd[o * kCols + i]) * out.data[t * kCols + i];
        mag += std::fabs(static_cast<double>(wd[o * kCols + i]) * out.data[t * kCols + i]);
      }
      ASSERT_NEAR(y.data[t * kVocab + o], want, 1e-5 * mag + 1e-6);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, RepackedBackendTest,
                         ::testing::Values(GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kF32),
                         [](const ::testing::TestParamInfo<GgmlType>& p) {
                           return std::string(GgmlTypeName(p.param));
                         });

// --- Resident memory of a loaded model ----------------------------------------------------------

// Resident bytes of this process's mappings of `path` (from /proc/self/smaps).
int64_t MappedRssBytes(const std::string& path) {
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool in_file = false;
  int64_t kb = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const bool header = std::isxdigit(static_cast<unsigned char>(line[0])) &&
                        line.find('-') != std::string::npos && line.find(':') > line.find(' ');
    if (header) {
      in_file = line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0;
    } else if (in_file && line.rfind("Rss:", 0) == 0) {
      kb += std::strtoll(line.c_str() + 4, nullptr, 10);
    }
  }
  return kb * 1024;
}

// F32 rows that are not whole blocks (100 inputs, padded to 128) compute exactly the plain sum,
// also when the activation scratch still holds NaNs past the row from a previous product.
class PaddedF32Test : public ::testing::Test, protected test_util::BackendFixture {
 protected:
  void SetUp() override { CreateBackend(); }
};

TEST_F(PaddedF32Test, PaddedRowsIgnoreWhateverFollowsTheActivations) {
  const auto wide = RandomVector(37 * 128, 5, 0.5f);
  const auto narrow = RandomVector(37 * 100, 6, 0.5f);
  const BackendWeight& w128 = UploadF32(wide, {128, 37});
  const BackendWeight& w100 = UploadF32(narrow, {100, 37});
  for (int64_t n : {1, 9}) {
    TensorView xn = Buffer(n, 128);
    for (int64_t i = 0; i < n * 128; ++i) xn.data[i] = std::nanf("");
    TensorView yn = Buffer(n, 37);
    backend_->MatMul(w128, xn, yn);  // leaves NaNs in every activation row of the scratch
    TensorView x = Buffer(n, 100);
    const auto xv = RandomVector(n * 100, static_cast<uint32_t>(n), 1.5f);
    std::memcpy(x.data, xv.data(), xv.size() * sizeof(float));
    TensorView y = Buffer(n, 37);
    backend_->MatMul(w100, x, y);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t o = 0; o < 37; ++o) {
        double want = 0.0, mag = 0.0;
        for (int64_t i = 0; i < 100; ++i) {
          want += static_cast<double>(narrow[o * 100 + i]) * xv[t * 100 + i];
          mag += std::fabs(static_cast<double>(narrow[o * 100 + i]) * xv[t * 100 + i]);
        }
        ASSERT_NEAR(y.data[t * 37 + o], want, 1e-5 * mag) << "n=" << n << " t=" << t << " o=" << o;
      }
    }
  }
}

// After loading a Q8_0 / Q4_0 model from a file, the repacked copies are the only resident copy:
// the mapped file pages of the repacked tensors were released (what remains is the header,
// metadata, the float norm vectors and partial pages at tensor edges), and a forward pass reads
// none of them back.
TEST_P(RepackedBackendTest, LoadedModelKeepsNoFilePagesOfRepackedTensors) {
  SynthConfig config;
  config.arch = "llama";
  config.n_embd = 512;
  config.n_head = 8;
  config.n_head_kv = 4;
  config.n_ff = 1536;
  config.n_vocab = 4096;
  config.type = GetParam();
  const std::string path = ::testing::TempDir() + "repack_rss_" + GgmlTypeName(GetParam()) + ".gguf";
  ASSERT_TRUE(SynthesizeToFile(config, nullptr, path).ok());
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  const int64_t file_bytes = static_cast<int64_t>(f.tellg());
  ASSERT_GT(file_bytes, 4 << 20);

  ModelOptions o;
  o.threads = 2;
  o.backend = "cpu";
  auto model = Model::Load(path, o);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const int64_t after_load = MappedRssBytes(path);
  EXPECT_LT(after_load, file_bytes / 20) << "file " << file_bytes << " bytes";

  ASSERT_TRUE((*model)->AllocateKvCache(4, 16).ok());
  std::vector<int32_t> tokens(20);
  std::iota(tokens.begin(), tokens.end(), 1);
  const std::vector<int32_t> table = {0, 1};
  ForwardBatch b;
  b.sequences.push_back({tokens, 0, table, true});
  std::vector<float> logits;
  ASSERT_TRUE((*model)->Forward(b, &logits).ok());
  ASSERT_EQ(logits.size(), 4096u);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
  EXPECT_LT(MappedRssBytes(path), file_bytes / 20);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace inference::cpu
