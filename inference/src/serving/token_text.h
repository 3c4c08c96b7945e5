// The tokenizer pieces the serving side needs, from a model file: the bytes
// each generated token adds to the output (special tokens add none), the
// end-of-generation ids, and prompt encoding. Built on inference/tokenizer.h.
#ifndef INFERENCE_SRC_SERVING_TOKEN_TEXT_H_
#define INFERENCE_SRC_SERVING_TOKEN_TEXT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace inference {

class GgufFile;
class Tokenizer;

struct TokenText {
  // All empty when the file has no vocabulary (synthetic models): ids only.
  std::function<std::string(int32_t)> token_bytes;
  std::function<bool(int32_t)> is_eog;
  // Text -> ids with BOS when the model asks for it; special-token text in
  // the input is NOT turned into control tokens.
  std::function<std::vector<int32_t>(std::string_view)> encode;
  std::shared_ptr<const Tokenizer> tokenizer;
};

common::StatusOr<TokenText> MakeTokenText(const GgufFile& file);

}  // namespace inference

#endif  // INFERENCE_SRC_SERVING_TOKEN_TEXT_H_
