// Tensor-parallel sharding plan and checks (inference/tensor_parallel.h): host code, built in
// every configuration and tested on the CPU.
#include "inference/tensor_parallel.h"

#include <dlfcn.h>

#include <cstring>

namespace inference {
namespace {

// How a tensor is split: along which dimension, in groups of `unit` elements (a head's width,
// or 1 for FFN columns), `groups` of them in all.
struct SplitRule {
  ShardSplit split = ShardSplit::kReplicated;
  int64_t unit = 1;
  int64_t groups = 0;  // 0: the whole split dimension, unit 1
  bool all_reduce = false;
};

std::string Suffix(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return name;
  const size_t dot = name.find('.', 4);
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

SplitRule RuleFor(const ModelConfig& c, const std::string& name) {
  const std::string s = Suffix(name);
  const int64_t hd = c.head_dim, hd_v = c.head_dim_v;
  if (s == "attn_q.weight" || s == "attn_q_b.weight") return {ShardSplit::kRows, hd, c.n_head};
  if (s == "attn_k.weight") return {ShardSplit::kRows, hd, c.n_head_kv};
  if (s == "attn_v.weight") return {ShardSplit::kRows, hd_v, c.n_head_kv};
  if (s == "attn_q.bias") return {ShardSplit::kCols, hd, c.n_head};
  if (s == "attn_k.bias") return {ShardSplit::kCols, hd, c.n_head_kv};
  if (s == "attn_v.bias") return {ShardSplit::kCols, hd_v, c.n_head_kv};
  // MLA: the per-head expansion of the shared latent (nope part of K, then V, per head).
  if (s == "attn_kv_b.weight") return {ShardSplit::kRows, c.n_nope_mla + hd_v, c.n_head};
  if (s == "attn_output.weight") return {ShardSplit::kCols, hd_v, c.n_head, true};
  if (s == "ffn_gate.weight" || s == "ffn_up.weight" || s == "ffn_gate_shexp.weight" ||
      s == "ffn_up_shexp.weight" || s == "ffn_gate_exps.weight" || s == "ffn_up_exps.weight") {
    return {ShardSplit::kRows, 1, 0};
  }
  if (s == "ffn_down.weight" || s == "ffn_down_shexp.weight" || s == "ffn_down_exps.weight") {
    return {ShardSplit::kCols, 1, 0, true};
  }
  return {};
}

Status NotDivisible(const std::string& what, int64_t value, int ranks) {
  return common::InvalidArgumentError("tensor parallelism over " + std::to_string(ranks) +
                                      " GPUs needs " + what + " (" + std::to_string(value) +
                                      ") to be a multiple of " + std::to_string(ranks));
}

}  // namespace

const char* ShardSplitName(ShardSplit s) {
  switch (s) {
    case ShardSplit::kReplicated: return "replicated";
    case ShardSplit::kRows: return "rows";
    case ShardSplit::kCols: return "cols";
  }
  return "?";
}

Status ValidateTensorParallel(const ModelConfig& c, int ranks, int device_count) {
  if (ranks < 1 || ranks > 64) {
    return common::InvalidArgumentError("tensor_parallel must be between 1 and 64, not " +
                                        std::to_string(ranks));
  }
  if (ranks > device_count) {
    return common::Status(common::StatusCode::kFailedPrecondition,
                          "tensor parallelism over " + std::to_string(ranks) +
                              " GPUs was asked for but " + std::to_string(device_count) +
                              (device_count == 1 ? " GPU is" : " GPUs are") + " present",
                          "GPU_COUNT");
  }
  if (c.n_head % ranks != 0) return NotDivisible("the attention head count", c.n_head, ranks);
  if (c.n_head_kv % ranks != 0) {
    return NotDivisible("the key/value head count (grouped-query attention)", c.n_head_kv, ranks);
  }
  if (c.n_ff % ranks != 0) return NotDivisible("the FFN width", c.n_ff, ranks);
  if (c.n_expert > 0 && c.n_ff_exp % ranks != 0) {
    return NotDivisible("the expert FFN width", c.n_ff_exp, ranks);
  }
  if (c.n_ff_shexp % ranks != 0) return NotDivisible("the shared expert FFN width", c.n_ff_shexp, ranks);
  return common::OkStatus();
}

StatusOr<ModelConfig> RankConfig(const ModelConfig& c, int ranks) {
  RETURN_IF_ERROR(ValidateTensorParallel(c, ranks, ranks));
  ModelConfig r = c;
  r.n_head /= ranks;
  r.n_head_kv /= ranks;
  r.n_ff /= ranks;
  r.n_ff_exp /= ranks;
  r.n_ff_shexp /= ranks;
  return r;
}

StatusOr<TensorShard> ShardTensor(const ModelConfig& c, int ranks, int rank,
                                  const std::string& name, const std::vector<uint64_t>& dims,
                                  GgmlType type) {
  if (ranks < 1 || rank < 0 || rank >= ranks) {
    return common::InvalidArgumentError("rank " + std::to_string(rank) + " of " +
                                        std::to_string(ranks) + " does not exist");
  }
  if (dims.empty() || dims.size() > 3) {
    return common::InvalidArgumentError("tensor '" + name + "': expected 1 to 3 dimensions");
  }
  TensorShard shard;
  const SplitRule rule = ranks == 1 ? SplitRule{} : RuleFor(c, name);
  if (rule.split == ShardSplit::kReplicated) {
    shard.count = static_cast<int64_t>(dims.size() > 1 ? dims[1] : dims[0]);
    return shard;
  }
  const size_t axis = rule.split == ShardSplit::kRows ? 1 : 0;
  if (axis >= dims.size()) {
    return common::InvalidArgumentError("tensor '" + name + "': no dimension to split");
  }
  const int64_t size = static_cast<int64_t>(dims[axis]);
  const int64_t groups = rule.groups > 0 ? rule.groups : size;
  if (rule.unit <= 0 || groups * rule.unit != size) {
    return common::InvalidArgumentError("tensor '" + name + "': dimension " +
                                        std::to_string(size) + " is not " +
                                        std::to_string(groups) + " heads of " +
                                        std::to_string(rule.unit));
  }
  if (groups % ranks != 0) return NotDivisible("tensor '" + name + "' split dimension", groups, ranks);
  shard.split = rule.split;
  shard.count = groups / ranks * rule.unit;
  shard.begin = shard.count * rank;
  shard.all_reduce_after = rule.all_reduce && dims.size() > 1;
  if (rule.split == ShardSplit::kCols) {
    const int64_t block = GgmlBlockSize(type);
    if (block <= 0 || shard.count % block != 0) {
      return common::InvalidArgumentError(
          "tensor '" + name + "': " + std::to_string(shard.count) + " columns per GPU would cut " +
          GgmlTypeName(type) + " blocks of " + std::to_string(block));
    }
  }
  return shard;
}

StatusOr<std::vector<uint8_t>> ExtractShard(const GgufTensor& t, const TensorShard& shard) {
  if (t.dims.empty() || t.dims.size() > 3 || t.data == nullptr) {
    return common::InvalidArgumentError("tensor '" + t.name + "': no data or bad shape");
  }
  const uint64_t cols = t.dims[0];
  const uint64_t rows = t.dims.size() > 1 ? t.dims[1] : 1;
  const uint64_t mats = t.dims.size() > 2 ? t.dims[2] : 1;
  ASSIGN_OR_RETURN(const uint64_t row_bytes, GgmlRowBytes(t.type, cols));
  if (row_bytes * rows * mats != t.n_bytes) {
    return common::InvalidArgumentError("tensor '" + t.name + "': size does not match its shape");
  }
  if (shard.split == ShardSplit::kReplicated) {
    return std::vector<uint8_t>(t.data, t.data + t.n_bytes);
  }
  const uint64_t limit = shard.split == ShardSplit::kRows ? rows : cols;
  if (shard.begin < 0 || shard.count <= 0 ||
      static_cast<uint64_t>(shard.begin + shard.count) > limit) {
    return common::OutOfRangeError("tensor '" + t.name + "': shard outside the tensor");
  }
  std::vector<uint8_t> out;
  if (shard.split == ShardSplit::kRows) {
    out.reserve(row_bytes * static_cast<uint64_t>(shard.count) * mats);
    for (uint64_t m = 0; m < mats; ++m) {
      const uint8_t* first = t.data + (m * rows + static_cast<uint64_t>(shard.begin)) * row_bytes;
      out.insert(out.end(), first, first + row_bytes * static_cast<uint64_t>(shard.count));
    }
    return out;
  }
  ASSIGN_OR_RETURN(const uint64_t offset, GgmlRowBytes(t.type, static_cast<uint64_t>(shard.begin)));
  ASSIGN_OR_RETURN(const uint64_t width, GgmlRowBytes(t.type, static_cast<uint64_t>(shard.count)));
  out.reserve(width * rows * mats);
  for (uint64_t r = 0; r < rows * mats; ++r) {
    const uint8_t* first = t.data + r * row_bytes + offset;
    out.insert(out.end(), first, first + width);
  }
  return out;
}

Status CheckNcclForTensorParallel(int ranks) {
  if (ranks == 1) return common::OkStatus();  // one GPU: NCCL is never touched
  void* lib = nullptr;
  for (const char* so : {"libnccl.so.2", "libnccl.so"}) {
    lib = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (lib != nullptr) break;
  }
  if (lib == nullptr) {
    const char* why = dlerror();
    return common::Status(common::StatusCode::kUnavailable,
                          "tensor parallelism needs NCCL (libnccl.so.2), which was not found: " +
                              std::string(why != nullptr ? why : "?") +
                              "; install NVIDIA's libnccl2 package or run with tensor_parallel 1",
                          "NCCL");
  }
  std::string missing;
  for (const char* fn : {"ncclGetUniqueId", "ncclCommInitRank", "ncclCommInitAll",
                         "ncclAllReduce", "ncclGroupStart", "ncclGroupEnd", "ncclCommDestroy",
                         "ncclGetErrorString"}) {
    if (dlsym(lib, fn) == nullptr) missing += std::string(missing.empty() ? "" : ", ") + fn;
  }
  dlclose(lib);
  if (!missing.empty()) {
    return common::Status(common::StatusCode::kUnavailable,
                          "libnccl lacks " + missing + " (NCCL 2.x is needed)", "NCCL");
  }
  return common::OkStatus();
}

}  // namespace inference
