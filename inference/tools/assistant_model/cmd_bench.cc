// assistant-model bench: prefill and decode throughput of the serving engine
// for 1, 8 and 32 concurrent sequences, and peak resident memory.
//
//   assistant-model bench --model FILE [--threads N] [--prompt-len 512] [--gen 64]
//                         [--concurrency 1,8,32] [--json]
//
// For each concurrency N: (a) N distinct random prompts of prompt-len tokens,
// one output token each: prefill tok/s = N * prompt-len / wall time; (b) N
// other prompts, gen + 1 output tokens each: decode tok/s = N * gen / (wall
// time of b - wall time of a). Prompts never share a prefix (distinct tenant
// keys), so the prefix cache does not flatter the figures.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "inference/engine.h"
#include "inference/gguf.h"
#include "inference/model.h"

namespace assistant_model {
namespace {

int BenchUsage() {
  std::fprintf(stderr,
               "usage: assistant-model bench --model FILE [--threads N] [--prompt-len N]\n"
               "         [--gen N] [--concurrency 1,8,32] [--json]\n");
  return 2;
}

int BenchFail(const common::Status& status) {
  std::fprintf(stderr, "assistant-model bench: %s\n", status.ToString().c_str());
  return 1;
}

double PeakRssMiB() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// Runs n requests to completion concurrently; returns wall seconds.
common::StatusOr<double> RunBatch(inference::Engine& engine, int n, int prompt_len, int out_len,
                                  int n_vocab, uint64_t seed, const std::string& tag) {
  std::mt19937_64 rng(seed);
  std::vector<std::unique_ptr<inference::GenerationStream>> streams;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    inference::GenerateRequest req;
    req.prompt.push_back(1);  // BOS
    while (static_cast<int>(req.prompt.size()) < prompt_len) {
      req.prompt.push_back(3 + static_cast<int32_t>(rng() % static_cast<uint64_t>(n_vocab - 3)));
    }
    req.sampling.temperature = 0;
    req.max_tokens = out_len;
    req.ignore_eos = true;
    req.tenant_key = tag + std::to_string(i);
    ASSIGN_OR_RETURN(auto s, engine.Submit(std::move(req)));
    streams.push_back(std::move(s));
  }
  for (auto& s : streams) {
    inference::GenerateEvent ev;
    while (s->Next(&ev)) {
      if (ev.kind == inference::GenerateEvent::Kind::kFinished &&
          ev.reason != inference::FinishReason::kLength) {
        return common::InternalError("bench request ended with " +
                                     std::string(inference::FinishReasonName(ev.reason)) +
                                     ": " + ev.error.ToString());
      }
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int CmdBench(int argc, char** argv) {
  std::string model_path;
  int threads = 0, prompt_len = 512, gen = 64;
  bool json = false;
  std::vector<int> concurrency{1, 8, 32};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--json") { json = true; continue; }
    if (a == "-h" || a == "--help") return BenchUsage(), 0;
    if (!(v = next())) return BenchUsage();
    if (a == "--model" || a == "-m") model_path = v;
    else if (a == "--threads" || a == "-t") threads = std::atoi(v);
    else if (a == "--prompt-len") prompt_len = std::atoi(v);
    else if (a == "--gen") gen = std::atoi(v);
    else if (a == "--concurrency") {
      concurrency.clear();
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) concurrency.push_back(std::atoi(item.c_str()));
    } else return BenchUsage();
  }
  if (model_path.empty() || prompt_len < 2 || gen < 1 || concurrency.empty()) return BenchUsage();
  int max_n = 1;
  for (int n : concurrency) {
    if (n < 1) return BenchUsage();
    max_n = std::max(max_n, n);
  }

  inference::ModelOptions mo;
  mo.threads = threads;
  auto model = inference::Model::Load(model_path, mo);
  if (!model.ok()) return BenchFail(model.status());
  const auto& cfg = (*model)->config();
  const int block_size = 16;
  const int blocks_per_seq = (prompt_len + gen + 1 + block_size - 1) / block_size;
  const size_t kv_bytes = (*model)->KvBytesPerBlock(block_size) *
                          static_cast<size_t>(blocks_per_seq) * static_cast<size_t>(max_n);

  inference::EngineOptions eo;
  eo.kv_cache_bytes = kv_bytes;
  eo.scheduler.block_size = block_size;
  eo.scheduler.max_num_seqs = max_n;
  eo.scheduler.max_batched_tokens = std::max(512, max_n);
  eo.scheduler.max_prefill_chunk = 512;
  eo.scheduler.max_waiting = max_n;
  eo.scheduler.max_model_len = blocks_per_seq * block_size;
  eo.scheduler.enable_prefix_caching = false;
  auto engine = inference::Engine::Create(model->get(), std::move(eo));
  if (!engine.ok()) return BenchFail(engine.status());

  const double file_mib = static_cast<double>((*model)->file().file_size()) / (1 << 20);
  const double kv_mib = static_cast<double>(kv_bytes) / (1 << 20);
  if (!json) {
    std::printf("model %s (%s, %d layers, n_embd %d, vocab %d) on %s\n", model_path.c_str(),
                cfg.arch.c_str(), cfg.n_layer, cfg.n_embd, cfg.n_vocab,
                (*model)->backend_name().c_str());
    std::printf("file %.1f MiB, KV cache %.1f MiB, prompt %d tokens, %d generated tokens\n",
                file_mib, kv_mib, prompt_len, gen);
    std::printf("%6s %14s %14s %14s\n", "seqs", "prefill tok/s", "decode tok/s", "peak RSS MiB");
  }
  common::Json rows = common::Json::MakeArray();
  // Warm-up: touch the weights and the KV cache once.
  if (auto w = RunBatch(**engine, 1, std::min(prompt_len, 32), 2, cfg.n_vocab, 7, "warm");
      !w.ok()) {
    return BenchFail(w.status());
  }
  for (int n : concurrency) {
    auto a = RunBatch(**engine, n, prompt_len, 1, cfg.n_vocab, 1000 + n, "a");
    if (!a.ok()) return BenchFail(a.status());
    auto b = RunBatch(**engine, n, prompt_len, gen + 1, cfg.n_vocab, 2000 + n, "b");
    if (!b.ok()) return BenchFail(b.status());
    const double prefill = n * static_cast<double>(prompt_len) / *a;
    const double decode_s = std::max(*b - *a, 1e-9);
    const double decode = n * static_cast<double>(gen) / decode_s;
    if (!json) std::printf("%6d %14.1f %14.1f %14.1f\n", n, prefill, decode, PeakRssMiB());
    common::Json row = common::Json::MakeObject();
    row.Set("seqs", n);
    row.Set("prefill_tok_s", prefill);
    row.Set("decode_tok_s", decode);
    row.Set("peak_rss_mib", PeakRssMiB());
    rows.Push(std::move(row));
  }
  if (json) {
    common::Json out = common::Json::MakeObject();
    out.Set("model", model_path);
    out.Set("backend", (*model)->backend_name());
    out.Set("file_mib", file_mib);
    out.Set("kv_cache_mib", kv_mib);
    out.Set("prompt_len", prompt_len);
    out.Set("gen", gen);
    out.Set("results", std::move(rows));
    std::printf("%s\n", out.Dump().c_str());
  }
  return 0;
}

}  // namespace assistant_model
