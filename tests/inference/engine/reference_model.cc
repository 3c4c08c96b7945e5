// An independent, plain double-precision forward pass for the architectures the engine runs,
// written separately from the optimized code: it reads the GGUF itself, dequantizes every
// weight with quant.h's reference routines, keeps whole sequences (no KV cache, no paging) and
// uses nothing from inference/src. The oracle of arch_reference_test.cc. With `round_activations`
// it also applies the engine's 8-bit activation rounding before quantized products (the
// numeric contract shared with llama.cpp), so quantized models compare tightly and MoE routing
// decisions see the same inputs.
#include "reference_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "inference/gguf.h"
#include "inference/quant.h"

namespace inference::testing {
namespace {

using Vec = std::vector<double>;

// The engine's documented numeric contract for quantized weights: before a product with Q4_0 /
// Q8_0 weights the activations are rounded to 8 bits per block of 32 (scale = max|x| / 127,
// round to nearest even), before a K-quant product per block of 256. Float weights use the
// activations as they are.
int ActivationBlock(GgmlType t) {
  switch (t) {
    case GgmlType::kQ4_0:
    case GgmlType::kQ8_0:
      return 32;
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
      return 256;
    default:
      return 0;
  }
}

Vec RoundActivations(const Vec& x, int block) {
  Vec q(x.size());
  for (size_t b = 0; b < x.size(); b += block) {
    double amax = 0.0;
    for (int i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[b + i]));
    const double d = amax / 127.0;
    for (int i = 0; i < block; ++i) q[b + i] = d == 0.0 ? 0.0 : std::nearbyint(x[b + i] / d) * d;
  }
  return q;
}

// A dequantized matrix: out x in (rows = output units).
struct Mat {
  int64_t rows = 0, cols = 0;
  GgmlType type = GgmlType::kF32;
  bool round = false;
  std::vector<double> w;
  // y = W x with the activation rounding the engine applies for this weight type.
  Vec Apply(const Vec& x) const {
    const int block = round ? ActivationBlock(type) : 0;
    return ApplyExact(block ? RoundActivations(x, block) : x);
  }
  // y = W x with exact activations (MoE routers and gates are computed this way).
  Vec ApplyExact(const Vec& x) const {
    Vec y(rows, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0.0;
      const double* wr = w.data() + r * cols;
      for (int64_t c = 0; c < cols; ++c) s += wr[c] * x[c];
      y[r] = s;
    }
    return y;
  }
};

class Ref {
 public:
  Ref(const GgufFile& f, bool round) : f_(f), round_(round) {}

  bool Has(const std::string& name) const { return f_.FindTensor(name) != nullptr; }

  // Matrix `mat` of a (possibly 3-D) tensor.
  Mat M(const std::string& name, int64_t mat = 0) const {
    const GgufTensor* t = f_.FindTensor(name);
    Mat m;
    m.type = t->type;
    m.round = round_;
    m.cols = static_cast<int64_t>(t->dims[0]);
    m.rows = t->dims.size() > 1 ? static_cast<int64_t>(t->dims[1]) : 1;
    const uint64_t row_bytes = *GgmlRowBytes(t->type, t->dims[0]);
    std::vector<float> row(m.cols);
    m.w.resize(m.rows * m.cols);
    for (int64_t r = 0; r < m.rows; ++r) {
      const uint8_t* src = t->data + (mat * m.rows + r) * row_bytes;
      (void)DequantizeRow(t->type, src, row.data(), m.cols);
      for (int64_t c = 0; c < m.cols; ++c) m.w[r * m.cols + c] = row[c];
    }
    return m;
  }
  Vec V(const std::string& name) const { return M(name).w; }

 private:
  const GgufFile& f_;
  bool round_;
};

Vec RmsNorm(const Vec& x, const Vec& g, double eps, size_t off = 0, size_t n = 0) {
  if (n == 0) n = x.size();
  double ss = 0.0;
  for (size_t i = 0; i < n; ++i) ss += x[off + i] * x[off + i];
  const double s = 1.0 / std::sqrt(ss / n + eps);
  Vec y(n);
  for (size_t i = 0; i < n; ++i) y[i] = x[off + i] * s * g[i];
  return y;
}

// Rotates x[off .. off+n_rot) at position pos. neox pairs (i, i+n/2), otherwise (2i, 2i+1).
void Rotate(double* x, int n_rot, int pos, double base, bool neox, const Vec* factors = nullptr) {
  for (int i = 0; i < n_rot / 2; ++i) {
    const double theta = pos * std::pow(base, -2.0 * i / n_rot) / (factors ? (*factors)[i] : 1.0);
    const int a = neox ? i : 2 * i;
    const int b = neox ? i + n_rot / 2 : 2 * i + 1;
    const double x0 = x[a], x1 = x[b];
    x[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
    x[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
  }
}

double Silu(double v) { return v / (1.0 + std::exp(-v)); }

Vec SwiGlu(const Mat& gate, const Mat& up, const Mat& down, const Vec& h) {
  Vec g = gate.Apply(h), u = up.Apply(h);
  for (size_t i = 0; i < g.size(); ++i) g[i] = Silu(g[i]) * u[i];
  return down.Apply(g);
}

}  // namespace

StatusOr<std::vector<std::vector<double>>> ReferenceLogits(const std::string& path,
                                                           const std::vector<int32_t>& tokens,
                                                           bool round_activations) {
  ASSIGN_OR_RETURN(auto file, GgufFile::Open(path));
  const GgufFile& f = *file;
  const Ref ref(f, round_activations);
  const std::string a = f.architecture();
  const std::string p = a + ".";
  const int d = static_cast<int>(f.GetUintOr(p + "embedding_length", 0));
  const int n_layer = static_cast<int>(f.GetUintOr(p + "block_count", 0));
  const int H = static_cast<int>(f.GetUintOr(p + "attention.head_count", 0));
  const int KV = static_cast<int>(f.GetUintOr(p + "attention.head_count_kv", H));
  const int hd = static_cast<int>(f.GetUintOr(p + "attention.key_length", d / H));
  const int hd_v = static_cast<int>(f.GetUintOr(p + "attention.value_length", hd));
  const int n_rot = static_cast<int>(f.GetUintOr(p + "rope.dimension_count", hd));
  const double eps = f.GetFloatOr(p + "attention.layer_norm_rms_epsilon", 1e-5);
  const double base = f.GetFloatOr(p + "rope.freq_base", 10000.0);
  const int n_expert = static_cast<int>(f.GetUintOr(p + "expert_count", 0));
  const int k_used = static_cast<int>(f.GetUintOr(p + "expert_used_count", 0));
  const int dense_lead = static_cast<int>(f.GetUintOr(p + "leading_dense_block_count", 0));
  const bool mla = a == "deepseek2";
  const int kv_lora = static_cast<int>(f.GetUintOr(p + "attention.kv_lora_rank", 0));
  const bool neox = !(a == "llama" || a == "deepseek2");
  // Routing conventions (llama.cpp): Mixtral and qwen3moe renormalise the top-k weights,
  // qwen2moe does not, deepseek2 follows its metadata.
  bool norm_topk = a == "llama" || a == "qwen3moe";
  double topk_scale = 1.0;
  if (mla) {
    auto b = f.GetBool(p + "expert_weights_norm");
    norm_topk = b.ok() && *b;
    topk_scale = f.GetFloatOr(p + "expert_weights_scale", 1.0);
  }

  const Mat embd = ref.M("token_embd.weight");
  const Vec rope_freqs = ref.Has("rope_freqs.weight") ? ref.V("rope_freqs.weight") : Vec();
  const int n_vocab = static_cast<int>(embd.rows);
  const int T = static_cast<int>(tokens.size());
  std::vector<Vec> x(T);
  for (int t = 0; t < T; ++t) {
    x[t].assign(embd.w.begin() + tokens[t] * d, embd.w.begin() + (tokens[t] + 1) * d);
  }

  for (int il = 0; il < n_layer; ++il) {
    const std::string L = "blk." + std::to_string(il) + ".";
    const Vec attn_norm = ref.V(L + "attn_norm.weight");
    // Per token: q [H][hd], k [KV][hd], v [KV][hd_v] (MLA: KV = H after expansion).
    std::vector<Vec> q(T), k(T), v(T);
    int kv_heads = KV;
    for (int t = 0; t < T; ++t) {
      const Vec h = RmsNorm(x[t], attn_norm, eps);
      if (mla) {
        kv_heads = H;
        const int nope = hd - n_rot;
        if (ref.Has(L + "attn_q_a.weight")) {
          const Vec qa = ref.M(L + "attn_q_a.weight").Apply(h);
          q[t] = ref.M(L + "attn_q_b.weight").Apply(RmsNorm(qa, ref.V(L + "attn_q_a_norm.weight"), eps));
        } else {
          q[t] = ref.M(L + "attn_q.weight").Apply(h);
        }
        for (int hh = 0; hh < H; ++hh) Rotate(q[t].data() + hh * hd + nope, n_rot, t, base, false);
        Vec kva = ref.M(L + "attn_kv_a_mqa.weight").Apply(h);
        const Vec c = RmsNorm(kva, ref.V(L + "attn_kv_a_norm.weight"), eps, 0, kv_lora);
        Vec kpe(kva.begin() + kv_lora, kva.end());
        Rotate(kpe.data(), n_rot, t, base, false);
        const Vec kv = ref.M(L + "attn_kv_b.weight").Apply(c);
        k[t].assign(H * hd, 0.0);
        v[t].assign(H * hd_v, 0.0);
        for (int hh = 0; hh < H; ++hh) {
          for (int i = 0; i < nope; ++i) k[t][hh * hd + i] = kv[hh * (nope + hd_v) + i];
          for (int i = 0; i < n_rot; ++i) k[t][hh * hd + nope + i] = kpe[i];
          for (int i = 0; i < hd_v; ++i) v[t][hh * hd_v + i] = kv[hh * (nope + hd_v) + nope + i];
        }
      } else {
        q[t] = ref.M(L + "attn_q.weight").Apply(h);
        k[t] = ref.M(L + "attn_k.weight").Apply(h);
        v[t] = ref.M(L + "attn_v.weight").Apply(h);
        if (ref.Has(L + "attn_q.bias")) {
          const Vec bq = ref.V(L + "attn_q.bias"), bk = ref.V(L + "attn_k.bias"),
                    bv = ref.V(L + "attn_v.bias");
          for (size_t i = 0; i < q[t].size(); ++i) q[t][i] += bq[i];
          for (size_t i = 0; i < k[t].size(); ++i) k[t][i] += bk[i];
          for (size_t i = 0; i < v[t].size(); ++i) v[t][i] += bv[i];
        }
        if (ref.Has(L + "attn_q_norm.weight")) {
          const Vec qn = ref.V(L + "attn_q_norm.weight"), kn = ref.V(L + "attn_k_norm.weight");
          for (int hh = 0; hh < H; ++hh) {
            const Vec r = RmsNorm(q[t], qn, eps, hh * hd, hd);
            std::copy(r.begin(), r.end(), q[t].begin() + hh * hd);
          }
          for (int hh = 0; hh < KV; ++hh) {
            const Vec r = RmsNorm(k[t], kn, eps, hh * hd, hd);
            std::copy(r.begin(), r.end(), k[t].begin() + hh * hd);
          }
        }
        const Vec* ff = rope_freqs.empty() ? nullptr : &rope_freqs;
        for (int hh = 0; hh < H; ++hh) Rotate(q[t].data() + hh * hd, n_rot, t, base, neox, ff);
        for (int hh = 0; hh < KV; ++hh) Rotate(k[t].data() + hh * hd, n_rot, t, base, neox, ff);
      }
    }
    // Causal attention and output projection.
    const Mat wo = ref.M(L + "attn_output.weight");
    for (int t = 0; t < T; ++t) {
      Vec out(H * hd_v, 0.0);
      for (int hh = 0; hh < H; ++hh) {
        const int kh = hh / (H / kv_heads);
        Vec s(t + 1);
        for (int j = 0; j <= t; ++j) {
          double dot = 0.0;
          for (int i = 0; i < hd; ++i) dot += q[t][hh * hd + i] * k[j][kh * hd + i];
          s[j] = dot / std::sqrt(static_cast<double>(hd));
        }
        const double mx = *std::max_element(s.begin(), s.end());
        double sum = 0.0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int j = 0; j <= t; ++j) {
          for (int i = 0; i < hd_v; ++i) out[hh * hd_v + i] += s[j] / sum * v[j][kh * hd_v + i];
        }
      }
      const Vec y = wo.Apply(out);
      for (int i = 0; i < d; ++i) x[t][i] += y[i];
    }
    // FFN.
    const Vec ffn_norm = ref.V(L + "ffn_norm.weight");
    const bool layer_moe = n_expert > 0 && il >= (mla ? dense_lead : 0);
    for (int t = 0; t < T; ++t) {
      const Vec h = RmsNorm(x[t], ffn_norm, eps);
      Vec y(d, 0.0);
      if (!layer_moe) {
        y = SwiGlu(ref.M(L + "ffn_gate.weight"), ref.M(L + "ffn_up.weight"),
                   ref.M(L + "ffn_down.weight"), h);
      } else {
        const Vec logits = ref.M(L + "ffn_gate_inp.weight").ApplyExact(h);
        Vec prob(n_expert);
        const double mx = *std::max_element(logits.begin(), logits.end());
        double sum = 0.0;
        for (int e = 0; e < n_expert; ++e) sum += (prob[e] = std::exp(logits[e] - mx));
        for (double& pr : prob) pr /= sum;
        // Selection may be biased (DeepSeek-V3 exp_probs_b); the weights never are.
        Vec select = prob;
        if (ref.Has(L + "exp_probs_b.bias")) {
          const Vec bias = ref.V(L + "exp_probs_b.bias");
          for (int e = 0; e < n_expert; ++e) select[e] += bias[e];
        }
        std::vector<int> order(n_expert);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int l, int r) { return select[l] > select[r]; });
        double sel = 0.0;
        for (int j = 0; j < k_used; ++j) sel += prob[order[j]];
        for (int j = 0; j < k_used; ++j) {
          const int e = order[j];
          double wgt = prob[e] * (norm_topk ? 1.0 / sel : 1.0) * topk_scale;
          const Vec ye = SwiGlu(ref.M(L + "ffn_gate_exps.weight", e), ref.M(L + "ffn_up_exps.weight", e),
                                ref.M(L + "ffn_down_exps.weight", e), h);
          for (int i = 0; i < d; ++i) y[i] += wgt * ye[i];
        }
        if (ref.Has(L + "ffn_gate_shexp.weight")) {
          Vec ys = SwiGlu(ref.M(L + "ffn_gate_shexp.weight"), ref.M(L + "ffn_up_shexp.weight"),
                          ref.M(L + "ffn_down_shexp.weight"), h);
          double gate = 1.0;
          if (ref.Has(L + "ffn_gate_inp_shexp.weight")) {
            const Vec g = ref.V(L + "ffn_gate_inp_shexp.weight");  // exact, like the router
            double dot = 0.0;
            for (int i = 0; i < d; ++i) dot += g[i] * h[i];
            gate = 1.0 / (1.0 + std::exp(-dot));
          }
          for (int i = 0; i < d; ++i) y[i] += gate * ys[i];
        }
      }
      for (int i = 0; i < d; ++i) x[t][i] += y[i];
    }
  }

  const Vec out_norm = ref.V("output_norm.weight");
  const Mat out = ref.Has("output.weight") ? ref.M("output.weight") : embd;
  std::vector<std::vector<double>> logits(T);
  for (int t = 0; t < T; ++t) {
    logits[t] = out.Apply(RmsNorm(x[t], out_norm, eps));
    logits[t].resize(n_vocab);
  }
  return logits;
}

common::StatusOr<std::vector<ArchCase>> ReferenceArchitectures() {
  std::vector<ArchCase> out;
  auto add = [&out](const std::string& name, const std::string& preset,
                    auto&& vary) -> common::Status {
    auto c = SynthPreset(preset);
    if (!c.ok()) return c.status();
    vary(*c);
    out.push_back({name, *c});
    return common::Status();
  };
  auto same = [](SynthConfig&) {};
  for (const common::Status& st : {
           add("llama", "tiny", same),
           add("mixtral", "tiny",  // llama with routed experts
               [](SynthConfig& c) { c.n_expert = 4, c.n_expert_used = 2, c.n_ff_exp = 256; }),
           add("llama_tied", "tiny",  // tied output, Llama-3 rope base
               [](SynthConfig& c) { c.tied_output = true, c.rope_base = 500000.0f; }),
           add("qwen2", "tiny-qwen2", same),
           add("qwen2moe", "tiny-qwen2moe", same),
           add("qwen3", "tiny-qwen3", same),
           add("qwen3moe", "tiny-qwen3moe", same),
           add("deepseek2", "tiny-deepseek2", same),  // q latent, shared expert, exp_probs_b
           add("deepseek2_lite", "tiny-deepseek2",    // V2-Lite style: no q latent
               [](SynthConfig& c) { c.q_lora_rank = 0; }),
       }) {
    if (!st.ok()) return st;
  }
  return out;
}

}  // namespace inference::testing
