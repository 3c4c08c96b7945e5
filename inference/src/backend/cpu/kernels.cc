#include "backend/cpu/kernels.h"

#include <cstring>

namespace inference::cpu {

namespace generic {
extern const Kernels kTable;
}
#if defined(INFERENCE_CPU_AVX2)
namespace avx2 {
extern const Kernels kTable;
}
#endif
#if defined(INFERENCE_CPU_AVX512)
namespace avx512 {
extern const Kernels kTable;
}
#endif

const Kernels& GenericKernels() { return generic::kTable; }

const Kernels* Avx2Kernels() {
#if defined(INFERENCE_CPU_AVX2)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c")) {
    return &avx2::kTable;
  }
#endif
  return nullptr;
}

const Kernels* Avx512Kernels() {
#if defined(INFERENCE_CPU_AVX512)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c")) {
    return &avx512::kTable;
  }
#endif
  return nullptr;
}

const Kernels& BestKernels() {
  static const Kernels* best = [] {
    if (const Kernels* k = Avx512Kernels()) return k;
    if (const Kernels* k = Avx2Kernels()) return k;
    return &GenericKernels();
  }();
  return *best;
}

bool GetTypeTraits(const Kernels& k, GgmlType type, TypeTraits* t) {
  switch (type) {
    case GgmlType::kF32:
      *t = {ActivationFormat::kF32, 1, sizeof(float), k.dot_f32};
      return true;
    case GgmlType::kF16:
      *t = {ActivationFormat::kF32, 1, sizeof(float), k.dot_f16};
      return true;
    case GgmlType::kBF16:
      *t = {ActivationFormat::kF32, 1, sizeof(float), k.dot_bf16};
      return true;
    case GgmlType::kQ4_0:
      *t = {ActivationFormat::kQ8_0, kQK, sizeof(ActQ8_0), k.dot_q4_0};
      return true;
    case GgmlType::kQ8_0:
      *t = {ActivationFormat::kQ8_0, kQK, sizeof(ActQ8_0), k.dot_q8_0};
      return true;
    case GgmlType::kQ4_K:
      *t = {ActivationFormat::kQ8_K, kQKK, sizeof(ActQ8_K), k.dot_q4_k};
      return true;
    case GgmlType::kQ5_K:
      *t = {ActivationFormat::kQ8_K, kQKK, sizeof(ActQ8_K), k.dot_q5_k};
      return true;
    case GgmlType::kQ6_K:
      *t = {ActivationFormat::kQ8_K, kQKK, sizeof(ActQ8_K), k.dot_q6_k};
      return true;
    default:
      return false;
  }
}

size_t ActivationBytes(ActivationFormat format, int64_t n) {
  switch (format) {
    case ActivationFormat::kF32:
      return static_cast<size_t>(n) * sizeof(float);
    case ActivationFormat::kQ8_0:
      return static_cast<size_t>(n / kQK) * sizeof(ActQ8_0);
    case ActivationFormat::kQ8_K:
      return static_cast<size_t>(n / kQKK) * sizeof(ActQ8_K);
  }
  return 0;
}

void ConvertActivations(const Kernels& k, ActivationFormat format, const float* x, int64_t n,
                        void* dst) {
  switch (format) {
    case ActivationFormat::kF32:
      std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
      break;
    case ActivationFormat::kQ8_0:
      k.quantize_q8_0(x, static_cast<ActQ8_0*>(dst), n);
      break;
    case ActivationFormat::kQ8_K:
      k.quantize_q8_k(x, static_cast<ActQ8_K*>(dst), n);
      break;
  }
}

bool DequantizeRow(GgmlType type, const void* src, int64_t n, float* y) {
  return inference::DequantizeRow(type, src, y, n).ok();
}

}  // namespace inference::cpu
