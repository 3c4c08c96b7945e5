#include "serving/token_text.h"

#include "inference/gguf.h"
#include "inference/tokenizer.h"

namespace inference {

common::StatusOr<TokenText> MakeTokenText(const GgufFile& file) {
  TokenText text;
  if (!file.Has("tokenizer.ggml.tokens")) return text;  // ids only
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> owned, Tokenizer::FromGguf(file));
  std::shared_ptr<const Tokenizer> tok = std::move(owned);
  text.tokenizer = tok;
  text.token_bytes = [tok](int32_t id) {
    if (id < 0 || id >= tok->vocab_size() || tok->IsSpecial(id)) return std::string();
    return tok->TokenToPiece(id);
  };
  text.is_eog = [tok](int32_t id) { return tok->IsEog(id); };
  text.encode = [tok](std::string_view s) {
    std::vector<int32_t> ids;
    if (tok->add_bos() && tok->bos_id() >= 0) ids.push_back(tok->bos_id());
    const auto body = tok->Encode(s, /*parse_special=*/false);
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  };
  return text;
}

}  // namespace inference
