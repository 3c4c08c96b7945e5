// assistant-model: inspect model files, tokenize, render chat templates.
// Output is JSON (or the exact rendered text), for use in scripts.
// Exit codes: 0 success, 1 failure, 2 usage error.
#include <cstdio>
#include <cstring>

#include "cli.h"

namespace assistant_model {
namespace {

// One line per command. Add new commands here (and their .cc in tools.cmake).
const Command kCommands[] = {
    {"info", "info MODEL.gguf [--tensors] [--metadata] [--no-sha256]", RunInfo},
    {"tokenize", "tokenize --model FILE [--special] [--bos] [--tokenizer-config F] (--text T | --jsonl IN|-)",
     RunTokenize},
    {"detokenize", "detokenize --model FILE [--skip-special] [--tokenizer-config F] (--ids JSON | --jsonl IN|-)",
     RunDetokenize},
    {"template",
     "template --model FILE --messages JSON|@FILE [--add-generation-prompt] [--context JSON] "
     "[--tokenizer-config F]",
     RunTemplate},
    {"generate",
     "generate --model FILE (--prompt T | --prompt-ids JSON) [-n N] [--greedy] [--ids] [--threads N] "
     "[--temperature T] [--top-k K] [--top-p P] [--min-p P] [--seed S] [--repeat-penalty R] [--stop S]...",
     RunGenerate},
    {"bench", "bench --model FILE [--threads N] [--prompt-len N] [--gen N] [--concurrency 1,8,32] [--json]",
     RunBench},
};

void PrintUsage(FILE* out) {
  std::fprintf(out, "usage: assistant-model COMMAND [ARGS]\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %s\n", c.usage);
  std::fprintf(out, "\n--model accepts a GGUF file or a tokenizer.json.\n");
}

}  // namespace
}  // namespace assistant_model

int main(int argc, char** argv) {
  using namespace assistant_model;
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  if (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "help") == 0) {
    PrintUsage(stdout);
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (std::strcmp(argv[1], c.name) == 0) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "assistant-model: unknown command '%s'\n\n", argv[1]);
  PrintUsage(stderr);
  return kExitUsage;
}
