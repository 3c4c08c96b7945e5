// The CUDA backend: weights on the device in their file's type, quantized
// matrix-vector kernels for decode, cuBLAS (bf16 tensor cores) for prefill,
// fused norm/rope/SwiGLU, attention over the paged KV cache, MoE routing.
//
// Compiled when nvcc is found at configure time; CreateCudaBackend() answers
// UNAVAILABLE (with the reason) when the build has no CUDA or the machine has
// no usable GPU, and the caller falls back to the CPU backend.
#ifndef INFERENCE_CUDA_BACKEND_H_
#define INFERENCE_CUDA_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "inference/backend.h"

namespace inference {

// A group of NCCL communicators, one per GPU of this host (tensor parallelism). Opened at run
// time (libnccl.so.2); never created for one GPU.
class NcclGroup {
 public:
  // Communicators over GPUs 0..ranks-1 (ncclCommInitAll). UNAVAILABLE without NCCL or CUDA.
  static StatusOr<std::shared_ptr<NcclGroup>> Create(int ranks);
  ~NcclGroup();
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;
  int ranks() const;
  // Enqueues data[0, count) = sum over the ranks on `stream` (a cudaStream_t), in place. Every
  // rank must call it, each from its own thread.
  Status AllReduceSum(int rank, float* data, size_t count, void* stream);

 private:
  NcclGroup();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct CudaBackendOptions {
  int device = 0;
  // Tensor parallelism: the group and this backend's rank in it (the rank is also the device).
  std::shared_ptr<NcclGroup> nccl;
  int rank = 0;
  // Bytes of device memory left free for cuBLAS workspaces and fragmentation.
  size_t reserve_bytes = size_t{512} << 20;
  // Record decode steps as CUDA graphs, one per batch-size bucket (DefaultGraphBuckets()).
  bool graphs = true;
  // Prefill attention uses the tiled flash-attention kernel for steps of at least this many
  // rows (0 = never); shorter steps use the flash-decoding kernel.
  int flash_prefill_min_rows = 64;
  // Sequences of at least this many rows in a prefill step compute attention with cuBLAS GEMMs
  // (PlanPrefillAttention; 0 = never).
  int gemm_attention_min_rows = 256;
};

// True when this build contains the CUDA backend.
bool CudaBackendCompiled();

// Usable CUDA devices (0 without a driver, a GPU, or the backend).
int CudaDeviceCount();

// Makes `device` the calling thread's current CUDA device (one thread per GPU).
Status UseCudaDevice(int device);

// Figures of the device for the benchmark: device-to-device copy bandwidth (bytes/s, cudaMemcpy
// of `bytes` each way, best of several) and the bf16 tensor-core peak (flop/s, cublasGemmEx on
// n x n x n with fp32 accumulation, best of several). UNAVAILABLE without a GPU.
StatusOr<double> MeasureCopyBandwidth(int device, size_t bytes);
StatusOr<double> MeasureBf16GemmPeak(int device, int n);

StatusOr<std::unique_ptr<Backend>> CreateCudaBackend(const CudaBackendOptions& options);

// Device memory planning (host-side logic, tested without a GPU).
struct DeviceMemoryPlan {
  size_t weight_bytes = 0;
  size_t kv_bytes = 0;
  int kv_blocks = 0;
};

// Plans the KV cache from the memory left after the weights: as many blocks as
// fit in `kv_fraction` of what remains after `reserve_bytes`, at least
// `min_kv_blocks`. RESOURCE_EXHAUSTED with the figures (needed, free) when the
// weights and the minimum cache do not fit.
StatusOr<DeviceMemoryPlan> PlanDeviceMemory(size_t free_bytes, size_t weight_bytes,
                                            size_t kv_bytes_per_block, int min_kv_blocks,
                                            size_t reserve_bytes, double kv_fraction = 0.9);

// "1.50 GiB"
std::string FormatBytes(size_t bytes);

// --- Flash-attention prefill (host-side tiling, tested without a GPU) ----------------------------

// Tiles of up to `tile_rows` consecutive rows of one sequence, in row order: (first row, rows).
// A step of `min_rows` rows or more is tiled (min_rows 0: never); shorter steps and padded decode
// steps give no tiles and use the flash-decoding kernel.
std::vector<int32_t> PlanAttentionTiles(std::span<const StepSequence> sequences, int64_t n_rows,
                                        int tile_rows, int min_rows);

// Prefill attention of long sequences runs as two tensor-core GEMMs per key/value head group
// (scores = Q K^T, causal softmax, out = P V; cuBLAS, bf16 inputs, fp32 accumulation): the
// sequences of a step with at least `min_rows` rows (0: none) and at most `max_positions`
// positions after the step (the score matrix is n x positions per head), in order.
// PlanPrefillAttention splits a step: those sequences, and the flash tiles of all the others
// (every other sequence is tiled when any goes to the GEMMs; else as PlanAttentionTiles).
struct PrefillAttentionPlan {
  std::vector<int32_t> gemm_sequences;  // indices into the step's sequences
  std::vector<int32_t> tiles;           // (first row, rows) pairs for the flash kernel
};
PrefillAttentionPlan PlanPrefillAttention(std::span<const StepSequence> sequences, int64_t n_rows,
                                          int tile_rows, int flash_min_rows, int gemm_min_rows,
                                          int max_positions);

// --- Decode steps as CUDA graphs (host-side logic, tested without a GPU) -------------------------

// 1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128: padding adds at most half a step's rows.
std::vector<int> DefaultGraphBuckets();

// The smallest bucket >= rows; 0 when there is none (the step runs without a graph).
int GraphBucketFor(int rows, std::span<const int> buckets);

// When to record and when to replay. A graph bakes in every device pointer its kernels read, so
// the backend counts its (re)allocations in a generation number: a new generation drops every
// graph. Per bucket: the first step of a generation runs eagerly (it sizes every buffer), the
// second is captured, the following ones replay. Three failed captures of a bucket leave that
// bucket eager for good; Disable() turns every graph off.
class GraphSchedule {
 public:
  enum class Action { kEager, kCapture, kReplay };
  struct Decision {
    Action action = Action::kEager;
    bool drop_graphs = false;  // the generation changed: destroy every recorded graph first
  };
  Decision Next(int bucket, uint64_t generation);
  void Captured(int bucket, uint64_t generation);
  void CaptureFailed(int bucket);
  void Disable();
  bool enabled() const { return enabled_; }
  int recorded() const;

  static constexpr int kMaxFailures = 3;

 private:
  enum class State { kWarm, kRecorded };
  bool enabled_ = true;
  std::map<int, int> failures_;  // failed captures per bucket
  uint64_t generation_ = 0;
  std::map<int, State> buckets_;
};

}  // namespace inference

#endif  // INFERENCE_CUDA_BACKEND_H_
