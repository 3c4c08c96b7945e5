# CPU engine core: backend interface, CPU backend (thread pool, kernels with run-time ISA
# dispatch) and the architectures' forward passes.
target_sources(inference PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/thread_pool.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/kernels.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/kernels_generic.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/cpu_backend.cc
)

# Hot loops are built with -O3 whatever the build type; each ISA copy of the kernels gets its own
# flags and is only called after cpuid confirms the instructions (kernels.cc).
set(_engine_kernel_opts -O3)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  target_sources(inference PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/kernels_avx2.cc
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/kernels_avx512.cc)
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/kernels_avx2.cc
    PROPERTIES COMPILE_OPTIONS "-O3;-mavx2;-mfma;-mf16c")
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/kernels_avx512.cc
    PROPERTIES COMPILE_OPTIONS "-O3;-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni")
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/kernels.cc
    PROPERTIES COMPILE_DEFINITIONS "INFERENCE_CPU_AVX2;INFERENCE_CPU_AVX512")
endif()
set_source_files_properties(
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/kernels_generic.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/cpu_backend.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cpu/thread_pool.cc
  PROPERTIES COMPILE_OPTIONS "${_engine_kernel_opts}")

target_sources(inference PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/arch/model.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/arch/blocks.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/arch/moe.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/arch/llama.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/arch/qwen2.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/arch/qwen3.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/arch/deepseek2.cc
)
