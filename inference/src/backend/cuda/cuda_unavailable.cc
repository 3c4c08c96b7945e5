// Built when nvcc was not found at configure time: the CUDA backend is absent
// and the engine runs on the CPU.
#include "inference/cuda_backend.h"

namespace inference {

bool CudaBackendCompiled() { return false; }

StatusOr<std::unique_ptr<Backend>> CreateCudaBackend(const CudaBackendOptions&) {
  return common::UnavailableError(
      "this build has no CUDA backend (nvcc was not found when it was configured)");
}

}  // namespace inference
