#include "backend/cuda/common.cuh"
#include "backend/cuda/ops.cuh"

namespace inference::cuda {
namespace {

// One thread per (row, head, pair). Normal mode rotates (2i, 2i+1); NeoX mode
// rotates (i, i + n_rot/2). theta = pos * base^(-2i/n_rot), computed in double
// like the CPU reference so long positions keep their precision.
__global__ void rope_kernel(TensorView x, RopeParams p, const int32_t* positions,
                            const float* factors) {
  const int half = p.n_rot / 2;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t total = x.rows * p.n_head * half;
  if (idx >= total) return;
  const int i = static_cast<int>(idx % half);
  const int h = static_cast<int>((idx / half) % p.n_head);
  const int64_t r = idx / (static_cast<int64_t>(half) * p.n_head);
  const double theta =
      positions[r] * pow(static_cast<double>(p.freq_base), -2.0 * i / static_cast<double>(p.n_rot)) /
      (factors != nullptr ? factors[i] : 1.0f);
  const float c = static_cast<float>(cos(theta)), s = static_cast<float>(sin(theta));
  float* v = x.data + r * x.stride + h * p.head_stride + p.rot_offset;
  const int a = p.mode == RopeMode::kNormal ? 2 * i : i;
  const int b = p.mode == RopeMode::kNormal ? 2 * i + 1 : i + half;
  const float x0 = v[a], x1 = v[b];
  v[a] = x0 * c - x1 * s;
  v[b] = x0 * s + x1 * c;
}

}  // namespace

void LaunchRope(TensorView x, const RopeParams& p, const int32_t* positions, const float* factors,
                cudaStream_t stream) {
  const int64_t total = x.rows * p.n_head * (p.n_rot / 2);
  if (total == 0) return;
  rope_kernel<<<CeilDiv(total, 256), 256, 0, stream>>>(x, p, positions, factors);
}

}  // namespace inference::cuda
