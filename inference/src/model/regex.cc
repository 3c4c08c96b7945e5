#include "model/regex.h"

#include <limits>

#include "inference/unicode.h"

namespace inference {
namespace {

using common::InvalidArgumentError;
using common::Status;
using common::StatusOr;
using Seq = PretokRegex::Seq;
using Item = PretokRegex::Item;
using CharClass = PretokRegex::CharClass;

class Parser {
 public:
  explicit Parser(std::string_view p) : cps_(unicode::ToCodepoints(p)) {}

  StatusOr<std::vector<Seq>> Parse() {
    ASSIGN_OR_RETURN(std::vector<Seq> alts, ParseAlts(false));
    if (pos_ != cps_.size()) return Error("unbalanced ')'");
    return alts;
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgumentError("pre-tokenizer regex: " + what + " at offset " + std::to_string(pos_));
  }
  bool AtEnd() const { return pos_ >= cps_.size(); }
  uint32_t Peek() const { return cps_[pos_]; }

  StatusOr<std::vector<Seq>> ParseAlts(bool icase) {
    std::vector<Seq> alts(1);
    while (!AtEnd() && Peek() != ')') {
      if (Peek() == '|') {
        ++pos_;
        alts.emplace_back();
        continue;
      }
      RETURN_IF_ERROR(ParseItem(alts.back(), icase));
    }
    return alts;
  }

  static uint8_t CategoryFromName(std::string_view name) {
    if (name.empty()) return 0;
    switch (name[0]) {
      case 'L': return unicode::kLetter;
      case 'N': return unicode::kNumber;
      case 'P': return unicode::kPunctuation;
      case 'S': return unicode::kSymbol;
      case 'M': return unicode::kMark;
      case 'Z': return unicode::kSeparator;
      case 'C': return unicode::kOther;
      default: return 0;
    }
  }

  // After a backslash: fills cls (for class escapes) or *literal.
  Status ParseEscape(CharClass& cls, uint32_t* literal, bool* is_literal) {
    if (AtEnd()) return Error("trailing backslash");
    uint32_t c = cps_[pos_++];
    *is_literal = false;
    switch (c) {
      case 's': cls.whitespace = true; return common::OkStatus();
      case 'S': cls.not_whitespace = true; return common::OkStatus();
      case 'd': cls.categories |= unicode::kNumber; return common::OkStatus();
      case 'w': cls.categories |= unicode::kLetter | unicode::kNumber | unicode::kMark;
        cls.ranges.push_back({'_', '_'});
        return common::OkStatus();
      case 'p':
      case 'P': {
        std::string name;
        if (!AtEnd() && Peek() == '{') {
          ++pos_;
          while (!AtEnd() && Peek() != '}') name.push_back(static_cast<char>(cps_[pos_++]));
          if (AtEnd()) return Error("unterminated \\p{");
          ++pos_;
        } else if (!AtEnd()) {
          name.push_back(static_cast<char>(cps_[pos_++]));
        }
        uint8_t cat = CategoryFromName(name);
        if (cat == 0 || name.size() > 1) return Error("unsupported category \\p{" + name + "}");
        (c == 'p' ? cls.categories : cls.not_categories) |= cat;
        return common::OkStatus();
      }
      case 'r': *literal = '\r'; break;
      case 'n': *literal = '\n'; break;
      case 't': *literal = '\t'; break;
      case 'f': *literal = '\f'; break;
      case 'v': *literal = '\v'; break;
      default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
          return Error("unsupported escape \\" + std::string(1, static_cast<char>(c)));
        }
        *literal = c;
    }
    *is_literal = true;
    return common::OkStatus();
  }

  static void AddLiteral(CharClass& cls, uint32_t c, bool icase) {
    cls.ranges.push_back({c, c});
    if (icase && c < 128) {
      if (c >= 'a' && c <= 'z') cls.ranges.push_back({c - 32, c - 32});
      if (c >= 'A' && c <= 'Z') cls.ranges.push_back({c + 32, c + 32});
    }
  }

  Status ParseClass(CharClass& cls, bool icase) {
    // pos_ is just after '['.
    if (!AtEnd() && Peek() == '^') {
      cls.negate = true;
      ++pos_;
    }
    bool first = true;
    while (true) {
      if (AtEnd()) return Error("unterminated character class");
      uint32_t c = cps_[pos_];
      if (c == ']' && !first) {
        ++pos_;
        return common::OkStatus();
      }
      first = false;
      ++pos_;
      uint32_t lo = c;
      if (c == '\\') {
        bool is_lit;
        RETURN_IF_ERROR(ParseEscape(cls, &lo, &is_lit));
        if (!is_lit) continue;
      } else if (c == '[') {
        return Error("nested classes are not supported");
      }
      if (pos_ + 1 < cps_.size() && Peek() == '-' && cps_[pos_ + 1] != ']') {
        ++pos_;
        uint32_t hi = cps_[pos_++];
        if (hi == '\\') {
          CharClass dummy;
          bool is_lit;
          RETURN_IF_ERROR(ParseEscape(dummy, &hi, &is_lit));
          if (!is_lit) return Error("class escape as range end");
        }
        if (hi < lo) return Error("reversed range");
        cls.ranges.push_back({lo, hi});
        if (icase && lo <= 'z' && hi >= 'A') {
          for (uint32_t x = lo; x <= hi && x < 128; ++x) AddLiteral(cls, x, true);
        }
      } else {
        AddLiteral(cls, lo, icase);
      }
    }
  }

  Status ParseItem(Seq& seq, bool icase) {
    Item item;
    uint32_t c = cps_[pos_++];
    if (c == '(') {
      bool sub_icase = icase;
      item.kind = Item::kGroup;
      if (!AtEnd() && Peek() == '?') {
        ++pos_;
        if (AtEnd()) return Error("bad group");
        uint32_t g = cps_[pos_++];
        if (g == ':') {
        } else if (g == '!') {
          item.kind = Item::kNegLookahead;
        } else if (g == 'i' && !AtEnd() && Peek() == ':') {
          ++pos_;
          sub_icase = true;
        } else {
          return Error("unsupported group");
        }
      }
      ASSIGN_OR_RETURN(item.alts, ParseAlts(sub_icase));
      if (AtEnd() || Peek() != ')') return Error("missing ')'");
      ++pos_;
    } else if (c == '[') {
      RETURN_IF_ERROR(ParseClass(item.cls, icase));
    } else if (c == '\\') {
      uint32_t lit;
      bool is_lit;
      RETURN_IF_ERROR(ParseEscape(item.cls, &lit, &is_lit));
      if (is_lit) AddLiteral(item.cls, lit, icase);
    } else if (c == '.') {
      item.cls.any_but_newline = true;
    } else if (c == '$') {
      item.kind = Item::kEnd;
    } else if (c == '*' || c == '+' || c == '?' || c == '{' || c == '^') {
      return Error("unexpected '" + std::string(1, static_cast<char>(c)) + "'");
    } else {
      AddLiteral(item.cls, c, icase);
    }
    // Quantifier.
    if (!AtEnd()) {
      uint32_t q = Peek();
      uint32_t mn = 1, mx = 1;
      bool quant = true;
      if (q == '?') {
        mn = 0;
      } else if (q == '*') {
        mn = 0;
        mx = std::numeric_limits<uint32_t>::max();
      } else if (q == '+') {
        mx = std::numeric_limits<uint32_t>::max();
      } else if (q == '{') {
        size_t save = pos_;
        ++pos_;
        auto num = [&](uint32_t* v) {
          bool any = false;
          *v = 0;
          while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
            *v = *v * 10 + (Peek() - '0');
            ++pos_;
            any = true;
          }
          return any;
        };
        if (!num(&mn)) {
          pos_ = save;
          quant = false;
        } else {
          mx = mn;
          if (!AtEnd() && Peek() == ',') {
            ++pos_;
            if (!num(&mx)) mx = std::numeric_limits<uint32_t>::max();
          }
          if (AtEnd() || Peek() != '}' || mx < mn) return Error("bad {n,m} quantifier");
        }
      } else {
        quant = false;
      }
      if (quant) {
        if (q != '{') ++pos_;
        else ++pos_;  // the closing '}'
        if (!AtEnd() && (Peek() == '?' || Peek() == '+')) return Error("lazy/possessive quantifiers are not supported");
        if (item.kind == Item::kGroup && !(mn == 0 && mx == 1)) return Error("only '?' may follow a group");
        if (item.kind != Item::kClass && item.kind != Item::kGroup) return Error("quantifier after an assertion");
        item.min = mn;
        item.max = mx;
      }
    }
    seq.items.push_back(std::move(item));
    return common::OkStatus();
  }

  std::vector<uint32_t> cps_;
  size_t pos_ = 0;
};

// A continuation: what must match after the current item.
struct Cont {
  bool (*fn)(const void*, size_t);
  const void* ctx;
  bool operator()(size_t p) const { return fn(ctx, p); }
};

class Matcher {
 public:
  Matcher(const uint32_t* cps, size_t end) : cps_(cps), end_(end) {}

  bool Seq(const PretokRegex::Seq& s, size_t i, size_t pos, Cont k) const {
    if (i == s.items.size()) return k(pos);
    const Item& it = s.items[i];
    switch (it.kind) {
      case Item::kClass: {
        size_t c = 0;
        while (c < it.max && pos + c < end_ && it.cls.Matches(cps_[pos + c])) ++c;
        if (c < it.min) return false;
        for (size_t j = c + 1; j-- > it.min;) {
          if (Seq(s, i + 1, pos + j, k)) return true;
        }
        return false;
      }
      case Item::kGroup: {
        struct Ctx {
          const Matcher* m;
          const PretokRegex::Seq* s;
          size_t i;
          Cont k;
        } ctx{this, &s, i, k};
        Cont next{[](const void* p, size_t at) {
                    const Ctx* c = static_cast<const Ctx*>(p);
                    return c->m->Seq(*c->s, c->i + 1, at, c->k);
                  },
                  &ctx};
        for (const auto& alt : it.alts) {
          if (Seq(alt, 0, pos, next)) return true;
        }
        if (it.min == 0) return Seq(s, i + 1, pos, k);
        return false;
      }
      case Item::kNegLookahead: {
        Cont accept{[](const void*, size_t) { return true; }, nullptr};
        for (const auto& alt : it.alts) {
          if (Seq(alt, 0, pos, accept)) return false;
        }
        return Seq(s, i + 1, pos, k);
      }
      case Item::kEnd:
        return pos == end_ && Seq(s, i + 1, pos, k);
    }
    return false;
  }

 private:
  const uint32_t* cps_;
  size_t end_;
};

}  // namespace

bool PretokRegex::CharClass::Matches(uint32_t cp) const {
  bool m = false;
  if (any_but_newline && cp != '\n') m = true;
  if (!m && (categories || not_categories)) {
    uint8_t cat = unicode::Category(cp);
    if ((cat & categories) || (not_categories && !(cat & not_categories))) m = true;
  }
  if (!m && whitespace && unicode::IsWhitespace(cp)) m = true;
  if (!m && not_whitespace && !unicode::IsWhitespace(cp)) m = true;
  if (!m) {
    for (const auto& r : ranges) {
      if (cp >= r.first && cp <= r.second) {
        m = true;
        break;
      }
    }
  }
  return m != negate;
}

StatusOr<PretokRegex> PretokRegex::Compile(std::string_view pattern) {
  Parser p(pattern);
  ASSIGN_OR_RETURN(std::vector<Seq> alts, p.Parse());
  PretokRegex r;
  r.alts_ = std::make_shared<const std::vector<Seq>>(std::move(alts));
  return r;
}

void PretokRegex::Split(const uint32_t* cps, size_t begin, size_t end,
                        std::vector<std::pair<size_t, size_t>>& out) const {
  Matcher m(cps, end);
  size_t gap_start = begin;
  size_t pos = begin;
  while (pos < end) {
    size_t match_end = 0;
    Cont record{[](const void* p, size_t at) {
                  *static_cast<size_t*>(const_cast<void*>(p)) = at;
                  return true;
                },
                &match_end};
    bool found = false;
    for (const auto& alt : *alts_) {
      if (m.Seq(alt, 0, pos, record)) {
        found = match_end > pos;  // empty matches do not split
        break;
      }
    }
    if (!found) {
      ++pos;
      continue;
    }
    if (gap_start < pos) out.push_back({gap_start, pos});
    out.push_back({pos, match_end});
    pos = match_end;
    gap_start = pos;
  }
  if (gap_start < end) out.push_back({gap_start, end});
}

}  // namespace inference
