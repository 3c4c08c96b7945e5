#include "serving/token_text.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/json.h"
#include "inference/gguf.h"

namespace inference {
namespace {

const std::string kData = std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/tinyllamas/";

TEST(TokenTextTest, StoriesVocabularyDecodesEveryRecordedContinuation) {
  auto file = GgufFile::Open(kData + "stories260K.gguf");
  ASSERT_TRUE(file.ok()) << file.status();
  auto text = MakeTokenText(**file);
  ASSERT_TRUE(text.ok()) << text.status();
  ASSERT_TRUE(text->token_bytes);
  std::ifstream in(kData + "stories260K.greedy.jsonl");
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    auto rec = common::Json::Parse(line);
    ASSERT_TRUE(rec.ok());
    std::string decoded;
    for (const auto& id : rec->Find("greedy_ids")->as_array()) {
      decoded += text->token_bytes(static_cast<int32_t>(id.as_int()));
    }
    EXPECT_EQ(decoded, rec->Find("text")->as_string()) << "line " << checked;
    ++checked;
  }
  EXPECT_EQ(checked, 10);
  // EOS (id 2) ends generation and adds no text; BOS neither.
  EXPECT_TRUE(text->is_eog(2));
  EXPECT_FALSE(text->is_eog(1));
  EXPECT_EQ(text->token_bytes(1), "");
  EXPECT_EQ(text->token_bytes(2), "");
}

TEST(TokenTextTest, FileWithoutVocabularyGivesIdsOnly) {
  std::string gguf("GGUF", 4);
  const uint32_t version = 3;
  const uint64_t zero = 0;
  gguf.append(reinterpret_cast<const char*>(&version), 4);
  gguf.append(reinterpret_cast<const char*>(&zero), 8);
  gguf.append(reinterpret_cast<const char*>(&zero), 8);
  auto file = GgufFile::FromBuffer(gguf);
  ASSERT_TRUE(file.ok()) << file.status();
  auto text = MakeTokenText(**file);
  ASSERT_TRUE(text.ok());
  EXPECT_FALSE(text->token_bytes);
  EXPECT_FALSE(text->is_eog);
}

}  // namespace
}  // namespace inference
