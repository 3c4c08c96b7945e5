// assistant: the command-line client of the appliance.
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "cli_common.h"

#ifdef ASSISTANT_HAVE_POLICY_CLI
#include "policy/cli.h"
#endif
#ifdef ASSISTANT_HAVE_AUDIT_CLI
#include "audit/cli.h"
#endif

namespace cli = appliance::cli;

namespace {

struct Command {
  const char* name;
  const char* summary;
  std::function<int(cli::Invocation&)> run;
};

std::vector<Command> Commands() {
  std::vector<Command> commands = {
      {"health", "check that assistantd answers over TLS", cli::RunHealth},
  };
#ifdef ASSISTANT_HAVE_POLICY_CLI
  commands.push_back({"policy", "check or explain a policy file offline (policy --help)",
                      [](cli::Invocation& inv) { return policy::cli::Main(inv.args, std::cout, std::cerr); }});
#endif
#ifdef ASSISTANT_HAVE_AUDIT_CLI
  commands.push_back({"audit", "verify, query, export the audit ledger (audit --help)",
                      [](cli::Invocation& inv) { return audit::cli::Main(inv.args, std::cout, std::cerr); }});
#endif
  return commands;
}

void Usage(std::ostream& os) {
  os << "usage: assistant [GLOBAL OPTIONS] COMMAND [ARGS]\n\nCommands:\n";
  for (const auto& c : Commands()) {
    os << "  " << c.name << std::string(12 - std::strlen(c.name), ' ') << c.summary << "\n";
  }
  os << "\nGlobal options:\n" << cli::GlobalOptionsHelp();
}

}  // namespace

int main(int argc, char** argv) {
  cli::Invocation inv;
  int i = 1;
  std::string error;
  if (!cli::ParseGlobalOptions(argc, argv, &i, &inv.options, &error)) {
    std::cerr << "assistant: " << error << "\n";
    return 2;
  }
  if (i >= argc || std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0 ||
      std::strcmp(argv[i], "help") == 0) {
    Usage(i >= argc ? std::cerr : std::cout);
    return i >= argc ? 2 : 0;
  }
  std::string name = argv[i++];
  for (; i < argc; ++i) inv.args.emplace_back(argv[i]);
  for (const auto& c : Commands()) {
    if (name == c.name) return c.run(inv);
  }
  std::cerr << "assistant: unknown command '" << name << "'\n";
  Usage(std::cerr);
  return 2;
}
