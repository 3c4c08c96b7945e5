#include "backend/cuda/common.cuh"
#include "backend/cuda/ops.cuh"

namespace inference::cuda {
namespace {

constexpr int kMaxExperts = 512;

// One thread per token: probabilities, top-k by repeated selection (k is small) of
// probability + selection bias,
// optional renormalisation and scaling. Ties go to the lower expert id, as on the CPU.
__global__ void moe_route_kernel(TensorView logits, MoeRouting r, const float* bias,
                                 TensorView ids, TensorView weights) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= logits.rows) return;
  const float* l = logits.data + t * logits.stride;
  float probs[kMaxExperts];
  const int n = r.n_expert < kMaxExperts ? r.n_expert : kMaxExperts;
  if (r.gating == MoeGating::kSoftmax) {
    float mx = l[0];
    for (int e = 1; e < n; ++e) mx = fmaxf(mx, l[e]);
    float sum = 0.0f;
    for (int e = 0; e < n; ++e) sum += probs[e] = __expf(l[e] - mx);
    for (int e = 0; e < n; ++e) probs[e] /= sum;
  } else {
    for (int e = 0; e < n; ++e) probs[e] = 1.0f / (1.0f + __expf(-l[e]));
  }
  int32_t* id_row = reinterpret_cast<int32_t*>(ids.data) + t * ids.stride;
  float* w_row = weights.data + t * weights.stride;
  float sel_sum = 0.0f;
  for (int j = 0; j < r.n_expert_used; ++j) {
    int best = -1;
    float best_sel = 0.0f;
    for (int e = 0; e < n; ++e) {
      bool taken = false;
      for (int q = 0; q < j; ++q) taken |= id_row[q] == e;
      const float sel = probs[e] + (bias != nullptr ? bias[e] : 0.0f);
      if (!taken && (best < 0 || sel > best_sel)) {
        best = e;
        best_sel = sel;
      }
    }
    id_row[j] = best;
    w_row[j] = probs[best];
    sel_sum += probs[best];
  }
  for (int j = 0; j < r.n_expert_used; ++j) {
    w_row[j] = (r.normalize ? w_row[j] / sel_sum : w_row[j]) * r.scale;
  }
}

__global__ void moe_combine_kernel(TensorView y, TensorView w, TensorView out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= out.rows * out.cols) return;
  const int64_t t = i / out.cols, c = i % out.cols;
  const int64_t k = w.cols;
  float acc = 0.0f;
  for (int64_t j = 0; j < k; ++j) acc += w.data[t * w.stride + j] * y.data[(t * k + j) * y.stride + c];
  out.data[t * out.stride + c] = acc;
}

}  // namespace

void LaunchMoeRoute(TensorView logits, const MoeRouting& r, const float* bias, TensorView ids,
                    TensorView weights, cudaStream_t stream) {
  if (logits.rows == 0) return;
  moe_route_kernel<<<CeilDiv(logits.rows, 64), 64, 0, stream>>>(logits, r, bias, ids, weights);
}

void LaunchMoeCombine(TensorView y, TensorView weights, TensorView out, cudaStream_t stream) {
  const int64_t total = out.rows * out.cols;
  if (total) moe_combine_kernel<<<CeilDiv(total, 256), 256, 0, stream>>>(y, weights, out);
}

}  // namespace inference::cuda
