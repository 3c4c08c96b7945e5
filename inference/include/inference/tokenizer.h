// Tokenizers: text <-> token ids, exactly as the model was trained.
//
//   * SentencePiece-style (`tokenizer.ggml.model = llama`): scored merges,
//     byte fallback (<0xNN> pieces), the leading-space rule.
//   * Byte-level BPE (`gpt2`): ranked merges over GPT-2's byte-to-unicode
//     alphabet, after the model family's pre-tokenizer regexes (llama-bpe,
//     qwen2, deepseek-*, gpt-2, falcon, mpt, starcoder, refact, ...).
//   * WordPiece (`bert`).
// Loadable from GGUF metadata or a Hugging Face tokenizer.json (+ optional
// tokenizer_config.json). Special tokens are recognised in text only when
// the caller asks (parse_special); user-defined added tokens always are.
//
// A Tokenizer is immutable after creation except for an internal word cache
// guarded by a mutex, so one instance may be shared by threads.
#ifndef INFERENCE_TOKENIZER_H_
#define INFERENCE_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "inference/gguf.h"

namespace inference {

// GGUF token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class TokenizerKind { kSpm, kBpe, kWordPiece };

class TokenizerImpl;

class Tokenizer {
 public:
  // From GGUF metadata (tokenizer.ggml.*). INVALID_ARGUMENT for missing or
  // inconsistent arrays, UNIMPLEMENTED for an unknown model or pre-tokenizer.
  static StatusOr<std::unique_ptr<Tokenizer>> FromGguf(const GgufFile& gguf);
  // From a tokenizer.json text; `config_json` is tokenizer_config.json text
  // or empty (it supplies bos/eos names and add_bos_token).
  static StatusOr<std::unique_ptr<Tokenizer>> FromHfJson(std::string_view tokenizer_json,
                                                         std::string_view config_json = {});
  // Same, reading the files.
  static StatusOr<std::unique_ptr<Tokenizer>> FromHfFiles(const std::string& tokenizer_json_path,
                                                          const std::string& config_json_path = {});

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Encodes text. No BOS/EOS is added; callers prepend bos_id() when
  // add_bos() says so. parse_special: recognise control/special tokens.
  std::vector<int32_t> Encode(std::string_view text, bool parse_special) const;

  // Concatenated pieces. Special tokens are written out as their text
  // unless skip_special. For SPM, one leading space of the first piece is
  // dropped (as SentencePiece and llama.cpp do).
  std::string Decode(const std::vector<int32_t>& ids, bool skip_special = false) const;
  // The bytes of one token (may be part of a UTF-8 sequence).
  std::string TokenToPiece(int32_t id) const;
  // The raw vocabulary string of a token ("▁the", "Ġthe", "<0x0A>").
  const std::string& TokenText(int32_t id) const;
  std::optional<int32_t> TokenId(std::string_view text) const;

  TokenizerKind kind() const;
  std::string model_name() const;  // "llama", "gpt2", "bert"
  std::string pre_name() const;    // "llama-bpe", "qwen2", ... ("" for SPM)
  int32_t vocab_size() const;
  TokenType token_type(int32_t id) const;

  bool add_bos() const;
  bool add_eos() const;
  int32_t bos_id() const;  // -1 if none
  int32_t eos_id() const;  // -1 if none
  int32_t eot_id() const;  // -1 if none
  int32_t unk_id() const;  // -1 if none
  int32_t pad_id() const;  // -1 if none
  // End-of-generation ids (eos, eot, eom and the family's end markers).
  const std::vector<int32_t>& eog_ids() const;
  bool IsEog(int32_t id) const;
  bool IsSpecial(int32_t id) const;  // control / special added token

 private:
  explicit Tokenizer(std::unique_ptr<TokenizerImpl> impl);
  std::unique_ptr<TokenizerImpl> impl_;
};

// Turns a stream of ids into text without ever emitting a broken UTF-8
// sequence: bytes of an incomplete character are held back until the next
// token completes it (or Finish() flushes them as U+FFFD).
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special = false);
  // Text that became complete with this token (possibly empty).
  std::string Push(int32_t id);
  // Whatever is still held back, with invalid bytes replaced by U+FFFD.
  std::string Finish();

 private:
  const Tokenizer& tok_;
  bool skip_special_;
  bool first_ = true;
  std::string pending_;
};

}  // namespace inference

#endif  // INFERENCE_TOKENIZER_H_
