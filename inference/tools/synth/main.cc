// gguf-synth: writes a GGUF model with random, well-scaled weights of
// realistic shapes (see inference/synth.h). Exit codes: 0 ok, 1 failure, 2 usage.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "inference/gguf.h"
#include "inference/synth.h"

namespace {

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: gguf-synth --out FILE [--preset NAME] [--type TYPE] [--vocab VOCAB.gguf] [--seed N]\n"
               "                  [--arch A] [--n-embd N] [--n-layer N] [--n-head N] [--n-head-kv N] [--head-dim N]\n"
               "                  [--n-ff N] [--n-ctx N] [--n-vocab N] [--n-expert N] [--n-expert-used N]\n"
               "                  [--n-ff-exp N] [--tied-output]\n"
               "presets:");
  for (const auto& p : inference::SynthPresetNames()) std::fprintf(out, " %s", p.c_str());
  std::fprintf(out, "\ntypes: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K\n"
                    "archs: llama qwen2 qwen3 qwen2moe qwen3moe deepseek2\n");
}

bool ParseType(const std::string& name, inference::GgmlType* out) {
  for (uint32_t id = 0; id < 64; ++id) {
    if (!inference::GgmlTypeIsValid(id)) continue;
    auto t = static_cast<inference::GgmlType>(id);
    if (name == inference::GgmlTypeName(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out, preset = "tiny", vocab_path, type_name;
  // Collect overrides first; the preset is applied before them.
  std::vector<std::pair<std::string, std::string>> overrides;
  bool tied = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      Usage(stdout);
      return 0;
    }
    if (a == "--tied-output") {
      tied = true;
      continue;
    }
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::fprintf(stderr, "gguf-synth: bad argument '%s'\n", a.c_str());
      Usage(stderr);
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--out") {
      out = v;
    } else if (a == "--preset") {
      preset = v;
    } else if (a == "--vocab") {
      vocab_path = v;
    } else if (a == "--type") {
      type_name = v;
    } else {
      overrides.emplace_back(a.substr(2), v);
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "gguf-synth: --out is required\n");
    Usage(stderr);
    return 2;
  }
  auto cfg = inference::SynthPreset(preset);
  if (!cfg.ok()) {
    std::fprintf(stderr, "gguf-synth: %s\n", cfg.status().ToString().c_str());
    return 2;
  }
  inference::SynthConfig c = *cfg;
  c.tied_output = c.tied_output || tied;
  if (!type_name.empty() && !ParseType(type_name, &c.type)) {
    std::fprintf(stderr, "gguf-synth: unknown type '%s'\n", type_name.c_str());
    return 2;
  }
  for (const auto& [k, v] : overrides) {
    char* end = nullptr;
    unsigned long n = std::strtoul(v.c_str(), &end, 10);
    const bool numeric = end && *end == '\0' && !v.empty();
    uint32_t* field = nullptr;
    if (k == "arch") {
      c.arch = v;
      continue;
    }
    if (k == "seed" && numeric) {
      c.seed = n;
      continue;
    }
    if (k == "n-embd") field = &c.n_embd;
    if (k == "n-layer") field = &c.n_layer;
    if (k == "n-head") field = &c.n_head;
    if (k == "n-head-kv") field = &c.n_head_kv;
    if (k == "head-dim") field = &c.head_dim;
    if (k == "n-ff") field = &c.n_ff;
    if (k == "n-ctx") field = &c.n_ctx;
    if (k == "n-vocab") field = &c.n_vocab;
    if (k == "n-expert") field = &c.n_expert;
    if (k == "n-expert-used") field = &c.n_expert_used;
    if (k == "n-ff-exp") field = &c.n_ff_exp;
    if (!field || !numeric || n > 0xFFFFFFFFul) {
      std::fprintf(stderr, "gguf-synth: bad option --%s %s\n", k.c_str(), v.c_str());
      return 2;
    }
    *field = static_cast<uint32_t>(n);
  }
  std::unique_ptr<inference::GgufFile> vocab;
  if (!vocab_path.empty()) {
    auto v = inference::GgufFile::Open(vocab_path);
    if (!v.ok()) {
      std::fprintf(stderr, "gguf-synth: %s\n", v.status().ToString().c_str());
      return 1;
    }
    vocab = std::move(*v);
  }
  auto start = std::chrono::steady_clock::now();
  auto s = inference::SynthesizeToFile(c, vocab.get(), out);
  if (!s.ok()) {
    std::fprintf(stderr, "gguf-synth: %s\n", s.ToString().c_str());
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto check = inference::GgufFile::Open(out);
  if (!check.ok()) {
    std::fprintf(stderr, "gguf-synth: wrote an unreadable file: %s\n", check.status().ToString().c_str());
    return 1;
  }
  std::printf("{\"out\":\"%s\",\"arch\":\"%s\",\"type\":\"%s\",\"tensors\":%zu,\"bytes\":%llu,\"seconds\":%.2f}\n",
              out.c_str(), c.arch.c_str(), inference::GgmlTypeName(c.type), (*check)->tensors().size(),
              static_cast<unsigned long long>((*check)->file_size()), secs);
  return 0;
}
