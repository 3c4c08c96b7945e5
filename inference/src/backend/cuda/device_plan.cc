// Host-side planning for the CUDA backend; compiled in every build so it is
// tested on machines without a GPU.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "inference/cuda_backend.h"

namespace inference {

std::string FormatBytes(size_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (bytes >= (size_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1 << 30));
  } else if (bytes >= (size_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  }
  return buf;
}

StatusOr<DeviceMemoryPlan> PlanDeviceMemory(size_t free_bytes, size_t weight_bytes,
                                            size_t kv_bytes_per_block, int min_kv_blocks,
                                            size_t reserve_bytes, double kv_fraction) {
  if (kv_bytes_per_block == 0 || min_kv_blocks < 0 || kv_fraction <= 0 || kv_fraction > 1) {
    return common::InvalidArgumentError("invalid device memory plan parameters");
  }
  const size_t min_kv = kv_bytes_per_block * static_cast<size_t>(min_kv_blocks);
  const size_t needed = weight_bytes + min_kv + reserve_bytes;
  if (needed > free_bytes) {
    return common::Status(
        common::StatusCode::kResourceExhausted,
        "the model does not fit on the GPU: it needs " + FormatBytes(needed) + " (weights " +
            FormatBytes(weight_bytes) + ", minimum KV cache " + FormatBytes(min_kv) +
            ", reserve " + FormatBytes(reserve_bytes) + ") but only " + FormatBytes(free_bytes) +
            " is free",
        "GPU_MEMORY");
  }
  const size_t left = free_bytes - weight_bytes - reserve_bytes;
  size_t blocks = static_cast<size_t>(static_cast<double>(left) * kv_fraction) / kv_bytes_per_block;
  if (blocks < static_cast<size_t>(min_kv_blocks)) blocks = static_cast<size_t>(min_kv_blocks);
  if (blocks > (size_t{1} << 30)) blocks = size_t{1} << 30;
  DeviceMemoryPlan plan;
  plan.weight_bytes = weight_bytes;
  plan.kv_blocks = static_cast<int>(blocks);
  plan.kv_bytes = blocks * kv_bytes_per_block;
  return plan;
}

std::vector<int32_t> PlanAttentionTiles(std::span<const StepSequence> sequences, int64_t n_rows,
                                        int tile_rows, int min_rows) {
  std::vector<int32_t> tiles;
  if (min_rows <= 0 || tile_rows <= 0 || n_rows < min_rows) return tiles;
  for (const StepSequence& s : sequences) {
    for (int32_t r = 0; r < s.n_tokens; r += tile_rows) {
      tiles.push_back(s.first_row + r);
      tiles.push_back(std::min(tile_rows, s.n_tokens - r));
    }
  }
  return tiles;
}

PrefillAttentionPlan PlanPrefillAttention(std::span<const StepSequence> sequences, int64_t n_rows,
                                          int tile_rows, int flash_min_rows, int gemm_min_rows,
                                          int max_positions) {
  PrefillAttentionPlan plan;
  std::vector<StepSequence> others;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const StepSequence& s = sequences[i];
    if (gemm_min_rows > 0 && s.n_tokens >= gemm_min_rows &&
        static_cast<int64_t>(s.start_pos) + s.n_tokens <= max_positions) {
      plan.gemm_sequences.push_back(static_cast<int32_t>(i));
    } else {
      others.push_back(s);
    }
  }
  plan.tiles = plan.gemm_sequences.empty()
                   ? PlanAttentionTiles(sequences, n_rows, tile_rows, flash_min_rows)
                   : PlanAttentionTiles(others, n_rows, tile_rows, 1);
  return plan;
}

}  // namespace inference
