#include "serving/utf8.h"

namespace inference {
namespace {
// Expected length of a sequence starting with `c`; 0 if `c` cannot start one.
int SequenceLength(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}
bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }
}  // namespace

size_t CompleteUtf8Prefix(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if (IsContinuation(c)) continue;
    const int len = SequenceLength(c);
    // A lead byte whose sequence is not finished yet: hold it and what follows.
    if (len > static_cast<int>(back)) return n - back;
    return n;
  }
  return n;
}

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int len = SequenceLength(c);
    bool ok = len > 0 && i + len <= s.size();
    if (ok && len > 1) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      // Reject overlong forms, surrogates and code points above U+10FFFF.
      if (c == 0xE0 && c1 < 0xA0) ok = false;
      if (c == 0xED && c1 > 0x9F) ok = false;
      if (c == 0xF0 && c1 < 0x90) ok = false;
      if (c == 0xF4 && c1 > 0x8F) ok = false;
      for (int k = 1; ok && k < len; ++k) {
        ok = IsContinuation(static_cast<unsigned char>(s[i + k]));
      }
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

}  // namespace inference
