// libFuzzer target over the policy parser: any bytes must either be refused
// with a Status or compile into a Policy whose decision path, summary and
// hash work. Build: configure with CC=clang CXX=clang++ -DASSISTANT_FUZZ=ON
// (and -DASSISTANT_SANITIZE=ON), then
//   build-fuzz/tests/policy/policy_parser_fuzz -max_len=4096 \
//     tests/policy/fuzz/corpus tests/policy/policies tests/policy/malformed
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/decision.h"
#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = policy::Policy::FromYaml(text, "fuzz.yaml");
  if (!p.ok()) {
    // Every refusal names a line and column.
    if (p.status().message().rfind("fuzz.yaml:", 0) != 0) __builtin_trap();
    return 0;
  }
  const policy::Policy& policy = **p;
  if (policy.hash().size() != 64) __builtin_trap();
  (void)policy.Summary();
  policy::RequestContext r;
  r.user_id = "u";
  r.roles = policy.roles();
  r.client_address = "10.1.2.3";
  r.model_name = policy.models().empty() ? "m" : policy.models()[0].name;
  r.model_sha256 = policy.models().empty() ? "" : policy.models()[0].sha256;
  const std::string prompt =
      "mail a@example.com, SSN 123-45-6789, card 4111 1111 1111 1111, CUI, EMP-123456";
  r.prompt = prompt;
  for (const auto& c : policy.classifications()) {
    r.classification = c.name;
    policy::Decision d = policy::Decide(policy, r);
    if (d.policy_hash != policy.hash()) __builtin_trap();
  }
  return 0;
}
