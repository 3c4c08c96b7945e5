// DeepSeek-V2 (V2-Lite) style: multi-head latent attention (MLA) and a mixture of experts with
// shared experts after n_layer_dense_lead dense layers.
//
// MLA projects each token to a small latent c_kv (kv_lora_rank) plus one shared rotary key part
// k_pe (n_rot); per head, keys are [k_nope(latent) | k_pe] and values v(latent). This
// implementation expands the latent into per-head K and V before caching them, so the paged
// attention is the ordinary one with head_dim_k = nope + rope and head_dim_v = value_length.
// Rotary pairing is llama.cpp's "normal" (adjacent pairs) for deepseek2.
#include <cmath>

#include "arch/arch.h"

namespace inference::arch {
namespace {

struct Deepseek2Layer {
  Weight attn_norm;             // [n_embd]
  Weight wq;                    // [n_embd -> n_head*(nope+rope)]          (no q_lora_rank)
  Weight wq_a, q_a_norm, wq_b;  // [n_embd -> q_lora], [q_lora], [q_lora -> n_head*(nope+rope)]
  Weight wkv_a_mqa;             // [n_embd -> kv_lora + rope]
  Weight kv_a_norm;             // [kv_lora]
  Weight wkv_b;                 // [kv_lora -> n_head*(nope + v)]
  Weight wo;                    // [n_head*v -> n_embd]
  Weight ffn_norm;              // [n_embd]
  FfnWeights ffn;               // the first n_layer_dense_lead layers
  MoeWeights moe;               // the rest
};

class Deepseek2 final : public Architecture {
 public:
  explicit Deepseek2(const ModelConfig& c)
      : c_(c), nope_(c.n_nope_mla), rope_(c.n_rot), hd_k_(c.head_dim), hd_v_(c.head_dim_v) {}

  int kv_k_width() const override { return c_.n_head * hd_k_; }
  int kv_v_width() const override { return c_.n_head * hd_v_; }
  const BackendWeight& token_embd() const override { return *tok_embd_; }

  Status Load(WeightLoader& l) override {
    const int d = c_.n_embd, nh = c_.n_head, kvr = c_.kv_lora_rank;
    ASSIGN_OR_RETURN(tok_embd_, l.Need("token_embd.weight", {d, c_.n_vocab}));
    ASSIGN_OR_RETURN(output_norm_, l.Need("output_norm.weight", {d}));
    ASSIGN_OR_RETURN(output_, l.Maybe("output.weight", {d, c_.n_vocab}));
    layers_.resize(c_.n_layer);
    for (int il = 0; il < c_.n_layer; ++il) {
      Deepseek2Layer& L = layers_[il];
      auto name = [il](const char* s) { return WeightLoader::Layer(il, s); };
      ASSIGN_OR_RETURN(L.attn_norm, l.Need(name("attn_norm.weight"), {d}));
      if (c_.q_lora_rank > 0) {
        ASSIGN_OR_RETURN(L.wq_a, l.Need(name("attn_q_a.weight"), {d, c_.q_lora_rank}));
        ASSIGN_OR_RETURN(L.q_a_norm, l.Need(name("attn_q_a_norm.weight"), {c_.q_lora_rank}));
        ASSIGN_OR_RETURN(L.wq_b, l.Need(name("attn_q_b.weight"), {c_.q_lora_rank, nh * hd_k_}));
      } else {
        ASSIGN_OR_RETURN(L.wq, l.Need(name("attn_q.weight"), {d, nh * hd_k_}));
      }
      ASSIGN_OR_RETURN(L.wkv_a_mqa, l.Need(name("attn_kv_a_mqa.weight"), {d, kvr + rope_}));
      ASSIGN_OR_RETURN(L.kv_a_norm, l.Need(name("attn_kv_a_norm.weight"), {kvr}));
      ASSIGN_OR_RETURN(L.wkv_b, l.Need(name("attn_kv_b.weight"), {kvr, nh * (nope_ + hd_v_)}));
      ASSIGN_OR_RETURN(L.wo, l.Need(name("attn_output.weight"), {nh * hd_v_, d}));
      ASSIGN_OR_RETURN(L.ffn_norm, l.Need(name("ffn_norm.weight"), {d}));
      if (il < c_.n_layer_dense_lead || c_.n_expert == 0) {
        RETURN_IF_ERROR(LoadFfn(l, il, d, c_.n_ff, "", &L.ffn));
      } else {
        RETURN_IF_ERROR(LoadMoe(l, c_, il, &L.moe));
      }
    }
    return common::OkStatus();
  }

  Status Forward(Backend& b, Activations& act, TensorView x, TensorView logits) override {
    const int64_t n = x.rows;
    const int nh = c_.n_head, kvr = c_.kv_lora_rank;
    ASSIGN_OR_RETURN(TensorView xn, act.Take(n, c_.n_embd));                  // [n, n_embd]
    ASSIGN_OR_RETURN(TensorView q, act.Take(n, nh * hd_k_));                  // [n, nh*(nope+rope)]
    ASSIGN_OR_RETURN(TensorView kv_a, act.Take(n, kvr + rope_));              // [n, kv_lora+rope]
    ASSIGN_OR_RETURN(TensorView c_kv, act.Take(n, kvr));                      // [n, kv_lora]
    ASSIGN_OR_RETURN(TensorView kv, act.Take(n, nh * (nope_ + hd_v_)));       // [n, nh*(nope+v)]
    ASSIGN_OR_RETURN(TensorView k, act.Take(n, nh * hd_k_));                  // [n, nh*(nope+rope)]
    ASSIGN_OR_RETURN(TensorView v, act.Take(n, nh * hd_v_));                  // [n, nh*v]
    ASSIGN_OR_RETURN(TensorView attn, act.Take(n, nh * hd_v_));               // [n, nh*v]
    ASSIGN_OR_RETURN(TensorView y, act.Take(n, c_.n_embd));                   // [n, n_embd]
    TensorView q_a;                                                           // [n, q_lora]
    if (c_.q_lora_rank > 0) {
      ASSIGN_OR_RETURN(q_a, act.Take(n, c_.q_lora_rank));
    }
    const TensorView k_pe = kv_a.Cols(kvr, rope_);                            // [n, rope]
    const RopeParams q_rope{nh, hd_k_, nope_, rope_, c_.rope_mode, c_.rope_freq_base};
    const RopeParams k_rope{1, rope_, 0, rope_, c_.rope_mode, c_.rope_freq_base};
    const MoeRouting routing{c_.n_expert, c_.n_expert_used,
                             c_.expert_gating_sigmoid ? MoeGating::kSigmoid : MoeGating::kSoftmax,
                             c_.expert_weights_norm, c_.expert_weights_scale};

    for (int il = 0; il < c_.n_layer; ++il) {
      const Deepseek2Layer& L = layers_[il];
      b.RmsNorm(x, *L.attn_norm, c_.rms_eps, xn);
      // Queries: direct, or through the q latent; rotate the last `rope` elements of each head.
      if (L.wq) {
        b.MatMul(*L.wq, xn, q);
      } else {
        b.MatMul(*L.wq_a, xn, q_a);
        b.RmsNorm(q_a, *L.q_a_norm, c_.rms_eps, q_a);
        b.MatMul(*L.wq_b, q_a, q);
      }
      b.Rope(q, q_rope);
      // Keys/values: the latent (normalized) and the shared rotary key part.
      b.MatMul(*L.wkv_a_mqa, xn, kv_a);
      b.RmsNorm(kv_a.Cols(0, kvr), *L.kv_a_norm, c_.rms_eps, c_kv);
      b.Rope(k_pe, k_rope);
      b.MatMul(*L.wkv_b, c_kv, kv);
      // Expand per head: k = [k_nope | k_pe], v.
      for (int h = 0; h < nh; ++h) {
        b.Copy(kv.Cols(h * (nope_ + hd_v_), nope_), k.Cols(h * hd_k_, nope_));
        b.Copy(k_pe, k.Cols(h * hd_k_ + nope_, rope_));
        b.Copy(kv.Cols(h * (nope_ + hd_v_) + nope_, hd_v_), v.Cols(h * hd_v_, hd_v_));
      }
      b.PagedAttention({il, nh, nh, hd_k_, hd_v_, 1.0f / std::sqrt(float(hd_k_))}, q, k, v, attn);
      b.MatMul(*L.wo, attn, y);
      b.Add(y, x);                                                 // x += attention
      // FFN: dense in the leading layers, routed + shared experts after.
      b.RmsNorm(x, *L.ffn_norm, c_.rms_eps, xn);
      if (L.moe.router) {
        RETURN_IF_ERROR(MoeFfn(b, act, c_, routing, L.moe, xn, y));
      } else {
        RETURN_IF_ERROR(DenseFfn(b, act, L.ffn, xn, y));
      }
      b.Add(y, x);                                                 // x += ffn
    }
    return OutputHead(b, act, c_, *output_norm_, output_ ? *output_ : *tok_embd_, x, logits);
  }

 private:
  const ModelConfig c_;
  const int nope_, rope_, hd_k_, hd_v_;
  Weight tok_embd_, output_norm_, output_;
  std::vector<Deepseek2Layer> layers_;
};

}  // namespace

std::unique_ptr<Architecture> MakeDeepseek2(const ModelConfig& c) {
  return std::make_unique<Deepseek2>(c);
}

}  // namespace inference::arch
