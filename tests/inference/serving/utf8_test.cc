#include "serving/utf8.h"

#include <gtest/gtest.h>

namespace inference {
namespace {

TEST(Utf8Test, CompletePrefixHoldsAnUnfinishedCharacter) {
  EXPECT_EQ(CompleteUtf8Prefix("abc"), 3u);
  EXPECT_EQ(CompleteUtf8Prefix("ab\xC3"), 2u);
  EXPECT_EQ(CompleteUtf8Prefix("ab\xC3\xA9"), 4u);
  EXPECT_EQ(CompleteUtf8Prefix("\xE2\x82"), 0u);          // 2 of 3 bytes of the euro sign
  EXPECT_EQ(CompleteUtf8Prefix("\xE2\x82\xAC"), 3u);
  EXPECT_EQ(CompleteUtf8Prefix("x\xF0\x9F\x98"), 1u);     // 3 of 4 bytes of an emoji
  EXPECT_EQ(CompleteUtf8Prefix(""), 0u);
}

TEST(Utf8Test, SanitizeReplacesInvalidSequencesOnly) {
  EXPECT_EQ(SanitizeUtf8("h\xC3\xA9llo"), "h\xC3\xA9llo");
  EXPECT_EQ(SanitizeUtf8("\xA9"), "\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(SanitizeUtf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
}

}  // namespace
}  // namespace inference
