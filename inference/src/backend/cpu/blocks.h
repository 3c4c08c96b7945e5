// Block layouts for the CPU kernels: the weight blocks are quant.h's (ggml's exact layouts); the
// activation formats below are the CPU backend's own and never stored on disk.
#ifndef INFERENCE_SRC_BACKEND_CPU_BLOCKS_H_
#define INFERENCE_SRC_BACKEND_CPU_BLOCKS_H_

#include <cstdint>
#include <cstring>

#include "inference/quant.h"

namespace inference::cpu {

constexpr int kQK = kQK8_0;  // elements per block of Q4_0 / Q8_0
constexpr int kQKK = kQK_K;  // elements per super-block of the K-quants

struct ActQ8_0 {  // a block of 32 activations: x = q * d (48 bytes)
  float d;
  int32_t sum;          // sum of qs
  // -8 * sum and -128 * sum: the starting value of the integer accumulators of the Q4_0 dot
  // (weights stored as value + 8) and of the VNNI Q8_0 dot (weights made unsigned as
  // value + 128), so the integer block sums come out exact with no scalar correction.
  int32_t neg8_sum;
  int32_t neg128_sum;
  int8_t qs[kQK];
};
struct ActQ8_K {  // a super-block of 256 activations
  float d;
  int8_t qs[kQKK];
  int16_t bsums[kQKK / 16];  // sums of each 16 qs
};

// Inline half -> float for the hot loops (quant.h's Fp16ToFp32 is the out-of-line reference).
inline float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      uint32_t m = mant;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400) == 0);
      bits = sign | ((127 - 15 - e) << 23) | ((m & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float Bf16ToFloat(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K super-block.
inline void KScaleMin(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

}  // namespace inference::cpu

#endif  // INFERENCE_SRC_BACKEND_CPU_BLOCKS_H_
