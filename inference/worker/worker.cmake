# assistant-worker: built only when gRPC/protobuf are there (not in the
# standalone inference/ build), linking the generated inference.v1 code.
if(TARGET proto_inference)
  add_library(assistant_worker_lib STATIC
    ${CMAKE_CURRENT_LIST_DIR}/config.cc
    ${CMAKE_CURRENT_LIST_DIR}/models.cc
    ${CMAKE_CURRENT_LIST_DIR}/text.cc
    ${CMAKE_CURRENT_LIST_DIR}/service.cc
    ${CMAKE_CURRENT_LIST_DIR}/server.cc)
  target_include_directories(assistant_worker_lib PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..
    PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../src)
  target_link_libraries(assistant_worker_lib PUBLIC inference proto_inference)
  assistant_target_warnings(assistant_worker_lib)

  add_executable(assistant-worker ${CMAKE_CURRENT_LIST_DIR}/main.cc)
  target_link_libraries(assistant-worker PRIVATE assistant_worker_lib)
  assistant_target_warnings(assistant-worker)
  install(TARGETS assistant-worker RUNTIME DESTINATION bin)
endif()
