#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "backend/cuda/attention.cuh"
#include "backend/cuda/common.cuh"

namespace inference::cuda {
namespace {


__device__ __forceinline__ uint8_t* KvRowPtr(const KvLayout& kv, int layer, const StepArrays& s,
                                             int seq, int pos) {
  const int block = s.tables[s.table_offset[seq] + pos / kv.block_size];
  return kv.base + (static_cast<size_t>(layer) * kv.num_blocks + block) * kv.BlockBytes() +
         static_cast<size_t>(pos % kv.block_size) * kv.RowBytes();
}

__device__ __forceinline__ float LoadKv(const uint8_t* p, bool f16, int i) {
  return f16 ? __half2float(reinterpret_cast<const __half*>(p)[i])
             : reinterpret_cast<const float*>(p)[i];
}

__global__ void kv_store_kernel(KvLayout kv, int layer, StepArrays s, TensorView k, TensorView v,
                                int k_cols, int v_cols) {
  const int64_t r = blockIdx.x;
  if (s.row_seq[r] < 0) return;  // a padding row of a graph bucket
  uint8_t* row = KvRowPtr(kv, layer, s, s.row_seq[r], s.positions[r]);
  const size_t esize = kv.f16 ? 2 : 4;
  uint8_t* vrow = row + kv.k_width * esize;
  for (int i = threadIdx.x; i < k_cols + v_cols; i += blockDim.x) {
    const bool is_k = i < k_cols;
    const float val = is_k ? k.data[r * k.stride + i] : v.data[r * v.stride + (i - k_cols)];
    uint8_t* dst = is_k ? row : vrow;
    const int j = is_k ? i : i - k_cols;
    if (kv.f16) {
      reinterpret_cast<__half*>(dst)[j] = __float2half(val);
    } else {
      reinterpret_cast<float*>(dst)[j] = val;
    }
  }
}

// Split decoding: grid (rows * n_head, kAttentionSplits); each block takes one split of the
// row's positions (chunks of whole warps), each warp 32 positions at a time, one per lane: the
// lane's q.k score, one online-softmax update per 32 positions, then V accumulated with the
// lanes owning the output dimensions. Writes the split's (max, sum, accumulator) to `part`;
// attention_combine_kernel merges the splits. PL: output dimensions per lane (dv <= 32 PL).
constexpr int kSplitWarps = 4;

__device__ __forceinline__ float DotQK(const float* q_sh, const uint8_t* kr, bool f16, int dk) {
  float dot = 0.0f;
  if (f16 && dk % 8 == 0 && reinterpret_cast<uintptr_t>(kr) % 16 == 0) {
    const uint4* k4 = reinterpret_cast<const uint4*>(kr);
    for (int v = 0; v < dk / 8; ++v) {
      const uint4 u = k4[v];
      const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&w[e]));
        dot += q_sh[8 * v + 2 * e] * f.x + q_sh[8 * v + 2 * e + 1] * f.y;
      }
    }
  } else {
    for (int d = 0; d < dk; ++d) dot += q_sh[d] * LoadKv(kr, f16, d);
  }
  return dot;
}

template <int PL>
__global__ void __launch_bounds__(kSplitWarps * kWarp)
    paged_attention_split_kernel(KvLayout kv, AttentionParams p, StepArrays s, int64_t row0,
                                 TensorView q, float* part) {
  const int64_t task = blockIdx.x;
  const int split = blockIdx.y;
  const int64_t r = row0 + task / p.n_head;
  const int h = static_cast<int>(task % p.n_head);
  const int hk = h / (p.n_head / p.n_head_kv);
  const int dk = p.head_dim_k, dv = p.head_dim_v;
  float* my = part + (task * kAttentionSplits + split) * (dv + 2);
  const int seq = s.row_seq[r];
  const int n_pos = seq < 0 ? 0 : s.positions[r] + 1;
  const int per_split = (n_pos + kAttentionSplits - 1) / kAttentionSplits;
  const int chunk = (per_split + kWarp - 1) / kWarp * kWarp;
  const int begin = split * chunk;
  const int end = min(n_pos, begin + chunk);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const size_t esize = kv.f16 ? 2 : 4;

  __shared__ float q_sh[kMaxHeadDim];
  __shared__ float m_sh[kSplitWarps], l_sh[kSplitWarps];
  __shared__ float acc_sh[kSplitWarps][kWarp * PL];
  if (begin < end) {
    const float* qh = q.data + r * q.stride + static_cast<int64_t>(h) * dk;
    for (int i = threadIdx.x; i < dk; i += blockDim.x) q_sh[i] = qh[i];
  }
  __syncthreads();

  float m = -INFINITY, l = 0.0f;
  float acc[PL];
#pragma unroll
  for (int c = 0; c < PL; ++c) acc[c] = 0.0f;
  for (int j0 = begin + warp * kWarp; j0 < end; j0 += kSplitWarps * kWarp) {
    const int j = j0 + lane;
    float score = -INFINITY;
    if (j < end) {
      const uint8_t* kr = KvRowPtr(kv, p.layer, s, seq, j) + static_cast<size_t>(hk) * dk * esize;
      score = DotQK(q_sh, kr, kv.f16, dk) * p.scale;
    }
    const float m_new = fmaxf(m, WarpMax(score));  // finite: position j0 < end
    const float correction = __expf(m - m_new);
    const float w = j < end ? __expf(score - m_new) : 0.0f;
    l = l * correction + WarpSum(w);
#pragma unroll
    for (int c = 0; c < PL; ++c) acc[c] *= correction;
    const int nj = min(kWarp, end - j0);
    for (int jj = 0; jj < nj; ++jj) {
      const float wj = __shfl_sync(0xffffffffu, w, jj);
      const uint8_t* vr = KvRowPtr(kv, p.layer, s, seq, j0 + jj) + kv.k_width * esize +
                          static_cast<size_t>(hk) * dv * esize;
#pragma unroll
      for (int c = 0; c < PL; ++c) {
        const int d = lane + c * kWarp;
        if (d < dv) acc[c] += wj * LoadKv(vr, kv.f16, d);
      }
    }
    m = m_new;
  }
  if (lane == 0) {
    m_sh[warp] = m;
    l_sh[warp] = l;
  }
#pragma unroll
  for (int c = 0; c < PL; ++c) acc_sh[warp][lane + c * kWarp] = acc[c];
  __syncthreads();
  float m_all = -INFINITY;
  for (int w = 0; w < kSplitWarps; ++w) m_all = fmaxf(m_all, m_sh[w]);
  float l_all = 0.0f;
  for (int w = 0; w < kSplitWarps; ++w) {
    if (m_sh[w] != -INFINITY) l_all += __expf(m_sh[w] - m_all) * l_sh[w];
  }
  if (threadIdx.x == 0) {
    my[0] = m_all;
    my[1] = l_all;
  }
  for (int d = threadIdx.x; d < dv; d += blockDim.x) {
    float sum = 0.0f;
    for (int w = 0; w < kSplitWarps; ++w) {
      if (m_sh[w] != -INFINITY) sum += __expf(m_sh[w] - m_all) * acc_sh[w][d];
    }
    my[2 + d] = sum;
  }
}

// Grid: rows * n_head. Merges the splits of `part`; padding rows (and rows without positions)
// get zeros.
__global__ void attention_combine_kernel(AttentionParams p, int64_t row0, TensorView out,
                                         const float* part) {
  const int64_t task = blockIdx.x;
  const int64_t r = row0 + task / p.n_head;
  const int h = static_cast<int>(task % p.n_head);
  const int dv = p.head_dim_v;
  const float* base = part + task * kAttentionSplits * (dv + 2);
  float m_all = -INFINITY;
  for (int k = 0; k < kAttentionSplits; ++k) m_all = fmaxf(m_all, base[k * (dv + 2)]);
  float l_all = 0.0f;
  for (int k = 0; k < kAttentionSplits; ++k) {
    const float mk = base[k * (dv + 2)];
    if (mk != -INFINITY) l_all += __expf(mk - m_all) * base[k * (dv + 2) + 1];
  }
  float* o = out.data + r * out.stride + static_cast<int64_t>(h) * dv;
  for (int d = threadIdx.x; d < dv; d += blockDim.x) {
    float sum = 0.0f;
    for (int k = 0; k < kAttentionSplits; ++k) {
      const float mk = base[k * (dv + 2)];
      if (mk != -INFINITY) sum += __expf(mk - m_all) * base[k * (dv + 2) + 2 + d];
    }
    o[d] = l_all > 0.0f ? sum / l_all : 0.0f;
  }
}

constexpr int kFlashWarps = 4;
constexpr int kFlashRowsPerWarp = kFlashTileRows / kFlashWarps;
constexpr int kFlashPerLane = kMaxFlashHeadDim / kWarp;
static_assert(kFlashTileKv == kWarp, "one KV position per lane");

// Grid: (n_tiles, n_head). Block: kFlashWarps warps.
__global__ void __launch_bounds__(kFlashWarps * kWarp)
    flash_prefill_kernel(KvLayout kv, AttentionParams p, StepArrays s, const int32_t* tiles,
                         TensorView q, TensorView out) {
  __shared__ float q_sh[kFlashTileRows][kMaxFlashHeadDim];
  __shared__ float k_sh[kFlashTileKv][kMaxFlashHeadDim + 1];  // +1: lanes hit distinct banks
  __shared__ float v_sh[kFlashTileKv][kMaxFlashHeadDim];
  const int first = tiles[2 * blockIdx.x];
  const int n_rows = tiles[2 * blockIdx.x + 1];
  const int h = blockIdx.y;
  const int hk = h / (p.n_head / p.n_head_kv);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int seq = s.row_seq[first];
  const int last_pos = s.positions[first + n_rows - 1];
  const size_t esize = kv.f16 ? 2 : 4;
  const int dk = p.head_dim_k, dv = p.head_dim_v;

  for (int e = threadIdx.x; e < kFlashTileRows * dk; e += blockDim.x) {
    const int i = e / dk, d = e % dk;
    q_sh[i][d] = i < n_rows ? q.data[static_cast<int64_t>(first + i) * q.stride +
                                     static_cast<int64_t>(h) * dk + d]
                            : 0.0f;
  }
  float m[kFlashRowsPerWarp], l[kFlashRowsPerWarp], acc[kFlashRowsPerWarp][kFlashPerLane];
  int pos_q[kFlashRowsPerWarp];
#pragma unroll
  for (int k = 0; k < kFlashRowsPerWarp; ++k) {
    const int i = warp + k * kFlashWarps;
    pos_q[k] = i < n_rows ? s.positions[first + i] : -1;
    m[k] = -INFINITY;
    l[k] = 0.0f;
#pragma unroll
    for (int c = 0; c < kFlashPerLane; ++c) acc[k][c] = 0.0f;
  }

  for (int j0 = 0; j0 <= last_pos; j0 += kFlashTileKv) {
    __syncthreads();  // the previous tile is no longer read
    // Warp w loads positions j0 + w, j0 + w + kFlashWarps, ...; lanes load the elements.
    for (int jj = warp; jj < kFlashTileKv; jj += kFlashWarps) {
      const int pos = j0 + jj;
      if (pos <= last_pos) {
        const uint8_t* row = KvRowPtr(kv, p.layer, s, seq, pos);
        const uint8_t* kr = row + static_cast<size_t>(hk) * dk * esize;
        const uint8_t* vr = row + kv.k_width * esize + static_cast<size_t>(hk) * dv * esize;
        for (int d = lane; d < dk; d += kWarp) k_sh[jj][d] = LoadKv(kr, kv.f16, d);
        for (int d = lane; d < dv; d += kWarp) v_sh[jj][d] = LoadKv(vr, kv.f16, d);
      } else {
        for (int d = lane; d < dk; d += kWarp) k_sh[jj][d] = 0.0f;
        for (int d = lane; d < dv; d += kWarp) v_sh[jj][d] = 0.0f;
      }
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kFlashRowsPerWarp; ++k) {
      const int i = warp + k * kFlashWarps;
      if (pos_q[k] < j0) continue;  // warp-uniform: no visible position in this tile (or no row)
      float score = -INFINITY;
      if (j0 + lane <= pos_q[k]) {
        float dot = 0.0f;
        for (int d = 0; d < dk; ++d) dot += q_sh[i][d] * k_sh[lane][d];
        score = dot * p.scale;
      }
      const float m_new = fmaxf(m[k], WarpMax(score));
      const float correction = __expf(m[k] - m_new);
      const float w = __expf(score - m_new);
      l[k] = l[k] * correction + WarpSum(w);
#pragma unroll
      for (int c = 0; c < kFlashPerLane; ++c) {
        const int d = lane + c * kWarp;
        float a = acc[k][c] * correction;
        if (d < dv) {
          for (int jj = 0; jj < kFlashTileKv; ++jj) {
            a += __shfl_sync(0xffffffffu, w, jj) * v_sh[jj][d];
          }
        }
        acc[k][c] = a;
      }
      m[k] = m_new;
    }
  }
#pragma unroll
  for (int k = 0; k < kFlashRowsPerWarp; ++k) {
    const int i = warp + k * kFlashWarps;
    if (i >= n_rows) continue;
    float* o = out.data + static_cast<int64_t>(first + i) * out.stride + static_cast<int64_t>(h) * dv;
#pragma unroll
    for (int c = 0; c < kFlashPerLane; ++c) {
      const int d = lane + c * kWarp;
      if (d < dv) o[d] = acc[k][c] / l[k];
    }
  }
}

}  // namespace

bool LaunchFlashPrefill(const KvLayout& kv, const AttentionParams& p, const StepArrays& step,
                        const int32_t* tiles, int64_t n_tiles, TensorView q, TensorView out,
                        cudaStream_t stream) {
  if (p.head_dim_k > kMaxFlashHeadDim || p.head_dim_v > kMaxFlashHeadDim || p.head_dim_k <= 0 ||
      p.head_dim_v <= 0 || p.n_head_kv <= 0 || p.n_head % p.n_head_kv != 0 || tiles == nullptr) {
    return false;
  }
  if (n_tiles == 0) return true;
  const dim3 grid(static_cast<unsigned>(n_tiles), static_cast<unsigned>(p.n_head));
  flash_prefill_kernel<<<grid, kFlashWarps * kWarp, 0, stream>>>(kv, p, step, tiles, q, out);
  return true;
}

namespace {

// K and V of positions [0, n_pos) of step sequence `seq` from the paged cache to contiguous bf16,
// head-major: kc [n_kv][n_pos][dk], vc [n_kv][n_pos][dv]. One thread block per position.
__global__ void gather_kv_bf16_kernel(KvLayout kv, int layer, StepArrays s, int seq, int n_pos,
                                      int n_kv, int dk, int dv, __nv_bfloat16* kc,
                                      __nv_bfloat16* vc) {
  const int j = blockIdx.x;
  const uint8_t* row = KvRowPtr(kv, layer, s, seq, j);
  const uint8_t* vrow = row + static_cast<size_t>(kv.k_width) * (kv.f16 ? 2 : 4);
  for (int i = threadIdx.x; i < n_kv * (dk + dv); i += blockDim.x) {
    if (i < n_kv * dk) {
      const int hk = i / dk, d = i % dk;
      kc[(static_cast<int64_t>(hk) * n_pos + j) * dk + d] = __float2bfloat16(LoadKv(row, kv.f16, i));
    } else {
      const int e = i - n_kv * dk, hk = e / dv, d = e % dv;
      vc[(static_cast<int64_t>(hk) * n_pos + j) * dv + d] = __float2bfloat16(LoadKv(vrow, kv.f16, e));
    }
  }
}

// Rows [first, first + n) of q to head-major bf16: qc [n_head][n][dk]. One block per row.
__global__ void q_heads_bf16_kernel(TensorView q, int64_t first, int n, int n_head, int dk,
                                    __nv_bfloat16* qc) {
  const int i = blockIdx.x;
  const float* src = q.data + (first + i) * q.stride;
  for (int e = threadIdx.x; e < n_head * dk; e += blockDim.x) {
    const int h = e / dk, d = e % dk;
    qc[(static_cast<int64_t>(h) * n + i) * dk + d] = __float2bfloat16(src[e]);
  }
}

constexpr int kSoftmaxThreads = 256;

__device__ float BlockReduce(float v, bool is_max, float* red) {
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  v = is_max ? WarpMax(v) : WarpSum(v);
  __syncthreads();  // red may still be read by the previous reduction
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float r = red[0];
  for (int w = 1; w < kSoftmaxThreads / kWarp; ++w) r = is_max ? fmaxf(r, red[w]) : r + red[w];
  return r;
}

// Scores [rows][n_pos] (fp32; rows = heads x n, row i of a head is the query at position
// start + i) to causal softmax probabilities in bf16: positions after the query's get 0.
__global__ void __launch_bounds__(kSoftmaxThreads)
    causal_softmax_bf16_kernel(const float* scores, int n, int n_pos, int start,
                               __nv_bfloat16* probs) {
  __shared__ float red[kSoftmaxThreads / kWarp];
  const int64_t row = blockIdx.x;
  const int last = start + static_cast<int>(row % n);  // inclusive
  const float* src = scores + row * n_pos;
  __nv_bfloat16* dst = probs + row * n_pos;
  float m = -INFINITY;
  for (int j = threadIdx.x; j <= last; j += kSoftmaxThreads) m = fmaxf(m, src[j]);
  m = BlockReduce(m, true, red);
  float sum = 0.0f;
  for (int j = threadIdx.x; j <= last; j += kSoftmaxThreads) sum += __expf(src[j] - m);
  sum = BlockReduce(sum, false, red);
  const float inv = 1.0f / sum;
  for (int j = threadIdx.x; j < n_pos; j += kSoftmaxThreads) {
    dst[j] = __float2bfloat16(j <= last ? __expf(src[j] - m) * inv : 0.0f);
  }
}

}  // namespace

void LaunchGatherKvBf16(const KvLayout& kv, int layer, const StepArrays& step, int seq, int n_pos,
                        int n_kv, int dk, int dv, __nv_bfloat16* kc, __nv_bfloat16* vc,
                        cudaStream_t stream) {
  gather_kv_bf16_kernel<<<n_pos, 256, 0, stream>>>(kv, layer, step, seq, n_pos, n_kv, dk, dv, kc,
                                                   vc);
}

void LaunchQHeadsBf16(TensorView q, int64_t first, int n, int n_head, int dk, __nv_bfloat16* qc,
                      cudaStream_t stream) {
  q_heads_bf16_kernel<<<n, 256, 0, stream>>>(q, first, n, n_head, dk, qc);
}

void LaunchCausalSoftmaxBf16(const float* scores, int64_t rows, int n, int n_pos, int start,
                             __nv_bfloat16* probs, cudaStream_t stream) {
  causal_softmax_bf16_kernel<<<static_cast<unsigned>(rows), kSoftmaxThreads, 0, stream>>>(
      scores, n, n_pos, start, probs);
}

void LaunchKvStore(const KvLayout& kv, int layer, const StepArrays& step, TensorView k,
                   TensorView v, int k_cols, int v_cols, cudaStream_t stream) {
  if (k.rows == 0) return;
  kv_store_kernel<<<static_cast<unsigned>(k.rows), 128, 0, stream>>>(kv, layer, step, k, v, k_cols,
                                                                     v_cols);
}

bool LaunchPagedAttention(const KvLayout& kv, const AttentionParams& p, const StepArrays& step,
                          TensorView q, TensorView out, float* part, cudaStream_t stream) {
  if (p.head_dim_k > kMaxHeadDim || p.head_dim_v > kMaxHeadDim || p.n_head_kv <= 0 ||
      p.n_head % p.n_head_kv != 0) {
    return false;
  }
  for (int64_t row0 = 0; row0 < q.rows; row0 += kAttentionRowsPerLaunch) {
    const int64_t rows = std::min<int64_t>(kAttentionRowsPerLaunch, q.rows - row0);
    const unsigned tasks = static_cast<unsigned>(rows * p.n_head);
    const dim3 grid(tasks, kAttentionSplits), block(kSplitWarps * kWarp);
    if (p.head_dim_v <= 4 * kWarp) {
      paged_attention_split_kernel<4><<<grid, block, 0, stream>>>(kv, p, step, row0, q, part);
    } else if (p.head_dim_v <= 8 * kWarp) {
      paged_attention_split_kernel<8><<<grid, block, 0, stream>>>(kv, p, step, row0, q, part);
    } else {
      paged_attention_split_kernel<16><<<grid, block, 0, stream>>>(kv, p, step, row0, q, part);
    }
    attention_combine_kernel<<<tasks, 128, 0, stream>>>(p, row0, out, part);
  }
  return true;
}

}  // namespace inference::cuda
