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

// --- Repacked Q8_0 / Q4_0 matrices ------------------------------------------------------------
// At upload, Q8_0 and Q4_0 matrices are rewritten with kRowGroup rows interleaved (the last group
// zero-padded: scale 0, so padded rows compute 0). Per group, per block of 32 inputs, a "group
// block" of:
//   uint16_t d[kRowGroup]          the rows' f16 scales
//   Q8_0: 8 chunks k, each kRowGroup x 4 bytes: row r's qs[4k..4k+3] at 64k + 4r
//   Q4_0: 4 chunks k, each kRowGroup x 4 bytes: row r's packed qs[4k..4k+3] at 64k + 4r
//         (low nibbles = inputs 4k..4k+3, high nibbles = inputs 16+4k..16+4k+3)
// so one 512-bit load holds 4 bytes of each of 16 rows: a broadcast of 4 activation bytes and one
// vpdpbusd give 16 row partial sums, and after the block the 16 lanes ARE the 16 row dot products
// (no horizontal sums). The bytes per group block equal kRowGroup file blocks: no extra memory.
constexpr int kRowGroup = 16;
constexpr int kMaxGroupCols = 8;  // activation columns per micro-kernel call
constexpr size_t kGroupBlockBytesQ8_0 = 2 * kRowGroup + kRowGroup * kQK;      // 544
constexpr size_t kGroupBlockBytesQ4_0 = 2 * kRowGroup + kRowGroup * kQK / 2;  // 288
// F32 matrices are repacked too (small models, where the horizontal sum per row of the plain
// kernel costs as much as the row's multiply-adds): per group block, 32 inputs c, each the
// kRowGroup rows' weights w[r][c] as 16 consecutive floats, so one broadcast activation and one
// fused multiply-add update all 16 rows. A row that is not whole blocks is padded with zero
// weights to RepackedBlocks(cols) blocks, and its activations with zeros (MatMulRowsGathered).
constexpr size_t kGroupBlockBytesF32 = kRowGroup * kQK * sizeof(float);  // 2048

// out[j * kRowGroup + r] = dot(row r of the group, activation row x + j * x_stride_bytes) for
// r < kRowGroup and j < nx (1..kMaxGroupCols); nb = blocks per row; x holds ActQ8_0 blocks
// (floats for F32).
using GroupDotFn = void (*)(int64_t nb, const uint8_t* group, const void* x,
                            size_t x_stride_bytes, int nx, float* out);

// True for the types that are repacked (Q8_0, Q4_0, F32), for matrices of `cols` inputs.
bool IsRepackedType(GgmlType type, int64_t cols);
// Blocks of 32 inputs per repacked row (the last one zero-padded for F32).
inline int64_t RepackedBlocks(int64_t cols) { return (cols + kQK - 1) / kQK; }
size_t GroupBlockBytes(GgmlType type);  // 0 for other types
// Bytes of one repacked matrix of `rows` x `cols` (rows rounded up to kRowGroup).
size_t RepackedMatrixBytes(GgmlType type, int64_t rows, int64_t cols);
// Repacks row groups [g_begin, g_end) of one matrix: src = rows x row_bytes in the file layout,
// dst = the start of the repacked matrix.
void RepackGroups(GgmlType type, const uint8_t* src, int64_t rows, int64_t cols, int64_t g_begin,
                  int64_t g_end, uint8_t* dst);
// Row `row` of a repacked matrix as floats (embedding lookups, MatMulExact).
void DequantizeRepackedRow(GgmlType type, const uint8_t* mat, int64_t cols, int64_t row,
                           float* dst);

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
  GroupDotFn group_dot_q8_0;  // repacked matrices (see above)
  GroupDotFn group_dot_q4_0;
  GroupDotFn group_dot_f32;
  float (*dot_ff)(const float* a, const float* b, int64_t n);
  void (*axpy)(float a, const float* x, float* y, int64_t n);  // y += a * x
  // F16 KV cache: y += a * x (x in half), float -> half (round to nearest even).
  void (*axpy_f16)(float a, const uint16_t* x, float* y, int64_t n);
  void (*to_f16)(const float* x, uint16_t* y, int64_t n);
  void (*from_f16)(const uint16_t* x, float* y, int64_t n);
  // Attention over float tiles (plain loops shaped for the compiler's vectorizer):
  // s[g * ss + j] = sum_{i < d} q[g * qs + i] * kt[i * kts + j] for g < nq and j < n rounded up to
  // kAttnTile (kt: keys transposed, columns up to that bound readable; s rows as long).
  void (*attn_scores)(const float* q, size_t qs, int nq, const float* kt, size_t kts, int d,
                      int64_t n, float* s, size_t ss);
  // o[g * os + c] = sum_{j < n} p[g * ps + j] * v[j * vs + c] for g < nq and c < dv.
  void (*attn_values)(const float* p, size_t ps, int nq, const float* v, size_t vs, int64_t n,
                      int dv, float* o, size_t os);
};

constexpr int kAttnTile = 16;

// The group kernel of a repacked type.
GroupDotFn GroupDotFor(const Kernels& k, GgmlType type);

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
