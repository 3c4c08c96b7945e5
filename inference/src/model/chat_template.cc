#include "inference/chat_template.h"

#include "model/jinja_ast.h"
#include "model/jinja_eval.h"

namespace inference {

using common::Status;
using common::StatusOr;

ChatTemplate::ChatTemplate(std::string source, Options options, std::unique_ptr<jinja::Program> program)
    : source_(std::move(source)), options_(std::move(options)), program_(std::move(program)) {}

ChatTemplate::~ChatTemplate() = default;

StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplate::Create(std::string_view source) {
  return Create(source, Options{});
}

StatusOr<std::unique_ptr<ChatTemplate>> ChatTemplate::Create(std::string_view source, Options options) {
  if (source.size() > options.max_output_bytes) {
    return common::ResourceExhaustedError("chat template is larger than " + std::to_string(options.max_output_bytes) +
                                          " bytes");
  }
  try {
    std::unique_ptr<jinja::Program> program = jinja::Parse(source);
    return std::unique_ptr<ChatTemplate>(new ChatTemplate(std::string(source), std::move(options), std::move(program)));
  } catch (const jinja::JinjaError& e) {
    return common::InvalidArgumentError("chat template line " + std::to_string(e.line) + ": " + e.message);
  }
}

StatusOr<std::string> ChatTemplate::Render(const common::Json& messages, const common::Json& context) const {
  if (!messages.is_array()) return common::InvalidArgumentError("messages must be a JSON array");
  if (!context.is_null() && !context.is_object()) return common::InvalidArgumentError("context must be a JSON object");
  jinja::Dict globals;
  globals.emplace_back("messages", jinja::FromJson(messages));
  if (context.is_object()) {
    for (const auto& [k, v] : context.as_object()) globals.emplace_back(k, jinja::FromJson(v));
  }
  jinja::Limits limits{options_.max_steps, options_.max_depth, options_.max_output_bytes, options_.now_unix_seconds};
  try {
    jinja::Interpreter interp(limits);
    return interp.Render(*program_, std::move(globals));
  } catch (const jinja::JinjaError& e) {
    std::string msg = "chat template line " + std::to_string(e.line) + ": " + e.message;
    if (e.resource_exhausted) return Status(common::StatusCode::kResourceExhausted, msg, "TEMPLATE_LIMIT");
    if (e.raised) return Status(common::StatusCode::kInvalidArgument, msg, "TEMPLATE_EXCEPTION");
    return common::InvalidArgumentError(msg);
  } catch (const std::bad_alloc&) {
    return common::ResourceExhaustedError("chat template: out of memory");
  }
}

}  // namespace inference
