// The Jinja-subset evaluator (internal to ChatTemplate).
#ifndef INFERENCE_SRC_MODEL_JINJA_EVAL_H_
#define INFERENCE_SRC_MODEL_JINJA_EVAL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/jinja_ast.h"

namespace inference::jinja {

struct Limits {
  uint64_t max_steps;
  int max_depth;
  size_t max_output;
  std::function<int64_t()> now_unix_seconds;
};

// One rendering: not reusable across threads; create one per Render call.
class Interpreter {
 public:
  explicit Interpreter(const Limits& limits);
  // Throws JinjaError.
  std::string Render(const Program& program, Dict globals);

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  Flow Exec(const Body& body);
  Flow ExecStmt(const Stmt& s);
  Value Eval(const Expr& e);
  void Step(int line);
  void CheckSize(size_t n, int line) const;
  void Write(std::string_view s, int line);
  const Value* Lookup(const std::string& name) const;
  void Assign(const std::string& name, Value v);
  void Bind(const std::vector<std::string>& targets, const Value& v, int line);
  List Iterate(const Value& v, int line);
  Value Index(const Value& obj, const Value& idx, int line);
  Value Slice(const Value& obj, const Value parts[3], int line);
  Value Binary(const std::string& op, const Value& a, const Value& b, int line);
  Value CallMacro(const MacroStmt& m, const List& args, const Dict& kwargs, int line);

  // jinja_builtins.cc
  static bool IsBuiltinFunction(const std::string& name);
  Value CallBuiltin(const std::string& name, const List& args, const Dict& kwargs, int line);
  Value CallMethod(const Value& obj, const std::string& name, const List& args, const Dict& kwargs, int line);
  Value ApplyFilter(const std::string& name, const Value& v, const List& args, const Dict& kwargs, int line);
  bool ApplyTest(const std::string& name, const Value& v, const List& args, int line);

  const Limits& limits_;
  uint64_t steps_ = 0;
  int depth_ = 0;
  std::string* out_ = nullptr;
  std::vector<std::unordered_map<std::string, Value>> scopes_;
};

}  // namespace inference::jinja

#endif  // INFERENCE_SRC_MODEL_JINJA_EVAL_H_
