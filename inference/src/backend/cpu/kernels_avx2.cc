// Kernels for AVX2 + FMA + F16C (compiled with those flags; used only when cpuid reports them).
#define KERNELS_NS avx2
#define KERNELS_ISA "AVX2"
#include "backend/cpu/kernels_impl.inc"
