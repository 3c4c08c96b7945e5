// `assistant-model generate --ids` reproduces every recorded greedy
// continuation of stories260K (prompt ids used exactly as given).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/json.h"

namespace {

std::string RunCommand(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

std::string LastLine(const std::string& s) {
  size_t end = s.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  size_t start = s.rfind('\n', end);
  return s.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

TEST(GenerateCliTest, GreedyIdsOfEveryRecordedPromptMatch) {
  const std::string dir = std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/tinyllamas/";
  std::ifstream in(dir + "stories260K.greedy.jsonl");
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    auto rec = common::Json::Parse(line);
    ASSERT_TRUE(rec.ok());
    const common::Json& expected = *rec->Find("greedy_ids");
    const std::string cmd = std::string(ASSISTANT_MODEL_BIN) + " generate --model " + dir +
                            "stories260K.gguf --greedy --ids --threads 1 -n " +
                            std::to_string(expected.size()) + " --prompt-ids '" +
                            rec->Find("prompt_ids")->Dump() + "' 2>/dev/null";
    int status = -1;
    const std::string out = RunCommand(cmd, &status);
    ASSERT_EQ(status, 0) << "line " << checked;
    auto ids = common::Json::Parse(LastLine(out));
    ASSERT_TRUE(ids.ok()) << "last line is not JSON (line " << checked << ")";
    EXPECT_EQ(*ids, expected) << "line " << checked;
    // The text before the ids is the recorded continuation.
    EXPECT_EQ(out.substr(0, rec->Find("text")->as_string().size()), rec->Find("text")->as_string());
    ++checked;
  }
  EXPECT_EQ(checked, 10);
}

TEST(GenerateCliTest, TextPromptAndBadArgumentsExitCodes) {
  const std::string model = std::string(ASSISTANT_SOURCE_DIR) + "/models/stories260K.gguf";
  int status = -1;
  const std::string out = RunCommand(std::string(ASSISTANT_MODEL_BIN) + " generate --model " +
                                         model + " --prompt 'Once upon a time' --greedy -n 8 --ids 2>/dev/null",
                                     &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(LastLine(out), "[432,383,286,261,376,298,315,421]");
  RunCommand(std::string(ASSISTANT_MODEL_BIN) + " generate --model " + model + " 2>/dev/null", &status);
  EXPECT_EQ(WEXITSTATUS(status), 2);  // neither --prompt nor --prompt-ids
  RunCommand(std::string(ASSISTANT_MODEL_BIN) + " generate --model " + model +
                 " --prompt-ids '[1,99999]' 2>/dev/null",
             &status);
  EXPECT_EQ(WEXITSTATUS(status), 1);  // id outside the vocabulary
}

}  // namespace
