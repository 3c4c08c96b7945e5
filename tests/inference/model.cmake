# Tests of the model-files part of inference/ (GGUF, quant, tokenizers, templates).
assistant_add_test(gguf_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/gguf_test.cc
  LIBS inference)
assistant_add_test(tokenizer_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/tokenizer_test.cc
  LIBS inference)
assistant_add_test(chat_template_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/chat_template_test.cc
  LIBS inference)
assistant_add_test(synth_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/synth_test.cc
  LIBS inference)
assistant_add_test(quant_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/quant_test.cc
  LIBS inference)

# libFuzzer targets (configure with clang and -DASSISTANT_FUZZ=ON; see the
# comment at the top of each file). Not registered as tests.
if(ASSISTANT_FUZZ)
  foreach(fuzzer gguf_fuzz chat_template_fuzz tokenizer_fuzz)
    add_executable(${fuzzer} ${CMAKE_CURRENT_LIST_DIR}/fuzz/${fuzzer}.cc)
    target_link_libraries(${fuzzer} PRIVATE inference)
    target_compile_options(${fuzzer} PRIVATE -fsanitize=fuzzer)
    target_link_options(${fuzzer} PRIVATE -fsanitize=fuzzer)
    target_compile_definitions(${fuzzer} PRIVATE ASSISTANT_SOURCE_DIR="${ASSISTANT_SOURCE_DIR}")
    assistant_target_warnings(${fuzzer})
  endforeach()
endif()

# The assistant-model binary, run on real vector files.
assistant_add_test(assistant_model_cli_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/cli_test.cc
  LIBS common)
target_compile_definitions(assistant_model_cli_test PRIVATE ASSISTANT_MODEL_BIN="$<TARGET_FILE:assistant-model>")
add_dependencies(assistant_model_cli_test assistant-model)

# Benchmark program (not a test): tokenizer-bench prints MB/s per tokenizer.
add_executable(tokenizer-bench ${CMAKE_CURRENT_LIST_DIR}/model/bench/tokenizer_bench.cc)
target_link_libraries(tokenizer-bench PRIVATE inference)
target_compile_definitions(tokenizer-bench PRIVATE ASSISTANT_SOURCE_DIR="${ASSISTANT_SOURCE_DIR}")
assistant_target_warnings(tokenizer-bench)
