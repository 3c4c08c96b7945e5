// Plain C++ kernels: the reference the vectorized copies are tested against, and the fallback.
#define KERNELS_NS generic
#define KERNELS_ISA "generic"
#include "backend/cpu/kernels_impl.inc"
