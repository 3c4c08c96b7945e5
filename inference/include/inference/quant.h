// Quantized block layouts and reference (plain C++) quantize / dequantize
// routines, bit-exact with ggml's `*_ref` implementations: the same block
// structs, the same scale search and the same round-to-nearest-even.
//
// Optimized kernels (CPU SIMD, CUDA) are checked against these.
#ifndef INFERENCE_QUANT_H_
#define INFERENCE_QUANT_H_

#include <cstdint>

#include "common/status.h"
#include "inference/gguf.h"

namespace inference {

// IEEE half and bfloat16, round to nearest even (NaN stays NaN).
uint16_t Fp32ToFp16(float f);
float Fp16ToFp32(uint16_t h);
uint16_t Fp32ToBf16(float f);
float Bf16ToFp32(uint16_t h);

constexpr int kQK4_0 = 32;
constexpr int kQK4_1 = 32;
constexpr int kQK5_0 = 32;
constexpr int kQK5_1 = 32;
constexpr int kQK8_0 = 32;
constexpr int kQK_K = 256;  // super-block size of the K-quants
constexpr int kKScaleSize = 12;

// Fields named as in ggml; `d`/`m`/`dmin` are IEEE half bit patterns.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK4_0 / 2];  // nibbles: low = element j, high = element j + 16
};
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK4_1 / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // fifth bits, little-endian u32
  uint8_t qs[kQK5_0 / 2];
};
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK5_1 / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK8_0];
};
struct BlockQ4_K {
  uint16_t d;                    // super-block scale for the 6-bit scales
  uint16_t dmin;                 // super-block scale for the 6-bit mins
  uint8_t scales[kKScaleSize];   // 8 scales + 8 mins, 6 bits each
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];  // low 4 bits
  uint8_t qh[kQK_K / 4];  // high 2 bits
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// Per-type reference routines; n is a multiple of the block size.
void QuantizeRowQ4_0(const float* x, BlockQ4_0* y, int64_t n);
void QuantizeRowQ4_1(const float* x, BlockQ4_1* y, int64_t n);
void QuantizeRowQ5_0(const float* x, BlockQ5_0* y, int64_t n);
void QuantizeRowQ5_1(const float* x, BlockQ5_1* y, int64_t n);
void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t n);
void QuantizeRowQ4_K(const float* x, BlockQ4_K* y, int64_t n);
void QuantizeRowQ5_K(const float* x, BlockQ5_K* y, int64_t n);
void QuantizeRowQ6_K(const float* x, BlockQ6_K* y, int64_t n);
void QuantizeRowQ8_K(const float* x, BlockQ8_K* y, int64_t n);

void DequantizeRowQ4_0(const BlockQ4_0* x, float* y, int64_t n);
void DequantizeRowQ4_1(const BlockQ4_1* x, float* y, int64_t n);
void DequantizeRowQ5_0(const BlockQ5_0* x, float* y, int64_t n);
void DequantizeRowQ5_1(const BlockQ5_1* x, float* y, int64_t n);
void DequantizeRowQ8_0(const BlockQ8_0* x, float* y, int64_t n);
void DequantizeRowQ4_K(const BlockQ4_K* x, float* y, int64_t n);
void DequantizeRowQ5_K(const BlockQ5_K* x, float* y, int64_t n);
void DequantizeRowQ6_K(const BlockQ6_K* x, float* y, int64_t n);
void DequantizeRowQ8_K(const BlockQ8_K* x, float* y, int64_t n);

// Unpacks scale and min j (0..7) of a Q4_K/Q5_K block.
void GetScaleMinK4(int j, const uint8_t* scales, uint8_t* d, uint8_t* m);

// Which types the generic entry points handle.
bool CanQuantize(GgmlType type);    // F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K Q5_K Q6_K Q8_K
bool CanDequantize(GgmlType type);  // the same set

// Generic row entry points: n elements of `type`. INVALID_ARGUMENT for a
// length that is not a multiple of the block size, UNIMPLEMENTED for a type
// outside the set above.
Status QuantizeRow(GgmlType type, const float* src, void* dst, int64_t n);
Status DequantizeRow(GgmlType type, const void* src, float* dst, int64_t n);

}  // namespace inference

#endif  // INFERENCE_QUANT_H_
