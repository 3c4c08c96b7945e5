#include "serving/token_text.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "inference/gguf.h"

namespace inference {

namespace {

// GPT-2's printable-byte alphabet: code point -> byte.
int Gpt2CodepointToByte(uint32_t cp) {
  if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) {
    return static_cast<int>(cp);
  }
  // The remaining bytes were mapped, in order, to 256, 257, ...
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                           (b >= 0xAE && b <= 0xFF);
    if (printable) continue;
    if (cp == static_cast<uint32_t>(256 + n)) return b;
    ++n;
  }
  return -1;
}

std::string DecodeGpt2Piece(const std::string& piece) {
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    const auto c = static_cast<unsigned char>(piece[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xC0 && c < 0xE0 && i + 1 < piece.size()) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(piece[i + 1]) & 0x3Fu);
      len = 2;
    }
    const int b = Gpt2CodepointToByte(cp);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(piece, i, len);
    }
    i += len;
  }
  return out;
}

std::string DecodeSpmPiece(const std::string& piece, int type) {
  // Byte tokens: "<0xNN>" (token type 6 = byte).
  if (type == 6 && piece.size() == 6 && piece.compare(0, 3, "<0x") == 0) {
    return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
  }
  // Control/unknown tokens (types 2, 3) add no text.
  if (type == 2 || type == 3) return {};
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {  // U+2581 LOWER ONE EIGHTH BLOCK
      out.push_back(' ');
      i += 3;
    } else {
      out.push_back(piece[i++]);
    }
  }
  return out;
}

}  // namespace

common::StatusOr<TokenText> MakeTokenText(const GgufFile& file) {
  TokenText text;
  if (!file.Has("tokenizer.ggml.tokens")) return text;  // ids only
  ASSIGN_OR_RETURN(auto tokens, file.GetStringArray("tokenizer.ggml.tokens"));
  std::vector<int64_t> types;
  if (file.Has("tokenizer.ggml.token_type")) {
    ASSIGN_OR_RETURN(types, file.GetIntArray("tokenizer.ggml.token_type"));
  }
  const std::string kind = file.GetStringOr("tokenizer.ggml.model", "llama");
  auto pieces = std::make_shared<std::vector<std::string>>();
  pieces->reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int type = i < types.size() ? static_cast<int>(types[i]) : 1;
    if (kind == "gpt2") {
      pieces->push_back(type == 3 ? std::string() : DecodeGpt2Piece(tokens[i]));
    } else {
      pieces->push_back(DecodeSpmPiece(tokens[i], type));
    }
  }
  text.token_bytes = [pieces](int32_t id) {
    return id >= 0 && static_cast<size_t>(id) < pieces->size() ? (*pieces)[id] : std::string();
  };
  auto eog = std::make_shared<std::set<int32_t>>();
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                          "tokenizer.ggml.eom_token_id"}) {
    if (file.Has(key)) eog->insert(static_cast<int32_t>(file.GetUintOr(key, 0)));
  }
  text.is_eog = [eog](int32_t id) { return eog->count(id) != 0; };
  return text;
}

}  // namespace inference
