// Sampling on the device: one thread block per logit row, the algorithm of
// SampleRowsReference (device_sampling.cc) step by step:
//   1. penalties applied to a copy of the row (the logits stay intact for a host fallback);
//   2. greedy: block argmax, lowest index among ties;
//   3. otherwise: temperature, the C = min(survivors, kDeviceSampleCandidates) best candidates
//      found by a binary search on an order-preserving integer key (count of keys >= T), gathered
//      in index order and bitonic-sorted in shared memory (logit descending, index ascending);
//      softmax normaliser in double; top-p, min-p and the draw with the host's uniform in one
//      thread, in the same order and precision as the CPU.
// Float arithmetic that must round as on the CPU uses __f*_rn (no FMA contraction).
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>

#include "backend/cuda/common.cuh"
#include "backend/cuda/sampling.cuh"

namespace inference::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / kWarp;
constexpr int kCand = kDeviceSampleCandidates;  // a power of two (bitonic sort)
static_assert((kCand & (kCand - 1)) == 0, "bitonic sort needs a power of two");

// Order-preserving key of a float (larger float -> larger key); -0 maps to +0.
__device__ __forceinline__ uint32_t Key(float f) {
  if (f == 0.0f) f = 0.0f;
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ bool Valid(float l) { return l > -INFINITY; }  // false for NaN too

__device__ int BlockSumInt(int v, int* sh) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  int total = 0;
  for (int w = 0; w < kWarpsPerBlock; ++w) total += sh[w];
  __syncthreads();
  return total;
}

__device__ double BlockSumDouble(double v, double* sh) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  double total = 0;
  for (int w = 0; w < kWarpsPerBlock; ++w) total += sh[w];
  __syncthreads();
  return total;
}

// a comes before b: larger value, then smaller index (the CPU's order; -inf/INT_MAX pads last).
__device__ __forceinline__ bool Before(float av, int ai, float bv, int bi) {
  return av > bv || (av == bv && ai < bi);
}

// Block argmax of w[0, n): the first largest value, as ArgMax on the CPU.
__device__ int BlockArgMax(const float* w, int64_t n, float* sh_v, int* sh_i) {
  float best_v = -INFINITY;
  int best_i = INT_MAX;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const float v = w[i];
    if (best_i == INT_MAX || v > best_v) {
      best_v = v;
      best_i = static_cast<int>(i);
    }
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best_v, o);
    const int oi = __shfl_xor_sync(0xffffffffu, best_i, o);
    if (oi != INT_MAX && (best_i == INT_MAX || Before(ov, oi, best_v, best_i))) {
      best_v = ov;
      best_i = oi;
    }
  }
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (lane == 0) {
    sh_v[warp] = best_v;
    sh_i[warp] = best_i;
  }
  __syncthreads();
  float v = -INFINITY;
  int idx = INT_MAX;
  for (int w = 0; w < kWarpsPerBlock; ++w) {
    if (sh_i[w] != INT_MAX && (idx == INT_MAX || Before(sh_v[w], sh_i[w], v, idx))) {
      v = sh_v[w];
      idx = sh_i[w];
    }
  }
  __syncthreads();
  return idx == INT_MAX ? 0 : idx;
}

__global__ void __launch_bounds__(kThreads)
    sample_rows_kernel(const float* logits, int64_t logits_stride, int64_t n_vocab,
                       const DeviceSampleRow* rows, const PenaltyEntry* penalties,
                       int64_t n_penalties, float* work, int32_t* tokens) {
  __shared__ float cand_v[kCand];
  __shared__ int cand_i[kCand];
  __shared__ double probs[kCand];
  __shared__ int sh_int[kWarpsPerBlock];
  __shared__ double sh_dbl[kWarpsPerBlock];
  __shared__ float sh_v[kWarpsPerBlock];
  __shared__ int sh_i[kWarpsPerBlock];
  __shared__ int scan_gt[kThreads], scan_eq[kThreads];

  const int64_t r = blockIdx.x;
  const DeviceSampleRow row = rows[r];  // block-uniform: every branch below is taken by all
  if (row.mode == DeviceSampleRow::kHost || n_vocab <= 0) {
    if (threadIdx.x == 0) tokens[r] = kSampleOnHost;
    return;
  }
  const float* in = logits + r * logits_stride;
  float* w = work + r * n_vocab;

  // 1. Penalties on a copy (distinct tokens: no two threads write the same element).
  for (int64_t i = threadIdx.x; i < n_vocab; i += kThreads) w[i] = in[i];
  __syncthreads();
  for (int e = threadIdx.x; e < row.penalty_count; e += kThreads) {
    const int64_t at = static_cast<int64_t>(row.penalty_offset) + e;
    if (at < 0 || at >= n_penalties) continue;
    const PenaltyEntry pe = penalties[at];
    if (pe.token < 0 || pe.token >= n_vocab) continue;
    float l = w[pe.token];
    if (row.repetition_penalty != 1.0f) {
      l = l > 0 ? __fdiv_rn(l, row.repetition_penalty) : __fmul_rn(l, row.repetition_penalty);
    }
    l = __fsub_rn(l, __fadd_rn(__fmul_rn(static_cast<float>(pe.count), row.frequency_penalty),
                               row.presence_penalty));
    w[pe.token] = l;
  }
  __syncthreads();

  if (row.mode == DeviceSampleRow::kGreedy) {
    const int best = BlockArgMax(w, n_vocab, sh_v, sh_i);
    if (threadIdx.x == 0) tokens[r] = best;
    return;
  }

  // 2. Temperature; valid candidates are above -inf.
  const float inv_t = row.inv_temperature;
  int local = 0;
  for (int64_t i = threadIdx.x; i < n_vocab; i += kThreads) local += Valid(__fmul_rn(w[i], inv_t));
  const int n_valid = BlockSumInt(local, sh_int);
  if (n_valid == 0) {
    const int best = BlockArgMax(w, n_vocab, sh_v, sh_i);
    if (threadIdx.x == 0) tokens[r] = best;
    return;
  }
  const int survivors = row.top_k > 0 && row.top_k < n_valid ? row.top_k : n_valid;
  const int c = survivors < kCand ? survivors : kCand;
  if (survivors > c && survivors < n_valid) {  // top-k cut beyond the candidates: host
    if (threadIdx.x == 0) tokens[r] = kSampleOnHost;
    return;
  }

  // 3. Threshold: the largest key T with count(key >= T) >= c.
  uint64_t lo = 0, hi = uint64_t{1} << 32;
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    int cnt = 0;
    for (int64_t i = threadIdx.x; i < n_vocab; i += kThreads) {
      const float l = __fmul_rn(w[i], inv_t);
      cnt += Valid(l) && Key(l) >= mid;
    }
    if (BlockSumInt(cnt, sh_int) >= c) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const uint32_t threshold = static_cast<uint32_t>(lo);

  // Gather in index order: each thread owns a contiguous chunk; keys above T all go in, keys
  // equal to T fill the remaining places lowest index first.
  const int64_t chunk = (n_vocab + kThreads - 1) / kThreads;
  const int64_t begin = threadIdx.x * chunk;
  const int64_t end = begin + chunk < n_vocab ? begin + chunk : n_vocab;
  int gt = 0, eq = 0;
  for (int64_t i = begin; i < end; ++i) {
    const float l = __fmul_rn(w[i], inv_t);
    if (!Valid(l)) continue;
    const uint32_t k = Key(l);
    gt += k > threshold;
    eq += k == threshold;
  }
  scan_gt[threadIdx.x] = gt;
  scan_eq[threadIdx.x] = eq;
  for (int i = threadIdx.x; i < kCand; i += kThreads) {
    cand_v[i] = -INFINITY;
    cand_i[i] = INT_MAX;
  }
  __syncthreads();
  if (threadIdx.x == 0) {  // exclusive prefix sums; the totals land in the last slot's place
    int a = 0, b = 0;
    for (int t = 0; t < kThreads; ++t) {
      const int ga = scan_gt[t], eb = scan_eq[t];
      scan_gt[t] = a;
      scan_eq[t] = b;
      a += ga;
      b += eb;
    }
    sh_int[0] = a;  // keys above the threshold (< c)
  }
  __syncthreads();
  const int total_gt = sh_int[0];
  int at_gt = scan_gt[threadIdx.x], at_eq = total_gt + scan_eq[threadIdx.x];
  for (int64_t i = begin; i < end; ++i) {
    const float l = __fmul_rn(w[i], inv_t);
    if (!Valid(l)) continue;
    const uint32_t k = Key(l);
    const float v = l == 0.0f ? 0.0f : l;
    if (k > threshold) {
      if (at_gt < kCand) {
        cand_v[at_gt] = v;
        cand_i[at_gt] = static_cast<int>(i);
      }
      ++at_gt;
    } else if (k == threshold) {
      if (at_eq < c) {
        cand_v[at_eq] = v;
        cand_i[at_eq] = static_cast<int>(i);
      }
      ++at_eq;
    }
  }
  __syncthreads();

  // Bitonic sort of the kCand slots into "Before" order.
  for (int size = 2; size <= kCand; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = threadIdx.x; i < kCand; i += kThreads) {
        const int j = i ^ stride;
        if (j > i) {
          const bool forward = (i & size) == 0;
          const bool swap = forward ? Before(cand_v[j], cand_i[j], cand_v[i], cand_i[i])
                                    : Before(cand_v[i], cand_i[i], cand_v[j], cand_i[j]);
          if (swap) {
            const float tv = cand_v[i];
            cand_v[i] = cand_v[j];
            cand_v[j] = tv;
            const int ti = cand_i[i];
            cand_i[i] = cand_i[j];
            cand_i[j] = ti;
          }
        }
      }
      __syncthreads();
    }
  }

  // 4. Softmax normaliser: in candidate order when the candidates are all the survivors (as the
  //    CPU), else a block reduction over every valid token.
  const double max_l = cand_v[0];
  double sum = 0;
  if (survivors > c) {
    double part = 0;
    for (int64_t i = threadIdx.x; i < n_vocab; i += kThreads) {
      const float l = __fmul_rn(w[i], inv_t);
      if (Valid(l)) part += exp(static_cast<double>(l) - max_l);
    }
    sum = BlockSumDouble(part, sh_dbl);
  }
  if (threadIdx.x != 0) return;
  if (survivors == c) {
    for (int i = 0; i < c; ++i) sum += exp(static_cast<double>(cand_v[i]) - max_l);
  }
  for (int i = 0; i < c; ++i) probs[i] = exp(static_cast<double>(cand_v[i]) - max_l) / sum;

  // 5. top-p, min-p, draw (one thread, the CPU's order and precision).
  int keep = survivors;
  if (row.top_p < 1.0f) {
    double acc = 0;
    bool cut = false;
    for (int i = 0; i < c; ++i) {
      acc += probs[i];
      if (acc >= row.top_p) {
        keep = i + 1;
        cut = true;
        break;
      }
    }
    if (!cut && survivors > c) {
      tokens[r] = kSampleOnHost;
      return;
    }
  }
  if (row.min_p > 0.0f) {
    const double floor = row.min_p * probs[0];
    int k = 1;
    while (k < keep && k < c && probs[k] >= floor) ++k;
    if (k == c && keep > c) {
      tokens[r] = kSampleOnHost;
      return;
    }
    keep = k;
  }
  double total = 0;
  if (keep <= c) {
    for (int i = 0; i < keep; ++i) total += probs[i];
  } else {
    total = 1.0;
  }
  const double target = row.uniform * total;
  double acc = 0;
  const int walk = keep < c ? keep : c;
  for (int i = 0; i < walk; ++i) {
    acc += probs[i];
    if (target < acc) {
      tokens[r] = cand_i[i];
      return;
    }
  }
  tokens[r] = keep <= c ? cand_i[keep - 1] : kSampleOnHost;
}

}  // namespace

bool LaunchSampleRows(TensorView logits, const DeviceSampleRow* rows, const PenaltyEntry* penalties,
                      int64_t n_penalties, float* work, int32_t* tokens, cudaStream_t stream) {
  if (logits.rows <= 0) return true;
  if (logits.cols <= 0 || logits.cols > INT_MAX) return false;
  sample_rows_kernel<<<static_cast<unsigned>(logits.rows), kThreads, 0, stream>>>(
      logits.data, logits.stride, logits.cols, rows, penalties, n_penalties, work, tokens);
  return true;
}

}  // namespace inference::cuda
