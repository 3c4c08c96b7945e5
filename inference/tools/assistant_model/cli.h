// Shared pieces of the assistant-model command-line tool: the command
// table entry, flag parsing, exit codes and model/tokenizer loading.
#ifndef INFERENCE_TOOLS_ASSISTANT_MODEL_CLI_H_
#define INFERENCE_TOOLS_ASSISTANT_MODEL_CLI_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "inference/chat_template.h"
#include "inference/gguf.h"
#include "inference/tokenizer.h"

namespace assistant_model {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // the command ran and failed (bad file, ...)
constexpr int kExitUsage = 2;    // bad command line

// One subcommand: `assistant-model NAME ...`. argv[0] is the command name.
struct Command {
  const char* name;
  const char* usage;
  int (*run)(int argc, char** argv);
};

// --name value / --name=value / --flag. Positional arguments are kept.
class Flags {
 public:
  // `bool_flags` take no value. Returns false (and prints why) on an unknown
  // flag or a missing value.
  bool Parse(int argc, char** argv, const std::vector<std::string>& value_flags,
             const std::vector<std::string>& bool_flags);
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& def = "") const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// Prints "assistant-model CMD: message" to stderr and returns the code.
int Fail(const char* cmd, const std::string& message, int code = kExitFailure);
int Fail(const char* cmd, const common::Status& status);

// A model source: a GGUF file or a tokenizer.json (+ tokenizer_config.json).
struct ModelSource {
  std::unique_ptr<inference::GgufFile> gguf;  // null for tokenizer.json
  std::unique_ptr<inference::Tokenizer> tokenizer;
  std::string config_json;  // tokenizer_config.json text, if given
};
common::StatusOr<ModelSource> LoadModelSource(const std::string& model_path, const std::string& config_path,
                                              bool need_tokenizer);

// Reads a file, or standard input for "-".
common::StatusOr<std::string> ReadInput(const std::string& path);

// The command table's entries (one file each).
int RunInfo(int argc, char** argv);
int RunTokenize(int argc, char** argv);
int RunDetokenize(int argc, char** argv);
int RunTemplate(int argc, char** argv);
int RunGenerate(int argc, char** argv);  // cmd_generate.cc (serving)
int RunBench(int argc, char** argv);     // cmd_bench.cc (serving)

}  // namespace assistant_model

#endif  // INFERENCE_TOOLS_ASSISTANT_MODEL_CLI_H_
