// Helpers shared by the CPU kernel tests: every kernel copy this processor can run, and
// reproducible random inputs.
#ifndef TESTS_INFERENCE_ENGINE_KERNEL_TEST_UTIL_H_
#define TESTS_INFERENCE_ENGINE_KERNEL_TEST_UTIL_H_

#include <cstdint>
#include <random>
#include <vector>

#include "backend/cpu/kernels.h"

namespace inference::cpu::test_util {

// The plain kernels, then AVX2 and AVX-512 where the processor has them.
inline std::vector<const Kernels*> AllKernels() {
  std::vector<const Kernels*> out = {&GenericKernels()};
  if (const Kernels* k = Avx2Kernels()) out.push_back(k);
  if (const Kernels* k = Avx512Kernels()) out.push_back(k);
  return out;
}

// n normally distributed values (mean 0, deviation `scale`), the same for the same seed.
inline std::vector<float> RandomVector(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace inference::cpu::test_util

#endif  // TESTS_INFERENCE_ENGINE_KERNEL_TEST_UTIL_H_
