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

template <GgmlType T>
__global__ void dequant_bf16_kernel(const uint8_t* w, int64_t rows, int64_t cols,
                                    int64_t row_bytes, __nv_bfloat16* out) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= rows * cols) return;
  const int64_t r = idx / cols, c = idx % cols;
  out[idx] = __float2bfloat16(Dequant<T>::At(w + r * row_bytes, c));
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

template <GgmlType T, int N>
void LaunchN(const WeightRef& w, const float* x, int64_t xs, float* y, int64_t ys,
             cudaStream_t s) {
  dim3 block(kWarp, kRowsPerBlock);
  dim3 grid(CeilDiv(w.rows, kRowsPerBlock));
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
  const int64_t total = w.rows * w.cols;
  return DispatchType(w.type, [&]<GgmlType T>() {
    dequant_bf16_kernel<T><<<CeilDiv(total, 256), 256, 0, stream>>>(
        w.data + mat * w.mat_bytes, w.rows, w.cols, w.row_bytes, out);
  });
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
