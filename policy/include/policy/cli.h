// `assistant policy ...`: offline tools for administrators.
//
//   assistant policy check FILE
//       Validates FILE; prints its hash and a summary (exit 0), or the error
//       with file:line:col (exit 1).
//   assistant policy explain --policy FILE --request REQUEST.json [--json]
//       Decides the request and prints the decision with every reason
//       (exit 0 allowed, 3 denied, 1 error). Prompts are never printed; only
//       redaction types, spans and placeholders.
#ifndef POLICY_CLI_H_
#define POLICY_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace policy::cli {

// `args` excludes the program name and the leading "policy".
// Exit codes: 0 ok/allowed, 1 invalid input, 2 usage, 3 denied.
int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace policy::cli

#endif  // POLICY_CLI_H_
