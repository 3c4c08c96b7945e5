// Shared helpers of the CUDA backend: error checking that turns CUDA errors
// into common::Status (never exit()), and launch geometry.
#ifndef INFERENCE_BACKEND_CUDA_COMMON_CUH_
#define INFERENCE_BACKEND_CUDA_COMMON_CUH_

#include <cuda_runtime.h>

#include <string>

#include "common/status.h"

namespace inference::cuda {

inline common::Status CudaStatus(cudaError_t err, const char* what, const char* file, int line) {
  if (err == cudaSuccess) return common::OkStatus();
  return common::InternalError(std::string(what) + " failed at " + file + ":" +
                               std::to_string(line) + ": " + cudaGetErrorName(err) + " (" +
                               cudaGetErrorString(err) + ")");
}

// RETURN_IF_CUDA_ERROR(cudaMalloc(...)) in functions returning Status.
#define RETURN_IF_CUDA_ERROR(expr) \
  RETURN_IF_ERROR(::inference::cuda::CudaStatus((expr), #expr, __FILE__, __LINE__))

inline unsigned CeilDiv(long long a, long long b) { return static_cast<unsigned>((a + b - 1) / b); }

constexpr int kWarp = 32;

__device__ __forceinline__ float WarpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float WarpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

}  // namespace inference::cuda

#endif  // INFERENCE_BACKEND_CUDA_COMMON_CUH_
