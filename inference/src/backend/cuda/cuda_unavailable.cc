// Built when nvcc was not found at configure time: the CUDA backend is absent
// and the engine runs on the CPU.
#include "inference/cuda_backend.h"

namespace inference {

bool CudaBackendCompiled() { return false; }

int CudaDeviceCount() { return 0; }

Status UseCudaDevice(int) { return common::UnavailableError("this build has no CUDA backend"); }

struct NcclGroup::Impl {};
NcclGroup::NcclGroup() = default;
NcclGroup::~NcclGroup() = default;
int NcclGroup::ranks() const { return 0; }
StatusOr<std::shared_ptr<NcclGroup>> NcclGroup::Create(int) {
  return common::UnavailableError("this build has no CUDA backend");
}
Status NcclGroup::AllReduceSum(int, float*, size_t, void*) {
  return common::UnavailableError("this build has no CUDA backend");
}

StatusOr<double> MeasureCopyBandwidth(int, size_t) {
  return common::UnavailableError("this build has no CUDA backend");
}

StatusOr<double> MeasureBf16GemmPeak(int, int) {
  return common::UnavailableError("this build has no CUDA backend");
}

StatusOr<std::unique_ptr<Backend>> CreateCudaBackend(const CudaBackendOptions&) {
  return common::UnavailableError(
      "this build has no CUDA backend (nvcc was not found when it was configured)");
}

}  // namespace inference
