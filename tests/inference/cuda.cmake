# CUDA backend: host-side logic is tested everywhere; the op-by-op and greedy
# checks against the CPU backend need a GPU and run from tests/gpu/run_gpu_checks.sh.
assistant_add_test(cuda_host_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda/cuda_host_test.cc
  LIBS inference)
target_include_directories(cuda_host_test PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../../inference/src)
assistant_add_test(cuda_tp_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda/cuda_tp_test.cc
  LIBS inference
  TIMEOUT 60)
target_include_directories(cuda_tp_test PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../../inference/src)
assistant_add_test(cuda_sampling_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda/cuda_sampling_test.cc
  LIBS inference
  TIMEOUT 60)

# cuda-backend-check (the GPU comparison program) is defined in inference/cuda.cmake, so the GPU
# script builds it without GoogleTest.

# The worker's tensor_parallel key: only in the full build (the worker needs gRPC).
if(TARGET assistant_worker_lib)
  assistant_add_test(cuda_worker_config_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda/cuda_worker_config_test.cc
    LIBS assistant_worker_lib
    TIMEOUT 30)
endif()
