# Tests of the model-files part of inference/ (GGUF, quant, tokenizers, templates).
assistant_add_test(gguf_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/gguf_test.cc
  LIBS inference)
assistant_add_test(tokenizer_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/tokenizer_test.cc
  LIBS inference)
assistant_add_test(quant_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/quant_test.cc
  LIBS inference)

# libFuzzer targets (configure with clang and -DASSISTANT_FUZZ=ON; see the
# comment at the top of each file). Not registered as tests.
if(ASSISTANT_FUZZ)
  add_executable(gguf_fuzz ${CMAKE_CURRENT_LIST_DIR}/fuzz/gguf_fuzz.cc)
  target_link_libraries(gguf_fuzz PRIVATE inference)
  target_compile_options(gguf_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(gguf_fuzz PRIVATE -fsanitize=fuzzer)
  assistant_target_warnings(gguf_fuzz)
endif()
