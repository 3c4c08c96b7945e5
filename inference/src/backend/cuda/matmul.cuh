// Quantized matrix products.
//   * LaunchMatVec: y[t] = W x[t] for up to kMaxMatVecBatch tokens, reading each
//     weight element once for all tokens of the batch (decode is memory-bound).
//     One warp per output row; rows are a whole number of quant blocks.
//   * LaunchDequantizeToBf16: W to a bf16 scratch matrix, for cuBLAS GEMMs in
//     prefill (tensor cores, fp32 accumulation).
//   * LaunchGatheredMatVec: the MoE form, y[slot] = W[ids[slot]] x[row(slot)].
#ifndef INFERENCE_BACKEND_CUDA_MATMUL_CUH_
#define INFERENCE_BACKEND_CUDA_MATMUL_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "inference/gguf.h"

namespace inference::cuda {

constexpr int kMaxMatVecBatch = 8;

struct WeightRef {
  const uint8_t* data = nullptr;  // device
  GgmlType type = GgmlType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_bytes = 0;
  int64_t mat_bytes = 0;  // bytes of one matrix of a 3-D stack
};

// x: [n, cols] (stride x_stride floats), y: [n, rows] (stride y_stride); n <= kMaxMatVecBatch.
bool LaunchMatVec(const WeightRef& w, const float* x, int64_t x_stride, int n, float* y,
                  int64_t y_stride, cudaStream_t stream);

// out: [rows, cols] bf16 row-major; cols a multiple of 8.
bool LaunchDequantizeToBf16(const WeightRef& w, int64_t mat, __nv_bfloat16* out,
                            cudaStream_t stream);

// x/y rows for each of n_slots slots: expert = ids[slot / k * ids_stride + slot % k],
// x row = x_per_slot ? slot : slot / k.
bool LaunchGatheredMatVec(const WeightRef& w, const float* x, int64_t x_stride, bool x_per_slot,
                          const int32_t* ids, int64_t ids_stride, int k, int64_t n_slots,
                          float* y, int64_t y_stride, cudaStream_t stream);

// Q8_0 rows (row_bytes each, a multiple of 272) from the file's layout to the grouped layout of
// dequant.cuh (kQ8_0Grouped), src and dst distinct.
void LaunchGroupQ8_0(const uint8_t* src, int64_t n_rows, int64_t row_bytes, uint8_t* dst,
                     cudaStream_t stream);

// Converts a [rows, cols] fp32 view to contiguous bf16.
void LaunchF32ToBf16(const float* x, int64_t rows, int64_t cols, int64_t stride,
                     __nv_bfloat16* out, cudaStream_t stream);

}  // namespace inference::cuda

#endif  // INFERENCE_BACKEND_CUDA_MATMUL_CUH_
