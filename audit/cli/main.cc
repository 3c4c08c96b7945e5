// assistant-audit: the auditor's offline tool, the same commands as
// `assistant audit`, to carry to a machine that has no gateway.
#include <iostream>
#include <string>
#include <vector>

#include "audit/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return audit::cli::Main(args, std::cout, std::cerr);
}
