// Internal state of a Tokenizer, shared by the loaders (GGUF, tokenizer.json)
// and the encoders (SPM, BPE, WordPiece).
#ifndef INFERENCE_SRC_MODEL_TOKENIZER_IMPL_H_
#define INFERENCE_SRC_MODEL_TOKENIZER_IMPL_H_

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "inference/tokenizer.h"
#include "model/regex.h"

namespace inference {

class TokenizerImpl {
 public:
  // Vocabulary (constant after construction).
  TokenizerKind kind = TokenizerKind::kSpm;
  std::string model;  // "llama", "gpt2", "bert"
  std::string pre;
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<TokenType> types;
  std::unordered_map<std::string, int32_t> token_to_id;

  // Byte-level BPE.
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;  // (left<<32|right) -> (rank, merged)
  std::vector<PretokRegex> regexes;
  bool ignore_merges = false;
  bool nfc = false;
  bool byte_level_prefix_space = false;

  // SPM.
  bool add_space_prefix = true;
  size_t max_token_len = 0;  // bytes, for WordPiece
  std::array<int32_t, 256> byte_tokens{};  // SPM: <0xNN>; BPE: the token of the byte's character

  // Special and added tokens, longest first. `always`: recognised even when
  // the caller does not ask for special tokens (user-defined / non-special added).
  struct Special {
    std::string text;
    int32_t id;
    bool always;
  };
  std::vector<Special> specials;
  std::array<bool, 256> special_first_byte{};
  std::vector<uint8_t> raw_decode;  // 1: decode as raw text (control, user-defined, added)

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, pad = -1;
  bool add_bos = false, add_eos = false;
  std::vector<int32_t> eog;

  // Finishes construction: lookup tables, special-token list, EOG set.
  common::Status Finalize();

  std::vector<int32_t> Encode(std::string_view text, bool parse_special) const;
  std::string Piece(int32_t id, bool skip_special) const;

 private:
  void EncodeSpm(std::string_view text, std::vector<int32_t>& out) const;
  void EncodeBpe(std::string_view text, std::vector<int32_t>& out) const;
  void EncodeWordPiece(std::string_view text, std::vector<int32_t>& out) const;
  void BpeWord(const std::string& mapped, std::vector<int32_t>& out) const;

  // Guarded by cache_mu_: BPE results per pre-token.
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

// GPT-2's reversible byte <-> printable-character mapping.
const std::array<std::string, 256>& ByteToUnicode();
int UnicodeToByte(uint32_t cp);  // -1 if cp is not in the mapping

// Pre-tokenizer regexes of the llama.cpp pre-tokenizer names; empty for an unknown name.
std::vector<std::string> PreTokenizerPatterns(const std::string& pre);

}  // namespace inference

#endif  // INFERENCE_SRC_MODEL_TOKENIZER_IMPL_H_
