# Model files and text: GGUF reader/writer, quantized block layouts,
# tokenizers, Unicode tables, chat templates.
target_sources(inference PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/model/gguf.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/model/quant.cc
)
