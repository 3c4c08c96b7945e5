// Global functions, filters, tests and methods of the Jinja subset. Only
// pure functions: nothing here touches files, the network or the process.
#include <algorithm>
#include <cmath>
#include <ctime>

#include "inference/unicode.h"
#include "model/jinja_eval.h"

namespace inference::jinja {
namespace {

const Value* Arg(const List& args, const Dict& kwargs, size_t pos, const char* name) {
  if (pos < args.size()) return &args[pos];
  for (const auto& [k, v] : kwargs) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string NeedString(const Value* v, const char* what, int line) {
  if (!v || v->kind != Value::kString) {
    throw JinjaError{line, std::string(what) + " expects a string, got " + (v ? KindName(*v) : "nothing")};
  }
  return v->s;
}

bool InSet(uint32_t cp, const std::vector<uint32_t>* chars) {
  if (!chars) return unicode::IsWhitespace(cp);
  return std::find(chars->begin(), chars->end(), cp) != chars->end();
}

// Python's str.strip/lstrip/rstrip.
std::string Strip(const std::string& s, const Value* chars_arg, bool left, bool right) {
  std::vector<uint32_t> chars;
  const std::vector<uint32_t>* set = nullptr;
  if (chars_arg && chars_arg->kind == Value::kString) {
    chars = unicode::ToCodepoints(chars_arg->s);
    set = &chars;
  }
  std::vector<uint32_t> cps = unicode::ToCodepoints(s);
  size_t b = 0, e = cps.size();
  if (left) {
    while (b < e && InSet(cps[b], set)) ++b;
  }
  if (right) {
    while (e > b && InSet(cps[e - 1], set)) --e;
  }
  std::string out;
  for (size_t i = b; i < e; ++i) unicode::AppendUtf8(cps[i], out);
  return out;
}

std::string MapChars(const std::string& s, bool upper) {
  std::string out;
  for (char c : s) {
    if (upper && c >= 'a' && c <= 'z') {
      out.push_back(static_cast<char>(c - 32));
    } else if (!upper && c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c + 32));
    } else {
      out.push_back(c);
    }
  }
  if (!upper) {
    // Non-ASCII lowercase through the Unicode table.
    std::string u;
    for (uint32_t cp : unicode::ToCodepoints(out)) unicode::AppendUtf8(unicode::ToLower(cp), u);
    return u;
  }
  return out;
}

std::string Replace(const std::string& s, const std::string& from, const std::string& to, int64_t count, size_t max,
                    int line) {
  if (from.empty()) return s;
  std::string out;
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t f = s.find(from, pos);
    if (f == std::string::npos) break;
    out.append(s, pos, f - pos);
    out += to;
    if (out.size() > max) throw JinjaError{line, "template output exceeds " + std::to_string(max) + " bytes", true};
    pos = f + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

List Split(const std::string& s, const Value* sep, int64_t maxsplit) {
  List out;
  if (!sep || sep->kind != Value::kString) {
    // Runs of whitespace separate; leading/trailing whitespace is dropped.
    std::vector<uint32_t> cps = unicode::ToCodepoints(s);
    size_t i = 0;
    int64_t splits = 0;
    while (i < cps.size()) {
      while (i < cps.size() && unicode::IsWhitespace(cps[i])) ++i;
      if (i >= cps.size()) break;
      std::string word;
      if (maxsplit >= 0 && splits >= maxsplit) {
        for (; i < cps.size(); ++i) unicode::AppendUtf8(cps[i], word);
        std::string t = Strip(word, nullptr, false, true);
        out.push_back(Value::Str(t));
        break;
      }
      while (i < cps.size() && !unicode::IsWhitespace(cps[i])) unicode::AppendUtf8(cps[i++], word);
      out.push_back(Value::Str(word));
      ++splits;
    }
    return out;
  }
  const std::string& d = sep->s;
  size_t pos = 0;
  int64_t splits = 0;
  while (!d.empty() && (maxsplit < 0 || splits < maxsplit)) {
    size_t f = s.find(d, pos);
    if (f == std::string::npos) break;
    out.push_back(Value::Str(s.substr(pos, f - pos)));
    pos = f + d.size();
    ++splits;
  }
  out.push_back(Value::Str(s.substr(pos)));
  return out;
}

common::Json::DumpOptions JsonOptions(const Value* indent) {
  common::Json::DumpOptions o;
  o.item_sep = ", ";
  o.key_sep = ": ";
  if (indent && indent->kind == Value::kInt) {
    o.indent = static_cast<int>(std::clamp<int64_t>(indent->i, 0, 64));
    o.item_sep = ",";
  }
  return o;
}

const Value* Attr(const Value& v, const std::string& path) {
  const Value* cur = &v;
  size_t pos = 0;
  while (cur && pos <= path.size()) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    cur = cur->Find(part);
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return cur;
}

int Compare(const Value& a, const Value& b, int line) {
  if (a.IsNumber() && b.IsNumber()) return a.AsDouble() < b.AsDouble() ? -1 : a.AsDouble() > b.AsDouble() ? 1 : 0;
  if (a.kind == Value::kString && b.kind == Value::kString) return a.s.compare(b.s);
  throw JinjaError{line, std::string("cannot compare ") + KindName(a) + " and " + KindName(b)};
}

}  // namespace

bool Interpreter::IsBuiltinFunction(const std::string& name) {
  return name == "range" || name == "namespace" || name == "raise_exception" || name == "strftime_now" ||
         name == "dict";
}

Value Interpreter::CallBuiltin(const std::string& name, const List& args, const Dict& kwargs, int line) {
  if (name == "range") {
    int64_t start = 0, stop = 0, step = 1;
    for (const auto& a : args) {
      if (a.kind != Value::kInt) throw JinjaError{line, "range() expects integers"};
    }
    if (args.size() == 1) {
      stop = args[0].i;
    } else if (args.size() >= 2) {
      start = args[0].i;
      stop = args[1].i;
      if (args.size() >= 3) step = args[2].i;
    } else {
      throw JinjaError{line, "range() expects 1 to 3 arguments"};
    }
    if (step == 0) throw JinjaError{line, "range() step must not be zero"};
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      Step(line);
      CheckSize(out.size() * 16, line);
      out.push_back(Value::Int(i));
    }
    return Value::MakeList(std::move(out));
  }
  if (name == "namespace" || name == "dict") {
    Value ns = Value::MakeDict();
    for (const auto& a : args) {
      if (a.kind == Value::kDict) {
        for (const auto& kv : *a.dict) ns.dict->push_back(kv);
      }
    }
    for (const auto& kv : kwargs) ns.dict->push_back(kv);
    ns.is_namespace = name == "namespace";
    return ns;
  }
  if (name == "raise_exception") {
    JinjaError err{line, args.empty() ? "raise_exception() called" : ToStr(args[0])};
    err.raised = true;
    throw err;
  }
  if (name == "strftime_now") {
    std::string fmt = NeedString(Arg(args, kwargs, 0, "format"), "strftime_now", line);
    int64_t now = limits_.now_unix_seconds ? limits_.now_unix_seconds() : static_cast<int64_t>(std::time(nullptr));
    std::time_t t = static_cast<std::time_t>(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[256];
    size_t n = fmt.size() < 100 ? std::strftime(buf, sizeof(buf), fmt.c_str(), &tm) : 0;
    return Value::Str(std::string(buf, n));
  }
  throw JinjaError{line, "unknown function '" + name + "'"};
}

Value Interpreter::CallMethod(const Value& obj, const std::string& name, const List& args, const Dict& kwargs,
                              int line) {
  if (obj.kind == Value::kString) {
    const std::string& s = obj.s;
    if (name == "startswith" || name == "endswith") {
      const Value* a = Arg(args, kwargs, 0, "prefix");
      List options;
      if (a && a->kind == Value::kList) {
        options = *a->list;
      } else {
        options.push_back(Value::Str(NeedString(a, name.c_str(), line)));
      }
      for (const auto& o : options) {
        if (o.kind != Value::kString) continue;
        if (name == "startswith" ? s.compare(0, o.s.size(), o.s) == 0
                                 : s.size() >= o.s.size() && s.compare(s.size() - o.s.size(), o.s.size(), o.s) == 0) {
          return Value::Bool(true);
        }
      }
      return Value::Bool(false);
    }
    if (name == "strip") return Value::Str(Strip(s, Arg(args, kwargs, 0, "chars"), true, true));
    if (name == "lstrip") return Value::Str(Strip(s, Arg(args, kwargs, 0, "chars"), true, false));
    if (name == "rstrip") return Value::Str(Strip(s, Arg(args, kwargs, 0, "chars"), false, true));
    if (name == "split") {
      const Value* m = Arg(args, kwargs, 1, "maxsplit");
      return Value::MakeList(Split(s, Arg(args, kwargs, 0, "sep"), m && m->kind == Value::kInt ? m->i : -1));
    }
    if (name == "replace") {
      const Value* c = Arg(args, kwargs, 2, "count");
      return Value::Str(Replace(s, NeedString(Arg(args, kwargs, 0, "old"), "replace", line),
                                NeedString(Arg(args, kwargs, 1, "new"), "replace", line),
                                c && c->kind == Value::kInt ? c->i : -1, limits_.max_output, line));
    }
    if (name == "lower") return Value::Str(MapChars(s, false));
    if (name == "upper") return Value::Str(MapChars(s, true));
    if (name == "title" || name == "capitalize") return ApplyFilter(name, obj, args, kwargs, line);
    if (name == "find") {
      size_t f = s.find(NeedString(Arg(args, kwargs, 0, "sub"), "find", line));
      return Value::Int(f == std::string::npos ? -1 : static_cast<int64_t>(CodepointCount(s.substr(0, f))));
    }
    if (name == "count") {
      std::string sub = NeedString(Arg(args, kwargs, 0, "sub"), "count", line);
      int64_t n = 0;
      for (size_t p = sub.empty() ? std::string::npos : s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::Int(n);
    }
    if (name == "join") {
      const Value* it = Arg(args, kwargs, 0, "iterable");
      if (!it) throw JinjaError{line, "join() expects an iterable"};
      std::string out;
      bool first = true;
      for (const auto& x : Iterate(*it, line)) {
        if (!first) out += s;
        first = false;
        out += ToStr(x);
        CheckSize(out.size(), line);
      }
      return Value::Str(std::move(out));
    }
    if (name == "splitlines") {
      const Value newline = Value::Str("\n");
      List out = Split(s, &newline, -1);
      if (!out.empty() && out.back().s.empty()) out.pop_back();
      return Value::MakeList(std::move(out));
    }
    if (name == "isdigit" || name == "isalpha" || name == "isspace") {
      if (s.empty()) return Value::Bool(false);
      for (uint32_t cp : unicode::ToCodepoints(s)) {
        uint8_t cat = unicode::Category(cp);
        bool ok = name == "isdigit" ? (cat & unicode::kNumber) != 0
                  : name == "isalpha" ? (cat & unicode::kLetter) != 0
                                      : unicode::IsWhitespace(cp);
        if (!ok) return Value::Bool(false);
      }
      return Value::Bool(true);
    }
  }
  if (obj.kind == Value::kDict) {
    if (name == "get") {
      std::string key = NeedString(Arg(args, kwargs, 0, "key"), "get", line);
      if (const Value* v = obj.Find(key)) return *v;
      const Value* d = Arg(args, kwargs, 1, "default");
      return d ? *d : Value::None();
    }
    if (name == "items") return ApplyFilter("items", obj, {}, {}, line);
    if (name == "keys" || name == "values") {
      List out;
      for (const auto& [k, v] : *obj.dict) out.push_back(name == "keys" ? Value::Str(k) : v);
      return Value::MakeList(std::move(out));
    }
  }
  throw JinjaError{line, std::string(KindName(obj)) + " has no method '" + name + "'"};
}

Value Interpreter::ApplyFilter(const std::string& name, const Value& v, const List& args, const Dict& kwargs,
                               int line) {
  if (name == "trim") return Value::Str(Strip(ToStr(v), Arg(args, kwargs, 0, "chars"), true, true));
  if (name == "length" || name == "count") {
    if (v.kind == Value::kString) return Value::Int(static_cast<int64_t>(CodepointCount(v.s)));
    if (v.kind == Value::kList) return Value::Int(static_cast<int64_t>(v.list->size()));
    if (v.kind == Value::kDict) return Value::Int(static_cast<int64_t>(v.dict->size()));
    if (v.IsUndefined()) return Value::Int(0);
    throw JinjaError{line, std::string("object of type ") + KindName(v) + " has no length"};
  }
  if (name == "tojson") {
    std::string s = ToJson(v, line).Dump(JsonOptions(Arg(args, kwargs, 0, "indent")));
    CheckSize(s.size(), line);
    return Value::Str(std::move(s));
  }
  if (name == "string") return Value::Str(ToStr(v));
  if (name == "safe" || name == "e" || name == "escape") {
    if (name == "safe") return v;
    std::string out;
    for (char c : ToStr(v)) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out.push_back(c);
      }
    }
    return Value::Str(out);
  }
  if (name == "lower") return Value::Str(MapChars(ToStr(v), false));
  if (name == "upper") return Value::Str(MapChars(ToStr(v), true));
  if (name == "capitalize" || name == "title") {
    std::string s = MapChars(ToStr(v), false);
    bool start = true;
    for (char& c : s) {
      if (start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      start = name == "title" ? !std::isalnum(static_cast<unsigned char>(c)) : false;
    }
    return Value::Str(s);
  }
  if (name == "replace") {
    const Value* c = Arg(args, kwargs, 2, "count");
    return Value::Str(Replace(ToStr(v), NeedString(Arg(args, kwargs, 0, "old"), "replace", line),
                              NeedString(Arg(args, kwargs, 1, "new"), "replace", line),
                              c && c->kind == Value::kInt ? c->i : -1, limits_.max_output, line));
  }
  if (name == "first" || name == "last") {
    List items = Iterate(v, line);
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    const Value* sep = Arg(args, kwargs, 0, "d");
    const Value* attr = Arg(args, kwargs, 1, "attribute");
    std::string d = sep && sep->kind == Value::kString ? sep->s : "";
    std::string out;
    bool first = true;
    for (const auto& x : Iterate(v, line)) {
      if (!first) out += d;
      first = false;
      const Value* item = attr && attr->kind == Value::kString ? Attr(x, attr->s) : &x;
      out += item ? ToStr(*item) : "";
      CheckSize(out.size(), line);
    }
    return Value::Str(std::move(out));
  }
  if (name == "default" || name == "d") {
    const Value* def = Arg(args, kwargs, 0, "default_value");
    const Value* boolean = Arg(args, kwargs, 1, "boolean");
    bool use_default = v.IsUndefined() || (boolean && boolean->Truthy() && !v.Truthy());
    if (use_default) return def ? *def : Value::Str("");
    return v;
  }
  if (name == "items") {
    List out;
    if (v.kind == Value::kDict) {
      for (const auto& [k, x] : *v.dict) out.push_back(Value::MakeList({Value::Str(k), x}));
    } else if (!v.IsUndefined() && v.kind != Value::kNone) {
      throw JinjaError{line, std::string("items() of a ") + KindName(v)};
    }
    return Value::MakeList(std::move(out));
  }
  if (name == "list") return Value::MakeList(Iterate(v, line));
  if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
    const bool by_attr = name == "selectattr" || name == "rejectattr";
    const bool select = name == "selectattr" || name == "select";
    size_t test_pos = by_attr ? 1 : 0;
    std::string attr = by_attr ? NeedString(Arg(args, {}, 0, "attribute"), name.c_str(), line) : "";
    const Value* test = test_pos < args.size() ? &args[test_pos] : nullptr;
    List test_args(args.begin() + static_cast<long>(std::min(args.size(), test_pos + 1)), args.end());
    List out;
    for (const auto& x : Iterate(v, line)) {
      const Value* a = by_attr ? Attr(x, attr) : &x;
      Value val = a ? *a : Value();
      bool r = test ? ApplyTest(NeedString(test, "test name", line), val, test_args, line) : val.Truthy();
      if (r == select) out.push_back(x);
    }
    return Value::MakeList(std::move(out));
  }
  if (name == "map") {
    const Value* attr = nullptr;
    for (const auto& [k, x] : kwargs) {
      if (k == "attribute") attr = &x;
    }
    const Value* def = nullptr;
    for (const auto& [k, x] : kwargs) {
      if (k == "default") def = &x;
    }
    List out;
    for (const auto& x : Iterate(v, line)) {
      if (attr) {
        const Value* a = Attr(x, ToStr(*attr));
        out.push_back(a ? *a : (def ? *def : Value()));
      } else if (!args.empty()) {
        List rest(args.begin() + 1, args.end());
        out.push_back(ApplyFilter(NeedString(&args[0], "map", line), x, rest, {}, line));
      } else {
        out.push_back(x);
      }
    }
    return Value::MakeList(std::move(out));
  }
  if (name == "int") {
    if (v.kind == Value::kInt) return v;
    if (v.kind == Value::kFloat && std::isfinite(v.f) && std::fabs(v.f) < 9e18) return Value::Int(static_cast<int64_t>(v.f));
    if (v.kind == Value::kBool) return Value::Int(v.b);
    if (v.kind == Value::kString) {
      try {
        size_t used = 0;
        int64_t r = std::stoll(Strip(v.s, nullptr, true, true), &used);
        return Value::Int(r);
      } catch (...) {
      }
    }
    const Value* def = Arg(args, kwargs, 0, "default");
    return def ? *def : Value::Int(0);
  }
  if (name == "float") {
    if (v.IsNumber()) return Value::Float(v.AsDouble());
    if (v.kind == Value::kString) {
      try {
        return Value::Float(std::stod(v.s));
      } catch (...) {
      }
    }
    return Value::Float(0);
  }
  if (name == "abs") {
    if (v.kind == Value::kInt && v.i != INT64_MIN) return Value::Int(v.i < 0 ? -v.i : v.i);
    if (v.kind == Value::kFloat) return Value::Float(std::fabs(v.f));
    throw JinjaError{line, "abs() of a non-number"};
  }
  if (name == "round") {
    const Value* p = Arg(args, kwargs, 0, "precision");
    double scale = std::pow(10.0, p && p->kind == Value::kInt ? static_cast<double>(std::clamp<int64_t>(p->i, 0, 15)) : 0.0);
    return Value::Float(std::round(v.AsDouble() * scale) / scale);
  }
  if (name == "reverse") {
    if (v.kind == Value::kString) {
      List chars = Iterate(v, line);
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += it->s;
      return Value::Str(out);
    }
    List items = Iterate(v, line);
    std::reverse(items.begin(), items.end());
    return Value::MakeList(std::move(items));
  }
  if (name == "sort" || name == "unique" || name == "min" || name == "max" || name == "sum") {
    List items = Iterate(v, line);
    const Value* attr = nullptr;
    for (const auto& [k, x] : kwargs) {
      if (k == "attribute") attr = &x;
    }
    auto key = [&](const Value& x) -> Value {
      if (!attr) return x;
      const Value* a = Attr(x, ToStr(*attr));
      return a ? *a : Value();
    };
    if (name == "sum") {
      Value total = Value::Int(0);
      for (const auto& x : items) total = Binary("+", total, key(x), line);
      return total;
    }
    if (name == "unique") {
      List out;
      for (const auto& x : items) {
        bool seen = false;
        for (const auto& y : out) seen = seen || Equals(key(x), key(y));
        if (!seen) out.push_back(x);
      }
      return Value::MakeList(std::move(out));
    }
    std::stable_sort(items.begin(), items.end(),
                     [&](const Value& a, const Value& b) { return Compare(key(a), key(b), line) < 0; });
    if (name == "min") return items.empty() ? Value() : items.front();
    if (name == "max") return items.empty() ? Value() : items.back();
    const Value* rev = Arg(args, kwargs, 0, "reverse");
    if (rev && rev->Truthy()) std::reverse(items.begin(), items.end());
    return Value::MakeList(std::move(items));
  }
  if (name == "indent") {
    const Value* w = Arg(args, kwargs, 0, "width");
    const Value* first = Arg(args, kwargs, 1, "first");
    std::string pad(w && w->kind == Value::kInt ? static_cast<size_t>(std::clamp<int64_t>(w->i, 0, 64)) : 4, ' ');
    if (w && w->kind == Value::kString) pad = w->s;
    std::string s = ToStr(v), out;
    if (first && first->Truthy()) out = pad;
    for (size_t i = 0; i < s.size(); ++i) {
      out.push_back(s[i]);
      if (s[i] == '\n' && i + 1 < s.size() && s[i + 1] != '\n') out += pad;
      CheckSize(out.size(), line);
    }
    return Value::Str(out);
  }
  if (name == "wordcount") return Value::Int(static_cast<int64_t>(Split(ToStr(v), nullptr, -1).size()));
  if (name == "dictsort") {
    List items = ApplyFilter("items", v, {}, {}, line).list ? *ApplyFilter("items", v, {}, {}, line).list : List{};
    std::stable_sort(items.begin(), items.end(),
                     [&](const Value& a, const Value& b) { return (*a.list)[0].s < (*b.list)[0].s; });
    return Value::MakeList(std::move(items));
  }
  throw JinjaError{line, "unknown filter '" + name + "'"};
}

bool Interpreter::ApplyTest(const std::string& name, const Value& v, const List& args, int line) {
  if (name == "defined") return !v.IsUndefined();
  if (name == "undefined") return v.IsUndefined();
  if (name == "none") return v.kind == Value::kNone;
  if (name == "string") return v.kind == Value::kString;
  if (name == "number") return v.kind == Value::kInt || v.kind == Value::kFloat;
  if (name == "integer") return v.kind == Value::kInt;
  if (name == "float") return v.kind == Value::kFloat;
  if (name == "boolean") return v.kind == Value::kBool;
  if (name == "true") return v.kind == Value::kBool && v.b;
  if (name == "false") return v.kind == Value::kBool && !v.b;
  if (name == "mapping") return v.kind == Value::kDict;
  if (name == "iterable") return v.kind == Value::kList || v.kind == Value::kDict || v.kind == Value::kString;
  if (name == "sequence") return v.kind == Value::kList || v.kind == Value::kString || v.kind == Value::kDict;
  if (name == "callable") return v.kind == Value::kMacro || v.kind == Value::kBuiltin;
  if (name == "odd" || name == "even") {
    if (v.kind != Value::kInt) throw JinjaError{line, "test '" + name + "' expects an integer"};
    return (v.i % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    if (v.kind != Value::kInt || args.empty() || args[0].kind != Value::kInt || args[0].i == 0) {
      throw JinjaError{line, "divisibleby expects integers"};
    }
    return v.i % args[0].i == 0;
  }
  if (name == "lower" || name == "upper") {
    if (v.kind != Value::kString) return false;
    return MapChars(v.s, name == "upper") == v.s;
  }
  if (args.empty()) throw JinjaError{line, "unknown test '" + name + "'"};
  const Value& o = args[0];
  if (name == "eq" || name == "equalto" || name == "==" || name == "sameas") return Equals(v, o);
  if (name == "ne" || name == "!=") return !Equals(v, o);
  if (name == "in") return Binary("in", v, o, line).b;
  if (name == "lt" || name == "lessthan") return Compare(v, o, line) < 0;
  if (name == "gt" || name == "greaterthan") return Compare(v, o, line) > 0;
  if (name == "le") return Compare(v, o, line) <= 0;
  if (name == "ge") return Compare(v, o, line) >= 0;
  throw JinjaError{line, "unknown test '" + name + "'"};
}

}  // namespace inference::jinja
