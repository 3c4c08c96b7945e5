#include "inference/unicode.h"

#include <algorithm>
#include <array>

#include "model/unicode_data.h"

namespace inference::unicode {
namespace {

using data::CategoryRange;

// Flags of the Basic Multilingual Plane, expanded once; the rest by binary search.
const std::array<uint8_t, 0x10000>& BmpTable() {
  static const std::array<uint8_t, 0x10000> table = [] {
    std::array<uint8_t, 0x10000> t{};
    for (size_t i = 0; i < data::kCategoryRangeCount; ++i) {
      const CategoryRange& r = data::kCategoryRanges[i];
      if (r.first > 0xFFFF) break;
      for (uint32_t cp = r.first; cp <= std::min<uint32_t>(r.last, 0xFFFF); ++cp) t[cp] = r.value;
    }
    return t;
  }();
  return table;
}

int FindRange(const CategoryRange* ranges, size_t n, uint32_t cp) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (ranges[mid].last < cp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < n && ranges[lo].first <= cp && cp <= ranges[lo].last) return static_cast<int>(lo);
  return -1;
}

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void DecomposeInto(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const data::Decomposition* b = data::kDecompositions;
  const data::Decomposition* e = b + data::kDecompositionCount;
  const data::Decomposition* it =
      std::lower_bound(b, e, cp, [](const data::Decomposition& d, uint32_t v) { return d.a < v; });
  if (it != e && it->a == cp) {
    DecomposeInto(it->b, out);
    if (it->c != 0) DecomposeInto(it->c, out);
    return;
  }
  out.push_back(cp);
}

std::vector<uint32_t> Decompose(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    int len;
    uint32_t cp = DecodeUtf8At(s, i, &len);
    i += static_cast<size_t>(len);
    DecomposeInto(cp, out);
  }
  // Canonical ordering: stable sort of each run of non-starters by class.
  for (size_t i = 0; i < out.size();) {
    if (CombiningClass(out[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && CombiningClass(out[j]) != 0) ++j;
    std::stable_sort(out.begin() + static_cast<long>(i), out.begin() + static_cast<long>(j),
                     [](uint32_t a, uint32_t b) { return CombiningClass(a) < CombiningClass(b); });
    i = j;
  }
  return out;
}

uint32_t Compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const data::Decomposition* first = data::kCompositions;
  const data::Decomposition* last = first + data::kCompositionCount;
  const data::Decomposition* it = std::lower_bound(first, last, std::make_pair(a, b),
                                                   [](const data::Decomposition& d, std::pair<uint32_t, uint32_t> v) {
                                                     return d.a < v.first || (d.a == v.first && d.b < v.second);
                                                   });
  if (it != last && it->a == a && it->b == b) return it->c;
  return 0;
}

}  // namespace

uint8_t Category(uint32_t cp) {
  if (cp < 0x10000) return BmpTable()[cp];
  int i = FindRange(data::kCategoryRanges, data::kCategoryRangeCount, cp);
  return i < 0 ? static_cast<uint8_t>(kOther) : data::kCategoryRanges[i].value;
}

bool IsWhitespace(uint32_t cp) {
  return (cp >= 9 && cp <= 13) || cp == 32 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

uint32_t ToLower(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const data::CodepointPair* b = data::kLowercase;
  const data::CodepointPair* e = b + data::kLowercaseCount;
  const data::CodepointPair* it =
      std::lower_bound(b, e, cp, [](const data::CodepointPair& p, uint32_t v) { return p.from < v; });
  return (it != e && it->from == cp) ? it->to : cp;
}

int CombiningClass(uint32_t cp) {
  if (cp < 0x300) return 0;
  int i = FindRange(data::kCombiningClass, data::kCombiningClassCount, cp);
  return i < 0 ? 0 : data::kCombiningClass[i].value;
}

int Utf8SequenceLength(uint8_t c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;
}

uint32_t DecodeUtf8At(std::string_view s, size_t pos, int* len) {
  const uint8_t c = static_cast<uint8_t>(s[pos]);
  *len = 1;
  if (c < 0x80) return c;
  int n = Utf8SequenceLength(c);
  if (n == 1 || pos + static_cast<size_t>(n) > s.size()) return 0xFFFD;
  uint32_t cp = c & (0x7F >> n);
  for (int i = 1; i < n; ++i) {
    uint8_t cc = static_cast<uint8_t>(s[pos + static_cast<size_t>(i)]);
    if ((cc & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0xFFFD;
  }
  *len = n;
  return cp;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::vector<uint32_t> ToCodepoints(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    int len;
    out.push_back(DecodeUtf8At(s, i, &len));
    i += static_cast<size_t>(len);
  }
  return out;
}

size_t CompleteUtf8Prefix(std::string_view s) {
  // Look back at most 3 bytes for a lead byte whose sequence is unfinished.
  size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    uint8_t c = static_cast<uint8_t>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    int need = Utf8SequenceLength(c);
    if (need > 1 && static_cast<size_t>(need) > back) return n - back;
    return n;
  }
  return n;
}

std::string Nfd(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (uint32_t cp : Decompose(s)) AppendUtf8(cp, out);
  return out;
}

std::string Nfc(std::string_view s) {
  // Fast path: ASCII is already NFC.
  bool ascii = true;
  for (char c : s) {
    if (static_cast<uint8_t>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return std::string(s);
  std::vector<uint32_t> cps = Decompose(s);
  // Canonical composition (the algorithm of UAX #15's sample code).
  if (!cps.empty()) {
    size_t starter = 0;
    int last_class = CombiningClass(cps[0]) == 0 ? 0 : 256;  // 256: no starter yet
    size_t out_len = 1;
    for (size_t i = 1; i < cps.size(); ++i) {
      const uint32_t cp = cps[i];
      const int cls = CombiningClass(cp);
      const uint32_t composite = last_class == 256 ? 0 : Compose(cps[starter], cp);
      if (composite != 0 && (last_class < cls || last_class == 0)) {
        cps[starter] = composite;
        continue;
      }
      if (cls == 0) starter = out_len;
      last_class = cls;
      cps[out_len++] = cp;
    }
    cps.resize(out_len);
  }
  std::string out;
  out.reserve(s.size());
  for (uint32_t cp : cps) AppendUtf8(cp, out);
  return out;
}

}  // namespace inference::unicode
