# Command-line tools over the inference library. Other parts append their
# sources here, e.g. target_sources(assistant-model PRIVATE .../cmd_generate.cc)
# plus one line in the command table of tools/assistant_model/main.cc.

# assistant-model: info / tokenize / detokenize / template (JSON output).
add_executable(assistant-model
  ${CMAKE_CURRENT_LIST_DIR}/tools/assistant_model/main.cc
  ${CMAKE_CURRENT_LIST_DIR}/tools/assistant_model/cli.cc
  ${CMAKE_CURRENT_LIST_DIR}/tools/assistant_model/cmd_info.cc
  ${CMAKE_CURRENT_LIST_DIR}/tools/assistant_model/cmd_tokenize.cc
  ${CMAKE_CURRENT_LIST_DIR}/tools/assistant_model/cmd_template.cc
)
target_link_libraries(assistant-model PRIVATE inference)
assistant_target_warnings(assistant-model)
# generate / bench (serving part).
target_sources(assistant-model PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/tools/assistant_model/cmd_generate.cc
  ${CMAKE_CURRENT_LIST_DIR}/tools/assistant_model/cmd_bench.cc)
target_include_directories(assistant-model PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src)

# gguf-synth: synthetic GGUF models of realistic shapes in every type.
add_executable(gguf-synth ${CMAKE_CURRENT_LIST_DIR}/tools/synth/main.cc)
target_link_libraries(gguf-synth PRIVATE inference)
assistant_target_warnings(gguf-synth)
