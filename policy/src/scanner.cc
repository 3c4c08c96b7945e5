#include "scanner.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include <re2/re2.h>

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
  if (InNumericContext(text, *begin, *end)) return false;
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
  for (size_t first = 0; first < groups.size(); ++first) {
    for (size_t last = groups.size(); last-- > first;) {
      std::string digits;
      for (size_t g = first; g <= last; ++g) {
        digits.append(text.substr(groups[g].begin, groups[g].end - groups[g].begin));
      }
      if (digits.size() < 13 || digits.size() > 19) continue;
      if (CardNumberValid(digits)) {
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
      {"card", "CARD", R"([0-9]{2,6}(?:[ -]?[0-9]{1,7}){1,8})", Validator::kCard},
      {"phone", "PHONE",
       R"((?:\+?1[ .-]?)?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4})"
       R"(|\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,6})",
       Validator::kPhone},
      {"ipv6", "IPV6",
       R"((?:[0-9A-Fa-f]{1,4}:|:){2,7}(?:[0-9A-Fa-f]{1,4}|:|[0-9]{1,3}(?:\.[0-9]{1,3}){3}))",
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

common::StatusOr<std::unique_ptr<Scanner>> Scanner::Create(std::vector<DetectorSpec> specs) {
  std::unique_ptr<Scanner> scanner(new Scanner());
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(64 << 20);
  std::string combined = Prefix() + "(?:";
  int group = 0;
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
    combined += "(" + spec.pattern + ")";
    scanner->group_.push_back(group + 1);
    group += 1 + alone.NumberOfCapturingGroups();
    auto single = std::make_unique<RE2>(Prefix() + "(" + spec.pattern + ")" + Suffix(), options);
    if (!single->ok()) {
      return common::InvalidArgumentError("detector '" + spec.name +
                                          "': invalid pattern: " + single->error());
    }
    scanner->single_.push_back(std::move(single));
  }
  combined += ")" + Suffix();
  scanner->groups_ = group;
  scanner->combined_ = std::make_unique<RE2>(specs.empty() ? "a\\bb" : combined, options);
  if (!scanner->combined_->ok()) {
    return common::InvalidArgumentError("detectors do not compile together: " +
                                        scanner->combined_->error());
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
  const int n = groups_ + 1;
  std::vector<re2::StringPiece> m(n);
  re2::StringPiece sub[2];
  const re2::StringPiece input(text.data(), text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    if (!combined_->Match(input, pos, text.size(), RE2::UNANCHORED, m.data(), n)) break;
    const size_t whole_begin = static_cast<size_t>(m[0].data() - text.data());
    int found = -1;
    for (size_t i = 0; i < group_.size(); ++i) {
      if (m[group_[i]].data() != nullptr) {
        found = static_cast<int>(i);
        break;
      }
    }
    if (found < 0) break;  // cannot happen: one alternative matched
    size_t inner_begin = static_cast<size_t>(m[group_[found]].data() - text.data());
    size_t inner_end = inner_begin + m[group_[found]].size();
    size_t next = inner_end;
    size_t b = inner_begin, e = inner_end;
    int accepted = -1;
    if (enabled[found] && Accept(found, text, &b, &e)) {
      accepted = found;
    } else {
      // Another detector may match at the same place ("555-12-3456" is not
      // a card but may be an SSN).
      for (size_t j = 0; j < specs_.size() && accepted < 0; ++j) {
        if (static_cast<int>(j) == found || !enabled[j]) continue;
        if (!single_[j]->Match(input, whole_begin, text.size(), RE2::ANCHOR_START, sub, 2)) {
          continue;
        }
        b = static_cast<size_t>(sub[1].data() - text.data());
        e = b + sub[1].size();
        if (Accept(static_cast<int>(j), text, &b, &e)) accepted = static_cast<int>(j);
      }
    }
    if (accepted >= 0 && e > b) {
      hits.push_back({accepted, b, e});
      next = std::max(next, e);
    }
    pos = std::max(next, pos + 1);
  }
  return hits;
}

}  // namespace policy::internal
