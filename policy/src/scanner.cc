#include "scanner.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include <re2/re2.h>
#include <re2/set.h>

namespace policy::internal {
namespace {

// A boundary: start/end of text, or one character that is neither a letter,
// digit, mark nor '_' -- except that ideographic and other space-less scripts
// count as boundaries, so "联系zhang@example.com谢谢" finds the address.
constexpr std::string_view kBoundaryClass =
    "[^\\p{L}\\p{N}\\p{M}_]|[\\p{Han}\\p{Hiragana}\\p{Katakana}\\p{Thai}\\p{Lao}\\p{Khmer}"
    "\\p{Myanmar}]";

std::string Prefix() { return "(?:^|" + std::string(kBoundaryClass) + ")"; }
std::string Suffix() { return "(?:$|" + std::string(kBoundaryClass) + ")"; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string DigitsOf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (IsDigit(c)) out.push_back(c);
  }
  return out;
}

// Numbers glued to other numbers by '-', '.' or '/' are parts of something
// else (a part number, a version, a date): "x-123-45-6789", "1.2.3.4.5".
bool InNumericContext(std::string_view text, size_t begin, size_t end) {
  if (begin >= 2 && (text[begin - 1] == '-' || text[begin - 1] == '.' || text[begin - 1] == '/') &&
      IsAsciiAlnum(text[begin - 2])) {
    return true;
  }
  if (end + 1 < text.size() && (text[end] == '-' || text[end] == '.' || text[end] == '/') &&
      IsDigit(text[end + 1])) {
    return true;
  }
  return false;
}

bool EmailAccept(std::string_view text, size_t* begin, size_t end) {
  // Leading punctuation is not part of an address.
  while (*begin < end && (text[*begin] == '.' || text[*begin] == '-' || text[*begin] == '+' ||
                          text[*begin] == '%')) {
    ++*begin;
  }
  std::string_view s = text.substr(*begin, end - *begin);
  size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || s.size() > 254) return false;
  std::string_view local = s.substr(0, at);
  if (local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  std::string_view domain = s.substr(at + 1);
  size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string tld(domain.substr(dot + 1));
  std::transform(tld.begin(), tld.end(), tld.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // "icon@2x.png" is an image name, not an address.
  static constexpr std::string_view kFileTypes[] = {"png", "jpg", "jpeg", "gif", "svg",
                                                     "webp", "bmp", "ico", "tif", "tiff"};
  for (std::string_view ft : kFileTypes) {
    if (tld == ft) return false;
  }
  // Domain labels neither start nor end with '-'.
  size_t pos = 0;
  while (pos <= domain.size()) {
    size_t next = domain.find('.', pos);
    if (next == std::string_view::npos) next = domain.size();
    std::string_view label = domain.substr(pos, next - pos);
    if (label.empty() || label.front() == '-' || label.back() == '-' || label.size() > 63) {
      return false;
    }
    pos = next + 1;
  }
  return true;
}

bool PhoneAccept(std::string_view text, size_t begin, size_t end) {
  if (InNumericContext(text, begin, end)) return false;
  std::string_view s = text.substr(begin, end - begin);
  std::string digits = DigitsOf(s);
  if (s.front() == '+') {
    // International: E.164 allows at most 15 digits; country codes don't start with 0.
    if (digits.size() < 8 || digits.size() > 15 || digits[0] == '0') return false;
    if (digits[0] == '1') return digits.size() == 11 && digits[1] >= '2' && digits[4] >= '2';
    return true;
  }
  // North American numbering plan: [+1] NXX NXX XXXX, N = 2..9.
  if (digits.size() == 11) {
    if (digits[0] != '1') return false;
    digits.erase(0, 1);
  }
  if (digits.size() != 10) return false;
  return digits[0] >= '2' && digits[3] >= '2';
}

bool CardAccept(std::string_view text, size_t* begin, size_t* end) {
  // Groups of digits separated by one space or dash. Try the longest valid
  // run of whole groups, leftmost first: "ref 1234 4111 1111 1111 1111".
  struct Group {
    size_t begin, end;
  };
  std::vector<Group> groups;
  size_t i = *begin;
  while (i < *end) {
    size_t j = i;
    while (j < *end && IsDigit(text[j])) ++j;
    groups.push_back({i, j});
    i = j + 1;
  }
  // Cards are written in at most 5 groups (4-4-4-4-3, 4-6-5); a run of many
  // short groups is something else.
  if (groups.size() > 8) return false;
  for (size_t first = 0; first < groups.size(); ++first) {
    for (size_t last = groups.size(); last-- > first;) {
      size_t count = 0;
      bool short_group = false;
      for (size_t g = first; g <= last; ++g) {
        count += groups[g].end - groups[g].begin;
        short_group = short_group || (last > first && groups[g].end - groups[g].begin < 3 &&
                                      g != last);
      }
      if (count < 13 || count > 19 || short_group || last - first > 4) continue;
      std::string digits;
      for (size_t g = first; g <= last; ++g) {
        digits.append(text.substr(groups[g].begin, groups[g].end - groups[g].begin));
      }
      if (CardNumberValid(digits) &&
          !InNumericContext(text, groups[first].begin, groups[last].end)) {
        *begin = groups[first].begin;
        *end = groups[last].end;
        return true;
      }
    }
  }
  return false;
}

bool IbanAccept(std::string_view text, size_t begin, size_t* end) {
  int want = IbanLength(text.substr(begin, 2));
  if (want == 0) return false;
  int have = 0;
  size_t i = begin;
  for (; i < *end && have < want; ++i) {
    if (text[i] != ' ') ++have;
  }
  if (have < want) return false;
  // The IBAN must end at a boundary, not in the middle of a word.
  if (i < text.size() && IsAsciiAlnum(text[i])) return false;
  *end = i;
  return IbanValid(text.substr(begin, i - begin));
}

bool PrivateKeyAccept(std::string_view text, size_t* end) {
  // The header was matched; the block runs to the matching END line, or to
  // the end of the text when there is none (a truncated key is still a key).
  // Each search starts after the previous hit, so the text is read once.
  size_t pos = *end;
  while (true) {
    size_t e = text.find("-----END ", pos);
    if (e == std::string_view::npos) {
      *end = text.size();
      return true;
    }
    size_t close = text.find("-----", e + 9);
    if (close == std::string_view::npos) {
      *end = text.size();
      return true;
    }
    std::string_view label = text.substr(e + 9, close - (e + 9));
    if (label.find("PRIVATE KEY") != std::string_view::npos && label.size() < 64) {
      *end = close + 5;
      return true;
    }
    pos = close;
  }
}

}  // namespace

std::vector<DetectorSpec> BuiltinDetectorSpecs() {
  return {
      {"private_key", "PRIVATE_KEY", R"(-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)",
       Validator::kPrivateKey},
      {"api_key", "API_KEY",
       R"(sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,})"
       R"(|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"
       R"(|glpat-[A-Za-z0-9_-]{20,}|xox[abeprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35})"
       R"(|hf_[A-Za-z0-9]{30,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
       Validator::kNone},
      {"email", "EMAIL",
       R"([\p{Latin}0-9._%+-]{1,64}@(?:[\p{Latin}0-9](?:[\p{Latin}0-9-]{0,61}[\p{Latin}0-9])?\.)+\p{Latin}{2,24})",
       Validator::kEmail},
      {"iban", "IBAN", R"([A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32})", Validator::kIban},
      {"ssn", "SSN", R"([0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})", Validator::kSsn},
      {"card", "CARD", R"([0-9](?:[ -]?[0-9]){12,18})", Validator::kCard},
      {"phone", "PHONE",
       R"((?:\+?1[ .-]?)?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4})"
       R"(|\+[1-9][0-9]{0,2}(?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,4})){2,6})",
       Validator::kPhone},
      {"ipv6", "IPV6",
       R"((?:[0-9A-Fa-f]{1,4}:|:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4}|:))",
       Validator::kIpv6},
      {"ipv4", "IPV4", R"([0-9]{1,3}(?:\.[0-9]{1,3}){3})", Validator::kIpv4},
  };
}

bool LuhnValid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    if (!IsDigit(digits[i])) return false;
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return !digits.empty() && sum % 10 == 0;
}

bool CardNumberValid(std::string_view d) {
  size_t n = d.size();
  if (n < 13 || n > 19) return false;
  auto prefix = [&](size_t len) { return std::stoi(std::string(d.substr(0, len))); };
  bool issuer = false;
  int p2 = prefix(2), p3 = prefix(3), p4 = prefix(4), p6 = prefix(6);
  if (d[0] == '4') issuer = (n == 13 || n == 16 || n == 19);                      // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) issuer = (n == 16);   // Mastercard
  if (p2 == 34 || p2 == 37) issuer = (n == 15);                                    // Amex
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) {
    issuer = (n >= 16);                                                            // Discover
  }
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) issuer = (n >= 14);  // Diners
  if (p4 >= 3528 && p4 <= 3589) issuer = (n >= 16);                               // JCB
  if (p2 == 62) issuer = (n >= 16);                                                // UnionPay
  if (p2 == 50 || (p2 >= 56 && p2 <= 58) || p2 == 63 || p2 == 67) issuer = (n >= 12);  // Maestro
  return issuer && LuhnValid(d);
}

int IbanLength(std::string_view cc) {
  static const std::pair<std::string_view, int> kLengths[] = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
      {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
      {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
      {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
      {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
      {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
      {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
      {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
      {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
      {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
      {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
  };
  for (const auto& [code, len] : kLengths) {
    if (code == cc) return len;
  }
  return 0;
}

bool IbanValid(std::string_view iban) {
  std::string s;
  for (char c : iban) {
    if (c == ' ') continue;
    if (!IsAsciiAlnum(c)) return false;
    s.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (s.size() < 15 || static_cast<int>(s.size()) != IbanLength(std::string_view(s).substr(0, 2))) {
    return false;
  }
  if (!IsDigit(s[2]) || !IsDigit(s[3])) return false;
  std::string r = s.substr(4) + s.substr(0, 4);
  int mod = 0;
  for (char c : r) {
    int v = IsDigit(c) ? c - '0' : c - 'A' + 10;
    mod = (v >= 10 ? mod * 100 + v : mod * 10 + v) % 97;
  }
  return mod == 1;
}

bool SsnValid(std::string_view s) {
  if (s.size() != 11 || s[3] != s[6] || (s[3] != '-' && s[3] != ' ')) return false;
  std::string d = DigitsOf(s);
  if (d.size() != 9) return false;
  int area = std::stoi(d.substr(0, 3)), group = std::stoi(d.substr(3, 2)),
      serial = std::stoi(d.substr(5, 4));
  // SSA rules: no area 000, 666 or 900-999; no group 00; no serial 0000.
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

bool Ipv4Valid(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    size_t len = j - i;
    if (len == 0 || len > 3 || (len > 1 && s[i] == '0')) return false;
    if (std::stoi(std::string(s.substr(i, len))) > 255) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

bool Ipv6Valid(std::string_view s) {
  if (s.size() < 3 || s.size() > 45) return false;
  std::string z(s);
  in6_addr addr;
  if (inet_pton(AF_INET6, z.c_str(), &addr) != 1) return false;
  // Require some substance: "::" and "::1:" noise are not addresses worth a placeholder.
  int hex = 0;
  for (char c : s) hex += IsAsciiAlnum(c) ? 1 : 0;
  return hex >= 2 || s == "::1";
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Fast path: eight ASCII bytes at a time.
    if (i + 8 <= n) {
      uint64_t chunk;
      std::memcpy(&chunk, s.data() + i, 8);
      if ((chunk & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// Two anchored sets: at the start of the text the left boundary may be
// empty (`^`); anywhere else it is exactly one boundary character. Given the
// text from the candidate to the end, each set then answers exactly which
// detectors match at the candidate.
struct Scanner::AnchoredSet {
  explicit AnchoredSet(const RE2::Options& options)
      : at_start(options, RE2::ANCHOR_START), inside(options, RE2::ANCHOR_START) {}
  RE2::Set at_start;
  RE2::Set inside;
};

namespace {
size_t Utf8Length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  return 4;
}
}  // namespace

common::StatusOr<std::unique_ptr<Scanner>> Scanner::Create(std::vector<DetectorSpec> specs) {
  std::unique_ptr<Scanner> scanner(new Scanner());
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(64 << 20);
  scanner->set_ = std::make_unique<AnchoredSet>(options);
  std::string combined = Prefix() + "(?:";
  for (size_t i = 0; i < specs.size(); ++i) {
    const DetectorSpec& spec = specs[i];
    RE2 alone(spec.pattern, options);
    if (!alone.ok()) {
      return common::InvalidArgumentError("detector '" + spec.name +
                                          "': invalid pattern: " + alone.error());
    }
    if (RE2::FullMatch("", alone)) {
      return common::InvalidArgumentError("detector '" + spec.name +
                                          "': pattern matches the empty string");
    }
    if (i > 0) combined += "|";
    combined += "(?:" + spec.pattern + ")";
    const std::string bounded = Prefix() + "(" + spec.pattern + ")" + Suffix();
    auto single = std::make_unique<RE2>(bounded, options);
    if (!single->ok()) {
      return common::InvalidArgumentError("detector '" + spec.name +
                                          "': invalid pattern: " + single->error());
    }
    std::string error;
    if (scanner->set_->at_start.Add(bounded, &error) != static_cast<int>(i) ||
        scanner->set_->inside.Add("(?:" + std::string(kBoundaryClass) + ")(?:" + spec.pattern +
                                      ")" + Suffix(),
                                  &error) != static_cast<int>(i)) {
      return common::InvalidArgumentError("detector '" + spec.name + "': " + error);
    }
    scanner->single_.push_back(std::move(single));
  }
  combined += ")" + Suffix();
  // Capturing groups inside custom patterns are not needed by the search.
  RE2::Options search_options = options;
  search_options.set_never_capture(true);
  scanner->combined_ =
      std::make_unique<RE2>(specs.empty() ? "a\\bb" : combined, search_options);
  if (!scanner->combined_->ok()) {
    return common::InvalidArgumentError("detectors do not compile together: " +
                                        scanner->combined_->error());
  }
  if (!scanner->set_->at_start.Compile() || !scanner->set_->inside.Compile()) {
    return common::InvalidArgumentError("detectors do not compile together (out of memory)");
  }
  scanner->specs_ = std::move(specs);
  return scanner;
}

Scanner::~Scanner() = default;

int Scanner::Find(std::string_view name) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

bool Scanner::Accept(int detector, std::string_view text, size_t* begin, size_t* end) const {
  switch (specs_[detector].validator) {
    case Validator::kNone:
      return true;
    case Validator::kEmail:
      return EmailAccept(text, begin, *end);
    case Validator::kPhone:
      return PhoneAccept(text, *begin, *end);
    case Validator::kSsn:
      return !InNumericContext(text, *begin, *end) &&
             SsnValid(text.substr(*begin, *end - *begin));
    case Validator::kCard:
      return CardAccept(text, begin, end);
    case Validator::kIban:
      return IbanAccept(text, *begin, end);
    case Validator::kIpv4:
      return !InNumericContext(text, *begin, *end) &&
             Ipv4Valid(text.substr(*begin, *end - *begin));
    case Validator::kIpv6: {
      std::string_view s = text.substr(*begin, *end - *begin);
      if (Ipv6Valid(s)) return true;
      // "2001:db8::1: error" -- the trailing ':' is punctuation.
      if (s.size() > 3 && s.back() == ':' && s[s.size() - 2] != ':' &&
          Ipv6Valid(s.substr(0, s.size() - 1))) {
        --*end;
        return true;
      }
      return false;
    }
    case Validator::kPrivateKey:
      return PrivateKeyAccept(text, end);
  }
  return false;
}

std::vector<Hit> Scanner::Scan(std::string_view text, const std::vector<bool>& enabled) const {
  std::vector<Hit> hits;
  if (specs_.empty()) return hits;
  re2::StringPiece whole;
  re2::StringPiece sub[2];
  std::vector<int> here;
  const re2::StringPiece input(text.data(), text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    // 1. The next candidate anywhere after pos (DFA only).
    if (!combined_->Match(input, pos, text.size(), RE2::UNANCHORED, &whole, 1)) break;
    const size_t whole_begin = static_cast<size_t>(whole.data() - text.data());
    size_t next = whole_begin + 1;
    // 2. The detectors that match there, in priority order.
    here.clear();
    (whole_begin == 0 ? set_->at_start : set_->inside).Match(input.substr(whole_begin), &here);
    std::sort(here.begin(), here.end());
    bool first = true;
    int accepted = -1;
    size_t b = 0, e = 0;
    const size_t whole_end = whole_begin + whole.size();
    for (int j : here) {
      if (first && whole_begin > 0 && whole_end < text.size()) {
        // The search's own match belongs to the first detector here: strip
        // the one boundary character on each side.
        b = whole_begin + Utf8Length(static_cast<unsigned char>(text[whole_begin]));
        e = whole_end - 1;
        while (e > b && (static_cast<unsigned char>(text[e]) & 0xC0) == 0x80) --e;
        if (e <= b) continue;  // cannot happen: inner matches are not empty
      } else {
        // Other detectors, or a match touching either end of the text: run
        // the detector alone for its span.
        if (!single_[j]->Match(input, whole_begin, text.size(), RE2::ANCHOR_START, sub, 2)) {
          continue;
        }
        b = static_cast<size_t>(sub[1].data() - text.data());
        e = b + sub[1].size();
      }
      if (first) {
        // The candidate the search reported: continue after it if nothing
        // is accepted here.
        next = std::max(next, e);  // the inner end, before the boundary character
        first = false;
      }
      if (enabled[j] && Accept(j, text, &b, &e)) {
        accepted = j;
        break;
      }
    }
    if (accepted < 0 && !here.empty() && specs_[here.front()].validator == Validator::kCard) {
      // "ref 1234 4111 1111 1111 1111": the card may start at a later group
      // of the rejected candidate. Resume after its first group; candidates
      // are at most 37 bytes long, so this stays linear.
      size_t sep = text.find_first_of(" -", whole_begin + 1);
      // Only after a plausible leading group ("1234 "), not "1 1 1 1 ...".
      if (sep != std::string_view::npos && sep < next && sep >= whole_begin + 4) next = sep;
    }
    if (accepted >= 0 && e > b) {
      hits.push_back({accepted, b, e});
      // Continue right after the finding; a validator may have narrowed the
      // candidate ("4111 1111 1111 1111 10.0.0.1"). Candidates that get
      // narrowed (cards, IBANs) have a bounded length, so this stays linear.
      next = e;
    }
    pos = std::max(next, pos + 1);
  }
  return hits;
}

}  // namespace policy::internal
