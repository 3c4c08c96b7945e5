// Values and syntax tree of the Jinja-subset interpreter behind chat templates.
// Internal: errors inside the interpreter are thrown as JinjaError and turned
// into a Status at the ChatTemplate boundary.
#ifndef INFERENCE_SRC_MODEL_JINJA_AST_H_
#define INFERENCE_SRC_MODEL_JINJA_AST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"

namespace inference::jinja {

struct JinjaError {
  int line;
  std::string message;
  bool resource_exhausted = false;  // a bound was hit
  bool raised = false;              // raise_exception() in the template
};

struct MacroStmt;
struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion-ordered, like Python's dict

struct Value {
  enum Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kMacro, kBuiltin };
  Kind kind = kUndefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                 // kString; kBuiltin: the function name
  std::shared_ptr<List> list;    // kList (tuples too)
  std::shared_ptr<Dict> dict;    // kDict
  bool is_namespace = false;     // a namespace() object: attributes may be assigned
  const MacroStmt* macro = nullptr;

  static Value None() { Value v; v.kind = kNone; return v; }
  static Value Bool(bool x) { Value v; v.kind = kBool; v.b = x; return v; }
  static Value Int(int64_t x) { Value v; v.kind = kInt; v.i = x; return v; }
  static Value Float(double x) { Value v; v.kind = kFloat; v.f = x; return v; }
  static Value Str(std::string x) { Value v; v.kind = kString; v.s = std::move(x); return v; }
  static Value MakeList(List l = {}) { Value v; v.kind = kList; v.list = std::make_shared<List>(std::move(l)); return v; }
  static Value MakeDict(Dict d = {}) { Value v; v.kind = kDict; v.dict = std::make_shared<Dict>(std::move(d)); return v; }

  bool IsUndefined() const { return kind == kUndefined; }
  bool IsNumber() const { return kind == kInt || kind == kFloat || kind == kBool; }
  double AsDouble() const { return kind == kFloat ? f : kind == kBool ? (b ? 1 : 0) : static_cast<double>(i); }
  bool Truthy() const;
  const Value* Find(std::string_view key) const;  // dict member or nullptr
};

Value FromJson(const common::Json& j);
common::Json ToJson(const Value& v, int line);
// Python's str() and repr().
std::string ToStr(const Value& v);
std::string Repr(const Value& v);
bool Equals(const Value& a, const Value& b);
const char* KindName(const Value& v);
size_t CodepointCount(std::string_view s);

// ---------------------------------------------------------------------------
// Syntax tree.

struct Expr {
  enum Kind {
    kLiteral, kName, kGetAttr, kGetItem, kSlice, kCall, kFilter, kTest, kNeg, kPos, kNot, kBinary,
    kAnd, kOr, kCond, kList, kDict, kTuple
  };
  Kind kind;
  int line = 0;
  Value literal;
  std::string name;  // kName, kGetAttr attr, kFilter/kTest name, kBinary op
  std::vector<std::unique_ptr<Expr>> args;  // operands / call args / items (dict: k0,v0,k1,v1...)
  std::vector<std::pair<std::string, std::unique_ptr<Expr>>> kwargs;
  bool negated = false;  // `is not`
  bool has_slice[3] = {false, false, false};
};
using ExprPtr = std::unique_ptr<Expr>;

struct Stmt {
  enum Kind { kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kBreak, kContinue, kCallMacro };
  Kind kind;
  int line = 0;
  std::string text;                         // kText
  ExprPtr expr;                             // kOutput, kSet value, kFor iterable, kCallMacro call
  std::vector<std::string> targets;         // kFor loop vars, kSet/kSetBlock name(s)
  std::string attr;                         // kSet: `set ns.attr = ...`
  ExprPtr filter;                           // kFor: `for x in y if cond`
  std::vector<std::pair<ExprPtr, std::vector<std::unique_ptr<Stmt>>>> branches;  // kIf (cond null = else)
  std::vector<std::unique_ptr<Stmt>> body;       // kFor, kSetBlock, kMacro
  std::vector<std::unique_ptr<Stmt>> else_body;  // kFor
  const MacroStmt* macro = nullptr;              // kMacro
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroStmt {
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // aligned with params (null = required)
  Body body;
};

struct Program {
  Body body;
  std::vector<std::unique_ptr<MacroStmt>> macros;  // owned here, referenced from kMacro statements
};

// Parses template source. Throws JinjaError naming the line.
std::unique_ptr<Program> Parse(std::string_view source);

}  // namespace inference::jinja

#endif  // INFERENCE_SRC_MODEL_JINJA_AST_H_
