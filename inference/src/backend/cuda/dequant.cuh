// Device-side dequantization of one element of a row in ggml's block layouts
// (the same layouts as inference/quant.h; a row is a whole number of blocks).
#ifndef INFERENCE_BACKEND_CUDA_DEQUANT_CUH_
#define INFERENCE_BACKEND_CUDA_DEQUANT_CUH_

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "inference/gguf.h"
#include "inference/quant.h"

namespace inference::cuda {

__device__ __forceinline__ float Half(uint16_t bits) {
  return __half2float(__ushort_as_half(bits));
}

__device__ __forceinline__ void ScaleMinK4(int j, const uint8_t* q, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q8_0 regrouped at upload (cuda_backend.cu) for 16-byte loads: every 8 blocks of a row (256
// elements, 272 bytes, the same size as in the file) become their 8 fp16 scales (16 bytes)
// followed by their 256 quants. Used for rows of a multiple of 256 elements; an internal type
// of this backend, never seen in a file.
constexpr GgmlType kQ8_0Grouped = GgmlType::kCudaQ8_0Grouped;
constexpr int kQ8GroupElems = 256, kQ8GroupBytes = 272;

template <GgmlType T>
struct Dequant;

template <>
struct Dequant<GgmlType::kF32> {
  __device__ static float At(const uint8_t* row, int64_t i) {
    return reinterpret_cast<const float*>(row)[i];
  }
};

template <>
struct Dequant<GgmlType::kF16> {
  __device__ static float At(const uint8_t* row, int64_t i) {
    return Half(reinterpret_cast<const uint16_t*>(row)[i]);
  }
};

template <>
struct Dequant<GgmlType::kBF16> {
  __device__ static float At(const uint8_t* row, int64_t i) {
    uint32_t bits = static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(row)[i]) << 16;
    return __uint_as_float(bits);
  }
};

template <>
struct Dequant<GgmlType::kQ8_0> {
  __device__ static float At(const uint8_t* row, int64_t i) {
    const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row) + i / kQK8_0;
    return Half(b->d) * static_cast<float>(b->qs[i % kQK8_0]);
  }
};

template <>
struct Dequant<kQ8_0Grouped> {
  __device__ static float At(const uint8_t* row, int64_t i) {
    const uint8_t* g = row + (i / kQ8GroupElems) * kQ8GroupBytes;
    const int j = static_cast<int>(i % kQ8GroupElems);
    return Half(reinterpret_cast<const uint16_t*>(g)[j / kQK8_0]) *
           static_cast<float>(static_cast<int8_t>(g[16 + j]));
  }
};

template <>
struct Dequant<GgmlType::kQ4_0> {
  __device__ static float At(const uint8_t* row, int64_t i) {
    const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(row) + i / kQK4_0;
    const int j = static_cast<int>(i % kQK4_0);
    const int q = j < 16 ? (b->qs[j] & 0xF) : (b->qs[j - 16] >> 4);
    return Half(b->d) * static_cast<float>(q - 8);
  }
};

template <>
struct Dequant<GgmlType::kQ4_K> {
  __device__ static float At(const uint8_t* row, int64_t i) {
    const BlockQ4_K* b = reinterpret_cast<const BlockQ4_K*>(row) + i / kQK_K;
    const int j = static_cast<int>(i % kQK_K);
    const int chunk = j / 64;        // 64 elements share 32 bytes of qs
    const int within = j % 64;
    const int sub = 2 * chunk + within / 32;
    int sc, m;
    ScaleMinK4(sub, b->scales, &sc, &m);
    const uint8_t byte = b->qs[chunk * 32 + within % 32];
    const int q = within < 32 ? (byte & 0xF) : (byte >> 4);
    return Half(b->d) * sc * q - Half(b->dmin) * m;
  }
};

template <>
struct Dequant<GgmlType::kQ5_K> {
  __device__ static float At(const uint8_t* row, int64_t i) {
    const BlockQ5_K* b = reinterpret_cast<const BlockQ5_K*>(row) + i / kQK_K;
    const int j = static_cast<int>(i % kQK_K);
    const int chunk = j / 64;
    const int within = j % 64;
    const int sub = 2 * chunk + within / 32;
    int sc, m;
    ScaleMinK4(sub, b->scales, &sc, &m);
    const int l = within % 32;
    const uint8_t byte = b->qs[chunk * 32 + l];
    const int high = (b->qh[l] >> sub) & 1;
    const int q = (within < 32 ? (byte & 0xF) : (byte >> 4)) + 16 * high;
    return Half(b->d) * sc * q - Half(b->dmin) * m;
  }
};

template <>
struct Dequant<GgmlType::kQ6_K> {
  __device__ static float At(const uint8_t* row, int64_t i) {
    const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(row) + i / kQK_K;
    const int j = static_cast<int>(i % kQK_K);
    const int half = j / 128;          // two halves of 128 elements
    const int r = j % 128;
    const int quarter = r / 32;        // which of the four 32-element groups
    const int l = r % 32;
    const uint8_t* ql = b->ql + half * 64;
    const uint8_t* qh = b->qh + half * 32;
    const int8_t* sc = b->scales + half * 8;
    const int low = quarter == 0 ? (ql[l] & 0xF)
                  : quarter == 1 ? (ql[l + 32] & 0xF)
                  : quarter == 2 ? (ql[l] >> 4)
                                 : (ql[l + 32] >> 4);
    const int high = (qh[l] >> (2 * quarter)) & 3;
    const int q = (low | (high << 4)) - 32;
    return Half(b->d) * sc[l / 16 + 2 * quarter] * q;
  }
};

// The types the kernels of this backend read.
inline bool TypeSupported(GgmlType type) {
  if (type == kQ8_0Grouped) return true;
  switch (type) {
    case GgmlType::kF32: case GgmlType::kF16: case GgmlType::kBF16: case GgmlType::kQ8_0:
    case GgmlType::kQ4_0: case GgmlType::kQ4_K: case GgmlType::kQ5_K: case GgmlType::kQ6_K:
      return true;
    default:
      return false;
  }
}

// Calls f.template operator()<T>() for the runtime type; false when unsupported.
template <typename F>
bool DispatchType(GgmlType type, F&& f) {
  if (type == kQ8_0Grouped) {
    f.template operator()<kQ8_0Grouped>();
    return true;
  }
  switch (type) {
    case GgmlType::kF32: f.template operator()<GgmlType::kF32>(); return true;
    case GgmlType::kF16: f.template operator()<GgmlType::kF16>(); return true;
    case GgmlType::kBF16: f.template operator()<GgmlType::kBF16>(); return true;
    case GgmlType::kQ8_0: f.template operator()<GgmlType::kQ8_0>(); return true;
    case GgmlType::kQ4_0: f.template operator()<GgmlType::kQ4_0>(); return true;
    case GgmlType::kQ4_K: f.template operator()<GgmlType::kQ4_K>(); return true;
    case GgmlType::kQ5_K: f.template operator()<GgmlType::kQ5_K>(); return true;
    case GgmlType::kQ6_K: f.template operator()<GgmlType::kQ6_K>(); return true;
    default: return false;
  }
}

}  // namespace inference::cuda

#endif  // INFERENCE_BACKEND_CUDA_DEQUANT_CUH_
