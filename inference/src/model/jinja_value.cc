// Jinja values: truthiness, equality, Python-style str()/repr(), JSON.
#include <cmath>
#include <cstdio>

#include "model/jinja_ast.h"

namespace inference::jinja {

bool Value::Truthy() const {
  switch (kind) {
    case kUndefined:
    case kNone:
      return false;
    case kBool:
      return b;
    case kInt:
      return i != 0;
    case kFloat:
      return f != 0;
    case kString:
      return !s.empty();
    case kList:
      return !list->empty();
    case kDict:
      return is_namespace || !dict->empty();
    case kMacro:
    case kBuiltin:
      return true;
  }
  return false;
}

const Value* Value::Find(std::string_view key) const {
  if (kind != kDict) return nullptr;
  for (const auto& [k, v] : *dict) {
    if (k == key) return &v;
  }
  return nullptr;
}

Value FromJson(const common::Json& j) {
  switch (j.type()) {
    case common::Json::Type::kNull: return Value::None();
    case common::Json::Type::kBool: return Value::Bool(j.as_bool());
    case common::Json::Type::kInt: return Value::Int(j.as_int());
    case common::Json::Type::kDouble: return Value::Float(j.as_double());
    case common::Json::Type::kString: return Value::Str(j.as_string());
    case common::Json::Type::kArray: {
      List l;
      l.reserve(j.as_array().size());
      for (const auto& x : j.as_array()) l.push_back(FromJson(x));
      return Value::MakeList(std::move(l));
    }
    case common::Json::Type::kObject: {
      Dict d;
      d.reserve(j.as_object().size());
      for (const auto& [k, v] : j.as_object()) d.emplace_back(k, FromJson(v));
      return Value::MakeDict(std::move(d));
    }
  }
  return Value();
}

common::Json ToJson(const Value& v, int line) {
  switch (v.kind) {
    case Value::kUndefined:
    case Value::kNone: return common::Json();
    case Value::kBool: return common::Json(v.b);
    case Value::kInt: return common::Json(v.i);
    case Value::kFloat: return common::Json(v.f);
    case Value::kString: return common::Json(v.s);
    case Value::kList: {
      common::Json a = common::Json::MakeArray();
      for (const auto& x : *v.list) a.Push(ToJson(x, line));
      return a;
    }
    case Value::kDict: {
      common::Json o = common::Json::MakeObject();
      for (const auto& [k, x] : *v.dict) o.Set(k, ToJson(x, line));
      return o;
    }
    default:
      throw JinjaError{line, std::string("cannot serialize a ") + KindName(v) + " to JSON"};
  }
}

namespace {
std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == std::floor(d) && std::fabs(d) < 1e16) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.1f", d);
    return buf;
  }
  // Shortest representation that round-trips, as Python prints floats.
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

std::string QuoteRepr(const std::string& s) {
  // Python picks single quotes unless the string has ' and no ".
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char q = has_single && !has_double ? '"' : '\'';
  std::string out(1, q);
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c == q) out.push_back('\\');
        out.push_back(c);
    }
  }
  out.push_back(q);
  return out;
}
}  // namespace

std::string Repr(const Value& v) {
  switch (v.kind) {
    case Value::kString: return QuoteRepr(v.s);
    case Value::kList: {
      std::string out = "[";
      for (size_t k = 0; k < v.list->size(); ++k) {
        if (k) out += ", ";
        out += Repr((*v.list)[k]);
      }
      return out + "]";
    }
    case Value::kDict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, x] : *v.dict) {
        if (!first) out += ", ";
        first = false;
        out += QuoteRepr(k) + ": " + Repr(x);
      }
      return out + "}";
    }
    default: return ToStr(v);
  }
}

std::string ToStr(const Value& v) {
  switch (v.kind) {
    case Value::kUndefined: return "";
    case Value::kNone: return "None";
    case Value::kBool: return v.b ? "True" : "False";
    case Value::kInt: return std::to_string(v.i);
    case Value::kFloat: return FloatRepr(v.f);
    case Value::kString: return v.s;
    case Value::kList:
    case Value::kDict: return Repr(v);
    case Value::kMacro: return "<macro>";
    case Value::kBuiltin: return "<function " + v.s + ">";
  }
  return "";
}

bool Equals(const Value& a, const Value& b) {
  if (a.IsNumber() && b.IsNumber()) {
    if (a.kind == Value::kFloat || b.kind == Value::kFloat) return a.AsDouble() == b.AsDouble();
    return (a.kind == Value::kBool ? a.b : a.i) == (b.kind == Value::kBool ? b.b : b.i);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::kUndefined:
    case Value::kNone: return true;
    case Value::kString: return a.s == b.s;
    case Value::kList: {
      if (a.list->size() != b.list->size()) return false;
      for (size_t k = 0; k < a.list->size(); ++k) {
        if (!Equals((*a.list)[k], (*b.list)[k])) return false;
      }
      return true;
    }
    case Value::kDict: {
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, x] : *a.dict) {
        const Value* y = b.Find(k);
        if (!y || !Equals(x, *y)) return false;
      }
      return true;
    }
    case Value::kMacro: return a.macro == b.macro;
    case Value::kBuiltin: return a.s == b.s;
    default: return false;
  }
}

const char* KindName(const Value& v) {
  switch (v.kind) {
    case Value::kUndefined: return "undefined";
    case Value::kNone: return "none";
    case Value::kBool: return "boolean";
    case Value::kInt: return "integer";
    case Value::kFloat: return "float";
    case Value::kString: return "string";
    case Value::kList: return "list";
    case Value::kDict: return v.is_namespace ? "namespace" : "dict";
    case Value::kMacro: return "macro";
    case Value::kBuiltin: return "function";
  }
  return "?";
}

size_t CodepointCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace inference::jinja
