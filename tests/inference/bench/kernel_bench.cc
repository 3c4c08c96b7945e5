// kernel-bench: throughput of the repacked Q8_0 / Q4_0 group micro-kernels for 1..8 activation
// columns, on a weight slice that stays in cache (compute bound) and on one that streams from
// memory. Prints G multiply-adds per CPU second for each ISA copy present.
//
//   kernel-bench [--cols 2048] [--seconds 0.3]
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"
#include "inference/quant.h"

namespace {

using inference::GgmlType;
using namespace inference::cpu;

double CpuSeconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}

const char* Arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 0; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return def;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t cols = std::atoll(Arg(argc, argv, "--cols", "2048"));
  const double seconds = std::atof(Arg(argc, argv, "--seconds", "0.3"));
  std::vector<const Kernels*> isas = {&GenericKernels()};
  if (const Kernels* k = Avx2Kernels()) isas.push_back(k);
  if (const Kernels* k = Avx512Kernels()) isas.push_back(k);
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    for (int64_t rows : {int64_t{64}, int64_t{65536}}) {  // in cache / streaming (> L3)
      const size_t row_bytes = *inference::GgmlRowBytes(type, cols);
      std::vector<uint8_t> w(row_bytes * rows);
      std::vector<float> f(cols);
      for (int64_t r = 0; r < rows; ++r) {
        for (auto& v : f) v = dist(rng);
        (void)inference::QuantizeRow(type, f.data(), w.data() + r * row_bytes, cols);
      }
      std::vector<uint8_t> packed(RepackedMatrixBytes(type, rows, cols));
      RepackGroups(type, w.data(), rows, cols, 0, rows / kRowGroup, packed.data());
      const int64_t nb = cols / kQK;
      const size_t gbytes = static_cast<size_t>(nb) * GroupBlockBytes(type);
      for (const Kernels* k : isas) {
        const GroupDotFn dot = type == GgmlType::kQ8_0 ? k->group_dot_q8_0 : k->group_dot_q4_0;
        const size_t act = ActivationBytes(ActivationFormat::kQ8_0, cols);
        std::vector<uint8_t> x(act * kMaxGroupCols);
        for (int j = 0; j < kMaxGroupCols; ++j) {
          for (auto& v : f) v = dist(rng);
          k->quantize_q8_0(f.data(), reinterpret_cast<ActQ8_0*>(x.data() + j * act), cols);
        }
        std::printf("%-5s %-14s %-9s", inference::GgmlTypeName(type), k->isa,
                    rows == 64 ? "in-cache" : "streaming");
        for (int c : {1, 2, 4, 8}) {
          float out[kRowGroup * kMaxGroupCols];
          double sink = 0.0;
          int64_t passes = 0;
          const double c0 = CpuSeconds();
          double used = 0.0;
          do {
            for (int64_t g = 0; g < rows / kRowGroup; ++g) {
              dot(nb, packed.data() + g * gbytes, x.data(), act, c, out);
              sink += out[0];
            }
            ++passes;
            used = CpuSeconds() - c0;
          } while (used < seconds);
          const double macs = double(passes) * rows * cols * c;
          std::printf("  C=%d %7.1f GMAC/s", c, macs / used * 1e-9);
          if (sink == 12345.678) std::printf("!");
        }
        // The per-row kernel on the file layout, one column (what decode used before repacking).
        {
          const DotFn row_dot = type == GgmlType::kQ8_0 ? k->dot_q8_0 : k->dot_q4_0;
          double sink = 0.0;
          int64_t passes = 0;
          const double c0 = CpuSeconds();
          double used = 0.0;
          do {
            for (int64_t r = 0; r < rows; ++r) {
              float o;
              row_dot(cols, w.data() + r * row_bytes, x.data(), act, 1, &o);
              sink += o;
            }
            ++passes;
            used = CpuSeconds() - c0;
          } while (used < seconds);
          std::printf("  | per-row C=1 %6.1f", double(passes) * rows * cols / used * 1e-9);
          if (sink == 12345.678) std::printf("!");
        }
        std::printf("\n");
      }
    }
  }
  return 0;
}
