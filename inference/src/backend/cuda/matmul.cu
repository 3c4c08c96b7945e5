#include "backend/cuda/common.cuh"
#include "backend/cuda/dequant.cuh"
#include "backend/cuda/matmul.cuh"

namespace inference::cuda {
namespace {

constexpr int kRowsPerBlock = 4;  // warps per thread block

template <GgmlType T, int N>
__global__ void matvec_kernel(const uint8_t* w, int64_t rows, int64_t cols, int64_t row_bytes,
                              const float* x, int64_t x_stride, float* y, int64_t y_stride) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.y;
  if (row >= rows) return;
  const uint8_t* wr = w + row * row_bytes;
  float acc[N];
#pragma unroll
  for (int t = 0; t < N; ++t) acc[t] = 0.0f;
  for (int64_t i = threadIdx.x; i < cols; i += kWarp) {
    const float wi = Dequant<T>::At(wr, i);
#pragma unroll
    for (int t = 0; t < N; ++t) acc[t] += wi * x[t * x_stride + i];
  }
#pragma unroll
  for (int t = 0; t < N; ++t) {
    const float s = WarpSum(acc[t]);
    if (threadIdx.x == 0) y[t * y_stride + row] = s;
  }
}

// The fast path of decode: each lane reads 16 bytes of its row per step (fully coalesced across
// the warp) and the matching activations as float4s. Float weights (F32, F16, BF16) and grouped
// Q8_0; rows of whole 16-byte vectors, 16-byte aligned activations (LaunchMatVec checks).
template <GgmlType T>
struct Vec16;  // kElems: elements per 16 bytes (Convert16 writes them as floats)

template <>
struct Vec16<GgmlType::kF32> {
  static constexpr int kElems = 4;
};
template <>
struct Vec16<GgmlType::kF16> {
  static constexpr int kElems = 8;
};
template <>
struct Vec16<GgmlType::kBF16> {
  static constexpr int kElems = 8;
};
template <>
struct Vec16<kQ8_0Grouped> {
  static constexpr int kElems = 16;
};

// int8 to float without a conversion instruction: 2^23 + (b ^ 0x80) as a float's mantissa.
__device__ __forceinline__ float S8ToFloat(uint32_t word_xor80, int byte) {
  return __uint_as_float(__byte_perm(word_xor80, 0x4B000000u, 0x7540u | byte)) - 8388736.0f;
}

// One 16-byte vector of a row: its bytes and (grouped Q8_0) its block's scale.
struct Raw16 {
  uint4 q;
  float d;
};

template <GgmlType T>
__device__ __forceinline__ Raw16 Load16(const uint8_t* row, int64_t v) {
  if constexpr (T == kQ8_0Grouped) {
    // Vector v: group v / 16 (17 vectors: scales, then 16 of quants), quants (v % 16) * 16.
    const uint8_t* g = row + (v / 16) * kQ8GroupBytes;
    const int j = static_cast<int>(v % 16);
    return {__ldg(reinterpret_cast<const uint4*>(g + 16) + j),
            Half(__ldg(reinterpret_cast<const unsigned short*>(g) + j / 2))};
  } else {
    return {__ldg(reinterpret_cast<const uint4*>(row) + v), 1.0f};
  }
}

template <GgmlType T>
__device__ __forceinline__ void Convert16(const Raw16& raw, float* f) {
  const uint32_t w[4] = {raw.q.x, raw.q.y, raw.q.z, raw.q.w};
  if constexpr (T == kQ8_0Grouped) {
#pragma unroll
    for (int k = 0; k < 16; ++k) f[k] = raw.d * S8ToFloat(w[k / 4] ^ 0x80808080u, k % 4);
  } else if constexpr (T == GgmlType::kF32) {
#pragma unroll
    for (int k = 0; k < 4; ++k) f[k] = __uint_as_float(w[k]);
  } else if constexpr (T == GgmlType::kBF16) {
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      f[2 * k] = __uint_as_float(w[k] << 16);
      f[2 * k + 1] = __uint_as_float(w[k] & 0xFFFF0000u);
    }
  } else {
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 h = __half22float2(*reinterpret_cast<const __half2*>(&w[k]));
      f[2 * k] = h.x;
      f[2 * k + 1] = h.y;
    }
  }
}

// kLoadsInFlight vectors per lane are loaded before any is used, so that a warp has that many
// 16-byte requests outstanding (a row of 4096 Q8_0 weights is only 8 vectors per lane).
constexpr int kLoadsInFlight = 4;

// W warps per row (W = 1: kRowsPerBlock rows per block; W = kRowsPerBlock: one row per block,
// its vectors split between the warps, for matrices of few rows that would not fill the GPU).
template <GgmlType T, int N, int W>
__global__ void matvec16_kernel(const uint8_t* w, int64_t rows, int64_t cols, int64_t row_bytes,
                                const float* x, int64_t x_stride, float* y, int64_t y_stride) {
  constexpr int E = Vec16<T>::kElems;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (kRowsPerBlock / W) + threadIdx.y / W;
  if (row >= rows) return;
  const uint8_t* wr = w + row * row_bytes;
  const int64_t n_vec = cols / E;
  const int part = threadIdx.y % W;  // this warp's share of the row
  float acc[N];
#pragma unroll
  for (int t = 0; t < N; ++t) acc[t] = 0.0f;
  for (int64_t base = part * kWarp + threadIdx.x; base < n_vec;
       base += W * kWarp * kLoadsInFlight) {
    Raw16 raw[kLoadsInFlight];
#pragma unroll
    for (int u = 0; u < kLoadsInFlight; ++u) {
      const int64_t v = base + u * W * kWarp;
      if (v < n_vec) raw[u] = Load16<T>(wr, v);
    }
#pragma unroll
    for (int u = 0; u < kLoadsInFlight; ++u) {
      const int64_t v = base + u * W * kWarp;
      if (v >= n_vec) break;
      float f[E];
      Convert16<T>(raw[u], f);
#pragma unroll
      for (int t = 0; t < N; ++t) {
        const float4* xv = reinterpret_cast<const float4*>(x + t * x_stride + v * E);
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k < E / 4; ++k) {
          const float4 a = __ldg(xv + k);
          s += f[4 * k] * a.x + f[4 * k + 1] * a.y + f[4 * k + 2] * a.z + f[4 * k + 3] * a.w;
        }
        acc[t] += s;
      }
    }
  }
  if constexpr (W == 1) {
#pragma unroll
    for (int t = 0; t < N; ++t) {
      const float s = WarpSum(acc[t]);
      if (threadIdx.x == 0) y[t * y_stride + row] = s;
    }
  } else {
    __shared__ float partial[kRowsPerBlock][N];
#pragma unroll
    for (int t = 0; t < N; ++t) {
      const float s = WarpSum(acc[t]);
      if (threadIdx.x == 0) partial[threadIdx.y][t] = s;
    }
    __syncthreads();
    if (part == 0 && threadIdx.x < N) {
      float s = 0.0f;
#pragma unroll
      for (int k = 0; k < W; ++k) s += partial[threadIdx.y + k][threadIdx.x];
      y[threadIdx.x * y_stride + row] = s;
    }
  }
}

// One thread block per row; each thread writes 8 consecutive bf16 (one 16-byte store).
template <GgmlType T>
__global__ void dequant_bf16_kernel(const uint8_t* w, int64_t cols, int64_t row_bytes,
                                    __nv_bfloat16* out) {
  const int64_t r = blockIdx.x;
  const uint8_t* wr = w + r * row_bytes;
  for (int64_t c = threadIdx.x * 8; c < cols; c += blockDim.x * 8) {
    __align__(16) __nv_bfloat16 v[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] = __float2bfloat16(Dequant<T>::At(wr, c + k));
    *reinterpret_cast<uint4*>(out + r * cols + c) = *reinterpret_cast<const uint4*>(v);
  }
}

// File Q8_0 rows to the grouped layout (dequant.cuh), one thread per block of 32.
__global__ void group_q8_0_kernel(const uint8_t* src, int64_t n_rows, int64_t row_bytes,
                                  uint8_t* dst) {
  const int64_t blocks_per_row = row_bytes / static_cast<int64_t>(sizeof(BlockQ8_0));
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_rows * blocks_per_row) return;
  const int64_t r = i / blocks_per_row, b = i % blocks_per_row;
  const uint8_t* s = src + r * row_bytes + b * static_cast<int64_t>(sizeof(BlockQ8_0));
  uint8_t* g = dst + r * row_bytes + (b / 8) * kQ8GroupBytes;
  g[2 * (b % 8)] = s[0];
  g[2 * (b % 8) + 1] = s[1];
  for (int k = 0; k < kQK8_0; ++k) g[16 + (b % 8) * kQK8_0 + k] = s[2 + k];
}

template <GgmlType T>
__global__ void gathered_matvec_kernel(const uint8_t* w, int64_t rows, int64_t cols,
                                       int64_t row_bytes, int64_t mat_bytes, const float* x,
                                       int64_t x_stride, bool x_per_slot, const int32_t* ids,
                                       int64_t ids_stride, int k, float* y, int64_t y_stride) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.y;
  const int64_t slot = blockIdx.y;
  if (row >= rows) return;
  const int32_t expert = ids[(slot / k) * ids_stride + slot % k];
  const uint8_t* wr = w + expert * mat_bytes + row * row_bytes;
  const float* xr = x + (x_per_slot ? slot : slot / k) * x_stride;
  float acc = 0.0f;
  for (int64_t i = threadIdx.x; i < cols; i += kWarp) acc += Dequant<T>::At(wr, i) * xr[i];
  acc = WarpSum(acc);
  if (threadIdx.x == 0) y[slot * y_stride + row] = acc;
}

__global__ void f32_to_bf16_kernel(const float* x, int64_t rows, int64_t cols, int64_t stride,
                                   __nv_bfloat16* out) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= rows * cols) return;
  out[idx] = __float2bfloat16(x[(idx / cols) * stride + idx % cols]);
}

// Matrices of at most this many rows take a whole thread block per row.
constexpr int64_t kFewRows = 4096;

template <GgmlType T>
constexpr bool kHasVec16 = T == GgmlType::kF32 || T == GgmlType::kF16 ||
                           T == GgmlType::kBF16 || T == kQ8_0Grouped;

template <GgmlType T, int N>
void LaunchN(const WeightRef& w, const float* x, int64_t xs, float* y, int64_t ys,
             cudaStream_t s) {
  dim3 block(kWarp, kRowsPerBlock);
  dim3 grid(CeilDiv(w.rows, kRowsPerBlock));
  if constexpr (kHasVec16<T>) {
    // 16-byte vectors: whole vectors per row, aligned rows and activations.
    const bool aligned = w.row_bytes % 16 == 0 && w.cols % Vec16<T>::kElems == 0 &&
                         reinterpret_cast<uintptr_t>(w.data) % 16 == 0 &&
                         reinterpret_cast<uintptr_t>(x) % 16 == 0 && (N == 1 || xs % 4 == 0);
    if (aligned && w.rows <= kFewRows) {
      matvec16_kernel<T, N, kRowsPerBlock><<<static_cast<unsigned>(w.rows), block, 0, s>>>(
          w.data, w.rows, w.cols, w.row_bytes, x, xs, y, ys);
      return;
    }
    if (aligned) {
      matvec16_kernel<T, N, 1><<<grid, block, 0, s>>>(w.data, w.rows, w.cols, w.row_bytes, x, xs,
                                                      y, ys);
      return;
    }
  }
  matvec_kernel<T, N><<<grid, block, 0, s>>>(w.data, w.rows, w.cols, w.row_bytes, x, xs, y, ys);
}

}  // namespace

bool LaunchMatVec(const WeightRef& w, const float* x, int64_t x_stride, int n, float* y,
                  int64_t y_stride, cudaStream_t stream) {
  if (n < 1 || n > kMaxMatVecBatch) return false;
  return DispatchType(w.type, [&]<GgmlType T>() {
    switch (n) {
      case 1: LaunchN<T, 1>(w, x, x_stride, y, y_stride, stream); break;
      case 2: LaunchN<T, 2>(w, x, x_stride, y, y_stride, stream); break;
      case 3: LaunchN<T, 3>(w, x, x_stride, y, y_stride, stream); break;
      case 4: LaunchN<T, 4>(w, x, x_stride, y, y_stride, stream); break;
      case 5: LaunchN<T, 5>(w, x, x_stride, y, y_stride, stream); break;
      case 6: LaunchN<T, 6>(w, x, x_stride, y, y_stride, stream); break;
      case 7: LaunchN<T, 7>(w, x, x_stride, y, y_stride, stream); break;
      default: LaunchN<T, 8>(w, x, x_stride, y, y_stride, stream); break;
    }
  });
}

bool LaunchDequantizeToBf16(const WeightRef& w, int64_t mat, __nv_bfloat16* out,
                            cudaStream_t stream) {
  if (w.cols % 8 != 0 || w.rows == 0) return w.rows == 0;
  return DispatchType(w.type, [&]<GgmlType T>() {
    dequant_bf16_kernel<T><<<static_cast<unsigned>(w.rows), 128, 0, stream>>>(
        w.data + mat * w.mat_bytes, w.cols, w.row_bytes, out);
  });
}

void LaunchGroupQ8_0(const uint8_t* src, int64_t n_rows, int64_t row_bytes, uint8_t* dst,
                     cudaStream_t stream) {
  const int64_t total = n_rows * (row_bytes / static_cast<int64_t>(sizeof(BlockQ8_0)));
  if (total == 0) return;
  group_q8_0_kernel<<<CeilDiv(total, 256), 256, 0, stream>>>(src, n_rows, row_bytes, dst);
}

bool LaunchGatheredMatVec(const WeightRef& w, const float* x, int64_t x_stride, bool x_per_slot,
                          const int32_t* ids, int64_t ids_stride, int k, int64_t n_slots,
                          float* y, int64_t y_stride, cudaStream_t stream) {
  if (n_slots <= 0) return true;
  return DispatchType(w.type, [&]<GgmlType T>() {
    dim3 block(kWarp, kRowsPerBlock);
    dim3 grid(CeilDiv(w.rows, kRowsPerBlock), static_cast<unsigned>(n_slots));
    gathered_matvec_kernel<T><<<grid, block, 0, stream>>>(w.data, w.rows, w.cols, w.row_bytes,
                                                          w.mat_bytes, x, x_stride, x_per_slot,
                                                          ids, ids_stride, k, y, y_stride);
  });
}

void LaunchF32ToBf16(const float* x, int64_t rows, int64_t cols, int64_t stride,
                     __nv_bfloat16* out, cudaStream_t stream) {
  const int64_t total = rows * cols;
  if (total == 0) return;
  f32_to_bf16_kernel<<<CeilDiv(total, 256), 256, 0, stream>>>(x, rows, cols, stride, out);
}

}  // namespace inference::cuda
