# Model files and text: GGUF reader, quantized block layouts, tokenizers
# (with generated Unicode tables), chat templates.
target_sources(inference PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/model/gguf.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/quant.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/unicode.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/unicode_data.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/regex.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/tokenizer.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/tokenizer_load.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/jinja_parse.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/jinja_value.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/jinja_eval.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/jinja_builtins.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/chat_template.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/gguf_writer.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/synth.cc
)
