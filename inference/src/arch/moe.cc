// Mixture-of-experts FFN shared by Mixtral (llama), qwen2moe, qwen3moe and deepseek2: a router
// picks n_expert_used experts per token, each a SwiGLU FFN; their outputs are summed with the
// routing weights, plus optional always-on shared experts.
#include "arch/arch.h"

namespace inference::arch {

Status LoadMoe(WeightLoader& l, const ModelConfig& c, int il, MoeWeights* w) {
  const int d = c.n_embd, ff = c.n_ff_exp, ne = c.n_expert;
  if (ff <= 0) return common::InvalidArgumentError("expert_feed_forward_length missing");
  ASSIGN_OR_RETURN(w->router, l.Need(WeightLoader::Layer(il, "ffn_gate_inp.weight"), {d, ne}));
  ASSIGN_OR_RETURN(w->gate_exps, l.Need(WeightLoader::Layer(il, "ffn_gate_exps.weight"), {d, ff, ne}));
  ASSIGN_OR_RETURN(w->up_exps, l.Need(WeightLoader::Layer(il, "ffn_up_exps.weight"), {d, ff, ne}));
  ASSIGN_OR_RETURN(w->down_exps, l.Need(WeightLoader::Layer(il, "ffn_down_exps.weight"), {ff, d, ne}));
  if (l.Has(WeightLoader::Layer(il, "ffn_gate_shexp.weight"))) {
    const int ff_sh = c.n_ff_shexp > 0 ? c.n_ff_shexp : ff * std::max(1, c.n_expert_shared);
    RETURN_IF_ERROR(LoadFfn(l, il, d, ff_sh, "_shexp", &w->shared));
    ASSIGN_OR_RETURN(w->shared_gate, l.Maybe(WeightLoader::Layer(il, "ffn_gate_inp_shexp.weight"), {d}));
  }
  return common::OkStatus();
}

Status MoeFfn(Backend& b, Activations& act, const ModelConfig& c, const MoeRouting& routing,
              const MoeWeights& w, TensorView xn, TensorView out) {
  Activations::Scope scope(act);
  const int64_t n = xn.rows;
  const int k = routing.n_expert_used;
  // Route: scores of every expert, then the top k with their weights.
  ASSIGN_OR_RETURN(TensorView router_logits, act.Take(n, c.n_expert));  // [n, n_expert]
  ASSIGN_OR_RETURN(TensorView ids, act.Take(n, k));                     // [n, k] int32
  ASSIGN_OR_RETURN(TensorView weights, act.Take(n, k));                 // [n, k]
  b.MatMul(*w.router, xn, router_logits);
  b.MoeRoute(router_logits, routing, ids, weights);
  // Experts: SwiGLU of each (token, slot) with its expert's matrices.
  ASSIGN_OR_RETURN(TensorView gate, act.Take(n * k, c.n_ff_exp));      // [n*k, n_ff_exp]
  ASSIGN_OR_RETURN(TensorView up, act.Take(n * k, c.n_ff_exp));        // [n*k, n_ff_exp]
  ASSIGN_OR_RETURN(TensorView down, act.Take(n * k, c.n_embd));        // [n*k, n_embd]
  b.MoeMatMul(*w.gate_exps, xn, /*x_per_slot=*/false, ids, gate);
  b.MoeMatMul(*w.up_exps, xn, /*x_per_slot=*/false, ids, up);
  b.SiluMul(gate, up, gate);
  b.MoeMatMul(*w.down_exps, gate, /*x_per_slot=*/true, ids, down);
  // Combine: weighted sum over the k slots.
  b.MoeCombine(down, weights, out);                                     // [n, n_embd]
  // Shared experts: a dense SwiGLU every token goes through (qwen2moe gates it per token).
  if (w.shared.gate) {
    ASSIGN_OR_RETURN(TensorView shared, act.Take(n, c.n_embd));         // [n, n_embd]
    RETURN_IF_ERROR(DenseFfn(b, act, w.shared, xn, shared));
    if (w.shared_gate) {
      ASSIGN_OR_RETURN(TensorView g, act.Take(n, 1));                   // [n, 1]
      b.MatMul(*w.shared_gate, xn, g);
      b.Sigmoid(g);
      b.ScaleRows(g, shared);
    }
    b.Add(shared, out);
  }
  return common::OkStatus();
}

}  // namespace inference::arch
