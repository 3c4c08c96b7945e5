# Serving part of inference/: KV block manager, scheduler, sampling, engine
# step loop; and the assistant-worker binary (only when gRPC is available).
target_sources(inference PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/serving/kv_blocks.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/serving/scheduler.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/serving/sampler.cc
)
target_sources(inference PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/serving/utf8.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/serving/token_text.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/serving/engine.cc
)
# The worker needs Model::Load (engine part); built once that is present.
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/src/arch/model.cc)
  include(${CMAKE_CURRENT_SOURCE_DIR}/worker/worker.cmake)
endif()
