// libFuzzer target over Decide(): the fuzz input is the prompt. Checks the
// invariants the gateway relies on: findings are sorted, non-overlapping and
// inside the prompt; the redacted copies are built from them; restoring the
// model copy gives back the prompt.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "policy/decision.h"
#include "policy/policy.h"

namespace {
const policy::Policy& TestPolicy() {
  static std::shared_ptr<const policy::Policy> p = [] {
    auto loaded = policy::Policy::FromFile(std::string(ASSISTANT_SOURCE_DIR) +
                                           "/tests/policy/policies/base.yaml");
    if (!loaded.ok()) __builtin_trap();
    return *loaded;
  }();
  return *p;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const policy::Policy& policy = TestPolicy();
  std::string prompt(reinterpret_cast<const char*>(data), size);
  policy::RequestContext r;
  r.user_id = "alice";
  r.roles = {"analyst"};
  r.client_address = "10.20.1.1";
  r.classification = (size % 2) ? "INTERNAL" : "CONFIDENTIAL";
  r.model_name = "stories260K";
  r.model_sha256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
  r.prompt = prompt;
  r.prompt_tokens = 1;
  policy::Decision d = policy::Decide(policy, r);
  size_t last = 0;
  for (const auto& red : d.obligations.redactions) {
    if (red.begin < last || red.end <= red.begin || red.end > prompt.size()) __builtin_trap();
    last = red.end;
  }
  if (d.allow) {
    // No placeholder-looking text in the prompt: restoring is exact.
    if (prompt.find('[') == std::string::npos && d.restore.Restore(d.model_prompt) != prompt) {
      __builtin_trap();
    }
  } else if (!d.model_prompt.empty()) {
    __builtin_trap();
  }
  return 0;
}
