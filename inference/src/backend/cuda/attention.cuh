// Attention over the paged KV cache.
//   Cache layout (same as the CPU backend): [layer][block][slot][k_width | v_width]
//   elements of f16 or f32.
//   LaunchKvStore writes the step's k/v rows at their positions; then
//   LaunchPagedAttention computes, for every (row, head), softmax(q.K * scale) V over
//   positions [0, pos] of the row's sequence, flash-decoding style: thread blocks take
//   splits of the positions, their warps 32 positions at a time (a score per lane),
//   keeping running max/sum/accumulator (online softmax); a second kernel merges the
//   splits, so long contexts need no score buffer and one sequence fills the GPU.
#ifndef INFERENCE_BACKEND_CUDA_ATTENTION_CUH_
#define INFERENCE_BACKEND_CUDA_ATTENTION_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "inference/backend.h"

namespace inference::cuda {

struct KvLayout {
  uint8_t* base = nullptr;   // device
  bool f16 = true;
  int n_layer = 0;
  int num_blocks = 0;
  int block_size = 0;
  int k_width = 0;           // elements
  int v_width = 0;
  __host__ __device__ size_t RowBytes() const { return static_cast<size_t>(k_width + v_width) * (f16 ? 2 : 4); }
  __host__ __device__ size_t BlockBytes() const { return RowBytes() * block_size; }
};

// Per-step device arrays uploaded by BeginStep.
struct StepArrays {
  const int32_t* positions = nullptr;     // [rows]
  const int32_t* row_seq = nullptr;       // [rows] sequence index
  const int32_t* table_offset = nullptr;  // [sequences] start of the sequence's table in tables
  const int32_t* tables = nullptr;        // concatenated block tables
};

constexpr int kMaxHeadDim = 512;

void LaunchKvStore(const KvLayout& kv, int layer, const StepArrays& step, TensorView k,
                   TensorView v, int k_cols, int v_cols, cudaStream_t stream);

// Split decoding: every (row, head) is split into kAttentionSplits ranges of positions computed
// by separate thread blocks, then merged. `part`: device scratch of AttentionPartFloats floats
// (rows are taken kAttentionRowsPerLaunch at a time, which bounds it).
constexpr int kAttentionSplits = 8;
constexpr int64_t kAttentionRowsPerLaunch = 256;
inline size_t AttentionPartFloats(int64_t rows, const AttentionParams& p) {
  return static_cast<size_t>(rows < kAttentionRowsPerLaunch ? rows : kAttentionRowsPerLaunch) *
         p.n_head * kAttentionSplits * (p.head_dim_v + 2);
}
bool LaunchPagedAttention(const KvLayout& kv, const AttentionParams& p, const StepArrays& step,
                          TensorView q, TensorView out, float* part, cudaStream_t stream);

// Flash-attention style prefill: one thread block per (tile of up to kFlashTileRows consecutive
// rows of one sequence, head). K/V are read from the paged cache once per tile of kFlashTileKv
// positions into shared memory; each warp keeps the running max, sum and accumulator of its
// rows (online softmax); positions after a row's own are masked (causal).
// tiles: device [n_tiles][2] = (first row, rows). False when the head widths exceed
// kMaxFlashHeadDim (the caller uses LaunchPagedAttention).
constexpr int kFlashTileRows = 16;
constexpr int kFlashTileKv = 32;
constexpr int kMaxFlashHeadDim = 128;
bool LaunchFlashPrefill(const KvLayout& kv, const AttentionParams& p, const StepArrays& step,
                        const int32_t* tiles, int64_t n_tiles, TensorView q, TensorView out,
                        cudaStream_t stream);

// Tensor-core prefill attention (cuda_backend.cu drives it with cuBLAS): the pieces around the
// two GEMMs, for one sequence of the step.
//   LaunchGatherKvBf16: K and V of positions [0, n_pos) of step sequence `seq` to contiguous
//     head-major bf16, kc [n_kv][n_pos][dk] and vc [n_kv][n_pos][dv];
//   LaunchQHeadsBf16: q rows [first, first + n) to head-major bf16, qc [n_head][n][dk];
//   LaunchCausalSoftmaxBf16: fp32 scores [rows][n_pos] (rows = heads x n; row i of a head is
//     the query at position start + i) to bf16 probabilities, 0 after the query's position.
void LaunchGatherKvBf16(const KvLayout& kv, int layer, const StepArrays& step, int seq, int n_pos,
                        int n_kv, int dk, int dv, __nv_bfloat16* kc, __nv_bfloat16* vc,
                        cudaStream_t stream);
void LaunchQHeadsBf16(TensorView q, int64_t first, int n, int n_head, int dk, __nv_bfloat16* qc,
                      cudaStream_t stream);
void LaunchCausalSoftmaxBf16(const float* scores, int64_t rows, int n, int n_pos, int start,
                             __nv_bfloat16* probs, cudaStream_t stream);

}  // namespace inference::cuda

#endif  // INFERENCE_BACKEND_CUDA_ATTENTION_CUH_
