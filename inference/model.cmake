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
)
