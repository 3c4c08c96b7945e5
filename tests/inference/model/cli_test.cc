// Runs the built assistant-model binary on real vector files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/json.h"

namespace {

using common::Json;

std::string DataPath(const std::string& rel) { return std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/" + rel; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

struct Result {
  int exit_code;
  std::string out;
};

Result RunTool(const std::string& args) {
  std::string cmd = std::string(ASSISTANT_MODEL_BIN) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    if (line.empty()) continue;
    auto j = Json::Parse(line);
    EXPECT_TRUE(j.ok()) << line;
    if (j.ok()) out.push_back(*j);
  }
  return out;
}

void ExpectJsonlIdsMatch(const std::string& model, const std::string& vectors) {
  Result r = RunTool("tokenize --model " + Quote(model) + " --jsonl " + Quote(vectors));
  ASSERT_EQ(r.exit_code, 0);
  std::vector<Json> want = JsonLines(ReadAll(vectors));
  std::vector<Json> got = JsonLines(r.out);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].Find("ids")->Dump(), want[i].Find("ids")->Dump()) << vectors << " line " << i + 1;
  }
}

TEST(AssistantModelCli, TokenizeJsonlMatchesStories260KVectors) {
  ExpectJsonlIdsMatch(DataPath("tinyllamas/stories260K.gguf"), DataPath("tinyllamas/stories260K.tokenizer.jsonl"));
}

TEST(AssistantModelCli, TokenizeJsonlWithTokenizerJsonMatchesQwen3Vectors) {
  ExpectJsonlIdsMatch(DataPath("tokenizers/qwen3/tokenizer.json"), DataPath("tokenizers/qwen3/tests.jsonl"));
}

TEST(AssistantModelCli, DetokenizeGivesBackTheDecodedField) {
  const std::string vectors = DataPath("tinyllamas/stories260K.tokenizer.jsonl");
  Result r = RunTool("detokenize --model " + Quote(DataPath("tinyllamas/stories260K.gguf")) + " --jsonl " + Quote(vectors));
  ASSERT_EQ(r.exit_code, 0);
  std::vector<Json> want = JsonLines(ReadAll(vectors));
  std::vector<Json> got = JsonLines(r.out);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].Find("text")->as_string(), want[i].Find("decoded")->as_string()) << "line " << i + 1;
  }
}

TEST(AssistantModelCli, TemplateRendersTheQwen3RecordWithExtraContextExactly) {
  for (const Json& rec : JsonLines(ReadAll(DataPath("tokenizers/qwen3/chat_template_tests.jsonl")))) {
    const Json* extra = rec.Find("extra_context");
    if (!extra) continue;
    std::string args = "template --model " + Quote(DataPath("tokenizers/qwen3/tokenizer.json")) +
                       " --tokenizer-config " + Quote(DataPath("tokenizers/qwen3/tokenizer_config.json")) +
                       " --messages " + Quote(rec.Find("messages")->Dump()) + " --context " + Quote(extra->Dump());
    if (rec.Find("add_generation_prompt")->as_bool()) args += " --add-generation-prompt";
    Result r = RunTool(args);
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, rec.Find("rendered")->as_string());
    return;
  }
  FAIL() << "no qwen3 record with extra_context";
}

TEST(AssistantModelCli, InfoReportsShapesTypesTokenizerAndHash) {
  Result r = RunTool("info " + Quote(DataPath("tinyllamas/stories260K.gguf")));
  ASSERT_EQ(r.exit_code, 0);
  auto j = Json::Parse(r.out);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->Find("architecture")->as_string(), "llama");
  EXPECT_EQ(j->Find("sha256")->as_string(), "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
  EXPECT_EQ(j->Find("file_size")->as_int(), 1185376);
  EXPECT_EQ(j->Find("hyperparameters")->Find("block_count")->as_int(), 5);
  EXPECT_EQ(j->Find("tensors")->Find("count")->as_int(), 48);
  EXPECT_EQ(j->Find("tensors")->Find("types")->Find("F32")->as_int(), 48);
  EXPECT_EQ(j->Find("tokenizer")->Find("vocab_size")->as_int(), 512);
  EXPECT_FALSE(j->Find("chat_template")->Find("present")->as_bool());
}

TEST(AssistantModelCli, UsageErrorsExitTwoAndFailuresExitOne) {
  EXPECT_EQ(RunTool("").exit_code, 2);
  EXPECT_EQ(RunTool("frobnicate").exit_code, 2);
  EXPECT_EQ(RunTool("tokenize --text hi").exit_code, 2);                  // no --model
  EXPECT_EQ(RunTool("tokenize --model x --text a --jsonl b").exit_code, 2);  // both inputs
  EXPECT_EQ(RunTool("tokenize --model /nonexistent.gguf --text a").exit_code, 1);
  EXPECT_EQ(RunTool("info " + Quote(DataPath("tinyllamas/legacy-v1/tinyllamas-stories-260k-f32.gguf"))).exit_code, 1);
  EXPECT_EQ(RunTool("template --model " + Quote(DataPath("tinyllamas/stories260K.gguf")) + " --messages '[]'").exit_code,
            1);  // no chat template in the file
}

}  // namespace
