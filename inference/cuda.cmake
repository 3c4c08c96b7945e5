# CUDA backend: compiled when nvcc was found at configure time (see
# cmake/ProjectOptions.cmake); otherwise CreateCudaBackend() answers UNAVAILABLE
# and the engine runs on the CPU. Device memory planning is host code, built
# and tested everywhere.
target_sources(inference PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/device_plan.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/device_sampling.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/graph_plan.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/tensor_parallel.cc)
# NCCL (tensor parallelism) and cuBLAS are opened at run time.
target_link_libraries(inference PUBLIC ${CMAKE_DL_LIBS})
if(ASSISTANT_HAVE_CUDA)
  find_package(CUDAToolkit REQUIRED)
  # An object library of its own, so nvcc gets only its own flags.
  add_library(inference_cuda OBJECT
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/cuda_backend.cu
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/matmul.cu
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/attention.cu
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/norm.cu
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/rope.cu
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/elementwise.cu
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/embed.cu
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/moe.cu
    ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/sampling.cu)
  target_include_directories(inference_cuda PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/include ${CMAKE_CURRENT_LIST_DIR}/src
    ${CMAKE_CURRENT_LIST_DIR}/../common/include)
  # 2810: nvcc reports assignments to a [[nodiscard]] class (common::Status) as
  # discarded results of operator=; g++ and clang do not.
  target_compile_options(inference_cuda PRIVATE
    --expt-relaxed-constexpr -Xcompiler=-Wall -Werror=all-warnings -diag-suppress=2810)
  set_target_properties(inference_cuda PROPERTIES POSITION_INDEPENDENT_CODE ON
    CUDA_STANDARD 20 CUDA_STANDARD_REQUIRED ON)
  target_sources(inference PRIVATE $<TARGET_OBJECTS:inference_cuda>)
  # Static CUDA runtime; cuBLAS is opened at run time (cuda_backend.cu).
  target_link_libraries(inference PUBLIC CUDA::cudart_static ${CMAKE_DL_LIBS})
  target_compile_definitions(inference PUBLIC INFERENCE_HAVE_CUDA)
else()
  target_sources(inference PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/backend/cuda/cuda_unavailable.cc)
endif()

# The GPU check program (tests/gpu/run_gpu_checks.sh runs it): the CUDA backend against the CPU
# backend op by op, device sampling against its reference, greedy ids through graphs. Defined
# here rather than with the GoogleTest tests so that a bare GPU machine builds it.
if(ASSISTANT_HAVE_CUDA)
  add_executable(cuda-backend-check
    ${CMAKE_CURRENT_LIST_DIR}/../tests/inference/cuda/cuda_backend_check.cc
    ${CMAKE_CURRENT_LIST_DIR}/../tests/inference/engine/reference_model.cc)
  target_link_libraries(cuda-backend-check PRIVATE inference)
  target_include_directories(cuda-backend-check PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src
    ${CMAKE_CURRENT_LIST_DIR}/../tests/inference/engine)
  target_compile_definitions(cuda-backend-check PRIVATE
    ASSISTANT_SOURCE_DIR="${CMAKE_CURRENT_LIST_DIR}/..")
  assistant_target_warnings(cuda-backend-check)
endif()
