// Pieces shared by the architectures: configuration, weight loading, scratch activations, the
// dense FFN and the output head.
#include <algorithm>
#include <cmath>
#include <string>

#include "arch/arch.h"

namespace inference::arch {
namespace {

std::string DimsString(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

}  // namespace

StatusOr<TensorView> Activations::Take(int64_t rows, int64_t cols) {
  const size_t bytes = static_cast<size_t>(std::max<int64_t>(rows * cols, 1)) * sizeof(float);
  if (next_ == buffers_.size()) buffers_.emplace_back();
  auto& buf = buffers_[next_++];
  if (!buf || buf->bytes() < bytes) {
    buf.reset();
    // Grow with headroom so a slowly growing batch does not reallocate every step.
    ASSIGN_OR_RETURN(buf, backend_->Allocate(bytes + bytes / 4));
  }
  return buf->View(rows, cols);
}

StatusOr<Weight> WeightLoader::Maybe(const std::string& name, std::vector<int64_t> dims) {
  const GgufTensor* t = file_.FindTensor(name);
  if (t == nullptr) return Weight();
  GgufTensor shard;
  std::vector<uint8_t> storage;
  bool all_reduce = false;
  if (shard_) {
    ASSIGN_OR_RETURN(shard, shard_(*t, &storage, &all_reduce));
    t = &shard;
  }
  std::vector<int64_t> actual(t->dims.begin(), t->dims.end());
  // Trailing dimensions of 1 are the same shape (a [n] bias may be stored as [n, 1]).
  while (actual.size() > dims.size() && actual.back() == 1) actual.pop_back();
  if (actual != dims) {
    return common::InvalidArgumentError("tensor '" + name + "': shape " + DimsString(actual) +
                                        ", expected " + DimsString(dims));
  }
  ASSIGN_OR_RETURN(Weight w, backend_->UploadWeight(*t));
  w->all_reduce_after = all_reduce;
  return w;
}

StatusOr<Weight> WeightLoader::Need(const std::string& name, std::vector<int64_t> dims) {
  ASSIGN_OR_RETURN(Weight w, Maybe(name, dims));
  if (!w) return common::NotFoundError("tensor '" + name + "' is missing");
  return w;
}

Status LoadFfn(WeightLoader& l, int il, int n_embd, int n_ff, const std::string& suffix,
               FfnWeights* w) {
  ASSIGN_OR_RETURN(w->gate, l.Need(WeightLoader::Layer(il, "ffn_gate" + suffix + ".weight"), {n_embd, n_ff}));
  ASSIGN_OR_RETURN(w->up, l.Need(WeightLoader::Layer(il, "ffn_up" + suffix + ".weight"), {n_embd, n_ff}));
  ASSIGN_OR_RETURN(w->down, l.Need(WeightLoader::Layer(il, "ffn_down" + suffix + ".weight"), {n_ff, n_embd}));
  return common::OkStatus();
}

Status DenseFfn(Backend& b, Activations& act, const FfnWeights& w, TensorView xn, TensorView out) {
  Activations::Scope scope(act);
  const int64_t n = xn.rows;
  // A long prompt chunk goes through in slices of the backend's FfnSliceRows() rows: the two
  // [rows, n_ff] intermediates are the largest activations of a step, and slicing keeps them (and
  // resident memory) small on the CPU; re-reading the weights per slice costs little next to that
  // many rows' products there.
  const int64_t slice = std::min(n, std::max<int64_t>(1, b.FfnSliceRows(w.gate->rows)));
  ASSIGN_OR_RETURN(TensorView gate_buf, act.Take(slice, w.gate->rows));  // [slice, n_ff]
  ASSIGN_OR_RETURN(TensorView up_buf, act.Take(slice, w.up->rows));      // [slice, n_ff]
  for (int64_t r0 = 0; r0 < n; r0 += slice) {
    const int64_t m = std::min(slice, n - r0);
    const TensorView gate = gate_buf.Rows(0, m), up = up_buf.Rows(0, m);
    const TensorView x = xn.Rows(r0, m);
    b.MatMul(*w.gate, x, gate);
    b.MatMul(*w.up, x, up);
    b.SiluMul(gate, up, gate);
    b.MatMul(*w.down, gate, out.Rows(r0, m));                          // [m, n_embd]
  }
  return common::OkStatus();
}

Status OutputHead(Backend& b, Activations& act, const ModelConfig& c, const BackendWeight& norm,
                  const BackendWeight& output, TensorView x, TensorView logits) {
  const int64_t m = logits.rows;
  if (m == 0) return common::OkStatus();
  Activations::Scope scope(act);
  ASSIGN_OR_RETURN(TensorView last, act.Take(m, c.n_embd));  // [m, n_embd]
  b.GatherLogitRows(x, last);
  b.RmsNorm(last, norm, c.rms_eps, last);
  b.MatMul(output, last, logits);                            // [m, n_vocab]
  return common::OkStatus();
}

StatusOr<ModelConfig> ReadConfig(const GgufFile& f) {
  ModelConfig c;
  c.arch = f.architecture();
  const std::string p = c.arch + ".";
  auto u = [&](const std::string& key, uint64_t def) -> int64_t {
    return static_cast<int64_t>(f.GetUintOr(p + key, def));
  };
  const GgufTensor* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr || embd->dims.size() != 2) {
    return common::InvalidArgumentError("tensor 'token_embd.weight' is missing or not 2-D");
  }
  c.n_vocab = static_cast<int>(embd->dims[1]);
  const int64_t n_embd = u("embedding_length", 0);
  const int64_t n_layer = u("block_count", 0);
  const int64_t n_head = u("attention.head_count", 0);
  const int64_t n_head_kv = u("attention.head_count_kv", n_head);
  if (n_embd <= 0 || n_embd > (1 << 16) || n_layer <= 0 || n_layer > 1024 || n_head <= 0 ||
      n_head > 1024 || n_head_kv <= 0 || n_head % n_head_kv != 0) {
    return common::InvalidArgumentError(
        "model '" + c.arch + "': embedding_length, block_count, attention.head_count or "
        "head_count_kv missing or out of range");
  }
  c.n_embd = static_cast<int>(n_embd);
  c.n_layer = static_cast<int>(n_layer);
  c.n_head = static_cast<int>(n_head);
  c.n_head_kv = static_cast<int>(n_head_kv);
  c.head_dim = static_cast<int>(u("attention.key_length", n_embd / n_head));
  c.head_dim_v = static_cast<int>(u("attention.value_length", c.head_dim));
  c.n_ff = static_cast<int>(u("feed_forward_length", 0));
  c.n_ctx_train = static_cast<int>(u("context_length", 2048));
  c.rms_eps = static_cast<float>(f.GetFloatOr(p + "attention.layer_norm_rms_epsilon", 1e-5));
  c.rope_freq_base = static_cast<float>(f.GetFloatOr(p + "rope.freq_base", 10000.0));
  c.n_rot = static_cast<int>(u("rope.dimension_count", c.head_dim));
  // llama.cpp's rope types: llama and deepseek2 rotate adjacent pairs, the Qwen family rotates
  // (i, i + n_rot/2). A wrong choice gives fluent garbage, not an error.
  c.rope_mode = (c.arch == "llama" || c.arch == "deepseek2") ? RopeMode::kNormal : RopeMode::kNeox;

  c.n_expert = static_cast<int>(u("expert_count", 0));
  c.n_expert_used = static_cast<int>(u("expert_used_count", 0));
  c.n_ff_exp = static_cast<int>(u("expert_feed_forward_length", c.n_ff));
  c.n_expert_shared = static_cast<int>(u("expert_shared_count", 0));
  c.n_ff_shexp = static_cast<int>(u("expert_shared_feed_forward_length", 0));
  c.n_layer_dense_lead = static_cast<int>(u("leading_dense_block_count", 0));
  c.expert_weights_scale = static_cast<float>(f.GetFloatOr(p + "expert_weights_scale", 1.0));
  c.expert_weights_norm = f.GetUintOr(p + "expert_weights_norm", 0) != 0;
  c.expert_gating_sigmoid = f.GetUintOr(p + "expert_gating_func", 1) == 2;
  if (auto b = f.GetBool(p + "expert_weights_norm"); b.ok()) c.expert_weights_norm = *b;

  c.q_lora_rank = static_cast<int>(u("attention.q_lora_rank", 0));
  c.kv_lora_rank = static_cast<int>(u("attention.kv_lora_rank", 0));
  if (c.arch == "deepseek2") {
    c.n_rot_mla = c.n_rot;
    c.n_nope_mla = c.head_dim - c.n_rot;
    c.n_head_kv = c.n_head;  // K and V are expanded per head from the latent
  }

  const bool bad_head = c.head_dim <= 0 || c.head_dim > 4096 || c.head_dim_v <= 0 ||
                        c.head_dim_v > 4096 || c.n_rot < 0 || c.n_rot > c.head_dim ||
                        c.n_rot % 2 != 0;
  const bool bad_moe = c.n_expert < 0 || c.n_expert > 4096 || c.n_expert_used < 0 ||
                       c.n_expert_used > c.n_expert || (c.n_expert > 0 && c.n_expert_used == 0);
  if (bad_head || bad_moe || c.n_ff < 0 || c.n_ff_exp < 0 || c.n_ff_shexp < 0 ||
      !(c.rms_eps > 0.0f) || !(c.rope_freq_base > 0.0f)) {
    return common::InvalidArgumentError("model '" + c.arch +
                                        "': head, rope, FFN or expert dimensions out of range");
  }
  if (c.arch == "deepseek2" && (c.kv_lora_rank <= 0 || c.n_nope_mla < 0)) {
    return common::InvalidArgumentError("model 'deepseek2': kv_lora_rank / key_length invalid");
  }
  return c;
}

}  // namespace inference::arch
