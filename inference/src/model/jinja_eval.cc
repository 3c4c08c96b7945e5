// Tree-walking evaluator for the Jinja subset, with bounded steps, depth and
// output. Filters, tests and methods live in jinja_builtins.cc.
#include "model/jinja_eval.h"

#include <cmath>
#include <ctime>

#include "inference/unicode.h"

namespace inference::jinja {

Interpreter::Interpreter(const Limits& limits) : limits_(limits) {}

void Interpreter::Step(int line) {
  if (++steps_ > limits_.max_steps) {
    throw JinjaError{line, "template exceeded " + std::to_string(limits_.max_steps) + " evaluation steps", true, false};
  }
}

void Interpreter::CheckSize(size_t n, int line) const {
  if (n > limits_.max_output) {
    throw JinjaError{line, "template output exceeds " + std::to_string(limits_.max_output) + " bytes", true};
  }
}

void Interpreter::Write(std::string_view s, int line) {
  CheckSize(out_->size() + s.size(), line);
  out_->append(s);
}

std::string Interpreter::Render(const Program& program, Dict globals) {
  scopes_.clear();
  scopes_.emplace_back();
  for (auto& [k, v] : globals) scopes_.back()[k] = std::move(v);
  std::string out;
  out_ = &out;
  Exec(program.body);
  return out;
}

const Value* Interpreter::Lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto f = it->find(name);
    if (f != it->end()) return &f->second;
  }
  return nullptr;
}

void Interpreter::Assign(const std::string& name, Value v) { scopes_.back()[name] = std::move(v); }

Interpreter::Flow Interpreter::Exec(const Body& body) {
  for (const auto& s : body) {
    Flow f = ExecStmt(*s);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

List Interpreter::Iterate(const Value& v, int line) {
  switch (v.kind) {
    case Value::kList: return *v.list;
    case Value::kDict: {
      List keys;
      for (const auto& [k, x] : *v.dict) keys.push_back(Value::Str(k));
      return keys;
    }
    case Value::kString: {
      List chars;
      for (size_t i = 0; i < v.s.size();) {
        int len;
        unicode::DecodeUtf8At(v.s, i, &len);
        chars.push_back(Value::Str(v.s.substr(i, static_cast<size_t>(len))));
        i += static_cast<size_t>(len);
      }
      return chars;
    }
    case Value::kUndefined:
    case Value::kNone:
      return {};
    default:
      throw JinjaError{line, std::string("cannot iterate over a ") + KindName(v)};
  }
}

Interpreter::Flow Interpreter::ExecStmt(const Stmt& s) {
  Step(s.line);
  switch (s.kind) {
    case Stmt::kText:
      Write(s.text, s.line);
      return Flow::kNormal;
    case Stmt::kOutput: {
      Value v = Eval(*s.expr);
      Write(ToStr(v), s.line);
      return Flow::kNormal;
    }
    case Stmt::kIf:
      for (const auto& [cond, body] : s.branches) {
        if (!cond || Eval(*cond).Truthy()) return Exec(body);
      }
      return Flow::kNormal;
    case Stmt::kFor: {
      List items = Iterate(Eval(*s.expr), s.line);
      if (s.filter) {
        List kept;
        for (auto& item : items) {
          scopes_.emplace_back();
          Bind(s.targets, item, s.line);
          bool keep = Eval(*s.filter).Truthy();
          scopes_.pop_back();
          if (keep) kept.push_back(std::move(item));
        }
        items = std::move(kept);
      }
      if (items.empty()) {
        if (!s.else_body.empty()) return Exec(s.else_body);
        return Flow::kNormal;
      }
      const int64_t n = static_cast<int64_t>(items.size());
      for (int64_t i = 0; i < n; ++i) {
        Step(s.line);
        scopes_.emplace_back();
        Dict loop;
        loop.emplace_back("index", Value::Int(i + 1));
        loop.emplace_back("index0", Value::Int(i));
        loop.emplace_back("revindex", Value::Int(n - i));
        loop.emplace_back("revindex0", Value::Int(n - i - 1));
        loop.emplace_back("first", Value::Bool(i == 0));
        loop.emplace_back("last", Value::Bool(i == n - 1));
        loop.emplace_back("length", Value::Int(n));
        loop.emplace_back("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value());
        loop.emplace_back("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value());
        Assign("loop", Value::MakeDict(std::move(loop)));
        Bind(s.targets, items[static_cast<size_t>(i)], s.line);
        Flow f = Exec(s.body);
        scopes_.pop_back();
        if (f == Flow::kBreak) break;
      }
      return Flow::kNormal;
    }
    case Stmt::kSet: {
      Value v = Eval(*s.expr);
      if (!s.attr.empty()) {
        const Value* ns = Lookup(s.targets[0]);
        if (!ns || ns->kind != Value::kDict || !ns->is_namespace) {
          throw JinjaError{s.line, "cannot assign attribute '" + s.attr + "' of '" + s.targets[0] +
                                       "': it is not a namespace"};
        }
        for (auto& [k, x] : *ns->dict) {
          if (k == s.attr) {
            x = std::move(v);
            return Flow::kNormal;
          }
        }
        ns->dict->emplace_back(s.attr, std::move(v));
        return Flow::kNormal;
      }
      Bind(s.targets, v, s.line);
      return Flow::kNormal;
    }
    case Stmt::kSetBlock: {
      std::string captured;
      std::string* saved = out_;
      out_ = &captured;
      Exec(s.body);
      out_ = saved;
      Assign(s.targets[0], Value::Str(std::move(captured)));
      return Flow::kNormal;
    }
    case Stmt::kMacro: {
      Value m;
      m.kind = Value::kMacro;
      m.macro = s.macro;
      Assign(s.targets[0], m);
      return Flow::kNormal;
    }
    case Stmt::kBreak:
      return Flow::kBreak;
    case Stmt::kContinue:
      return Flow::kContinue;
    case Stmt::kCallMacro:
      return Flow::kNormal;
  }
  return Flow::kNormal;
}

void Interpreter::Bind(const std::vector<std::string>& targets, const Value& v, int line) {
  if (targets.size() == 1) {
    Assign(targets[0], v);
    return;
  }
  if (v.kind != Value::kList || v.list->size() != targets.size()) {
    throw JinjaError{line, "cannot unpack a " + std::string(KindName(v)) + " into " + std::to_string(targets.size()) +
                               " names"};
  }
  for (size_t i = 0; i < targets.size(); ++i) Assign(targets[i], (*v.list)[i]);
}

Value Interpreter::CallMacro(const MacroStmt& m, const List& args, const Dict& kwargs, int line) {
  if (++depth_ > limits_.max_depth) {
    throw JinjaError{line, "macro calls nested deeper than " + std::to_string(limits_.max_depth), true};
  }
  std::unordered_map<std::string, Value> scope;
  for (size_t i = 0; i < m.params.size(); ++i) {
    const Value* kw = nullptr;
    for (const auto& [k, v] : kwargs) {
      if (k == m.params[i]) kw = &v;
    }
    if (i < args.size()) {
      scope[m.params[i]] = args[i];
    } else if (kw) {
      scope[m.params[i]] = *kw;
    } else if (m.defaults[i]) {
      scope[m.params[i]] = Eval(*m.defaults[i]);
    } else {
      scope[m.params[i]] = Value();
    }
  }
  scopes_.push_back(std::move(scope));
  std::string captured;
  std::string* saved = out_;
  out_ = &captured;
  Exec(m.body);
  out_ = saved;
  scopes_.pop_back();
  --depth_;
  return Value::Str(std::move(captured));
}

namespace {
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
}  // namespace

Value Interpreter::Binary(const std::string& op, const Value& a, const Value& b, int line) {
  if (op == "~") {
    std::string s = ToStr(a);
    std::string t = ToStr(b);
    CheckSize(s.size() + t.size(), line);
    return Value::Str(s + t);
  }
  if (op == "==") return Value::Bool(Equals(a, b));
  if (op == "!=") return Value::Bool(!Equals(a, b));
  if (op == "in" || op == "not in") {
    bool r = false;
    if (b.kind == Value::kString) {
      if (a.kind != Value::kString) throw JinjaError{line, "'in <string>' needs a string on the left"};
      r = b.s.find(a.s) != std::string::npos;
    } else if (b.kind == Value::kList) {
      for (const auto& x : *b.list) {
        if (Equals(a, x)) {
          r = true;
          break;
        }
      }
    } else if (b.kind == Value::kDict) {
      r = a.kind == Value::kString && b.Find(a.s) != nullptr;
    } else if (!b.IsUndefined() && b.kind != Value::kNone) {
      throw JinjaError{line, std::string("'in' needs a container, got ") + KindName(b)};
    }
    return Value::Bool(op == "in" ? r : !r);
  }
  if (op == "<" || op == ">" || op == "<=" || op == ">=") {
    int c;
    if (a.IsNumber() && b.IsNumber()) {
      double x = a.AsDouble(), y = b.AsDouble();
      c = x < y ? -1 : x > y ? 1 : 0;
    } else if (a.kind == Value::kString && b.kind == Value::kString) {
      c = a.s.compare(b.s);
    } else {
      throw JinjaError{line, std::string("cannot compare ") + KindName(a) + " and " + KindName(b)};
    }
    if (op == "<") return Value::Bool(c < 0);
    if (op == ">") return Value::Bool(c > 0);
    if (op == "<=") return Value::Bool(c <= 0);
    return Value::Bool(c >= 0);
  }
  if (op == "+") {
    if (a.kind == Value::kString && b.kind == Value::kString) {
      CheckSize(a.s.size() + b.s.size(), line);
      return Value::Str(a.s + b.s);
    }
    if (a.kind == Value::kList && b.kind == Value::kList) {
      CheckSize((a.list->size() + b.list->size()) * 16, line);
      List l = *a.list;
      l.insert(l.end(), b.list->begin(), b.list->end());
      return Value::MakeList(std::move(l));
    }
  }
  if (op == "*") {
    const Value* seq = a.kind == Value::kString || a.kind == Value::kList ? &a : &b;
    const Value* cnt = seq == &a ? &b : &a;
    if ((seq->kind == Value::kString || seq->kind == Value::kList) && cnt->kind == Value::kInt) {
      int64_t n = std::max<int64_t>(0, cnt->i);
      if (seq->kind == Value::kString) {
        if (n > 0 && seq->s.size() > 0) CheckSize(seq->s.size() * std::min<uint64_t>(static_cast<uint64_t>(n), limits_.max_output + 1), line);
        std::string r;
        for (int64_t i = 0; i < n; ++i) r += seq->s;
        return Value::Str(std::move(r));
      }
      if (n > 0 && !seq->list->empty()) CheckSize(seq->list->size() * 16 * std::min<uint64_t>(static_cast<uint64_t>(n), limits_.max_output + 1), line);
      List l;
      for (int64_t i = 0; i < n; ++i) l.insert(l.end(), seq->list->begin(), seq->list->end());
      return Value::MakeList(std::move(l));
    }
  }
  if (!a.IsNumber() || !b.IsNumber()) {
    throw JinjaError{line, "unsupported operand types for " + op + ": " + KindName(a) + " and " + KindName(b)};
  }
  const bool ints = a.kind != Value::kFloat && b.kind != Value::kFloat;
  const int64_t x = a.kind == Value::kBool ? a.b : a.i;
  const int64_t y = b.kind == Value::kBool ? b.b : b.i;
  if (op == "/") {
    if (b.AsDouble() == 0) throw JinjaError{line, "division by zero"};
    return Value::Float(a.AsDouble() / b.AsDouble());
  }
  if (ints) {
    int64_t r;
    if (op == "+" && !__builtin_add_overflow(x, y, &r)) return Value::Int(r);
    if (op == "-" && !__builtin_sub_overflow(x, y, &r)) return Value::Int(r);
    if (op == "*" && !__builtin_mul_overflow(x, y, &r)) return Value::Int(r);
    if (op == "//" || op == "%") {
      if (y == 0) throw JinjaError{line, "division by zero"};
      if (x == INT64_MIN && y == -1) throw JinjaError{line, "integer overflow"};
      int64_t q = FloorDiv(x, y);
      return Value::Int(op == "//" ? q : x - q * y);
    }
    if (op == "**" && y >= 0) {
      int64_t p = 1;
      for (int64_t i = 0; i < y; ++i) {
        if (__builtin_mul_overflow(p, x, &p)) throw JinjaError{line, "integer overflow"};
        Step(line);
      }
      return Value::Int(p);
    }
    if (op == "+" || op == "-" || op == "*") throw JinjaError{line, "integer overflow"};
  }
  const double fx = a.AsDouble(), fy = b.AsDouble();
  if (op == "+") return Value::Float(fx + fy);
  if (op == "-") return Value::Float(fx - fy);
  if (op == "*") return Value::Float(fx * fy);
  if (op == "**") return Value::Float(std::pow(fx, fy));
  if (op == "//" || op == "%") {
    if (fy == 0) throw JinjaError{line, "division by zero"};
    double q = std::floor(fx / fy);
    return Value::Float(op == "//" ? q : fx - q * fy);
  }
  throw JinjaError{line, "unknown operator " + op};
}

Value Interpreter::Eval(const Expr& e) {
  Step(e.line);
  if (++depth_ > limits_.max_depth * 8) {
    throw JinjaError{e.line, "expression nested too deeply", true};
  }
  struct DepthGuard {
    int* d;
    ~DepthGuard() { --*d; }
  } guard{&depth_};
  switch (e.kind) {
    case Expr::kLiteral:
      return e.literal;
    case Expr::kName: {
      if (const Value* v = Lookup(e.name)) return *v;
      if (IsBuiltinFunction(e.name)) {
        Value f;
        f.kind = Value::kBuiltin;
        f.s = e.name;
        return f;
      }
      return Value();
    }
    case Expr::kGetAttr: {
      Value obj = Eval(*e.args[0]);
      if (const Value* v = obj.Find(e.name)) return *v;
      return Value();
    }
    case Expr::kGetItem: {
      Value obj = Eval(*e.args[0]);
      Value idx = Eval(*e.args[1]);
      return Index(obj, idx, e.line);
    }
    case Expr::kSlice: {
      Value obj = Eval(*e.args[0]);
      Value parts[3];
      for (int k = 0; k < 3; ++k) {
        if (e.args[1 + k]) parts[k] = Eval(*e.args[1 + k]);
      }
      return Slice(obj, parts, e.line);
    }
    case Expr::kCall: {
      List args;
      Dict kwargs;
      for (size_t i = 1; i < e.args.size(); ++i) args.push_back(Eval(*e.args[i]));
      for (const auto& [k, x] : e.kwargs) kwargs.emplace_back(k, Eval(*x));
      const Expr& callee = *e.args[0];
      if (callee.kind == Expr::kGetAttr) {
        Value obj = Eval(*callee.args[0]);
        const Value* member = obj.Find(callee.name);
        if (member && member->kind == Value::kMacro) return CallMacro(*member->macro, args, kwargs, e.line);
        return CallMethod(obj, callee.name, args, kwargs, e.line);
      }
      Value f = Eval(callee);
      if (f.kind == Value::kMacro) return CallMacro(*f.macro, args, kwargs, e.line);
      if (f.kind == Value::kBuiltin) return CallBuiltin(f.s, args, kwargs, e.line);
      throw JinjaError{e.line, (callee.kind == Expr::kName ? "'" + callee.name + "'" : std::string("value")) +
                                   " is not callable (" + KindName(f) + ")"};
    }
    case Expr::kFilter: {
      Value obj = Eval(*e.args[0]);
      List args;
      Dict kwargs;
      for (size_t i = 1; i < e.args.size(); ++i) args.push_back(Eval(*e.args[i]));
      for (const auto& [k, x] : e.kwargs) kwargs.emplace_back(k, Eval(*x));
      return ApplyFilter(e.name, obj, args, kwargs, e.line);
    }
    case Expr::kTest: {
      Value obj = Eval(*e.args[0]);
      List args;
      for (size_t i = 1; i < e.args.size(); ++i) args.push_back(Eval(*e.args[i]));
      bool r = ApplyTest(e.name, obj, args, e.line);
      return Value::Bool(e.negated ? !r : r);
    }
    case Expr::kNeg:
    case Expr::kPos: {
      Value v = Eval(*e.args[0]);
      if (v.kind == Value::kInt) {
        if (e.kind == Expr::kNeg && v.i == INT64_MIN) throw JinjaError{e.line, "integer overflow"};
        return Value::Int(e.kind == Expr::kNeg ? -v.i : v.i);
      }
      if (v.kind == Value::kFloat) return Value::Float(e.kind == Expr::kNeg ? -v.f : v.f);
      throw JinjaError{e.line, std::string("bad operand for unary minus: ") + KindName(v)};
    }
    case Expr::kNot:
      return Value::Bool(!Eval(*e.args[0]).Truthy());
    case Expr::kAnd: {
      Value a = Eval(*e.args[0]);
      return a.Truthy() ? Eval(*e.args[1]) : a;
    }
    case Expr::kOr: {
      Value a = Eval(*e.args[0]);
      return a.Truthy() ? a : Eval(*e.args[1]);
    }
    case Expr::kCond:
      if (Eval(*e.args[1]).Truthy()) return Eval(*e.args[0]);
      return e.args.size() > 2 ? Eval(*e.args[2]) : Value();
    case Expr::kBinary: {
      Value a = Eval(*e.args[0]);
      Value b = Eval(*e.args[1]);
      return Binary(e.name, a, b, e.line);
    }
    case Expr::kList:
    case Expr::kTuple: {
      List l;
      for (const auto& x : e.args) l.push_back(Eval(*x));
      return Value::MakeList(std::move(l));
    }
    case Expr::kDict: {
      Dict d;
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value k = Eval(*e.args[i]);
        if (k.kind != Value::kString) throw JinjaError{e.line, "dict keys must be strings"};
        Value v = Eval(*e.args[i + 1]);
        bool replaced = false;
        for (auto& [dk, dv] : d) {
          if (dk == k.s) {
            dv = v;
            replaced = true;
          }
        }
        if (!replaced) d.emplace_back(k.s, std::move(v));
      }
      return Value::MakeDict(std::move(d));
    }
  }
  return Value();
}

Value Interpreter::Index(const Value& obj, const Value& idx, int line) {
  if (obj.kind == Value::kDict) {
    if (idx.kind == Value::kString) {
      const Value* v = obj.Find(idx.s);
      return v ? *v : Value();
    }
    return Value();
  }
  if (obj.kind == Value::kList || obj.kind == Value::kString) {
    if (idx.kind != Value::kInt) throw JinjaError{line, std::string("indices must be integers, not ") + KindName(idx)};
    if (obj.kind == Value::kList) {
      int64_t n = static_cast<int64_t>(obj.list->size());
      int64_t i = idx.i < 0 ? idx.i + n : idx.i;
      if (i < 0 || i >= n) return Value();
      return (*obj.list)[static_cast<size_t>(i)];
    }
    List chars = Iterate(obj, line);
    int64_t n = static_cast<int64_t>(chars.size());
    int64_t i = idx.i < 0 ? idx.i + n : idx.i;
    if (i < 0 || i >= n) return Value();
    return chars[static_cast<size_t>(i)];
  }
  if (obj.IsUndefined() || obj.kind == Value::kNone) return Value();
  throw JinjaError{line, std::string("cannot index a ") + KindName(obj)};
}

Value Interpreter::Slice(const Value& obj, const Value parts[3], int line) {
  if (obj.kind != Value::kList && obj.kind != Value::kString) {
    throw JinjaError{line, std::string("cannot slice a ") + KindName(obj)};
  }
  List items = Iterate(obj, line);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int k = 0; k < 3; ++k) {
    if (!parts[k].IsUndefined() && parts[k].kind != Value::kNone && parts[k].kind != Value::kInt) {
      throw JinjaError{line, "slice indices must be integers"};
    }
  }
  int64_t step = parts[2].kind == Value::kInt ? parts[2].i : 1;
  if (step == 0) throw JinjaError{line, "slice step cannot be zero"};
  auto norm = [&](const Value& v, int64_t def) {
    if (v.kind != Value::kInt) return def;
    int64_t x = v.i < 0 ? v.i + n : v.i;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  int64_t start = norm(parts[0], step > 0 ? 0 : n - 1);
  int64_t stop = norm(parts[1], step > 0 ? n : -1);
  List out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(items[static_cast<size_t>(i)]);
  if (obj.kind == Value::kString) {
    std::string s;
    for (const auto& c : out) s += c.s;
    return Value::Str(std::move(s));
  }
  return Value::MakeList(std::move(out));
}

}  // namespace inference::jinja
