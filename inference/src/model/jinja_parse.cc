// Lexer and recursive-descent parser for the Jinja subset. Whitespace
// handling follows Jinja with trim_blocks and lstrip_blocks on (as Hugging
// Face renders chat templates), plus the `-` markers.
#include <cstring>

#include "model/jinja_ast.h"

namespace inference::jinja {
namespace {

struct Token {
  enum Kind { kText, kExprOpen, kExprClose, kStmtOpen, kStmtClose, kName, kString, kInt, kFloat, kOp, kEnd };
  Kind kind;
  std::string text;
  int line;
};

[[noreturn]] void Fail(int line, const std::string& msg) { throw JinjaError{line, msg}; }

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  std::vector<Token> Run() {
    while (pos_ < src_.size()) {
      size_t open = FindTagOpen(pos_);
      std::string text(src_.substr(pos_, open - pos_));
      if (strip_next_leading_) {
        size_t k = 0;
        while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
        text.erase(0, k);
        strip_next_leading_ = false;
      } else if (trim_next_newline_) {
        if (!text.empty() && text[0] == '\n') {
          text.erase(0, 1);
        } else if (text.size() >= 2 && text[0] == '\r' && text[1] == '\n') {
          text.erase(0, 2);
        }
      }
      trim_next_newline_ = false;
      if (open >= src_.size()) {
        Emit(Token::kText, text);
        pos_ = open;
        break;
      }
      const char kind = src_[open + 1];
      const bool minus = open + 2 < src_.size() && src_[open + 2] == '-';
      const bool plus = open + 2 < src_.size() && src_[open + 2] == '+';
      if (minus) {
        size_t k = text.size();
        while (k > 0 && std::isspace(static_cast<unsigned char>(text[k - 1]))) --k;
        text.resize(k);
      } else if ((kind == '%' || kind == '#') && !plus) {
        // lstrip_blocks: drop spaces/tabs between the line start and the tag.
        size_t q = open;
        while (q > pos_ && (src_[q - 1] == ' ' || src_[q - 1] == '\t')) --q;
        if (AtLineStart(q)) {
          size_t k = text.size();
          while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == '\t')) --k;
          text.resize(k);
        }
      }
      Emit(Token::kText, text);
      line_ += Count(src_.substr(pos_, open - pos_), '\n');
      pos_ = open + 2 + (minus || plus ? 1 : 0);
      if (kind == '#') {
        size_t close = src_.find("#}", pos_);
        if (close == std::string_view::npos) Fail(line_, "unterminated comment");
        line_ += Count(src_.substr(pos_, close - pos_), '\n');
        bool cminus = close > pos_ && src_[close - 1] == '-';
        pos_ = close + 2;
        if (cminus) {
          strip_next_leading_ = true;
        } else {
          trim_next_newline_ = true;
        }
        continue;
      }
      if (kind == '%' && IsRawTag()) continue;
      Emit(kind == '{' ? Token::kExprOpen : Token::kStmtOpen, "");
      LexTag(kind == '{' ? '}' : '%');
    }
    Emit(Token::kEnd, "");
    return std::move(out_);
  }

 private:
  static int Count(std::string_view s, char c) {
    int n = 0;
    for (char x : s) n += x == c;
    return n;
  }
  bool AtLineStart(size_t p) const { return p == 0 || src_[p - 1] == '\n'; }

  size_t FindTagOpen(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  void Emit(Token::Kind k, std::string text) {
    if (k == Token::kText && text.empty()) return;
    out_.push_back({k, std::move(text), line_});
  }

  // {% raw %}...{% endraw %}: pos_ is after "{%" or "{%-".
  bool IsRawTag() {
    size_t p = pos_;
    while (p < src_.size() && src_[p] == ' ') ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && src_[p] == ' ') ++p;
    if (p < src_.size() && src_[p] == '-') ++p;
    if (src_.compare(p, 2, "%}") != 0) return false;
    p += 2;
    size_t end = src_.find("endraw", p);
    if (end == std::string_view::npos) Fail(line_, "unterminated raw block");
    size_t open = src_.rfind("{%", end);
    size_t close = src_.find("%}", end);
    if (open == std::string_view::npos || open < p || close == std::string_view::npos) Fail(line_, "bad endraw");
    Emit(Token::kText, std::string(src_.substr(p, open - p)));
    line_ += Count(src_.substr(pos_, close - pos_), '\n');
    pos_ = close + 2;
    trim_next_newline_ = true;
    return true;
  }

  void LexTag(char closer) {
    while (true) {
      while (pos_ < src_.size() && std::isspace(static_cast<unsigned char>(src_[pos_]))) {
        if (src_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= src_.size()) Fail(line_, "unterminated tag");
      // Closing, with optional '-' / '+'.
      size_t p = pos_;
      bool minus = false;
      if ((src_[p] == '-' || src_[p] == '+') && p + 2 < src_.size() + 1 && src_.compare(p + 1, 2, std::string(1, closer) + "}") == 0) {
        minus = src_[p] == '-';
        ++p;
      }
      if (src_.compare(p, 2, std::string(1, closer) + "}") == 0) {
        Emit(closer == '}' ? Token::kExprClose : Token::kStmtClose, "");
        pos_ = p + 2;
        if (minus) {
          strip_next_leading_ = true;
        } else if (closer == '%' && src_[p - 1] != '+') {
          trim_next_newline_ = true;
        }
        return;
      }
      char c = src_[pos_];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t s = pos_;
        while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
        Emit(Token::kName, std::string(src_.substr(s, pos_ - s)));
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t s = pos_;
        bool is_float = false;
        while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
        if (pos_ + 1 < src_.size() && src_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
          is_float = true;
          ++pos_;
          while (pos_ < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_]))) ++pos_;
        }
        std::string num;
        for (char d : src_.substr(s, pos_ - s)) {
          if (d != '_') num.push_back(d);
        }
        Emit(is_float ? Token::kFloat : Token::kInt, num);
      } else if (c == '\'' || c == '"') {
        LexString(c);
      } else {
        static const char* kOps[] = {"==", "!=", "<=", ">=", "//", "**", "(", ")", "[", "]", "{", "}", ",", ".",
                                     ":", "|", "~", "+", "-", "*", "/", "%", "<", ">", "="};
        bool found = false;
        for (const char* op : kOps) {
          size_t n = std::strlen(op);
          if (src_.compare(pos_, n, op) == 0) {
            Emit(Token::kOp, op);
            pos_ += n;
            found = true;
            break;
          }
        }
        if (!found) Fail(line_, std::string("unexpected character '") + c + "'");
      }
    }
  }

  void LexString(char quote) {
    ++pos_;
    std::string s;
    while (true) {
      if (pos_ >= src_.size()) Fail(line_, "unterminated string");
      char c = src_[pos_++];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c == '\\' && pos_ < src_.size()) {
        char e = src_[pos_++];
        switch (e) {
          case 'n': s.push_back('\n'); break;
          case 't': s.push_back('\t'); break;
          case 'r': s.push_back('\r'); break;
          case '\\': s.push_back('\\'); break;
          case '\'': s.push_back('\''); break;
          case '"': s.push_back('"'); break;
          default: s.push_back('\\'); s.push_back(e);
        }
        continue;
      }
      s.push_back(c);
    }
    Emit(Token::kString, s);
  }

  std::string_view src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool strip_next_leading_ = false;
  bool trim_next_newline_ = false;
  std::vector<Token> out_;
};

class Parser {
 public:
  Parser(std::vector<Token> toks, Program* prog) : t_(std::move(toks)), prog_(prog) {}

  Body ParseTemplate() {
    std::string end;
    Body b = ParseBody({}, &end);
    if (!end.empty()) Fail(Cur().line, "unexpected '" + end + "'");
    return b;
  }

 private:
  const Token& Cur() const { return t_[i_]; }
  bool IsOp(const char* op) const { return Cur().kind == Token::kOp && Cur().text == op; }
  bool IsName(const char* n) const { return Cur().kind == Token::kName && Cur().text == n; }
  void ExpectOp(const char* op) {
    if (!IsOp(op)) Fail(Cur().line, std::string("expected '") + op + "', got '" + Cur().text + "'");
    ++i_;
  }
  std::string ExpectName() {
    if (Cur().kind != Token::kName) Fail(Cur().line, "expected a name, got '" + Cur().text + "'");
    return t_[i_++].text;
  }
  void ExpectStmtClose() {
    if (Cur().kind != Token::kStmtClose) Fail(Cur().line, "expected '%}', got '" + Cur().text + "'");
    ++i_;
  }

  // Parses statements until one of `ends` (a block keyword) is met; *end
  // receives it, positioned after the keyword.
  Body ParseBody(const std::vector<std::string>& ends, std::string* end) {
    Body body;
    while (true) {
      const Token& tok = Cur();
      if (tok.kind == Token::kEnd) {
        if (!ends.empty()) Fail(tok.line, "missing '{% " + ends.back() + " %}'");
        end->clear();
        return body;
      }
      if (tok.kind == Token::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::kText;
        s->line = tok.line;
        s->text = tok.text;
        body.push_back(std::move(s));
        ++i_;
      } else if (tok.kind == Token::kExprOpen) {
        ++i_;
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::kOutput;
        s->line = tok.line;
        s->expr = ParseExpr();
        if (Cur().kind != Token::kExprClose) Fail(Cur().line, "expected '}}', got '" + Cur().text + "'");
        ++i_;
        body.push_back(std::move(s));
      } else if (tok.kind == Token::kStmtOpen) {
        ++i_;
        if (Cur().kind != Token::kName) Fail(Cur().line, "expected a statement keyword");
        const std::string kw = Cur().text;
        for (const auto& e : ends) {
          if (kw == e) {
            ++i_;
            *end = kw;
            return body;
          }
        }
        ++i_;
        body.push_back(ParseStatement(kw, tok.line));
      } else {
        Fail(tok.line, "unexpected token");
      }
    }
  }

  // Bounds the parser's recursion, so deeply nested input cannot overflow the stack.
  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p_(p) {
      if (++p_->depth_ > kMaxParseDepth) Fail(p_->Cur().line, "template nested too deeply");
    }
    ~DepthGuard() { --p_->depth_; }
    Parser* p_;
  };
  static constexpr int kMaxParseDepth = 200;

  StmtPtr ParseStatement(const std::string& kw, int line) {
    DepthGuard guard(this);
    auto s = std::make_unique<Stmt>();
    s->line = line;
    if (kw == "if") {
      s->kind = Stmt::kIf;
      ExprPtr cond = ParseExpr();
      ExpectStmtClose();
      while (true) {
        std::string end;
        Body b = ParseBody({"elif", "else", "endif"}, &end);
        s->branches.emplace_back(std::move(cond), std::move(b));
        if (end == "endif") {
          ExpectStmtClose();
          break;
        }
        if (end == "else") {
          ExpectStmtClose();
          Body eb = ParseBody({"endif"}, &end);
          s->branches.emplace_back(nullptr, std::move(eb));
          ExpectStmtClose();
          break;
        }
        cond = ParseExpr();
        ExpectStmtClose();
      }
    } else if (kw == "for") {
      s->kind = Stmt::kFor;
      s->targets.push_back(ExpectName());
      while (IsOp(",")) {
        ++i_;
        s->targets.push_back(ExpectName());
      }
      if (!IsName("in")) Fail(Cur().line, "expected 'in' in for loop");
      ++i_;
      s->expr = ParseOr();  // no conditional expression here: `if` filters the loop
      if (IsName("if")) {
        ++i_;
        s->filter = ParseOr();
      }
      if (IsName("recursive")) Fail(Cur().line, "recursive loops are not supported");
      ExpectStmtClose();
      std::string end;
      s->body = ParseBody({"else", "endfor"}, &end);
      ExpectStmtClose();
      if (end == "else") {
        s->else_body = ParseBody({"endfor"}, &end);
        ExpectStmtClose();
      }
    } else if (kw == "set") {
      std::string name = ExpectName();
      if (IsOp(".")) {
        ++i_;
        s->attr = ExpectName();
      }
      s->targets.push_back(name);
      while (IsOp(",")) {
        ++i_;
        s->targets.push_back(ExpectName());
      }
      if (IsOp("=")) {
        ++i_;
        s->kind = Stmt::kSet;
        s->expr = ParseTupleOrExpr();
        ExpectStmtClose();
      } else {
        s->kind = Stmt::kSetBlock;
        ExpectStmtClose();
        std::string end;
        s->body = ParseBody({"endset"}, &end);
        ExpectStmtClose();
      }
    } else if (kw == "macro") {
      s->kind = Stmt::kMacro;
      auto m = std::make_unique<MacroStmt>();
      m->name = ExpectName();
      ExpectOp("(");
      while (!IsOp(")")) {
        m->params.push_back(ExpectName());
        if (IsOp("=")) {
          ++i_;
          m->defaults.push_back(ParseExpr());
        } else {
          m->defaults.push_back(nullptr);
        }
        if (!IsOp(",")) break;
        ++i_;
      }
      ExpectOp(")");
      ExpectStmtClose();
      std::string end;
      m->body = ParseBody({"endmacro"}, &end);
      ExpectStmtClose();
      s->macro = m.get();
      s->targets.push_back(m->name);
      prog_->macros.push_back(std::move(m));
    } else if (kw == "break" || kw == "continue") {
      s->kind = kw == "break" ? Stmt::kBreak : Stmt::kContinue;
      ExpectStmtClose();
    } else if (kw == "generation" || kw == "endgeneration") {
      // Hugging Face's marker for assistant masks: no output of its own.
      s->kind = Stmt::kText;
      ExpectStmtClose();
    } else {
      Fail(line, "unsupported statement '" + kw + "'");
    }
    return s;
  }

  ExprPtr Make(Expr::Kind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }

  ExprPtr ParseTupleOrExpr() {
    int line = Cur().line;
    ExprPtr first = ParseExpr();
    if (!IsOp(",")) return first;
    auto t = Make(Expr::kTuple, line);
    t->args.push_back(std::move(first));
    while (IsOp(",")) {
      ++i_;
      t->args.push_back(ParseExpr());
    }
    return t;
  }

  ExprPtr ParseExpr() {
    DepthGuard guard(this);
    int line = Cur().line;
    ExprPtr a = ParseOr();
    if (IsName("if")) {
      ++i_;
      ExprPtr cond = ParseOr();
      auto e = Make(Expr::kCond, line);
      e->args.push_back(std::move(a));
      e->args.push_back(std::move(cond));
      if (IsName("else")) {
        ++i_;
        e->args.push_back(ParseExpr());
      }
      return e;
    }
    return a;
  }

  ExprPtr ParseOr() {
    ExprPtr a = ParseAnd();
    while (IsName("or")) {
      auto e = Make(Expr::kOr, Cur().line);
      ++i_;
      e->args.push_back(std::move(a));
      e->args.push_back(ParseAnd());
      a = std::move(e);
    }
    return a;
  }

  ExprPtr ParseAnd() {
    ExprPtr a = ParseNot();
    while (IsName("and")) {
      auto e = Make(Expr::kAnd, Cur().line);
      ++i_;
      e->args.push_back(std::move(a));
      e->args.push_back(ParseNot());
      a = std::move(e);
    }
    return a;
  }

  ExprPtr ParseNot() {
    DepthGuard guard(this);
    if (IsName("not")) {
      auto e = Make(Expr::kNot, Cur().line);
      ++i_;
      e->args.push_back(ParseNot());
      return e;
    }
    return ParseCompare();
  }

  ExprPtr ParseCompare() {
    ExprPtr a = ParseConcat();
    while (true) {
      std::string op;
      if (Cur().kind == Token::kOp &&
          (Cur().text == "==" || Cur().text == "!=" || Cur().text == "<" || Cur().text == ">" || Cur().text == "<=" ||
           Cur().text == ">=")) {
        op = Cur().text;
        ++i_;
      } else if (IsName("in")) {
        op = "in";
        ++i_;
      } else if (IsName("not") && t_[i_ + 1].kind == Token::kName && t_[i_ + 1].text == "in") {
        op = "not in";
        i_ += 2;
      } else {
        return a;
      }
      auto e = Make(Expr::kBinary, Cur().line);
      e->name = op;
      e->args.push_back(std::move(a));
      e->args.push_back(ParseConcat());
      a = std::move(e);
    }
  }

  ExprPtr Binary(const std::string& op, ExprPtr a, ExprPtr b, int line) {
    auto e = Make(Expr::kBinary, line);
    e->name = op;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  ExprPtr ParseConcat() {
    ExprPtr a = ParseAdd();
    while (IsOp("~")) {
      int line = Cur().line;
      ++i_;
      a = Binary("~", std::move(a), ParseAdd(), line);
    }
    return a;
  }

  ExprPtr ParseAdd() {
    ExprPtr a = ParseMul();
    while (IsOp("+") || IsOp("-")) {
      std::string op = Cur().text;
      int line = Cur().line;
      ++i_;
      a = Binary(op, std::move(a), ParseMul(), line);
    }
    return a;
  }

  ExprPtr ParseMul() {
    ExprPtr a = ParseUnary();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      std::string op = Cur().text;
      int line = Cur().line;
      ++i_;
      a = Binary(op, std::move(a), ParseUnary(), line);
    }
    return a;
  }

  ExprPtr ParseUnary() {
    DepthGuard guard(this);
    if (IsOp("-") || IsOp("+")) {
      auto e = Make(IsOp("-") ? Expr::kNeg : Expr::kPos, Cur().line);
      ++i_;
      e->args.push_back(ParseUnary());
      return e;
    }
    ExprPtr a = ParsePostfix(ParsePrimary());
    while (IsOp("**")) {
      int line = Cur().line;
      ++i_;
      a = Binary("**", std::move(a), ParsePostfix(ParsePrimary()), line);
    }
    return a;
  }

  void ParseCallArgs(Expr* e) {
    ExpectOp("(");
    while (!IsOp(")")) {
      if (Cur().kind == Token::kName && t_[i_ + 1].kind == Token::kOp && t_[i_ + 1].text == "=") {
        std::string k = t_[i_].text;
        i_ += 2;
        e->kwargs.emplace_back(k, ParseExpr());
      } else {
        e->args.push_back(ParseExpr());
      }
      if (!IsOp(",")) break;
      ++i_;
    }
    ExpectOp(")");
  }

  ExprPtr ParsePostfix(ExprPtr a) {
    while (true) {
      int line = Cur().line;
      if (IsOp(".")) {
        ++i_;
        auto e = Make(Expr::kGetAttr, line);
        if (Cur().kind == Token::kInt) {
          e->kind = Expr::kGetItem;
          auto idx = Make(Expr::kLiteral, line);
          idx->literal = Value::Int(std::stoll(t_[i_++].text));
          e->args.push_back(std::move(a));
          e->args.push_back(std::move(idx));
        } else {
          e->name = ExpectName();
          e->args.push_back(std::move(a));
        }
        a = std::move(e);
      } else if (IsOp("[")) {
        ++i_;
        auto e = Make(Expr::kGetItem, line);
        e->args.push_back(std::move(a));
        // Index or slice [start:stop:step].
        ExprPtr parts[3];
        bool is_slice = false;
        for (int k = 0; k < 3; ++k) {
          if (!IsOp(":") && !IsOp("]")) {
            parts[k] = ParseExpr();
            e->has_slice[k] = true;
          }
          if (IsOp(":") && k < 2) {
            is_slice = true;
            ++i_;
          } else {
            break;
          }
        }
        ExpectOp("]");
        if (is_slice) {
          e->kind = Expr::kSlice;
          for (auto& p : parts) e->args.push_back(p ? std::move(p) : nullptr);
        } else {
          if (!parts[0]) Fail(line, "empty subscript");
          e->args.push_back(std::move(parts[0]));
        }
        a = std::move(e);
      } else if (IsOp("(")) {
        auto e = Make(Expr::kCall, line);
        e->args.push_back(std::move(a));
        ParseCallArgs(e.get());
        a = std::move(e);
      } else if (IsOp("|")) {
        ++i_;
        auto e = Make(Expr::kFilter, line);
        e->name = ExpectName();
        e->args.push_back(std::move(a));
        if (IsOp("(")) ParseCallArgs(e.get());
        a = std::move(e);
      } else if (IsName("is")) {
        ++i_;
        auto e = Make(Expr::kTest, line);
        if (IsName("not")) {
          e->negated = true;
          ++i_;
        }
        // `none`, `true`, `false` are test names here.
        e->name = ExpectName();
        e->args.push_back(std::move(a));
        if (IsOp("(")) {
          ParseCallArgs(e.get());
        } else if (Cur().kind == Token::kString || Cur().kind == Token::kInt || Cur().kind == Token::kFloat) {
          e->args.push_back(ParsePrimary());  // `is divisibleby 3`, `is sameas "x"`
        }
        a = std::move(e);
      } else {
        return a;
      }
    }
  }

  ExprPtr ParsePrimary() {
    const Token& tok = Cur();
    int line = tok.line;
    switch (tok.kind) {
      case Token::kString: {
        auto e = Make(Expr::kLiteral, line);
        std::string s = tok.text;
        ++i_;
        while (Cur().kind == Token::kString) s += t_[i_++].text;  // adjacent literals concatenate
        e->literal = Value::Str(std::move(s));
        return e;
      }
      case Token::kInt: {
        auto e = Make(Expr::kLiteral, line);
        try {
          e->literal = Value::Int(std::stoll(tok.text));
        } catch (...) {
          Fail(line, "integer literal out of range");
        }
        ++i_;
        return e;
      }
      case Token::kFloat: {
        auto e = Make(Expr::kLiteral, line);
        e->literal = Value::Float(std::stod(tok.text));
        ++i_;
        return e;
      }
      case Token::kName: {
        ++i_;
        auto e = Make(Expr::kLiteral, line);
        if (tok.text == "true" || tok.text == "True") {
          e->literal = Value::Bool(true);
        } else if (tok.text == "false" || tok.text == "False") {
          e->literal = Value::Bool(false);
        } else if (tok.text == "none" || tok.text == "None") {
          e->literal = Value::None();
        } else {
          e->kind = Expr::kName;
          e->name = tok.text;
        }
        return e;
      }
      case Token::kOp:
        if (tok.text == "(") {
          ++i_;
          if (IsOp(")")) {
            ++i_;
            return Make(Expr::kTuple, line);
          }
          ExprPtr first = ParseExpr();
          if (IsOp(",")) {
            auto t = Make(Expr::kTuple, line);
            t->args.push_back(std::move(first));
            while (IsOp(",")) {
              ++i_;
              if (IsOp(")")) break;
              t->args.push_back(ParseExpr());
            }
            ExpectOp(")");
            return t;
          }
          ExpectOp(")");
          return first;
        }
        if (tok.text == "[") {
          ++i_;
          auto e = Make(Expr::kList, line);
          while (!IsOp("]")) {
            e->args.push_back(ParseExpr());
            if (!IsOp(",")) break;
            ++i_;
          }
          ExpectOp("]");
          return e;
        }
        if (tok.text == "{") {
          ++i_;
          auto e = Make(Expr::kDict, line);
          while (!IsOp("}")) {
            e->args.push_back(ParseExpr());
            ExpectOp(":");
            e->args.push_back(ParseExpr());
            if (!IsOp(",")) break;
            ++i_;
          }
          ExpectOp("}");
          return e;
        }
        break;
      default:
        break;
    }
    Fail(line, "unexpected '" + tok.text + "' in expression");
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
  Program* prog_;
};

}  // namespace

std::unique_ptr<Program> Parse(std::string_view source) {
  auto prog = std::make_unique<Program>();
  Lexer lexer(source);
  Parser parser(lexer.Run(), prog.get());
  prog->body = parser.ParseTemplate();
  return prog;
}

}  // namespace inference::jinja
