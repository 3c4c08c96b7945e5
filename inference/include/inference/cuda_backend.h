// The CUDA backend: weights on the device in their file's type, quantized
// matrix-vector kernels for decode, cuBLAS (bf16 tensor cores) for prefill,
// fused norm/rope/SwiGLU, attention over the paged KV cache, MoE routing.
//
// Compiled when nvcc is found at configure time; CreateCudaBackend() answers
// UNAVAILABLE (with the reason) when the build has no CUDA or the machine has
// no usable GPU, and the caller falls back to the CPU backend.
#ifndef INFERENCE_CUDA_BACKEND_H_
#define INFERENCE_CUDA_BACKEND_H_

#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"
#include "inference/backend.h"

namespace inference {

struct CudaBackendOptions {
  int device = 0;
  // Bytes of device memory left free for cuBLAS workspaces and fragmentation.
  size_t reserve_bytes = size_t{512} << 20;
};

// True when this build contains the CUDA backend.
bool CudaBackendCompiled();

StatusOr<std::unique_ptr<Backend>> CreateCudaBackend(const CudaBackendOptions& options);

// Device memory planning (host-side logic, tested without a GPU).
struct DeviceMemoryPlan {
  size_t weight_bytes = 0;
  size_t kv_bytes = 0;
  int kv_blocks = 0;
};

// Plans the KV cache from the memory left after the weights: as many blocks as
// fit in `kv_fraction` of what remains after `reserve_bytes`, at least
// `min_kv_blocks`. RESOURCE_EXHAUSTED with the figures (needed, free) when the
// weights and the minimum cache do not fit.
StatusOr<DeviceMemoryPlan> PlanDeviceMemory(size_t free_bytes, size_t weight_bytes,
                                            size_t kv_bytes_per_block, int min_kv_blocks,
                                            size_t reserve_bytes, double kv_fraction = 0.9);

// "1.50 GiB"
std::string FormatBytes(size_t bytes);

}  // namespace inference

#endif  // INFERENCE_CUDA_BACKEND_H_
