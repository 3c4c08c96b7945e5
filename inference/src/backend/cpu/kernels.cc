#include "backend/cpu/kernels.h"

#include <cstring>

namespace inference::cpu {

namespace generic {
extern const Kernels kTable;
}
#if defined(INFERENCE_CPU_AVX2)
namespace avx2 {
extern const Kernels kTable;
}
#endif
#if defined(INFERENCE_CPU_AVX512)
namespace avx512 {
extern const Kernels kTable;
}
#endif

const Kernels& GenericKernels() { return generic::kTable; }

const Kernels* Avx2Kernels() {
#if defined(INFERENCE_CPU_AVX2)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c")) {
    return &avx2::kTable;
  }
#endif
  return nullptr;
}

const Kernels* Avx512Kernels() {
#if defined(INFERENCE_CPU_AVX512)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
      __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c")) {
    return &avx512::kTable;
  }
#endif
  return nullptr;
}

const Kernels& BestKernels() {
  static const Kernels* best = [] {
    if (const Kernels* k = Avx512Kernels()) return k;
    if (const Kernels* k = Avx2Kernels()) return k;
    return &GenericKernels();
  }();
  return *best;
}

bool GetTypeTraits(const Kernels& k, GgmlType type, TypeTraits* t) {
  switch (type) {
    case GgmlType::kF32:
      *t = {ActivationFormat::kF32, 1, sizeof(float), k.dot_f32};
      return true;
    case GgmlType::kF16:
      *t = {ActivationFormat::kF32, 1, sizeof(float), k.dot_f16};
      return true;
    case GgmlType::kBF16:
      *t = {ActivationFormat::kF32, 1, sizeof(float), k.dot_bf16};
      return true;
    case GgmlType::kQ4_0:
      *t = {ActivationFormat::kQ8_0, kQK, sizeof(ActQ8_0), k.dot_q4_0};
      return true;
    case GgmlType::kQ8_0:
      *t = {ActivationFormat::kQ8_0, kQK, sizeof(ActQ8_0), k.dot_q8_0};
      return true;
    case GgmlType::kQ4_K:
      *t = {ActivationFormat::kQ8_K, kQKK, sizeof(ActQ8_K), k.dot_q4_k};
      return true;
    case GgmlType::kQ5_K:
      *t = {ActivationFormat::kQ8_K, kQKK, sizeof(ActQ8_K), k.dot_q5_k};
      return true;
    case GgmlType::kQ6_K:
      *t = {ActivationFormat::kQ8_K, kQKK, sizeof(ActQ8_K), k.dot_q6_k};
      return true;
    default:
      return false;
  }
}

size_t ActivationBytes(ActivationFormat format, int64_t n) {
  switch (format) {
    case ActivationFormat::kF32:
      return static_cast<size_t>(n) * sizeof(float);
    case ActivationFormat::kQ8_0:
      return static_cast<size_t>(n / kQK) * sizeof(ActQ8_0);
    case ActivationFormat::kQ8_K:
      return static_cast<size_t>(n / kQKK) * sizeof(ActQ8_K);
  }
  return 0;
}

void ConvertActivations(const Kernels& k, ActivationFormat format, const float* x, int64_t n,
                        void* dst) {
  switch (format) {
    case ActivationFormat::kF32:
      std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
      break;
    case ActivationFormat::kQ8_0:
      k.quantize_q8_0(x, static_cast<ActQ8_0*>(dst), n);
      break;
    case ActivationFormat::kQ8_K:
      k.quantize_q8_k(x, static_cast<ActQ8_K*>(dst), n);
      break;
  }
}

bool DequantizeRow(GgmlType type, const void* src, int64_t n, float* y) {
  return inference::DequantizeRow(type, src, y, n).ok();
}

bool IsRepackedType(GgmlType type, int64_t cols) {
  return type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0 ||
         (type == GgmlType::kF32 && cols > 0);
}

size_t GroupBlockBytes(GgmlType type) {
  switch (type) {
    case GgmlType::kQ8_0:
      return kGroupBlockBytesQ8_0;
    case GgmlType::kQ4_0:
      return kGroupBlockBytesQ4_0;
    case GgmlType::kF32:
      return kGroupBlockBytesF32;
    default:
      return 0;
  }
}

GroupDotFn GroupDotFor(const Kernels& k, GgmlType type) {
  switch (type) {
    case GgmlType::kQ8_0:
      return k.group_dot_q8_0;
    case GgmlType::kQ4_0:
      return k.group_dot_q4_0;
    case GgmlType::kF32:
      return k.group_dot_f32;
    default:
      return nullptr;
  }
}

size_t RepackedMatrixBytes(GgmlType type, int64_t rows, int64_t cols) {
  const int64_t groups = (rows + kRowGroup - 1) / kRowGroup;
  return static_cast<size_t>(groups) * static_cast<size_t>(RepackedBlocks(cols)) *
         GroupBlockBytes(type);
}

void RepackGroups(GgmlType type, const uint8_t* src, int64_t rows, int64_t cols, int64_t g_begin,
                  int64_t g_end, uint8_t* dst) {
  const int64_t nb = RepackedBlocks(cols);
  const size_t gbb = GroupBlockBytes(type);
  if (type == GgmlType::kF32) {
    const float* f = reinterpret_cast<const float*>(src);
    for (int64_t g = g_begin; g < g_end; ++g) {
      float* out = reinterpret_cast<float*>(dst + static_cast<size_t>(g) * nb * gbb);
      for (int64_t c = 0; c < nb * kQK; ++c) {
        for (int r = 0; r < kRowGroup; ++r) {
          const int64_t row = g * kRowGroup + r;
          // Padding rows and padding inputs: 0.
          out[c * kRowGroup + r] = row < rows && c < cols ? f[row * cols + c] : 0.0f;
        }
      }
    }
    return;
  }
  const bool q4 = type == GgmlType::kQ4_0;
  const size_t file_block = q4 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0);
  const int chunks = q4 ? kQK / 8 : kQK / 4;
  const size_t row_bytes = file_block * static_cast<size_t>(nb);
  for (int64_t g = g_begin; g < g_end; ++g) {
    uint8_t* out = dst + static_cast<size_t>(g) * static_cast<size_t>(nb) * gbb;
    for (int64_t b = 0; b < nb; ++b, out += gbb) {
      std::memset(out, 0, gbb);
      for (int r = 0; r < kRowGroup; ++r) {
        const int64_t row = g * kRowGroup + r;
        if (row >= rows) break;  // padding rows: scale 0, quants 0
        const uint8_t* blk = src + static_cast<size_t>(row) * row_bytes + b * file_block;
        std::memcpy(out + 2 * r, blk, 2);  // the f16 scale leads both block types
        for (int k = 0; k < chunks; ++k) {
          std::memcpy(out + 2 * kRowGroup + 64 * k + 4 * r, blk + 2 + 4 * k, 4);
        }
      }
    }
  }
}

void DequantizeRepackedRow(GgmlType type, const uint8_t* mat, int64_t cols, int64_t row,
                           float* dst) {
  const int64_t nb = RepackedBlocks(cols);
  const size_t gbb = GroupBlockBytes(type);
  const int r = static_cast<int>(row % kRowGroup);
  const uint8_t* gp = mat + static_cast<size_t>(row / kRowGroup) * static_cast<size_t>(nb) * gbb;
  if (type == GgmlType::kF32) {
    const float* g = reinterpret_cast<const float*>(gp);
    for (int64_t c = 0; c < cols; ++c) dst[c] = g[c * kRowGroup + r];
    return;
  }
  for (int64_t b = 0; b < nb; ++b, gp += gbb) {
    uint16_t dh;
    std::memcpy(&dh, gp + 2 * r, 2);
    const float d = HalfToFloat(dh);
    float* y = dst + b * kQK;
    const uint8_t* q = gp + 2 * kRowGroup + 4 * r;
    if (type == GgmlType::kQ4_0) {
      for (int k = 0; k < 4; ++k) {
        for (int i = 0; i < 4; ++i) {
          const uint8_t v = q[64 * k + i];
          y[4 * k + i] = d * static_cast<float>((v & 0x0f) - 8);
          y[16 + 4 * k + i] = d * static_cast<float>((v >> 4) - 8);
        }
      }
    } else {
      for (int k = 0; k < 8; ++k) {
        for (int i = 0; i < 4; ++i) {
          y[4 * k + i] = d * static_cast<float>(static_cast<int8_t>(q[64 * k + i]));
        }
      }
    }
  }
}

}  // namespace inference::cpu
