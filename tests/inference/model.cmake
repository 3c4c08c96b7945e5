# Tests of the model-files part of inference/ (GGUF, quant, tokenizers, templates).
assistant_add_test(gguf_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/gguf_test.cc
  LIBS inference)
assistant_add_test(quant_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model/quant_test.cc
  LIBS inference)
