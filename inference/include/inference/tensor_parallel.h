// Tensor parallelism across the GPUs of one host (NCCL), Megatron style: each rank holds the
// attention heads [r*H/N, (r+1)*H/N) (query and key/value heads alike, so GQA groups stay whole)
// and the FFN columns [r*F/N, (r+1)*F/N) of every dense, shared and routed expert; the output
// projections (attn_output, ffn_down*) are split along their inputs, so each rank produces a
// partial sum and one all-reduce follows each of them. Embeddings, norms, the output head, MoE
// routers and MLA's shared latent projections are replicated.
//
// This header is the sharding plan and its checks: pure host code, tested on the CPU. The
// weights of a rank are the byte ranges ExtractShard() returns (quantized blocks are never cut).
#ifndef INFERENCE_TENSOR_PARALLEL_H_
#define INFERENCE_TENSOR_PARALLEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "inference/gguf.h"
#include "inference/model_config.h"

namespace inference {

enum class ShardSplit {
  kReplicated,  // every rank holds the whole tensor
  kRows,        // ggml ne1 (output units) split: column-parallel, no communication
  kCols,        // ggml ne0 (inputs; the elements of a 1-D bias) split: row-parallel when 2-D,
                // followed by an all-reduce
};
const char* ShardSplitName(ShardSplit s);

// One rank's part of one tensor: [begin, begin + count) along the split dimension of every
// matrix of the tensor (3-D expert stacks are split matrix by matrix).
struct TensorShard {
  ShardSplit split = ShardSplit::kReplicated;
  int64_t begin = 0;
  int64_t count = 0;
  bool all_reduce_after = false;  // a 2-D kCols product: partial sums to add across ranks
};

// Checks that `config` can be split across `ranks` GPUs of which `device_count` exist:
// FAILED_PRECONDITION (reason GPU_COUNT) when ranks > device_count, INVALID_ARGUMENT naming the
// dimension (head count, key/value head count, FFN width) that ranks does not divide.
Status ValidateTensorParallel(const ModelConfig& config, int ranks, int device_count);

// The configuration one rank runs: heads and FFN widths divided by ranks.
StatusOr<ModelConfig> RankConfig(const ModelConfig& config, int ranks);

// Which part of tensor `name` (dims in ggml order, ne0 first) rank `rank` of `ranks` holds.
// INVALID_ARGUMENT when the split dimension does not divide, or when a kCols split would cut a
// quantized block (the per-rank width must be a multiple of the type's block size).
StatusOr<TensorShard> ShardTensor(const ModelConfig& config, int ranks, int rank,
                                  const std::string& name, const std::vector<uint64_t>& dims,
                                  GgmlType type);

// The bytes of a rank's part, in the layout of a tensor of the shard's shape.
StatusOr<std::vector<uint8_t>> ExtractShard(const GgufTensor& tensor, const TensorShard& shard);

// NCCL, opened at run time (libnccl.so.2) like cuBLAS, so the packages work without it.
// ranks == 1: OK without touching the library. Otherwise UNAVAILABLE (reason NCCL) when the
// library or one of its functions is missing.
Status CheckNcclForTensorParallel(int ranks);

}  // namespace inference

#endif  // INFERENCE_TENSOR_PARALLEL_H_
