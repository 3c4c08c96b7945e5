#include "common/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace common {

const Json* Json::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& [k, v] : o_) {
    if (k == key) return &v;
  }
  return nullptr;
}

Json* Json::Find(std::string_view key) {
  return const_cast<Json*>(static_cast<const Json*>(this)->Find(key));
}

Json& Json::Set(std::string key, Json value) {
  if (type_ == Type::kNull) type_ = Type::kObject;
  for (auto& [k, v] : o_) {
    if (k == key) {
      v = std::move(value);
      return v;
    }
  }
  o_.emplace_back(std::move(key), std::move(value));
  return o_.back().second;
}

Json& Json::Push(Json value) {
  if (type_ == Type::kNull) type_ = Type::kArray;
  a_.push_back(std::move(value));
  return a_.back();
}

size_t Json::size() const {
  switch (type_) {
    case Type::kArray: return a_.size();
    case Type::kObject: return o_.size();
    case Type::kString: return s_.size();
    default: return 0;
  }
}

bool operator==(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.i_ == b.i_;
    return a.as_double() == b.as_double();
  }
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Json::Type::kNull: return true;
    case Json::Type::kBool: return a.b_ == b.b_;
    case Json::Type::kString: return a.s_ == b.s_;
    case Json::Type::kArray: return a.a_ == b.a_;
    case Json::Type::kObject: return a.o_ == b.o_;
    default: return false;
  }
}

// ---------------------------------------------------------------------------
// Serialization

namespace {

// Decodes one UTF-8 sequence at s[i]; returns the code point or -1 if invalid.
int32_t DecodeUtf8(std::string_view s, size_t& i) {
  unsigned char c = s[i];
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) { ++i; return -1; }
  int32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
  for (int k = 1; k < len; ++k) {
    unsigned char cc = s[i + k];
    if ((cc >> 6) != 2) { ++i; return -1; }
    cp = (cp << 6) | (cc & 0x3f);
  }
  i += len;
  return cp;
}

void AppendU16(std::string& out, unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", v & 0xffffu);
  out += buf;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

void FormatDouble(double d, std::string& out) {
  if (std::isnan(d)) { out += "NaN"; return; }
  if (std::isinf(d)) { out += d > 0 ? "Infinity" : "-Infinity"; return; }
  // Shortest representation that round-trips, like Python's repr.
  char buf[32];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  out += s;
}

void DumpImpl(const Json& j, const Json::DumpOptions& o, int level, std::string& out) {
  auto newline = [&](int lvl) {
    if (o.indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(lvl * o.indent), ' ');
  };
  // With indentation Python drops the trailing space of the item separator.
  std::string item_sep = o.item_sep;
  if (o.indent >= 0 && !item_sep.empty() && item_sep.back() == ' ') item_sep.pop_back();
  switch (j.type()) {
    case Json::Type::kNull: out += "null"; break;
    case Json::Type::kBool: out += j.as_bool() ? "true" : "false"; break;
    case Json::Type::kInt: out += std::to_string(j.as_int()); break;
    case Json::Type::kDouble: FormatDouble(j.as_double(), out); break;
    case Json::Type::kString: JsonQuote(j.as_string(), out, o.ensure_ascii); break;
    case Json::Type::kArray: {
      if (j.as_array().empty()) { out += "[]"; break; }
      out += '[';
      bool first = true;
      for (const auto& v : j.as_array()) {
        if (!first) out += item_sep;
        first = false;
        newline(level + 1);
        DumpImpl(v, o, level + 1, out);
      }
      newline(level);
      out += ']';
      break;
    }
    case Json::Type::kObject: {
      if (j.as_object().empty()) { out += "{}"; break; }
      std::vector<const std::pair<std::string, Json>*> items;
      for (const auto& kv : j.as_object()) items.push_back(&kv);
      if (o.sort_keys) {
        std::stable_sort(items.begin(), items.end(),
                         [](auto* a, auto* b) { return a->first < b->first; });
      }
      out += '{';
      bool first = true;
      for (const auto* kv : items) {
        if (!first) out += item_sep;
        first = false;
        newline(level + 1);
        JsonQuote(kv->first, out, o.ensure_ascii);
        out += o.key_sep;
        DumpImpl(kv->second, o, level + 1, out);
      }
      newline(level);
      out += '}';
      break;
    }
  }
}

}  // namespace

void JsonQuote(std::string_view s, std::string& out, bool ensure_ascii) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      default: break;
    }
    if (c < 0x20) { AppendU16(out, c); ++i; continue; }
    if (c < 0x80 || !ensure_ascii) {
      if (c < 0x80) { out += char(c); ++i; continue; }
      size_t start = i;
      int32_t cp = DecodeUtf8(s, i);
      if (cp < 0) { AppendU16(out, 0xfffd); continue; }
      out.append(s.substr(start, i - start));
      continue;
    }
    int32_t cp = DecodeUtf8(s, i);
    if (cp < 0) { AppendU16(out, 0xfffd); continue; }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      AppendU16(out, 0xd800 + (cp >> 10));
      AppendU16(out, 0xdc00 + (cp & 0x3ff));
    } else {
      AppendU16(out, static_cast<unsigned>(cp));
    }
  }
  out += '"';
}

std::string Json::Dump(const DumpOptions& options) const {
  std::string out;
  DumpImpl(*this, options, 0, out);
  return out;
}

// ---------------------------------------------------------------------------
// Parsing

namespace {

class Parser {
 public:
  Parser(std::string_view text, int max_depth) : t_(text), max_depth_(max_depth) {}

  StatusOr<Json> ParseDocument() {
    Json v;
    RETURN_IF_ERROR(ParseValue(v, 0));
    SkipWs();
    if (p_ != t_.size()) return Error("unexpected data after the JSON value");
    return v;
  }

 private:
  Status Error(const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p_ && i < t_.size(); ++i) {
      if (t_[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    return InvalidArgumentError("JSON line " + std::to_string(line) + " column " +
                                std::to_string(col) + ": " + what);
  }

  void SkipWs() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\n' || t_[p_] == '\t' || t_[p_] == '\r')) ++p_;
  }

  Status ParseValue(Json& out, int depth) {
    if (depth > max_depth_) return Error("nesting deeper than " + std::to_string(max_depth_));
    SkipWs();
    if (p_ >= t_.size()) return Error("unexpected end of input, expected a value");
    char c = t_[p_];
    if (c == '{') return ParseObject(out, depth);
    if (c == '[') return ParseArray(out, depth);
    if (c == '"') {
      std::string s;
      RETURN_IF_ERROR(ParseString(s));
      out = Json(std::move(s));
      return OkStatus();
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
    if (t_.substr(p_, 4) == "true") { p_ += 4; out = Json(true); return OkStatus(); }
    if (t_.substr(p_, 5) == "false") { p_ += 5; out = Json(false); return OkStatus(); }
    if (t_.substr(p_, 4) == "null") { p_ += 4; out = Json(); return OkStatus(); }
    if (t_.substr(p_, 3) == "NaN") { p_ += 3; out = Json(std::nan("")); return OkStatus(); }
    return Error(std::string("unexpected character '") + c + "', expected a value");
  }

  Status ParseObject(Json& out, int depth) {
    ++p_;
    out = Json::MakeObject();
    std::unordered_map<std::string, size_t> index;
    SkipWs();
    if (p_ < t_.size() && t_[p_] == '}') { ++p_; return OkStatus(); }
    while (true) {
      SkipWs();
      if (p_ >= t_.size() || t_[p_] != '"') return Error("expected a string key");
      std::string key;
      RETURN_IF_ERROR(ParseString(key));
      SkipWs();
      if (p_ >= t_.size() || t_[p_] != ':') return Error("expected ':' after key");
      ++p_;
      Json v;
      RETURN_IF_ERROR(ParseValue(v, depth + 1));
      // Duplicate keys: the last one wins, as in Python.
      auto [it, inserted] = index.emplace(key, out.as_object().size());
      if (inserted) {
        out.as_object().emplace_back(std::move(key), std::move(v));
      } else {
        out.as_object()[it->second].second = std::move(v);
      }
      SkipWs();
      if (p_ < t_.size() && t_[p_] == ',') { ++p_; continue; }
      if (p_ < t_.size() && t_[p_] == '}') { ++p_; return OkStatus(); }
      return Error("expected ',' or '}' in object");
    }
  }

  Status ParseArray(Json& out, int depth) {
    ++p_;
    out = Json::MakeArray();
    SkipWs();
    if (p_ < t_.size() && t_[p_] == ']') { ++p_; return OkStatus(); }
    while (true) {
      Json v;
      RETURN_IF_ERROR(ParseValue(v, depth + 1));
      out.as_array().push_back(std::move(v));
      SkipWs();
      if (p_ < t_.size() && t_[p_] == ',') { ++p_; continue; }
      if (p_ < t_.size() && t_[p_] == ']') { ++p_; return OkStatus(); }
      return Error("expected ',' or ']' in array");
    }
  }

  Status ParseHex4(uint32_t& v) {
    if (p_ + 4 > t_.size()) return Error("truncated \\u escape");
    v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = t_[p_ + k];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return Error("invalid \\u escape");
    }
    p_ += 4;
    return OkStatus();
  }

  Status ParseString(std::string& out) {
    ++p_;  // opening quote
    while (true) {
      size_t start = p_;
      while (p_ < t_.size() && t_[p_] != '"' && t_[p_] != '\\' &&
             static_cast<unsigned char>(t_[p_]) >= 0x20) {
        ++p_;
      }
      out.append(t_.substr(start, p_ - start));
      if (p_ >= t_.size()) return Error("unterminated string");
      char c = t_[p_];
      if (c == '"') { ++p_; return OkStatus(); }
      if (c != '\\') return Error("control character in string");
      ++p_;
      if (p_ >= t_.size()) return Error("unterminated escape");
      char e = t_[p_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          RETURN_IF_ERROR(ParseHex4(cp));
          if (cp >= 0xd800 && cp < 0xdc00 && p_ + 1 < t_.size() && t_[p_] == '\\' &&
              t_[p_ + 1] == 'u') {
            size_t save = p_;
            p_ += 2;
            uint32_t lo = 0;
            RETURN_IF_ERROR(ParseHex4(lo));
            if (lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else {
              p_ = save;
            }
          }
          if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;  // lone surrogate
          AppendUtf8(out, cp);
          break;
        }
        default: return Error(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  Status ParseNumber(Json& out) {
    size_t start = p_;
    bool is_double = false;
    if (t_[p_] == '-') ++p_;
    if (t_.substr(p_, 8) == "Infinity") {
      p_ += 8;
      out = Json(t_[start] == '-' ? -HUGE_VAL : HUGE_VAL);
      return OkStatus();
    }
    if (p_ >= t_.size() || !(t_[p_] >= '0' && t_[p_] <= '9')) return Error("invalid number");
    while (p_ < t_.size() && t_[p_] >= '0' && t_[p_] <= '9') ++p_;
    if (p_ < t_.size() && t_[p_] == '.') {
      is_double = true;
      ++p_;
      if (p_ >= t_.size() || !(t_[p_] >= '0' && t_[p_] <= '9')) return Error("invalid number");
      while (p_ < t_.size() && t_[p_] >= '0' && t_[p_] <= '9') ++p_;
    }
    if (p_ < t_.size() && (t_[p_] == 'e' || t_[p_] == 'E')) {
      is_double = true;
      ++p_;
      if (p_ < t_.size() && (t_[p_] == '+' || t_[p_] == '-')) ++p_;
      if (p_ >= t_.size() || !(t_[p_] >= '0' && t_[p_] <= '9')) return Error("invalid number");
      while (p_ < t_.size() && t_[p_] >= '0' && t_[p_] <= '9') ++p_;
    }
    std::string num(t_.substr(start, p_ - start));
    if (!is_double) {
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(num.c_str(), &end, 10);
      if (errno != ERANGE) {
        out = Json(static_cast<int64_t>(v));
        return OkStatus();
      }
    }
    out = Json(std::strtod(num.c_str(), nullptr));
    return OkStatus();
  }

  std::string_view t_;
  size_t p_ = 0;
  int max_depth_;
};

}  // namespace

StatusOr<Json> Json::Parse(std::string_view text, int max_depth) {
  return Parser(text, max_depth).ParseDocument();
}

}  // namespace common
