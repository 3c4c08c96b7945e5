// CPU compute kernels, compiled once per instruction set and chosen at run time (cpuid).
//
// A weight row is multiplied by up to kMaxDotCols activation rows at once, so prefill reads each
// weight block once for several tokens. Activations are converted first to the format the weight
// type pairs with (ActivationFormat): float32 for F32/F16/BF16 weights, ActQ8_0 for Q4_0/Q8_0,
// ActQ8_K for the K-quants. Nothing dequantizes a whole matrix.
#ifndef INFERENCE_SRC_BACKEND_CPU_KERNELS_H_
#define INFERENCE_SRC_BACKEND_CPU_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "backend/cpu/blocks.h"
#include "inference/gguf.h"

namespace inference::cpu {

constexpr int kMaxDotCols = 4;

enum class ActivationFormat { kF32, kQ8_0, kQ8_K };

// out[j] = dot(weight row w, activation row x + j * x_stride_bytes) for j < nx (1..kMaxDotCols).
// n = elements in the row.
using DotFn = void (*)(int64_t n, const void* w, const void* x, size_t x_stride_bytes, int nx,
                       float* out);

struct Kernels {
  const char* isa;  // "generic", "AVX2", "AVX-512 VNNI"
  void (*quantize_q8_0)(const float* x, ActQ8_0* y, int64_t n);  // n % 32 == 0
  void (*quantize_q8_k)(const float* x, ActQ8_K* y, int64_t n);  // n % 256 == 0
  DotFn dot_f32;
  DotFn dot_f16;
  DotFn dot_bf16;
  DotFn dot_q4_0;
  DotFn dot_q8_0;
  DotFn dot_q4_k;
  DotFn dot_q5_k;
  DotFn dot_q6_k;
  float (*dot_ff)(const float* a, const float* b, int64_t n);
  void (*axpy)(float a, const float* x, float* y, int64_t n);  // y += a * x
  // F16 KV cache: y += a * x (x in half), float -> half (round to nearest even).
  void (*axpy_f16)(float a, const uint16_t* x, float* y, int64_t n);
  void (*to_f16)(const float* x, uint16_t* y, int64_t n);
};

const Kernels& GenericKernels();
// nullptr when the processor lacks the instruction set (or the compiler could not build it).
const Kernels* Avx2Kernels();
const Kernels* Avx512Kernels();
// The best kernels for this processor.
const Kernels& BestKernels();

// Properties of a weight type for the CPU kernels; dot == nullptr if unsupported.
struct TypeTraits {
  ActivationFormat act;
  int64_t block;      // weight elements per block
  size_t act_bytes;   // activation bytes per block of `block` elements
  DotFn dot;
};
bool GetTypeTraits(const Kernels& k, GgmlType type, TypeTraits* traits);

// Converts one row of n floats to `format` (dst holds ActivationBytes(format, n) bytes).
size_t ActivationBytes(ActivationFormat format, int64_t n);
void ConvertActivations(const Kernels& k, ActivationFormat format, const float* x, int64_t n,
                        void* dst);

// Dequantizes one row of n elements of `type` to floats (used for embedding lookups only).
bool DequantizeRow(GgmlType type, const void* src, int64_t n, float* dst);

}  // namespace inference::cpu

#endif  // INFERENCE_SRC_BACKEND_CPU_KERNELS_H_
