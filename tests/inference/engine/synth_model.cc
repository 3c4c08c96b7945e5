#include "synth_model.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "inference/quant.h"

namespace inference::testing {
namespace {

enum class Init { kMatrix, kEmbedding, kNorm, kBias, kRouter };

struct TensorSpec {
  std::string name;
  std::vector<uint64_t> dims;  // ne0 first
  GgmlType type;
  Init init;
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t HashName(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

class Writer {
 public:
  explicit Writer(std::FILE* f) : f_(f) {}
  void Bytes(const void* p, size_t n) {
    if (ok_ && std::fwrite(p, 1, n, f_) != n) ok_ = false;
    pos_ += n;
  }
  template <typename T>
  void Pod(T v) { Bytes(&v, sizeof(v)); }
  void Str(const std::string& s) {
    Pod<uint64_t>(s.size());
    Bytes(s.data(), s.size());
  }
  void Pad(uint64_t align) {
    static const char zeros[64] = {};
    while (pos_ % align != 0) Bytes(zeros, std::min<uint64_t>(64, align - pos_ % align));
  }
  bool ok() const { return ok_; }

 private:
  std::FILE* f_;
  uint64_t pos_ = 0;
  bool ok_ = true;
};

// Metadata entries, serialized in insertion order.
struct Meta {
  std::vector<std::function<void(Writer&)>> entries;
  void U32(const std::string& k, uint32_t v) {
    entries.push_back([=](Writer& w) { w.Str(k); w.Pod<uint32_t>(4); w.Pod(v); });
  }
  void F32(const std::string& k, float v) {
    entries.push_back([=](Writer& w) { w.Str(k); w.Pod<uint32_t>(6); w.Pod(v); });
  }
  void Bool(const std::string& k, bool v) {
    entries.push_back([=](Writer& w) { w.Str(k); w.Pod<uint32_t>(7); w.Pod<uint8_t>(v); });
  }
  void Str(const std::string& k, const std::string& v) {
    entries.push_back([=](Writer& w) { w.Str(k); w.Pod<uint32_t>(8); w.Str(v); });
  }
};

Status CopyTokenizer(const std::string& path, Meta* meta) {
  ASSIGN_OR_RETURN(auto vocab, GgufFile::Open(path));
  auto shared = std::shared_ptr<GgufFile>(std::move(vocab));
  for (const GgufKeyInfo& k : shared->keys()) {
    if (k.key.rfind("tokenizer.", 0) != 0) continue;
    const std::string key = k.key;
    const uint32_t type = static_cast<uint32_t>(k.type);
    const uint32_t atype = static_cast<uint32_t>(k.array_type);
    if (k.type == GgufValueType::kArray) {
      if (k.array_type == GgufValueType::kString) {
        ASSIGN_OR_RETURN(auto v, shared->GetStringArray(key));
        meta->entries.push_back([=](Writer& w) {
          w.Str(key); w.Pod<uint32_t>(9); w.Pod<uint32_t>(8); w.Pod<uint64_t>(v.size());
          for (const auto& s : v) w.Str(s);
        });
      } else if (k.array_type == GgufValueType::kFloat32) {
        ASSIGN_OR_RETURN(auto v, shared->GetFloatArray(key));
        meta->entries.push_back([=](Writer& w) {
          w.Str(key); w.Pod<uint32_t>(9); w.Pod<uint32_t>(6); w.Pod<uint64_t>(v.size());
          w.Bytes(v.data(), v.size() * sizeof(float));
        });
      } else if (k.array_type == GgufValueType::kInt32 || k.array_type == GgufValueType::kUint32) {
        ASSIGN_OR_RETURN(auto v, shared->GetIntArray(key));
        meta->entries.push_back([=](Writer& w) {
          w.Str(key); w.Pod<uint32_t>(9); w.Pod<uint32_t>(atype); w.Pod<uint64_t>(v.size());
          for (int64_t x : v) w.Pod<int32_t>(static_cast<int32_t>(x));
        });
      }
    } else if (k.type == GgufValueType::kString) {
      ASSIGN_OR_RETURN(auto v, shared->GetString(key));
      meta->Str(key, v);
    } else if (k.type == GgufValueType::kBool) {
      ASSIGN_OR_RETURN(bool v, shared->GetBool(key));
      meta->Bool(key, v);
    } else if (k.type == GgufValueType::kUint32 || k.type == GgufValueType::kInt32) {
      ASSIGN_OR_RETURN(int64_t v, shared->GetInt(key));
      meta->entries.push_back([=](Writer& w) {
        w.Str(key); w.Pod<uint32_t>(type); w.Pod<int32_t>(static_cast<int32_t>(v));
      });
    }
  }
  return common::OkStatus();
}

}  // namespace

SynthSpec TinyLlamaSpec(GgmlType type) {
  SynthSpec s;
  s.arch = "llama";
  s.type = type;
  s.n_vocab = 32000;
  s.n_embd = 2048;
  s.n_layer = 22;
  s.n_head = 32;
  s.n_head_kv = 4;
  s.head_dim = 64;
  s.n_ff = 5632;
  s.n_ctx = 2048;
  return s;
}

Status WriteSynthModel(const SynthSpec& s, const std::string& path) {
  const std::string a = s.arch;
  const bool moe = s.n_expert > 0;
  const bool mla = a == "deepseek2";
  const int hd_v = s.head_dim_v > 0 ? s.head_dim_v : s.head_dim;
  const int n_rot = s.n_rot > 0 ? s.n_rot : s.head_dim;
  const uint64_t d = s.n_embd;
  std::vector<TensorSpec> ts;
  auto add = [&](const std::string& name, std::vector<uint64_t> dims, Init init) {
    const bool matrix = dims.size() >= 2 && init != Init::kRouter;
    ts.push_back({name, std::move(dims), matrix ? s.type : GgmlType::kF32, init});
  };
  add("token_embd.weight", {d, uint64_t(s.n_vocab)}, Init::kEmbedding);
  add("output_norm.weight", {d}, Init::kNorm);
  if (!s.tied_output) add("output.weight", {d, uint64_t(s.n_vocab)}, Init::kMatrix);
  const uint64_t q_w = uint64_t(s.n_head) * s.head_dim, kv_w = uint64_t(s.n_head_kv) * s.head_dim;
  for (int il = 0; il < s.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    add(p + "attn_norm.weight", {d}, Init::kNorm);
    if (mla) {
      const uint64_t nope = s.head_dim - n_rot;
      if (s.q_lora_rank > 0) {
        add(p + "attn_q_a.weight", {d, uint64_t(s.q_lora_rank)}, Init::kMatrix);
        add(p + "attn_q_a_norm.weight", {uint64_t(s.q_lora_rank)}, Init::kNorm);
        add(p + "attn_q_b.weight", {uint64_t(s.q_lora_rank), q_w}, Init::kMatrix);
      } else {
        add(p + "attn_q.weight", {d, q_w}, Init::kMatrix);
      }
      add(p + "attn_kv_a_mqa.weight", {d, uint64_t(s.kv_lora_rank + n_rot)}, Init::kMatrix);
      add(p + "attn_kv_a_norm.weight", {uint64_t(s.kv_lora_rank)}, Init::kNorm);
      add(p + "attn_kv_b.weight", {uint64_t(s.kv_lora_rank), uint64_t(s.n_head) * (nope + hd_v)},
          Init::kMatrix);
      add(p + "attn_output.weight", {uint64_t(s.n_head) * hd_v, d}, Init::kMatrix);
    } else {
      add(p + "attn_q.weight", {d, q_w}, Init::kMatrix);
      add(p + "attn_k.weight", {d, kv_w}, Init::kMatrix);
      add(p + "attn_v.weight", {d, kv_w}, Init::kMatrix);
      if (a == "qwen2" || a == "qwen2moe") {
        add(p + "attn_q.bias", {q_w}, Init::kBias);
        add(p + "attn_k.bias", {kv_w}, Init::kBias);
        add(p + "attn_v.bias", {kv_w}, Init::kBias);
      }
      if (a == "qwen3" || a == "qwen3moe") {
        add(p + "attn_q_norm.weight", {uint64_t(s.head_dim)}, Init::kNorm);
        add(p + "attn_k_norm.weight", {uint64_t(s.head_dim)}, Init::kNorm);
      }
      add(p + "attn_output.weight", {q_w, d}, Init::kMatrix);
    }
    add(p + "ffn_norm.weight", {d}, Init::kNorm);
    if (moe && il >= s.n_layer_dense_lead) {
      const uint64_t ne = s.n_expert, ffe = s.n_ff_exp;
      add(p + "ffn_gate_inp.weight", {d, ne}, Init::kRouter);
      add(p + "ffn_gate_exps.weight", {d, ffe, ne}, Init::kMatrix);
      add(p + "ffn_up_exps.weight", {d, ffe, ne}, Init::kMatrix);
      add(p + "ffn_down_exps.weight", {ffe, d, ne}, Init::kMatrix);
      uint64_t ffs = 0;
      if (s.n_ff_shexp > 0) ffs = s.n_ff_shexp;
      if (s.n_expert_shared > 0) ffs = ffe * s.n_expert_shared;
      if (ffs > 0) {
        add(p + "ffn_gate_shexp.weight", {d, ffs}, Init::kMatrix);
        add(p + "ffn_up_shexp.weight", {d, ffs}, Init::kMatrix);
        add(p + "ffn_down_shexp.weight", {ffs, d}, Init::kMatrix);
        if (s.n_ff_shexp > 0) add(p + "ffn_gate_inp_shexp.weight", {d}, Init::kBias);
      }
    } else {
      add(p + "ffn_gate.weight", {d, uint64_t(s.n_ff)}, Init::kMatrix);
      add(p + "ffn_up.weight", {d, uint64_t(s.n_ff)}, Init::kMatrix);
      add(p + "ffn_down.weight", {uint64_t(s.n_ff), d}, Init::kMatrix);
    }
  }

  Meta meta;
  meta.Str("general.architecture", a);
  meta.Str("general.name", "synthetic " + a);
  meta.U32("general.alignment", 32);
  meta.U32(a + ".context_length", s.n_ctx);
  meta.U32(a + ".embedding_length", s.n_embd);
  meta.U32(a + ".block_count", s.n_layer);
  meta.U32(a + ".feed_forward_length", s.n_ff);
  meta.U32(a + ".attention.head_count", s.n_head);
  meta.U32(a + ".attention.head_count_kv", mla ? s.n_head : s.n_head_kv);
  meta.U32(a + ".attention.key_length", s.head_dim);
  meta.U32(a + ".attention.value_length", hd_v);
  meta.F32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  meta.F32(a + ".rope.freq_base", s.rope_freq_base);
  meta.U32(a + ".rope.dimension_count", n_rot);
  meta.U32(a + ".vocab_size", s.n_vocab);
  if (moe) {
    meta.U32(a + ".expert_count", s.n_expert);
    meta.U32(a + ".expert_used_count", s.n_expert_used);
    meta.U32(a + ".expert_feed_forward_length", s.n_ff_exp);
    if (s.n_expert_shared > 0) meta.U32(a + ".expert_shared_count", s.n_expert_shared);
    if (s.n_ff_shexp > 0) meta.U32(a + ".expert_shared_feed_forward_length", s.n_ff_shexp);
    if (mla) {
      meta.U32(a + ".leading_dense_block_count", s.n_layer_dense_lead);
      meta.F32(a + ".expert_weights_scale", s.expert_weights_scale);
      meta.Bool(a + ".expert_weights_norm", s.expert_weights_norm);
    }
  }
  if (mla) {
    if (s.q_lora_rank > 0) meta.U32(a + ".attention.q_lora_rank", s.q_lora_rank);
    meta.U32(a + ".attention.kv_lora_rank", s.kv_lora_rank);
  }
  if (!s.tokenizer_from.empty()) RETURN_IF_ERROR(CopyTokenizer(s.tokenizer_from, &meta));

  // Layout: every tensor aligned to 32 bytes from the start of the data section.
  uint64_t offset = 0;
  for (TensorSpec& t : ts) {
    auto row = GgmlRowBytes(t.type, t.dims[0]);
    if (!row.ok()) return row.status().WithContext("tensor '" + t.name + "'");
    uint64_t rows = 1;
    for (size_t i = 1; i < t.dims.size(); ++i) rows *= t.dims[i];
    t.offset = offset;
    t.bytes = *row * rows;
    offset = (offset + t.bytes + 31) / 32 * 32;
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return common::NotFoundError("cannot create " + path);
  Writer w(f.get());
  w.Bytes("GGUF", 4);
  w.Pod<uint32_t>(3);
  w.Pod<uint64_t>(ts.size());
  w.Pod<uint64_t>(meta.entries.size());
  for (auto& e : meta.entries) e(w);
  for (const TensorSpec& t : ts) {
    w.Str(t.name);
    w.Pod<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (uint64_t dim : t.dims) w.Pod<uint64_t>(dim);
    w.Pod<uint32_t>(static_cast<uint32_t>(t.type));
    w.Pod<uint64_t>(t.offset);
  }
  w.Pad(32);

  std::vector<float> row;
  std::vector<uint8_t> packed;
  for (const TensorSpec& t : ts) {
    const uint64_t cols = t.dims[0];
    uint64_t rows = 1;
    for (size_t i = 1; i < t.dims.size(); ++i) rows *= t.dims[i];
    row.resize(cols);
    packed.resize(t.bytes / rows);
    const uint64_t seed = HashName(t.name) ^ (s.seed * 0x9e3779b97f4a7c15ull);
    // Uniform in [-a, a]: matrices keep the activation scale (variance 1/cols), the router is
    // sharper so top-k choices are not near ties.
    float a_scale = std::sqrt(3.0f / static_cast<float>(cols));
    if (t.init == Init::kEmbedding) a_scale = 1.0f;
    if (t.init == Init::kRouter) a_scale *= 4.0f;
    if (t.init == Init::kBias) a_scale = 0.2f;
    if (t.init == Init::kNorm) a_scale = 0.2f;
    for (uint64_t r = 0; r < rows; ++r) {
      uint64_t st = seed + r * 0x632be59bd9b4e019ull;
      for (uint64_t c = 0; c < cols; ++c) {
        const float u = static_cast<float>(SplitMix(st) >> 40) * (1.0f / 16777216.0f);  // [0,1)
        row[c] = (2.0f * u - 1.0f) * a_scale + (t.init == Init::kNorm ? 1.0f : 0.0f);
      }
      RETURN_IF_ERROR(QuantizeRow(t.type, row.data(), packed.data(), static_cast<int64_t>(cols)));
      w.Bytes(packed.data(), packed.size());
    }
    w.Pad(32);
  }
  if (!w.ok()) return common::InternalError("short write to " + path);
  return common::OkStatus();
}

}  // namespace inference::testing
