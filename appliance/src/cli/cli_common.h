// Shared parts of the `assistant` subcommands: global options, connecting.
#ifndef APPLIANCE_SRC_CLI_CLI_COMMON_H_
#define APPLIANCE_SRC_CLI_CLI_COMMON_H_

#include <string>
#include <vector>

#include "appliance/client.h"

namespace appliance::cli {

struct GlobalOptions {
  ClientOptions client;
  bool json = false;
};

struct Invocation {
  GlobalOptions options;
  std::vector<std::string> args;  // after the command name
};

// Parses options before the command name; advances *i. False on error.
bool ParseGlobalOptions(int argc, char** argv, int* i, GlobalOptions* options, std::string* error);
const char* GlobalOptionsHelp();

int RunHealth(Invocation& inv);

}  // namespace appliance::cli

#endif  // APPLIANCE_SRC_CLI_CLI_COMMON_H_
