// Small fused ops of the CUDA backend. Every launcher takes a stream; views are
// row-strided fp32 as in inference/backend.h. Each op's kernels live in the
// .cu file named after it (norm.cu, rope.cu, elementwise.cu, embed.cu, moe.cu).
#ifndef INFERENCE_BACKEND_CUDA_OPS_CUH_
#define INFERENCE_BACKEND_CUDA_OPS_CUH_

#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/matmul.cuh"
#include "inference/backend.h"

namespace inference::cuda {

// norm.cu: y = x / rms(x) * gamma per segment of gamma.cols.
bool LaunchRmsNorm(TensorView x, const WeightRef& gamma, float eps, TensorView y,
                   cudaStream_t stream);

// rope.cu: rotates each head in place at positions[row]; factors (device, [n_rot/2], may be
// null) divide the pair frequencies (Llama 3.1's rope_freqs).
void LaunchRope(TensorView x, const RopeParams& p, const int32_t* positions, const float* factors,
                cudaStream_t stream);

// elementwise.cu
void LaunchSiluMul(TensorView gate, TensorView up, TensorView out, cudaStream_t stream);
void LaunchAdd(TensorView x, TensorView y, cudaStream_t stream);
void LaunchCopy(TensorView src, TensorView dst, cudaStream_t stream);
void LaunchSigmoid(TensorView x, cudaStream_t stream);
void LaunchScaleRows(TensorView scales, TensorView dst, cudaStream_t stream);
bool LaunchAddBias(const WeightRef& bias, TensorView y, cudaStream_t stream);
void LaunchGatherRows(TensorView src, const int32_t* rows, int64_t n, TensorView out,
                      cudaStream_t stream);

// embed.cu: out[r] = table[tokens[r]] (clamped to the vocabulary).
bool LaunchEmbed(const WeightRef& table, const int32_t* tokens, TensorView out,
                 cudaStream_t stream);

// moe.cu
// bias (device, [n_expert], may be null): selection by probability + bias, weight = probability.
void LaunchMoeRoute(TensorView logits, const MoeRouting& r, const float* bias, TensorView ids,
                    TensorView weights, cudaStream_t stream);
void LaunchMoeCombine(TensorView y, TensorView weights, TensorView out, cudaStream_t stream);

}  // namespace inference::cuda

#endif  // INFERENCE_BACKEND_CUDA_OPS_CUH_
