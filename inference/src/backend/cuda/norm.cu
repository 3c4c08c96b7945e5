#include "backend/cuda/common.cuh"
#include "backend/cuda/dequant.cuh"
#include "backend/cuda/ops.cuh"

namespace inference::cuda {
namespace {

// One warp per (row, segment): narrow segments (per-head norms).
template <GgmlType T>
__global__ void rms_norm_kernel(TensorView x, const uint8_t* gamma, int64_t width, float eps,
                                TensorView y) {
  const int64_t per_row = x.cols / width;
  const int64_t seg = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y;
  if (seg >= x.rows * per_row) return;
  const int64_t r = seg / per_row, h = seg % per_row;
  const float* in = x.data + r * x.stride + h * width;
  float* out = y.data + r * y.stride + h * width;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < width; i += kWarp) ss += in[i] * in[i];
  ss = WarpSum(ss);
  const float scale = rsqrtf(ss / static_cast<float>(width) + eps);
  for (int64_t i = threadIdx.x; i < width; i += kWarp) {
    out[i] = in[i] * scale * Dequant<T>::At(gamma, i);
  }
}

// Wide segments (a model's hidden size): one thread block each, so that one row (a decode step
// of one sequence) is not a single warp's serial loop.
constexpr int kWideThreads = 256;
constexpr int64_t kWideWidth = 256;

template <GgmlType T>
__global__ void __launch_bounds__(kWideThreads)
    rms_norm_wide_kernel(TensorView x, const uint8_t* gamma, int64_t width, float eps,
                         TensorView y) {
  const int64_t per_row = x.cols / width;
  const int64_t seg = blockIdx.x;
  const int64_t r = seg / per_row, h = seg % per_row;
  const float* in = x.data + r * x.stride + h * width;
  float* out = y.data + r * y.stride + h * width;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < width; i += kWideThreads) ss += in[i] * in[i];
  __shared__ float red[kWideThreads / kWarp];
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  ss = WarpSum(ss);
  if (lane == 0) red[warp] = ss;
  __syncthreads();
  float total = 0.0f;
#pragma unroll
  for (int w = 0; w < kWideThreads / kWarp; ++w) total += red[w];
  const float scale = rsqrtf(total / static_cast<float>(width) + eps);
  for (int64_t i = threadIdx.x; i < width; i += kWideThreads) {
    out[i] = in[i] * scale * Dequant<T>::At(gamma, i);
  }
}

}  // namespace

bool LaunchRmsNorm(TensorView x, const WeightRef& gamma, float eps, TensorView y,
                   cudaStream_t stream) {
  const int64_t segments = x.rows * (x.cols / gamma.cols);
  if (gamma.cols >= kWideWidth) {
    return DispatchType(gamma.type, [&]<GgmlType T>() {
      rms_norm_wide_kernel<T><<<static_cast<unsigned>(segments), kWideThreads, 0, stream>>>(
          x, gamma.data, gamma.cols, eps, y);
    });
  }
  dim3 block(kWarp, 4);
  return DispatchType(gamma.type, [&]<GgmlType T>() {
    rms_norm_kernel<T><<<CeilDiv(segments, 4), block, 0, stream>>>(x, gamma.data, gamma.cols,
                                                                   eps, y);
  });
}

}  // namespace inference::cuda
