// Synthetic GGUF models. Weights are uniform with the variance of
// N(0, 1/fan_in) (so activations keep their scale through each layer),
// norms are near 1, biases small; each tensor has its own deterministic
// stream derived from the seed and the tensor name.
#include "inference/synth.h"

#include <cmath>
#include <cstdio>

#include "inference/quant.h"
#include "model/gguf_writer.h"

namespace inference {
namespace {

using common::Status;
using common::StatusOr;

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t HashName(const std::string& s, uint64_t seed) {
  uint64_t h = Mix(seed);
  for (char c : s) h = Mix(h ^ static_cast<uint8_t>(c));
  return h;
}

enum class Init { kMatrix, kNorm, kBias };

GgufWriter::RowFn Rows(uint64_t stream, uint64_t fan_in, Init init) {
  return [stream, fan_in, init](uint64_t row, float* out) {
    uint64_t s = Mix(stream ^ Mix(row));
    const float scale = init == Init::kMatrix ? std::sqrt(3.0f / static_cast<float>(fan_in))
                        : init == Init::kNorm ? 0.05f
                                              : 0.02f;
    const float base = init == Init::kNorm ? 1.0f : 0.0f;
    for (uint64_t i = 0; i < fan_in; ++i) {
      s = Mix(s);
      const float u = static_cast<float>(s >> 40) * (1.0f / 16777216.0f);  // [0, 1)
      out[i] = base + scale * (2.0f * u - 1.0f);
    }
  };
}

class Builder {
 public:
  Builder(const SynthConfig& c, GgufWriter& w) : c_(c), w_(w) {}

  // A matrix [ne0 = fan_in, ne1, (ne2)] stored in the configured type, or
  // F16 when its rows do not fit the type's block size.
  Status Matrix(const std::string& name, std::vector<uint64_t> dims) {
    GgmlType t = c_.type;
    if (dims[0] % static_cast<uint64_t>(GgmlBlockSize(t)) != 0) t = GgmlType::kF16;
    return w_.AddTensor(name, dims, t, Rows(HashName(name, c_.seed), dims[0], Init::kMatrix));
  }
  Status Vector(const std::string& name, uint64_t n, Init init) {
    return w_.AddTensor(name, {n}, GgmlType::kF32, Rows(HashName(name, c_.seed), n, init));
  }

 private:
  const SynthConfig& c_;
  GgufWriter& w_;
};

Status Validate(const SynthConfig& c) {
  static const char* kArchs[] = {"llama", "qwen2", "qwen3", "qwen2moe", "qwen3moe", "deepseek2"};
  bool known = false;
  for (const char* a : kArchs) known = known || c.arch == a;
  if (!known) return common::InvalidArgumentError("unknown architecture '" + c.arch + "'");
  if (c.n_embd == 0 || c.n_layer == 0 || c.n_head == 0 || c.n_head_kv == 0 || c.n_head % c.n_head_kv != 0) {
    return common::InvalidArgumentError("bad dimensions: n_embd, n_layer, n_head > 0 and n_head % n_head_kv == 0");
  }
  const bool moe = c.arch == "qwen2moe" || c.arch == "qwen3moe" || c.arch == "deepseek2";
  if (moe && (c.n_expert == 0 || c.n_expert_used == 0 || c.n_expert_used > c.n_expert || c.n_ff_exp == 0)) {
    return common::InvalidArgumentError(c.arch + " needs n_expert >= n_expert_used > 0 and n_ff_exp > 0");
  }
  if (c.arch == "deepseek2" && (c.kv_lora_rank == 0 || c.qk_rope_dim == 0 || c.qk_nope_dim == 0 || c.v_head_dim == 0)) {
    return common::InvalidArgumentError("deepseek2 needs kv_lora_rank, qk_nope_dim, qk_rope_dim and v_head_dim");
  }
  if (!CanQuantize(c.type)) return common::UnimplementedError(std::string("cannot write type ") + GgmlTypeName(c.type));
  return common::OkStatus();
}

Status Build(const SynthConfig& c, const GgufFile* vocab, GgufWriter& w) {
  RETURN_IF_ERROR(Validate(c));
  const std::string a = c.arch;
  const uint32_t hd = c.head_dim ? c.head_dim : c.n_embd / c.n_head;
  w.SetString("general.architecture", a);
  w.SetString("general.name", c.name);
  w.SetUint32("general.quantization_version", 2);
  w.SetUint32(a + ".context_length", c.n_ctx);
  w.SetUint32(a + ".embedding_length", c.n_embd);
  w.SetUint32(a + ".block_count", c.n_layer);
  w.SetUint32(a + ".feed_forward_length", c.n_ff);
  w.SetUint32(a + ".attention.head_count", c.n_head);
  w.SetUint32(a + ".attention.head_count_kv", c.n_head_kv);
  w.SetFloat32(a + ".attention.layer_norm_rms_epsilon", c.rms_eps);
  w.SetFloat32(a + ".rope.freq_base", c.rope_base);
  if (a == "deepseek2") {
    w.SetUint32(a + ".attention.key_length", c.qk_nope_dim + c.qk_rope_dim);
    w.SetUint32(a + ".attention.value_length", c.v_head_dim);
    w.SetUint32(a + ".rope.dimension_count", c.qk_rope_dim);
    if (c.q_lora_rank) w.SetUint32(a + ".attention.q_lora_rank", c.q_lora_rank);
    w.SetUint32(a + ".attention.kv_lora_rank", c.kv_lora_rank);
    w.SetUint32(a + ".leading_dense_block_count", c.n_leading_dense);
    w.SetUint32(a + ".expert_shared_count", c.n_expert_shared);
    w.SetFloat32(a + ".expert_weights_scale", 1.0f);
  } else {
    w.SetUint32(a + ".rope.dimension_count", hd);
    w.SetUint32(a + ".attention.key_length", hd);
    w.SetUint32(a + ".attention.value_length", hd);
  }
  if (c.n_expert) {
    w.SetUint32(a + ".expert_count", c.n_expert);
    w.SetUint32(a + ".expert_used_count", c.n_expert_used);
    w.SetUint32(a + ".expert_feed_forward_length", c.n_ff_exp);
    if (a == "qwen2moe") w.SetUint32(a + ".expert_shared_feed_forward_length", c.n_ff_shexp);
  }
  // file_type: 0 all F32, 1 F16, else the llama.cpp "mostly" code for the type.
  uint32_t ftype = 0;
  switch (c.type) {
    case GgmlType::kF16: ftype = 1; break;
    case GgmlType::kQ4_0: ftype = 2; break;
    case GgmlType::kQ4_1: ftype = 3; break;
    case GgmlType::kQ8_0: ftype = 7; break;
    case GgmlType::kQ5_0: ftype = 8; break;
    case GgmlType::kQ5_1: ftype = 9; break;
    case GgmlType::kQ4_K: ftype = 15; break;
    case GgmlType::kQ5_K: ftype = 17; break;
    case GgmlType::kQ6_K: ftype = 18; break;
    case GgmlType::kBF16: ftype = 32; break;
    default: ftype = 0;
  }
  w.SetUint32("general.file_type", ftype);

  // Tokenizer.
  uint64_t n_vocab;
  if (vocab) {
    ASSIGN_OR_RETURN(std::vector<std::string> toks, vocab->GetStringArray("tokenizer.ggml.tokens"));
    n_vocab = toks.size();
    for (const auto& k : vocab->keys()) {
      if (k.key.rfind("tokenizer.", 0) == 0) RETURN_IF_ERROR(w.CopyKey(*vocab, k.key));
    }
  } else {
    n_vocab = c.n_vocab ? c.n_vocab : 512;
    if (n_vocab < 259) return common::InvalidArgumentError("a generated vocabulary needs at least 259 tokens");
    std::vector<std::string> toks = {"<unk>", "<s>", "</s>"};
    std::vector<float> scores(3, 0.0f);
    std::vector<int32_t> types = {2, 3, 3};
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
      toks.push_back(buf);
      scores.push_back(0.0f);
      types.push_back(6);
    }
    // The word-start marker and the ASCII letters and digits as pieces.
    std::vector<std::string> pieces = {"\xE2\x96\x81"};
    for (char ch = 'a'; ch <= 'z'; ++ch) pieces.emplace_back(1, ch);
    for (char ch = 'A'; ch <= 'Z'; ++ch) pieces.emplace_back(1, ch);
    for (char ch = '0'; ch <= '9'; ++ch) pieces.emplace_back(1, ch);
    for (size_t i = 0; i < pieces.size() && toks.size() < n_vocab; ++i) {
      toks.push_back(pieces[i]);
      scores.push_back(-static_cast<float>(toks.size()));
      types.push_back(1);
    }
    for (uint64_t i = toks.size(); i < n_vocab; ++i) {
      toks.push_back("\xE2\x96\x81t" + std::to_string(i));
      scores.push_back(-static_cast<float>(i));
      types.push_back(1);
    }
    w.SetString("tokenizer.ggml.model", "llama");
    w.SetStringArray("tokenizer.ggml.tokens", toks);
    w.SetFloat32Array("tokenizer.ggml.scores", scores);
    w.SetInt32Array("tokenizer.ggml.token_type", types);
    w.SetUint32("tokenizer.ggml.bos_token_id", 1);
    w.SetUint32("tokenizer.ggml.eos_token_id", 2);
    w.SetUint32("tokenizer.ggml.unknown_token_id", 0);
  }
  w.SetUint32(a + ".vocab_size", static_cast<uint32_t>(n_vocab));

  Builder b(c, w);
  const uint64_t E = c.n_embd;
  RETURN_IF_ERROR(b.Matrix("token_embd.weight", {E, n_vocab}));
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    RETURN_IF_ERROR(b.Vector(p + "attn_norm.weight", E, Init::kNorm));
    if (a == "deepseek2") {
      const uint64_t qk = c.qk_nope_dim + c.qk_rope_dim;
      if (c.q_lora_rank) {
        RETURN_IF_ERROR(b.Matrix(p + "attn_q_a.weight", {E, c.q_lora_rank}));
        RETURN_IF_ERROR(b.Vector(p + "attn_q_a_norm.weight", c.q_lora_rank, Init::kNorm));
        RETURN_IF_ERROR(b.Matrix(p + "attn_q_b.weight", {c.q_lora_rank, c.n_head * qk}));
      } else {
        RETURN_IF_ERROR(b.Matrix(p + "attn_q.weight", {E, c.n_head * qk}));
      }
      RETURN_IF_ERROR(b.Matrix(p + "attn_kv_a_mqa.weight", {E, c.kv_lora_rank + c.qk_rope_dim}));
      RETURN_IF_ERROR(b.Vector(p + "attn_kv_a_norm.weight", c.kv_lora_rank, Init::kNorm));
      RETURN_IF_ERROR(b.Matrix(p + "attn_kv_b.weight", {c.kv_lora_rank, c.n_head * (c.qk_nope_dim + c.v_head_dim)}));
      RETURN_IF_ERROR(b.Matrix(p + "attn_output.weight", {static_cast<uint64_t>(c.n_head) * c.v_head_dim, E}));
    } else {
      RETURN_IF_ERROR(b.Matrix(p + "attn_q.weight", {E, static_cast<uint64_t>(c.n_head) * hd}));
      RETURN_IF_ERROR(b.Matrix(p + "attn_k.weight", {E, static_cast<uint64_t>(c.n_head_kv) * hd}));
      RETURN_IF_ERROR(b.Matrix(p + "attn_v.weight", {E, static_cast<uint64_t>(c.n_head_kv) * hd}));
      if (a == "qwen2" || a == "qwen2moe") {
        RETURN_IF_ERROR(b.Vector(p + "attn_q.bias", static_cast<uint64_t>(c.n_head) * hd, Init::kBias));
        RETURN_IF_ERROR(b.Vector(p + "attn_k.bias", static_cast<uint64_t>(c.n_head_kv) * hd, Init::kBias));
        RETURN_IF_ERROR(b.Vector(p + "attn_v.bias", static_cast<uint64_t>(c.n_head_kv) * hd, Init::kBias));
      }
      if (a == "qwen3" || a == "qwen3moe") {
        RETURN_IF_ERROR(b.Vector(p + "attn_q_norm.weight", hd, Init::kNorm));
        RETURN_IF_ERROR(b.Vector(p + "attn_k_norm.weight", hd, Init::kNorm));
      }
      RETURN_IF_ERROR(b.Matrix(p + "attn_output.weight", {static_cast<uint64_t>(c.n_head) * hd, E}));
    }
    RETURN_IF_ERROR(b.Vector(p + "ffn_norm.weight", E, Init::kNorm));
    const bool dense = c.n_expert == 0 || (a == "deepseek2" && l < c.n_leading_dense);
    if (dense) {
      RETURN_IF_ERROR(b.Matrix(p + "ffn_gate.weight", {E, c.n_ff}));
      RETURN_IF_ERROR(b.Matrix(p + "ffn_up.weight", {E, c.n_ff}));
      RETURN_IF_ERROR(b.Matrix(p + "ffn_down.weight", {c.n_ff, E}));
      continue;
    }
    RETURN_IF_ERROR(b.Matrix(p + "ffn_gate_inp.weight", {E, c.n_expert}));
    RETURN_IF_ERROR(b.Matrix(p + "ffn_gate_exps.weight", {E, c.n_ff_exp, c.n_expert}));
    RETURN_IF_ERROR(b.Matrix(p + "ffn_up_exps.weight", {E, c.n_ff_exp, c.n_expert}));
    RETURN_IF_ERROR(b.Matrix(p + "ffn_down_exps.weight", {c.n_ff_exp, E, c.n_expert}));
    if (a == "qwen2moe") {
      RETURN_IF_ERROR(b.Vector(p + "ffn_gate_inp_shexp.weight", E, Init::kBias));
      RETURN_IF_ERROR(b.Matrix(p + "ffn_gate_shexp.weight", {E, c.n_ff_shexp}));
      RETURN_IF_ERROR(b.Matrix(p + "ffn_up_shexp.weight", {E, c.n_ff_shexp}));
      RETURN_IF_ERROR(b.Matrix(p + "ffn_down_shexp.weight", {c.n_ff_shexp, E}));
    }
    if (a == "deepseek2" && c.n_expert_shared) {
      const uint64_t sh = static_cast<uint64_t>(c.n_ff_exp) * c.n_expert_shared;
      RETURN_IF_ERROR(b.Matrix(p + "ffn_gate_shexp.weight", {E, sh}));
      RETURN_IF_ERROR(b.Matrix(p + "ffn_up_shexp.weight", {E, sh}));
      RETURN_IF_ERROR(b.Matrix(p + "ffn_down_shexp.weight", {sh, E}));
      RETURN_IF_ERROR(b.Vector(p + "exp_probs_b.bias", c.n_expert, Init::kBias));
    }
  }
  RETURN_IF_ERROR(b.Vector("output_norm.weight", E, Init::kNorm));
  if (!c.tied_output) RETURN_IF_ERROR(b.Matrix("output.weight", {E, n_vocab}));
  return common::OkStatus();
}

}  // namespace

StatusOr<SynthConfig> SynthPreset(const std::string& name) {
  SynthConfig c;
  c.name = name;
  if (name == "tiny") return c;
  if (name == "tiny-qwen2" || name == "tiny-qwen3") {
    c.arch = name.substr(5);
    c.rope_base = 1000000.0f;
    c.rms_eps = 1e-6f;
    return c;
  }
  if (name == "tiny-qwen2moe" || name == "tiny-qwen3moe") {
    c.arch = name.substr(5);
    c.n_expert = 8;
    c.n_expert_used = 2;
    c.n_ff_exp = 256;
    c.n_ff_shexp = c.arch == "qwen2moe" ? 512 : 0;
    c.rope_base = 1000000.0f;
    return c;
  }
  if (name == "tiny-deepseek2") {
    c.arch = "deepseek2";
    c.n_head_kv = 4;
    c.n_expert = 8;
    c.n_expert_used = 2;
    c.n_ff_exp = 256;
    c.n_expert_shared = 1;
    c.n_leading_dense = 1;
    c.q_lora_rank = 256;
    c.kv_lora_rank = 256;
    c.qk_nope_dim = 64;
    c.qk_rope_dim = 32;
    c.v_head_dim = 64;
    return c;
  }
  if (name == "tinyllama-1.1b") {  // TinyLlama-1.1B
    c.n_embd = 2048;
    c.n_layer = 22;
    c.n_head = 32;
    c.n_head_kv = 4;
    c.n_ff = 5632;
    c.n_vocab = 32000;
    return c;
  }
  if (name == "llama3-8b") {  // Llama-3-8B
    c.n_embd = 4096;
    c.n_layer = 32;
    c.n_head = 32;
    c.n_head_kv = 8;
    c.n_ff = 14336;
    c.n_ctx = 8192;
    c.n_vocab = 128256;
    c.rope_base = 500000.0f;
    return c;
  }
  return common::NotFoundError("unknown preset '" + name + "'");
}

std::vector<std::string> SynthPresetNames() {
  return {"tiny", "tiny-qwen2", "tiny-qwen3", "tiny-qwen2moe", "tiny-qwen3moe", "tiny-deepseek2", "tinyllama-1.1b",
          "llama3-8b"};
}

StatusOr<std::string> SynthesizeToBytes(const SynthConfig& config, const GgufFile* vocab) {
  GgufWriter w;
  RETURN_IF_ERROR(Build(config, vocab, w));
  return w.ToBytes();
}

Status SynthesizeToFile(const SynthConfig& config, const GgufFile* vocab, const std::string& path) {
  GgufWriter w;
  RETURN_IF_ERROR(Build(config, vocab, w));
  return w.WriteFile(path);
}

}  // namespace inference
