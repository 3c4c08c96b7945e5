// Chat templates: the Jinja templates that GGUF files (tokenizer.chat_template)
// and tokenizer_config.json carry, rendered by a sandboxed Jinja-subset
// interpreter (lexer, parser, tree-walking evaluator).
//
// The template is untrusted: the interpreter has no I/O, and steps,
// recursion depth and output size are bounded, so a hostile template fails
// with RESOURCE_EXHAUSTED instead of hanging or exhausting memory. Errors
// name the template line. Rendering follows Hugging Face's environment
// (trim_blocks and lstrip_blocks on, Python-style str()/tojson()).
#ifndef INFERENCE_CHAT_TEMPLATE_H_
#define INFERENCE_CHAT_TEMPLATE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/status.h"

namespace inference {

namespace jinja {
struct Program;
}

class ChatTemplate {
 public:
  struct Options {
    uint64_t max_steps = 2'000'000;          // evaluation steps per Render
    int max_depth = 64;                      // nested macro calls / expressions
    size_t max_output_bytes = 4u << 20;      // rendered text, and any string built
    // Seconds since the epoch for strftime_now (UTC); the system clock if unset.
    std::function<int64_t()> now_unix_seconds;
  };

  // Parses the template. INVALID_ARGUMENT naming the line on a syntax error.
  static common::StatusOr<std::unique_ptr<ChatTemplate>> Create(std::string_view source);
  static common::StatusOr<std::unique_ptr<ChatTemplate>> Create(std::string_view source, Options options);
  ~ChatTemplate();

  // Renders with `messages` (a JSON array of {role, content, ...}) and the
  // members of `context` as variables (bos_token, eos_token,
  // add_generation_prompt, tools, enable_thinking, ...). Errors:
  // INVALID_ARGUMENT for a template error or raise_exception (reason
  // TEMPLATE_EXCEPTION), RESOURCE_EXHAUSTED when a bound is hit.
  common::StatusOr<std::string> Render(const common::Json& messages, const common::Json& context) const;

  const std::string& source() const { return source_; }

 private:
  ChatTemplate(std::string source, Options options, std::unique_ptr<jinja::Program> program);
  std::string source_;
  Options options_;
  std::unique_ptr<jinja::Program> program_;
};

}  // namespace inference

#endif  // INFERENCE_CHAT_TEMPLATE_H_
