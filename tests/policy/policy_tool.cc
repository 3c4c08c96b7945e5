// policy-tool: the `assistant policy` commands as a standalone program, for
// testing before the lead wires policy::cli::Main into `assistant`.
#include <iostream>
#include <string>
#include <vector>

#include "policy/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return policy::cli::Main(args, std::cout, std::cerr);
}
