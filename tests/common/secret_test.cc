#include "common/secret.h"

#include <sstream>

#include <gtest/gtest.h>

namespace common {
namespace {

TEST(SecretBytesTest, PrintsOnlyTheLength) {
  const uint8_t key[4] = {'k', 'e', 'y', '!'};
  SecretBytes s(key, 4);
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "SecretBytes(4 bytes)");
}

TEST(SecretBytesTest, MoveLeavesSourceEmptyAndCompareIsByValue) {
  const uint8_t key[3] = {1, 2, 3};
  SecretBytes a(key, 3), b(key, 3);
  EXPECT_TRUE(a == b);
  SecretBytes c = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(c == b);
}

TEST(SecureZeroTest, ZeroesTheBuffer) {
  uint8_t buf[16];
  for (auto& x : buf) x = 0xAA;
  SecureZero(buf, sizeof buf);
  for (auto x : buf) EXPECT_EQ(x, 0);
}

}  // namespace
}  // namespace common
