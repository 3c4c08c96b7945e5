// A small JSON value: parse (with line:column errors and a depth limit, since
// inputs are untrusted), build, and serialize. Objects keep insertion order,
// as Python dicts do, so chat templates' `tojson` renders keys as authored.
#ifndef COMMON_JSON_H_
#define COMMON_JSON_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace common {

class Json {
 public:
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() = default;
  Json(std::nullptr_t) {}                                         // NOLINT
  Json(bool b) : type_(Type::kBool), b_(b) {}                      // NOLINT
  Json(int v) : type_(Type::kInt), i_(v) {}                        // NOLINT
  Json(int64_t v) : type_(Type::kInt), i_(v) {}                    // NOLINT
  Json(uint32_t v) : type_(Type::kInt), i_(v) {}                   // NOLINT
  Json(uint64_t v) : type_(Type::kInt), i_(static_cast<int64_t>(v)) {}  // NOLINT
  Json(double v) : type_(Type::kDouble), d_(v) {}                  // NOLINT
  Json(const char* s) : type_(Type::kString), s_(s) {}             // NOLINT
  Json(std::string s) : type_(Type::kString), s_(std::move(s)) {}  // NOLINT
  Json(std::string_view s) : type_(Type::kString), s_(s) {}        // NOLINT
  Json(Array a) : type_(Type::kArray), a_(std::move(a)) {}         // NOLINT
  Json(Object o) : type_(Type::kObject), o_(std::move(o)) {}       // NOLINT

  static Json MakeArray() { return Json(Array{}); }
  static Json MakeObject() { return Json(Object{}); }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_int() const { return type_ == Type::kInt; }
  bool is_number() const { return type_ == Type::kInt || type_ == Type::kDouble; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Accessors return a neutral value when the type differs; check first.
  bool as_bool() const { return type_ == Type::kBool && b_; }
  int64_t as_int() const { return type_ == Type::kInt ? i_ : static_cast<int64_t>(d_); }
  double as_double() const { return type_ == Type::kDouble ? d_ : static_cast<double>(i_); }
  const std::string& as_string() const { return s_; }
  const Array& as_array() const { return a_; }
  Array& as_array() { return a_; }
  const Object& as_object() const { return o_; }
  Object& as_object() { return o_; }

  // Object member lookup: nullptr when absent or not an object.
  const Json* Find(std::string_view key) const;
  Json* Find(std::string_view key);
  // Sets (replacing) a member; turns null into an object.
  Json& Set(std::string key, Json value);
  // Appends to an array; turns null into an array.
  Json& Push(Json value);
  size_t size() const;

  struct DumpOptions {
    int indent = -1;            // < 0: one line
    std::string item_sep = ",";  // Python's json.dumps uses ", "
    std::string key_sep = ":";   // Python's json.dumps uses ": "
    bool ensure_ascii = false;   // escape non-ASCII as \uXXXX
    bool sort_keys = false;
  };
  std::string Dump() const { return Dump(DumpOptions{}); }
  std::string Dump(const DumpOptions& options) const;

  // Parses one JSON document (trailing whitespace allowed). Errors name the
  // line and column. Nesting deeper than max_depth is refused.
  static StatusOr<Json> Parse(std::string_view text, int max_depth = 256);

  friend bool operator==(const Json& a, const Json& b);

 private:
  Type type_ = Type::kNull;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  Array a_;
  Object o_;
};

// Appends the JSON string literal for `s` (with quotes) to `out`.
void JsonQuote(std::string_view s, std::string& out, bool ensure_ascii = false);

}  // namespace common

#endif  // COMMON_JSON_H_
