// UTF-8 helpers for streaming detokenization: tokens may end in the middle
// of a character (byte-fallback and byte-level BPE tokens), and what we emit
// must always be valid UTF-8 (protobuf string fields require it).
#ifndef INFERENCE_SRC_SERVING_UTF8_H_
#define INFERENCE_SRC_SERVING_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace inference {

// Length of the longest prefix of `s` that does not end inside an unfinished
// multi-byte character (the rest may still be completed by later bytes).
size_t CompleteUtf8Prefix(std::string_view s);

// `s` with every invalid byte sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view s);

}  // namespace inference

#endif  // INFERENCE_SRC_SERVING_UTF8_H_
