// A small backtracking regex matcher over code points, for the pre-tokenizer
// patterns of byte-level BPE tokenizers (GPT-2, Llama 3, Qwen, DeepSeek, ...).
//
// Supported: literals (UTF-8), `.`, classes `[...]` with ranges and negation,
// \s \S \d \w \r \n \t \p{L,N,P,S,M,Z,C} \P{..} (also inside classes),
// `|`, groups `(...)` `(?:...)` `(?i:...)` (ASCII case folding), quantifiers
// ? * + {n} {n,} {n,m} on single characters/classes and `?` on groups,
// negative lookahead `(?!...)` and `$`. Anything else is refused at compile
// time. Matching never recurses per input character, so long runs are safe.
#ifndef INFERENCE_SRC_MODEL_REGEX_H_
#define INFERENCE_SRC_MODEL_REGEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace inference {

class PretokRegex {
 public:
  static common::StatusOr<PretokRegex> Compile(std::string_view pattern);

  // Splits cps[begin, end) into matches and the text between them (the
  // "Isolated" behaviour), appending [start, end) code-point ranges to out.
  void Split(const uint32_t* cps, size_t begin, size_t end, std::vector<std::pair<size_t, size_t>>& out) const;

  struct CharClass {
    bool negate = false;
    bool whitespace = false;      // \s
    bool not_whitespace = false;  // \S
    uint8_t categories = 0;       // \p{..}
    uint8_t not_categories = 0;   // \P{..}
    bool any_but_newline = false;
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    bool Matches(uint32_t cp) const;
  };
  struct Seq;
  struct Item {
    enum Kind { kClass, kGroup, kNegLookahead, kEnd } kind = kClass;
    CharClass cls;
    std::vector<Seq> alts;  // kGroup, kNegLookahead
    uint32_t min = 1, max = 1;
  };
  struct Seq {
    std::vector<Item> items;
  };

 private:
  std::shared_ptr<const std::vector<Seq>> alts_;
};

}  // namespace inference

#endif  // INFERENCE_SRC_MODEL_REGEX_H_
