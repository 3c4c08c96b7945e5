// assistant-model bench: prefill and decode throughput of the serving engine
// for 1, 8 and 32 concurrent sequences, and peak resident memory.
//
//   assistant-model bench --model FILE [--threads N] [--prompt-len 512] [--gen 64]
//                         [--concurrency 1,8,32] [--backend auto|cpu|cuda]
//                         [--tensor-parallel N] [--json]
//
// On the cuda backend it also measures the device: copy bandwidth (cudaMemcpy device to device)
// and the bf16 tensor-core peak (cuBLAS), and reports decode at one sequence as a fraction of
// the bandwidth bound (bytes of weights + KV read per token / time / copy bandwidth) and
// prefill as a fraction of the bf16 peak (2 flops per weight per token).
//
// For each concurrency N: (a) N distinct random prompts of prompt-len tokens,
// one output token each: prefill tok/s = N * prompt-len / wall time; (b) N
// other prompts, gen + 1 output tokens each, every token timestamped on
// arrival: decode tok/s = tokens generated after the last sequence got its
// first token / time from then to the end (all N sequences decoding). Prompts
// never share a prefix and the prefix cache is off.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"
#include "common/json.h"
#include "inference/cuda_backend.h"
#include "inference/engine.h"
#include "inference/gguf.h"
#include "inference/model.h"

namespace assistant_model {
namespace {

int BenchUsage() {
  std::fprintf(stderr,
               "usage: assistant-model bench --model FILE [--threads N] [--prompt-len N]\n"
               "         [--gen N] [--concurrency 1,8,32] [--backend auto|cpu|cuda]\n"
               "         [--tensor-parallel N] [--json]\n");
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

struct BatchTimes {
  double wall_s = 0;        // submit of the first request -> end of the last
  double decode_s = 0;      // all sequences have their first token -> end of the last
  int64_t decode_tokens = 0;  // tokens generated in that window
};

// Runs n requests to completion concurrently, one reader thread each, and
// timestamps every token as it arrives.
common::StatusOr<BatchTimes> RunBatch(inference::Engine& engine, int n, int prompt_len,
                                      int out_len, int n_vocab, uint64_t seed,
                                      const std::string& tag) {
  using Clock = std::chrono::steady_clock;
  std::mt19937_64 rng(seed);
  std::vector<std::unique_ptr<inference::GenerationStream>> streams;
  const auto t0 = Clock::now();
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
  std::vector<std::vector<Clock::time_point>> arrivals(n);
  std::vector<common::Status> errors(n);
  std::vector<std::thread> readers;
  for (int i = 0; i < n; ++i) {
    readers.emplace_back([&, i] {
      inference::GenerateEvent ev;
      while (streams[i]->Next(&ev)) {
        if (ev.kind == inference::GenerateEvent::Kind::kToken && ev.token >= 0) {
          arrivals[i].push_back(Clock::now());
        } else if (ev.kind == inference::GenerateEvent::Kind::kFinished &&
                   ev.reason != inference::FinishReason::kLength) {
          errors[i] = common::InternalError(
              "bench request ended with " + std::string(inference::FinishReasonName(ev.reason)) +
              ": " + ev.error.ToString());
        }
      }
    });
  }
  for (auto& r : readers) r.join();
  for (const auto& e : errors) RETURN_IF_ERROR(e);
  BatchTimes t;
  Clock::time_point first_all = t0, end = t0;
  for (const auto& a : arrivals) {
    if (a.empty()) return common::InternalError("bench request produced no token");
    first_all = std::max(first_all, a.front());
    end = std::max(end, a.back());
  }
  for (const auto& a : arrivals) {
    for (const auto& ts : a) t.decode_tokens += ts > first_all ? 1 : 0;
  }
  t.wall_s = std::chrono::duration<double>(end - t0).count();
  t.decode_s = std::chrono::duration<double>(end - first_all).count();
  return t;
}

}  // namespace

int CmdBench(int argc, char** argv) {
  std::string model_path;
  int threads = 0, prompt_len = 512, gen = 64, tensor_parallel = 1;
  std::string backend = "auto";
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
    else if (a == "--backend") backend = v;
    else if (a == "--tensor-parallel") tensor_parallel = std::atoi(v);
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
  mo.backend = backend;
  mo.tensor_parallel = tensor_parallel;
  auto model = inference::Model::Load(model_path, mo);
  if (!model.ok()) return BenchFail(model.status());
  const auto& cfg = (*model)->config();
  const int block_size = 16;
  const int blocks_per_seq = (prompt_len + gen + 1 + block_size - 1) / block_size;
  const size_t kv_bytes = (*model)->KvBytesPerBlock(block_size) *
                          static_cast<size_t>(blocks_per_seq) * static_cast<size_t>(max_n);

  // Device figures (cuda) are measured below; on a GPU a prompt of up to 2,048 tokens is one
  // prefill step (one large tensor-core product per weight), on the CPU chunks of 512.
  const bool on_gpu = (*model)->backend_name().rfind("cuda", 0) == 0;
  const int chunk = on_gpu ? std::clamp(prompt_len, 512, 2048) : 512;
  inference::EngineOptions eo;
  eo.kv_cache_bytes = kv_bytes;
  eo.scheduler.block_size = block_size;
  eo.scheduler.max_num_seqs = max_n;
  eo.scheduler.max_batched_tokens = std::max(chunk, max_n);
  eo.scheduler.max_prefill_chunk = chunk;
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
  // Device figures (cuda): copy bandwidth and bf16 peak, measured before the engine runs.
  double copy_bw = 0, bf16_peak = 0;
  if (on_gpu) {
    auto bw = inference::MeasureCopyBandwidth(0, size_t{1} << 30);
    auto peak = inference::MeasureBf16GemmPeak(0, 8192);
    if (!bw.ok()) return BenchFail(bw.status());
    if (!peak.ok()) return BenchFail(peak.status());
    copy_bw = *bw;
    bf16_peak = *peak;
    if (!json) {
      std::printf("device: copy bandwidth %.0f GB/s (cudaMemcpy D2D), bf16 peak %.0f TFLOP/s "
                  "(cuBLAS 8192^3)\n", copy_bw / 1e9, bf16_peak / 1e12);
    }
  }
  uint64_t weight_bytes = 0, weight_elems = 0;
  for (const auto& t : (*model)->file().tensors()) {
    weight_bytes += t.n_bytes;
    // The embedding table is read one row per token, not whole.
    if (t.name != "token_embd.weight") weight_elems += t.n_elements;
  }
  // Bytes read per decoded token at one sequence: every weight once (the embedding row aside)
  // and the KV of the average context (prompt + half the generated tokens).
  const double kv_per_token = static_cast<double>((*model)->KvBytesPerBlock(block_size)) / block_size;
  const double bytes_per_token =
      static_cast<double>(weight_bytes) + kv_per_token * (prompt_len + gen / 2.0);
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
    const double prefill = n * static_cast<double>(prompt_len) / std::max(a->wall_s, 1e-9);
    const double decode = static_cast<double>(b->decode_tokens) / std::max(b->decode_s, 1e-9);
    if (!json) std::printf("%6d %14.1f %14.1f %14.1f\n", n, prefill, decode, PeakRssMiB());
    common::Json row = common::Json::MakeObject();
    row.Set("seqs", n);
    row.Set("prefill_tok_s", prefill);
    row.Set("decode_tok_s", decode);
    row.Set("peak_rss_mib", PeakRssMiB());
    if (on_gpu && n == 1) {
      const double bound = copy_bw / bytes_per_token;
      const double prefill_frac = prefill * 2.0 * static_cast<double>(weight_elems) / bf16_peak;
      if (!json) {
        std::printf("       batch 1: decode %.1f tok/s = %.0f%% of the bandwidth bound %.1f tok/s "
                    "(%.2f GB/token); prefill %.0f%% of the bf16 peak\n",
                    decode, 100.0 * decode / bound, bound, bytes_per_token / 1e9,
                    100.0 * prefill_frac);
      }
      row.Set("bandwidth_bound_tok_s", bound);
      row.Set("bandwidth_fraction", decode / bound);
      row.Set("prefill_peak_fraction", prefill_frac);
    }
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
    if (on_gpu) {
      out.Set("copy_bandwidth_gb_s", copy_bw / 1e9);
      out.Set("bf16_peak_tflop_s", bf16_peak / 1e12);
      out.Set("bytes_per_token", bytes_per_token);
    }
    std::printf("%s\n", out.Dump().c_str());
  }
  return 0;
}

}  // namespace assistant_model
