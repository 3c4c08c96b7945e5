# Tests of the serving part: block manager, scheduler, sampler (pure logic),
# and the engine on the real stories260K model.
assistant_add_test(inference_serving_logic_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/serving/kv_blocks_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/serving/scheduler_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/serving/sampler_test.cc
  LIBS inference
  TIMEOUT 60)
assistant_add_test(inference_engine_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/serving/engine_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/serving/utf8_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/serving/token_text_test.cc
  LIBS inference
  TIMEOUT 60)
target_include_directories(inference_engine_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/../../inference/src)
