// libFuzzer target for the chat-template interpreter: any template source
// must parse or fail cleanly, and rendering must stay within its bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/json.h"
#include "inference/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  inference::ChatTemplate::Options opts;
  opts.max_steps = 20000;
  opts.max_output_bytes = 1 << 16;
  opts.now_unix_seconds = [] { return int64_t{0}; };
  auto t = inference::ChatTemplate::Create(std::string(reinterpret_cast<const char*>(data), size), opts);
  if (!t.ok()) return 0;
  static const common::Json messages =
      *common::Json::Parse(R"([{"role":"system","content":"s"},{"role":"user","content":"Hi {{x}}"},
                              {"role":"assistant","content":"<think>r</think>ok","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]},
                              {"role":"tool","content":"1"}])");
  static const common::Json context =
      *common::Json::Parse(R"({"bos_token":"<s>","eos_token":"</s>","add_generation_prompt":true,"tools":[{"name":"f"}]})");
  (void)(*t)->Render(messages, context);
  return 0;
}
