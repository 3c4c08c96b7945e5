#include "backend/cuda/common.cuh"
#include "backend/cuda/dequant.cuh"
#include "backend/cuda/ops.cuh"

namespace inference::cuda {
namespace {

// One thread per element of a [rows, cols] view; index helpers.
__device__ __forceinline__ float& At(TensorView v, int64_t idx) {
  return v.data[(idx / v.cols) * v.stride + idx % v.cols];
}

__global__ void silu_mul_kernel(TensorView g, TensorView u, TensorView o) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= g.rows * g.cols) return;
  const float gv = At(g, i);
  At(o, i) = gv / (1.0f + __expf(-gv)) * At(u, i);
}

__global__ void add_kernel(TensorView x, TensorView y) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < x.rows * x.cols) At(y, i) += At(x, i);
}

__global__ void copy_kernel(TensorView s, TensorView d) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < s.rows * s.cols) At(d, i) = At(s, i);
}

__global__ void sigmoid_kernel(TensorView x) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < x.rows * x.cols) At(x, i) = 1.0f / (1.0f + __expf(-At(x, i)));
}

__global__ void scale_rows_kernel(TensorView scales, TensorView d) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < d.rows * d.cols) At(d, i) *= scales.data[(i / d.cols) * scales.stride];
}

template <GgmlType T>
__global__ void add_bias_kernel(const uint8_t* bias, TensorView y) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < y.rows * y.cols) At(y, i) += Dequant<T>::At(bias, i % y.cols);
}

__global__ void gather_rows_kernel(TensorView src, const int32_t* rows, int64_t n, TensorView out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n * src.cols) return;
  const int64_t r = i / src.cols, c = i % src.cols;
  out.data[r * out.stride + c] = src.data[rows[r] * src.stride + c];
}

unsigned Grid(int64_t n) { return CeilDiv(n, 256); }

}  // namespace

void LaunchSiluMul(TensorView g, TensorView u, TensorView o, cudaStream_t s) {
  if (g.rows * g.cols > 0) silu_mul_kernel<<<Grid(g.rows * g.cols), 256, 0, s>>>(g, u, o);
}
void LaunchAdd(TensorView x, TensorView y, cudaStream_t s) {
  if (x.rows * x.cols > 0) add_kernel<<<Grid(x.rows * x.cols), 256, 0, s>>>(x, y);
}
void LaunchCopy(TensorView src, TensorView dst, cudaStream_t s) {
  if (src.rows * src.cols > 0) copy_kernel<<<Grid(src.rows * src.cols), 256, 0, s>>>(src, dst);
}
void LaunchSigmoid(TensorView x, cudaStream_t s) {
  if (x.rows * x.cols > 0) sigmoid_kernel<<<Grid(x.rows * x.cols), 256, 0, s>>>(x);
}
void LaunchScaleRows(TensorView scales, TensorView d, cudaStream_t s) {
  if (d.rows * d.cols > 0) scale_rows_kernel<<<Grid(d.rows * d.cols), 256, 0, s>>>(scales, d);
}
bool LaunchAddBias(const WeightRef& bias, TensorView y, cudaStream_t s) {
  if (y.rows * y.cols == 0) return true;
  return DispatchType(bias.type, [&]<GgmlType T>() {
    add_bias_kernel<T><<<Grid(y.rows * y.cols), 256, 0, s>>>(bias.data, y);
  });
}
void LaunchGatherRows(TensorView src, const int32_t* rows, int64_t n, TensorView out,
                      cudaStream_t s) {
  if (n * src.cols > 0) gather_rows_kernel<<<Grid(n * src.cols), 256, 0, s>>>(src, rows, n, out);
}

}  // namespace inference::cuda
