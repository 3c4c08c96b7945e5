#include "common/json.h"

#include <gtest/gtest.h>

namespace common {
namespace {

TEST(JsonTest, ParsesAndDumpsRoundTripKeepingKeyOrder) {
  auto j = Json::Parse(R"({"b":1,"a":[true,null,2.5,"x\u00e9\ud83d\ude00"],"c":{}})");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->Dump(), R"({"b":1,"a":[true,null,2.5,"xé😀"],"c":{}})");
  EXPECT_EQ(j->Find("b")->as_int(), 1);
  EXPECT_EQ(j->Find("missing"), nullptr);
}

TEST(JsonTest, PythonStyleDumpMatchesJsonDumps) {
  auto j = Json::Parse(R"({"name":"get_weather","parameters":{"type":"object","n":[1,2]}})");
  ASSERT_TRUE(j.ok());
  Json::DumpOptions py;
  py.item_sep = ", ";
  py.key_sep = ": ";
  EXPECT_EQ(j->Dump(py),
            R"({"name": "get_weather", "parameters": {"type": "object", "n": [1, 2]}})");
  py.indent = 2;
  EXPECT_EQ(Json::Parse("[1,{\"a\":2}]")->Dump(py), "[\n  1,\n  {\n    \"a\": 2\n  }\n]");
  py.indent = -1;
  py.ensure_ascii = true;
  EXPECT_EQ(Json("é😀").Dump(py), R"("\u00e9\ud83d\ude00")");
}

TEST(JsonTest, DoublesPrintShortestRoundTrip) {
  EXPECT_EQ(Json(0.1).Dump(), "0.1");
  EXPECT_EQ(Json(1.0).Dump(), "1.0");
  EXPECT_EQ(Json(1e-7).Dump(), "1e-07");
}

TEST(JsonTest, ErrorsNameLineAndColumn) {
  auto j = Json::Parse("{\n  \"a\": 1,\n  \"b\" 2\n}");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(j.status().message().find("line 3 column 7"), std::string::npos)
      << j.status().message();
}

TEST(JsonTest, RefusesDeepNestingAndTrailingGarbage) {
  std::string deep(1000, '[');
  EXPECT_FALSE(Json::Parse(deep).ok());
  EXPECT_FALSE(Json::Parse("1 2").ok());
  EXPECT_FALSE(Json::Parse("\"unterminated").ok());
  EXPECT_FALSE(Json::Parse("").ok());
}

TEST(JsonTest, DuplicateKeysLastWins) {
  auto j = Json::Parse(R"({"a":1,"a":2})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->size(), 1u);
  EXPECT_EQ(j->Find("a")->as_int(), 2);
}

}  // namespace
}  // namespace common
