// Llama (Llama 2/3, Mistral, TinyLlama, DeepSeek-R1-Distill-Llama) and Mixtral-style experts:
// pre-norm decoder, grouped-query attention with "normal" (adjacent-pair) rotary embeddings,
// SwiGLU FFN or, when the file has ffn_gate_inp, a softmax top-k mixture of SwiGLU experts.
#include <cmath>

#include "arch/arch.h"

namespace inference::arch {
namespace {

struct LlamaLayer {
  Weight attn_norm;       // [n_embd]
  Weight wq, wk, wv, wo;  // [n_embd -> n_head*hd], [n_embd -> n_kv*hd] x2, [n_head*hd -> n_embd]
  Weight ffn_norm;        // [n_embd]
  FfnWeights ffn;         // dense layers
  MoeWeights moe;         // Mixtral layers (moe.router != nullptr)
};

class Llama final : public Architecture {
 public:
  explicit Llama(const ModelConfig& c) : c_(c) {}

  int kv_k_width() const override { return c_.n_head_kv * c_.head_dim; }
  int kv_v_width() const override { return c_.n_head_kv * c_.head_dim; }
  const BackendWeight& token_embd() const override { return *tok_embd_; }

  Status Load(WeightLoader& l) override {
    const int d = c_.n_embd, q_w = c_.n_head * c_.head_dim, kv_w = c_.n_head_kv * c_.head_dim;
    ASSIGN_OR_RETURN(tok_embd_, l.Need("token_embd.weight", {d, c_.n_vocab}));
    ASSIGN_OR_RETURN(output_norm_, l.Need("output_norm.weight", {d}));
    ASSIGN_OR_RETURN(output_, l.Maybe("output.weight", {d, c_.n_vocab}));  // absent: tied
    layers_.resize(c_.n_layer);
    for (int il = 0; il < c_.n_layer; ++il) {
      LlamaLayer& L = layers_[il];
      auto name = [il](const char* s) { return WeightLoader::Layer(il, s); };
      ASSIGN_OR_RETURN(L.attn_norm, l.Need(name("attn_norm.weight"), {d}));
      ASSIGN_OR_RETURN(L.wq, l.Need(name("attn_q.weight"), {d, q_w}));
      ASSIGN_OR_RETURN(L.wk, l.Need(name("attn_k.weight"), {d, kv_w}));
      ASSIGN_OR_RETURN(L.wv, l.Need(name("attn_v.weight"), {d, kv_w}));
      ASSIGN_OR_RETURN(L.wo, l.Need(name("attn_output.weight"), {q_w, d}));
      ASSIGN_OR_RETURN(L.ffn_norm, l.Need(name("ffn_norm.weight"), {d}));
      if (c_.n_expert > 0) {
        RETURN_IF_ERROR(LoadMoe(l, c_, il, &L.moe));
      } else {
        RETURN_IF_ERROR(LoadFfn(l, il, d, c_.n_ff, "", &L.ffn));
      }
    }
    return common::OkStatus();
  }

  Status Forward(Backend& b, Activations& act, TensorView x, TensorView logits) override {
    const int64_t n = x.rows;
    const int hd = c_.head_dim;
    ASSIGN_OR_RETURN(TensorView xn, act.Take(n, c_.n_embd));                 // [n, n_embd]
    ASSIGN_OR_RETURN(TensorView q, act.Take(n, c_.n_head * hd));             // [n, n_head*hd]
    ASSIGN_OR_RETURN(TensorView k, act.Take(n, c_.n_head_kv * hd));          // [n, n_kv*hd]
    ASSIGN_OR_RETURN(TensorView v, act.Take(n, c_.n_head_kv * hd));          // [n, n_kv*hd]
    ASSIGN_OR_RETURN(TensorView attn, act.Take(n, c_.n_head * hd));          // [n, n_head*hd]
    ASSIGN_OR_RETURN(TensorView y, act.Take(n, c_.n_embd));                  // [n, n_embd]
    const RopeParams q_rope{c_.n_head, hd, 0, c_.n_rot, c_.rope_mode, c_.rope_freq_base};
    const RopeParams k_rope{c_.n_head_kv, hd, 0, c_.n_rot, c_.rope_mode, c_.rope_freq_base};
    const MoeRouting routing{c_.n_expert, c_.n_expert_used, MoeGating::kSoftmax,
                             /*normalize=*/true, 1.0f};

    for (int il = 0; il < c_.n_layer; ++il) {
      const LlamaLayer& L = layers_[il];
      // Attention: normalize, project, rotate, attend over the paged cache, project back.
      b.RmsNorm(x, *L.attn_norm, c_.rms_eps, xn);
      b.MatMul(*L.wq, xn, q);
      b.MatMul(*L.wk, xn, k);
      b.MatMul(*L.wv, xn, v);
      b.Rope(q, q_rope);
      b.Rope(k, k_rope);
      b.PagedAttention({il, c_.n_head, c_.n_head_kv, hd, hd, 1.0f / std::sqrt(float(hd))}, q, k,
                       v, attn);
      b.MatMul(*L.wo, attn, y);
      b.Add(y, x);                                                 // x += attention
      // FFN: normalize, SwiGLU (dense or mixture of experts), residual.
      b.RmsNorm(x, *L.ffn_norm, c_.rms_eps, xn);
      if (L.moe.router) {
        RETURN_IF_ERROR(MoeFfn(b, act, c_, routing, L.moe, xn, y));
      } else {
        RETURN_IF_ERROR(DenseFfn(b, act, L.ffn, xn, y));
      }
      b.Add(y, x);                                                 // x += ffn
    }
    // Output: final norm and projection of the rows whose logits are wanted.
    return OutputHead(b, act, c_, *output_norm_, output_ ? *output_ : *tok_embd_, x, logits);
  }

 private:
  const ModelConfig c_;
  Weight tok_embd_;     // [n_embd x n_vocab]
  Weight output_norm_;  // [n_embd]
  Weight output_;       // [n_embd -> n_vocab], nullptr when tied to tok_embd_
  std::vector<LlamaLayer> layers_;
};

}  // namespace

std::unique_ptr<Architecture> MakeLlama(const ModelConfig& c) { return std::make_unique<Llama>(c); }

}  // namespace inference::arch
