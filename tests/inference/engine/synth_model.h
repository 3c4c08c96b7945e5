// Test support: writes small (or benchmark-sized) synthetic GGUF models with random, well-scaled
// weights for every architecture the engine runs, in any weight type, with llama.cpp's tensor
// names and metadata keys. Weights are generated row by row and streamed to the file, so a
// TinyLlama-sized model needs no more memory than one row.
#ifndef TESTS_INFERENCE_ENGINE_SYNTH_MODEL_H_
#define TESTS_INFERENCE_ENGINE_SYNTH_MODEL_H_

#include <cstdint>
#include <string>

#include "common/status.h"
#include "inference/gguf.h"

namespace inference::testing {

struct SynthSpec {
  std::string arch = "llama";  // llama, qwen2, qwen3, qwen2moe, qwen3moe, deepseek2
  GgmlType type = GgmlType::kF32;  // every 2-D weight matrix; norms and biases stay F32
  int n_vocab = 512;
  int n_embd = 256;
  int n_layer = 2;
  int n_head = 4;
  int n_head_kv = 2;
  int head_dim = 64;
  int n_ff = 512;
  int n_ctx = 2048;
  float rope_freq_base = 10000.0f;
  bool tied_output = false;  // no output.weight: the embedding doubles as the classifier
  // MoE (n_expert > 0): routed experts in every layer after n_layer_dense_lead.
  int n_expert = 0;
  int n_expert_used = 0;
  int n_ff_exp = 0;
  int n_expert_shared = 0;  // deepseek2: shared experts fused into one FFN of n_ff_exp * count
  int n_ff_shexp = 0;       // qwen2moe: width of the gated shared expert
  int n_layer_dense_lead = 0;
  bool expert_weights_norm = false;
  float expert_weights_scale = 1.0f;
  // deepseek2 MLA.
  int q_lora_rank = 0;
  int kv_lora_rank = 0;
  int n_rot = 0;  // rope dims (deepseek2: qk_rope_head_dim); 0 = head_dim
  int head_dim_v = 0;  // 0 = head_dim
  uint64_t seed = 1;
  // Copy the tokenizer (tokenizer.ggml.*) from this GGUF file when not empty (for llama.cpp).
  std::string tokenizer_from;
};

// Writes the model described by `spec` to `path`.
Status WriteSynthModel(const SynthSpec& spec, const std::string& path);

// TinyLlama-1.1B's shapes (22 layers, 2048 wide, 32 heads / 4 KV heads, FFN 5632, vocab 32000).
SynthSpec TinyLlamaSpec(GgmlType type);

}  // namespace inference::testing

#endif  // TESTS_INFERENCE_ENGINE_SYNTH_MODEL_H_
