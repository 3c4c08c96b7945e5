// Kernels for AVX-512 (F, BW, VL, VNNI): 256-bit VNNI dot products (vpdpbusd) and AVX-512
// code generation for the vectorized loops. Used only when cpuid reports all of them.
#define KERNELS_NS avx512
#define KERNELS_ISA "AVX-512 VNNI"
#include "backend/cpu/kernels_impl.inc"
