// Sampling on the device (sampling.cu); the algorithm and its host reference are described in
// inference/device_sampling.h.
#ifndef INFERENCE_BACKEND_CUDA_SAMPLING_CUH_
#define INFERENCE_BACKEND_CUDA_SAMPLING_CUH_

#include <cuda_runtime.h>

#include <cstdint>

#include "inference/backend.h"
#include "inference/device_sampling.h"

namespace inference::cuda {

// tokens[r] (device) for every row r of logits [rows, n_vocab]; rows, penalties: device copies;
// work: device scratch of rows * n_vocab floats. False when the shape is not supported.
bool LaunchSampleRows(TensorView logits, const DeviceSampleRow* rows, const PenaltyEntry* penalties,
                      int64_t n_penalties, float* work, int32_t* tokens, cudaStream_t stream);

}  // namespace inference::cuda

#endif  // INFERENCE_BACKEND_CUDA_SAMPLING_CUH_
