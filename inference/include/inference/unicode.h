// Unicode helpers for tokenizers: UTF-8 decoding that tolerates bad input,
// general-category flags, White_Space, simple lowercase and NFC/NFD. The data
// is generated from Python's unicodedata (inference/tools/gen_unicode_tables.py).
#ifndef INFERENCE_UNICODE_H_
#define INFERENCE_UNICODE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace inference::unicode {

// General-category flags (one major class per code point, plus kCased).
enum CategoryFlag : uint8_t {
  kLetter = 1,       // L*
  kNumber = 2,       // N*
  kPunctuation = 4,  // P*
  kSymbol = 8,       // S*
  kMark = 16,        // M*
  kSeparator = 32,   // Z*
  kOther = 64,       // C* (controls, format, unassigned, private use, surrogates)
  kCased = 128,      // Lu, Ll, Lt
};

uint8_t Category(uint32_t cp);
// The White_Space property (what `\s` means in the tokenizers' regexes).
bool IsWhitespace(uint32_t cp);
uint32_t ToLower(uint32_t cp);
int CombiningClass(uint32_t cp);

// Length of the UTF-8 sequence that starts with byte `c` (1 for invalid lead bytes).
int Utf8SequenceLength(uint8_t c);
// Decodes one code point at s[pos]; invalid or truncated sequences decode as
// U+FFFD and consume one byte. *len receives the bytes consumed.
uint32_t DecodeUtf8At(std::string_view s, size_t pos, int* len);
void AppendUtf8(uint32_t cp, std::string& out);
std::vector<uint32_t> ToCodepoints(std::string_view s);
// Length of the longest prefix of s that does not end inside a UTF-8
// sequence that could still be completed by more bytes.
size_t CompleteUtf8Prefix(std::string_view s);

std::string Nfd(std::string_view s);
std::string Nfc(std::string_view s);

}  // namespace inference::unicode

#endif  // INFERENCE_UNICODE_H_
