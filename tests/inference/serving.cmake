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
assistant_add_test(inference_engine_model_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/serving/engine_model_test.cc
  LIBS inference
  TIMEOUT 120)
target_include_directories(inference_engine_model_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/../../inference/src)

# assistant-worker (gRPC): only in the full build.
if(TARGET assistant_worker_lib)
  assistant_add_test(inference_worker_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/serving/worker_test.cc
    LIBS assistant_worker_lib
    TIMEOUT 120)
  target_include_directories(inference_worker_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/serving)

  # The long soak (run by hand, under ASan): worker-stress --seconds 300
  add_executable(worker-stress ${CMAKE_CURRENT_SOURCE_DIR}/serving/worker_stress_main.cc)
  target_link_libraries(worker-stress PRIVATE assistant_worker_lib)
  target_include_directories(worker-stress PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/serving)
  target_compile_definitions(worker-stress PRIVATE ASSISTANT_SOURCE_DIR="${ASSISTANT_SOURCE_DIR}")
  assistant_target_warnings(worker-stress)
endif()

if(TARGET assistant-model)
  assistant_add_test(inference_generate_cli_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/serving/generate_cli_test.cc
    LIBS common
    TIMEOUT 120)
  target_compile_definitions(inference_generate_cli_test PRIVATE
    ASSISTANT_MODEL_BIN="$<TARGET_FILE:assistant-model>")
  add_dependencies(inference_generate_cli_test assistant-model)
endif()
