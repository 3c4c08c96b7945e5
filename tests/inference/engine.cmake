# Tests of the CPU engine core (kernels, backend ops, architectures).
set(_engine_src ${CMAKE_CURRENT_LIST_DIR}/../../inference/src)

assistant_add_test(engine_kernels_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine/kernels_test.cc
  LIBS inference)
target_include_directories(engine_kernels_test PRIVATE ${_engine_src})

assistant_add_test(engine_stories_greedy_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine/stories_greedy_test.cc
  LIBS inference)
