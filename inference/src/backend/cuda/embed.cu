#include "backend/cuda/common.cuh"
#include "backend/cuda/dequant.cuh"
#include "backend/cuda/ops.cuh"

namespace inference::cuda {
namespace {

template <GgmlType T>
__global__ void embed_kernel(const uint8_t* table, int64_t vocab, int64_t row_bytes,
                             const int32_t* tokens, TensorView out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= out.rows * out.cols) return;
  const int64_t r = i / out.cols, c = i % out.cols;
  int64_t tok = tokens[r];
  tok = tok < 0 ? 0 : (tok >= vocab ? vocab - 1 : tok);
  out.data[r * out.stride + c] = Dequant<T>::At(table + tok * row_bytes, c);
}

}  // namespace

bool LaunchEmbed(const WeightRef& table, const int32_t* tokens, TensorView out,
                 cudaStream_t stream) {
  const int64_t total = out.rows * out.cols;
  if (total == 0) return true;
  return DispatchType(table.type, [&]<GgmlType T>() {
    embed_kernel<T><<<CeilDiv(total, 256), 256, 0, stream>>>(table.data, table.rows,
                                                             table.row_bytes, tokens, out);
  });
}

}  // namespace inference::cuda
