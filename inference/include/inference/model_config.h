// Hyperparameters of a loaded model, read from the GGUF metadata of its architecture.
#ifndef INFERENCE_MODEL_CONFIG_H_
#define INFERENCE_MODEL_CONFIG_H_

#include <string>

namespace inference {

// Rotary embedding pairing. kNormal rotates adjacent pairs (x[2i], x[2i+1]) (llama);
// kNeox rotates (x[i], x[i + n_rot/2]) (qwen2, qwen3, deepseek2).
enum class RopeMode { kNormal, kNeox };

struct ModelConfig {
  std::string arch;       // general.architecture: llama, qwen2, qwen3, qwen2moe, qwen3moe, deepseek2
  int n_vocab = 0;
  int n_embd = 0;         // residual width
  int n_layer = 0;
  int n_head = 0;         // query heads
  int n_head_kv = 0;      // key/value heads (GQA)
  int head_dim = 0;       // query/key width per head (for MLA: nope + rope part)
  int head_dim_v = 0;     // value width per head (== head_dim except MLA)
  int n_ff = 0;           // dense FFN hidden width
  int n_ctx_train = 0;
  float rms_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  int n_rot = 0;          // rotary dimensions per head (<= head_dim)
  RopeMode rope_mode = RopeMode::kNormal;

  // Mixture of experts (0 when dense).
  int n_expert = 0;
  int n_expert_used = 0;
  int n_ff_exp = 0;           // hidden width of one routed expert
  int n_expert_shared = 0;    // deepseek2: number of shared experts (fused into one FFN)
  int n_ff_shexp = 0;         // hidden width of the shared expert FFN (qwen2moe / deepseek2)
  int n_layer_dense_lead = 0; // deepseek2: first layers use a dense FFN
  bool expert_weights_norm = false;  // renormalise the top-k routing weights to sum 1
  float expert_weights_scale = 1.0f; // deepseek2 routed scaling factor
  bool expert_gating_sigmoid = false; // deepseek2 expert_gating_func == 2 (else softmax)

  // Multi-head latent attention (deepseek2).
  int q_lora_rank = 0;        // 0: plain wq
  int kv_lora_rank = 0;       // width of the compressed KV latent
  int n_rot_mla = 0;          // rope part of each q/k head (qk_rope_head_dim)
  int n_nope_mla = 0;         // non-rope part (qk_nope_head_dim)
};

}  // namespace inference

#endif  // INFERENCE_MODEL_CONFIG_H_
