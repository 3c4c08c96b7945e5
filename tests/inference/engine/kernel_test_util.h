// Helpers shared by the CPU kernel and backend tests: every kernel copy this processor can run,
// reproducible random inputs, and a backend fixture that keeps what a test uploads alive.
#ifndef TESTS_INFERENCE_ENGINE_KERNEL_TEST_UTIL_H_
#define TESTS_INFERENCE_ENGINE_KERNEL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"
#include "inference/backend.h"
#include "inference/gguf.h"

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

// A 2-thread CPU backend with the weights and buffers a test gives it, all kept alive together.
class BackendFixture {
 protected:
  // Creates backend_; a test failure if it cannot.
  void CreateBackend() {
    auto b = CreateCpuBackend({2});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backend_ = std::move(*b);
  }

  // A weight of `type` and `dims` (ne0 first) over `bytes`, held by the fixture (not file-mapped).
  const BackendWeight& Upload(GgmlType type, std::vector<uint8_t> bytes,
                              std::vector<uint64_t> dims) {
    storage_.push_back(std::move(bytes));
    GgufTensor t;
    t.name = "w" + std::to_string(storage_.size());
    t.dims = dims;
    t.type = type;
    t.n_elements = 1;
    for (uint64_t d : dims) t.n_elements *= d;
    t.n_bytes = storage_.back().size();
    t.offset = 0;
    t.data = storage_.back().data();
    auto w = backend_->UploadWeight(t);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    weights_.push_back(std::move(*w));
    return *weights_.back();
  }
  const BackendWeight& UploadF32(const std::vector<float>& values, std::vector<uint64_t> dims) {
    std::vector<uint8_t> bytes(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return Upload(GgmlType::kF32, std::move(bytes), std::move(dims));
  }

  TensorView Buffer(int64_t rows, int64_t cols) {
    auto b = backend_->Allocate(rows * cols * sizeof(float));
    EXPECT_TRUE(b.ok());
    buffers_.push_back(std::move(*b));
    return buffers_.back()->View(rows, cols);
  }

  std::unique_ptr<Backend> backend_;

 private:
  std::vector<std::vector<uint8_t>> storage_;
  std::vector<std::unique_ptr<BackendWeight>> weights_;
  std::vector<std::unique_ptr<DeviceBuffer>> buffers_;
};

}  // namespace inference::cpu::test_util

#endif  // TESTS_INFERENCE_ENGINE_KERNEL_TEST_UTIL_H_
