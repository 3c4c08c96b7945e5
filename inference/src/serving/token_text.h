// Output text of generated tokens, read from the GGUF tokenizer metadata:
// the bytes each token adds (SentencePiece U+2581 as a space, <0xNN> byte
// tokens, the GPT-2 byte alphabet for byte-level BPE; control tokens add
// nothing) and the end-of-generation ids. Decoding only: encoding text is the
// tokenizer's job (inference/tokenizer.h).
#ifndef INFERENCE_SRC_SERVING_TOKEN_TEXT_H_
#define INFERENCE_SRC_SERVING_TOKEN_TEXT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace inference {

class GgufFile;

struct TokenText {
  std::function<std::string(int32_t)> token_bytes;  // empty when the file has no vocabulary
  std::function<bool(int32_t)> is_eog;
};

common::StatusOr<TokenText> MakeTokenText(const GgufFile& file);

}  // namespace inference

#endif  // INFERENCE_SRC_SERVING_TOKEN_TEXT_H_
