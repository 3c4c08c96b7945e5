// A loaded model: weights on a backend, the paged KV cache, and one batched forward step.
//
// The scheduler (serving) decides which sequences run each step and which KV blocks they own;
// the Model only executes: for every chunk of tokens it writes their K/V into the blocks listed
// in the chunk's block table and returns the logits asked for.
#ifndef INFERENCE_MODEL_H_
#define INFERENCE_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "inference/device_sampling.h"
#include "inference/model_config.h"

namespace inference {

using common::Status;
using common::StatusOr;

class GgufFile;  // inference/gguf.h

struct ModelOptions {
  int threads = 0;                // 0 = all cores
  std::string backend = "auto";   // "auto", "cpu", "cuda"
  // Element type of the paged KV cache: "f16" (half the memory; llama.cpp's default) or "f32".
  std::string kv_cache_type = "f16";
  // Where tokens are sampled: "auto" (on the device when the backend has a sampling kernel, so
  // only token ids leave the GPU), "host" (logits downloaded, the Sampler runs on the CPU) or
  // "device" (the device algorithm even on a backend without a kernel: tests, comparisons).
  std::string sampling = "auto";
  // CUDA: record decode steps as graphs per batch-size bucket.
  bool cuda_graphs = true;
  // GPUs of one host the model is split across (NCCL tensor parallelism); 1 = no NCCL.
  int tensor_parallel = 1;
};

// One sequence's part of a batched step. Positions [start_pos, start_pos + tokens.size()).
struct SequenceChunk {
  std::span<const int32_t> tokens;
  int32_t start_pos = 0;
  std::span<const int32_t> block_table;  // KV block ids covering [0, start_pos + tokens.size())
  bool want_logits = true;               // logits of the chunk's last token
};

struct ForwardBatch {
  std::vector<SequenceChunk> sequences;
};

class Model {
 public:
  virtual ~Model() = default;

  // Opens the GGUF file (weights memory-mapped in their file type) and builds the architecture
  // named by general.architecture on the backend chosen by `options`.
  static StatusOr<std::unique_ptr<Model>> Load(const std::string& gguf_path,
                                               const ModelOptions& options);

  virtual const ModelConfig& config() const = 0;
  virtual const GgufFile& file() const = 0;       // metadata, tokenizer source
  virtual std::string backend_name() const = 0;   // "cpu (AVX2, 2 threads)" / "cuda ..."

  // The paged KV cache lives with the model's backend. block_size tokens per block.
  virtual size_t KvBytesPerBlock(int block_size) const = 0;
  virtual Status AllocateKvCache(int num_blocks, int block_size) = 0;
  virtual Status CopyKvBlock(int src_block, int dst_block) = 0;

  // Runs all sequences of the batch in one step; appends, for each sequence with want_logits, in
  // order, n_vocab floats to *logits (resized). Thread-compatible (one caller at a time).
  virtual Status Forward(const ForwardBatch& batch, std::vector<float>* logits) = 0;

  // True when the engine should call ForwardSample instead of Forward (ModelOptions::sampling).
  virtual bool samples_on_device() const { return false; }
  // Forward, then sampling of each logit row as inference/device_sampling.h describes (rows:
  // one per logit row, in order): tokens[i] is row i's token or kSampleOnHost, and the logits of
  // the kSampleOnHost rows are appended to *host_rows (n_vocab floats each, in order). The
  // default runs Forward and SampleRowsReference on the host.
  virtual Status ForwardSample(const ForwardBatch& batch, std::span<const DeviceSampleRow> rows,
                               std::span<const PenaltyEntry> penalties,
                               std::vector<int32_t>* tokens, std::vector<float>* host_rows);
};

}  // namespace inference

#endif  // INFERENCE_MODEL_H_
