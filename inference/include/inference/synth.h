// Synthetic models: GGUF v3 files with random, well-scaled weights of
// realistic shapes, for tests and benchmarks (tools: gguf-synth). Tensor
// names and metadata keys follow llama.cpp's conventions for each
// architecture; matrices are stored in the requested type (quantized with
// the reference quantizers of quant.h), norms and biases in F32.
#ifndef INFERENCE_SYNTH_H_
#define INFERENCE_SYNTH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "inference/gguf.h"

namespace inference {

struct SynthConfig {
  std::string arch = "llama";  // llama, qwen2, qwen3, qwen2moe, qwen3moe, deepseek2
  std::string name = "synthetic";
  uint32_t n_embd = 256;
  uint32_t n_layer = 2;
  uint32_t n_head = 4;
  uint32_t n_head_kv = 2;
  uint32_t head_dim = 0;  // 0: n_embd / n_head
  uint32_t n_ff = 512;
  uint32_t n_ctx = 2048;
  uint32_t n_vocab = 0;  // used only without a vocabulary file (0: 512)
  float rope_base = 10000.0f;
  float rms_eps = 1e-5f;
  bool tied_output = false;  // no output.weight: the embedding is reused
  // Mixture of experts (qwen2moe, qwen3moe, deepseek2).
  uint32_t n_expert = 0;
  uint32_t n_expert_used = 0;
  uint32_t n_ff_exp = 0;
  uint32_t n_expert_shared = 0;   // deepseek2: shared experts; qwen2moe: 1 shared expert block
  uint32_t n_ff_shexp = 0;        // qwen2moe shared-expert width
  uint32_t n_leading_dense = 0;   // deepseek2: first layers with a dense FFN
  // DeepSeek-V2/V3 multi-head latent attention.
  uint32_t q_lora_rank = 0;
  uint32_t kv_lora_rank = 0;
  uint32_t qk_nope_dim = 0;
  uint32_t qk_rope_dim = 0;
  uint32_t v_head_dim = 0;
  GgmlType type = GgmlType::kF32;  // matrices (2-D and 3-D tensors)
  uint64_t seed = 1;
};

// Presets: "tiny" (llama, all dims multiples of 256 so every type works),
// "tiny-qwen2", "tiny-qwen3", "tiny-qwen2moe", "tiny-qwen3moe",
// "tiny-deepseek2", "tinyllama-1.1b", "llama3-8b". NOT_FOUND otherwise.
common::StatusOr<SynthConfig> SynthPreset(const std::string& name);
std::vector<std::string> SynthPresetNames();

// Builds the model. `vocab` (may be null) supplies the tokenizer: every
// tokenizer.* key is copied verbatim and n_vocab is its token count;
// without it a byte-fallback SPM vocabulary of n_vocab tokens is generated.
common::StatusOr<std::string> SynthesizeToBytes(const SynthConfig& config, const GgufFile* vocab);
common::Status SynthesizeToFile(const SynthConfig& config, const GgufFile* vocab, const std::string& path);

}  // namespace inference

#endif  // INFERENCE_SYNTH_H_
