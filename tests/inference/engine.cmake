# Tests of the CPU engine core (kernels, backend ops, architectures).
set(_engine_src ${CMAKE_CURRENT_LIST_DIR}/../../inference/src)

assistant_add_test(engine_kernels_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine/kernels_test.cc
  LIBS inference)
target_include_directories(engine_kernels_test PRIVATE ${_engine_src})

assistant_add_test(engine_stories_greedy_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine/stories_greedy_test.cc
  LIBS inference)

# Test support: the double-precision reference forward pass.
add_library(engine_test_support STATIC
  ${CMAKE_CURRENT_LIST_DIR}/engine/reference_model.cc)
target_link_libraries(engine_test_support PUBLIC inference)
target_include_directories(engine_test_support PUBLIC ${CMAKE_CURRENT_LIST_DIR}/engine)
assistant_target_warnings(engine_test_support)

assistant_add_test(engine_arch_reference_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine/arch_reference_test.cc
  LIBS engine_test_support)

# Benchmark program (built, not a test): tests/inference/bench/compare_llamacpp.sh runs it.
add_executable(engine-bench ${CMAKE_CURRENT_LIST_DIR}/bench/engine_bench.cc)
target_link_libraries(engine-bench PRIVATE inference)
assistant_target_warnings(engine-bench)

assistant_add_test(engine_cpu_backend_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine/cpu_backend_test.cc
  LIBS inference)
target_include_directories(engine_cpu_backend_test PRIVATE ${_engine_src})

assistant_add_test(engine_repack_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine/repack_test.cc
  LIBS inference)
target_include_directories(engine_repack_test PRIVATE ${_engine_src})

# Micro-kernel throughput (built, not a test).
add_executable(kernel-bench ${CMAKE_CURRENT_LIST_DIR}/bench/kernel_bench.cc)
target_link_libraries(kernel-bench PRIVATE inference)
target_include_directories(kernel-bench PRIVATE ${_engine_src})
assistant_target_warnings(kernel-bench)
