// engine-bench: prefill and decode speed of the CPU engine on a GGUF file (make benchmark
// files with gguf-synth --preset tinyllama-1.1b --type q8_0 --vocab VOCAB.gguf --out FILE).
//
//   engine-bench run --model FILE [--threads N] [--prompt 512] [--decode 64] [--batch 8]
//
// `run` prints one line per figure (JSON at the end): prefill tokens/s for a --prompt-token
// prompt in one chunk, single-sequence decode tokens/s, total decode tokens/s with --batch
// concurrent sequences, and peak resident memory against file size + KV cache.
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "inference/model.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double CpuSeconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}

long PeakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

const char* Arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 0; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return def;
}

int Run(int argc, char** argv) {
  const std::string path = Arg(argc, argv, "--model", "");
  const int threads = std::atoi(Arg(argc, argv, "--threads", "2"));
  const int prompt = std::atoi(Arg(argc, argv, "--prompt", "512"));
  const int decode = std::atoi(Arg(argc, argv, "--decode", "64"));
  const int batch = std::atoi(Arg(argc, argv, "--batch", "8"));
  const std::string kv_type = Arg(argc, argv, "--kv", "f16");
  inference::ModelOptions o;
  o.threads = threads;
  o.kv_cache_type = kv_type;
  const auto t_load = Clock::now();
  auto loaded = inference::Model::Load(path, o);
  if (!loaded.ok()) {
    std::fprintf(stderr, "run: %s\n", loaded.status().ToString().c_str());
    return 1;
  }
  auto& model = **loaded;
  const double load_s = Seconds(t_load, Clock::now());
  const int n_vocab = model.config().n_vocab;
  constexpr int kBlock = 16;
  const int per_seq = (std::max(prompt, decode + 1) + kBlock - 1) / kBlock + 1;
  const int n_seq = std::max(1, batch);
  if (!model.AllocateKvCache(per_seq * n_seq, kBlock).ok()) return 1;
  std::vector<std::vector<int32_t>> tables(n_seq);
  for (int s = 0; s < n_seq; ++s) {
    tables[s].resize(per_seq);
    std::iota(tables[s].begin(), tables[s].end(), s * per_seq);
  }
  std::mt19937 rng(1);
  std::vector<int32_t> tokens(std::max(prompt, decode + 1));
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % n_vocab);
  std::vector<float> logits;
  auto check = [](const inference::Status& st) {
    if (!st.ok()) {
      std::fprintf(stderr, "forward: %s\n", st.ToString().c_str());
      std::exit(1);
    }
  };

  // Prefill: the whole prompt as one chunk of sequence 0.
  double prefill_tps = 0.0, prefill_cpu = 0.0, decode_cpu = 0.0, batch_cpu = 0.0;
  if (prompt > 0) {
    inference::ForwardBatch b;
    b.sequences.push_back({std::span<const int32_t>(tokens.data(), prompt), 0, tables[0], true});
    const auto t0 = Clock::now();
    const double c0 = CpuSeconds();
    check(model.Forward(b, &logits));
    prefill_tps = prompt / Seconds(t0, Clock::now());
    prefill_cpu = CpuSeconds() - c0;
  }
  // Single-sequence decode from position 0 (one warm-up step first).
  auto decode_run = [&](int n_seqs) {
    inference::ForwardBatch b;
    for (int s = 0; s < n_seqs; ++s) {
      b.sequences.push_back({std::span<const int32_t>(tokens.data(), 1), 0, tables[s], true});
    }
    check(model.Forward(b, &logits));
    const auto t0 = Clock::now();
    const double c0 = CpuSeconds();
    for (int step = 1; step <= decode; ++step) {
      for (int s = 0; s < n_seqs; ++s) {
        b.sequences[s].tokens = std::span<const int32_t>(tokens.data() + step, 1);
        b.sequences[s].start_pos = step;
      }
      check(model.Forward(b, &logits));
    }
    (n_seqs == 1 ? decode_cpu : batch_cpu) = CpuSeconds() - c0;
    return static_cast<double>(decode) * n_seqs / Seconds(t0, Clock::now());
  };
  const double decode_tps = decode > 0 ? decode_run(1) : 0.0;
  const double batch_tps = decode > 0 && batch > 1 ? decode_run(batch) : 0.0;

  struct stat st_buf {};
  stat(path.c_str(), &st_buf);
  const double file_mb = st_buf.st_size / 1048576.0;
  // KV actually touched: prompt + batch * decode positions.
  const double kv_mb = model.KvBytesPerBlock(kBlock) / 1048576.0 *
                       ((prompt + kBlock - 1) / kBlock + batch * ((decode + kBlock) / kBlock));
  const double rss_mb = PeakRssKb() / 1024.0;
  std::printf("backend          %s\n", model.backend_name().c_str());
  std::printf("load             %.2f s\n", load_s);
  std::printf("prefill %-4d     %.2f tok/s (%.1f CPU s)\n", prompt, prefill_tps, prefill_cpu);
  std::printf("decode x1        %.2f tok/s (%.3f CPU s per token)\n", decode_tps,
              decode > 0 ? decode_cpu / decode : 0.0);
  if (batch > 1) std::printf("decode x%-3d      %.2f tok/s total (%.2fx single; %.3f CPU s per step = %.2fx "
              "the single step)\n",
              batch, batch_tps, decode_tps > 0 ? batch_tps / decode_tps : 0.0,
              decode > 0 ? batch_cpu / decode : 0.0, decode_cpu > 0 ? batch_cpu / decode_cpu : 0.0);
  std::printf("peak rss         %.1f MiB (file %.1f MiB + kv used %.1f MiB = %.1f MiB, ratio %.3f)\n",
              rss_mb, file_mb, kv_mb, file_mb + kv_mb, rss_mb / (file_mb + kv_mb));
  std::printf("{\"engine\":\"ours\",\"prefill_tps\":%.3f,\"decode_tps\":%.3f,\"batch\":%d,"
              "\"batch_decode_tps\":%.3f,\"peak_rss_mib\":%.1f,\"file_mib\":%.1f,\"kv_mib\":%.1f}\n",
              prefill_tps, decode_tps, batch, batch_tps, rss_mb, file_mb, kv_mb);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "run") == 0) return Run(argc, argv);
  std::fprintf(stderr,
               "usage: engine-bench run --model FILE [--threads 2] [--prompt 512] [--decode 64] "
               "[--batch 8] [--kv f16|f32]\n");
  return 2;
}
