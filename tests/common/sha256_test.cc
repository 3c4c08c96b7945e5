#include "common/sha256.h"

#include <gtest/gtest.h>

namespace common {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(HexEncode(Sha256::Hash("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256::Hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256::Hash(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, IncrementalEqualsOneShot) {
  std::string data(1000, 'x');
  Sha256 s;
  for (size_t i = 0; i < data.size(); i += 7) s.Update(data.substr(i, 7));
  EXPECT_EQ(s.Finish(), Sha256::Hash(data));
}

TEST(Sha256Test, HashesTheShippedModelFile) {
  auto h = Sha256File(std::string(ASSISTANT_SOURCE_DIR) + "/models/stories260K.gguf");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
  EXPECT_EQ(Sha256File("/nonexistent/file").status().code(), StatusCode::kNotFound);
}

TEST(HexTest, DecodeRejectsBadInput) {
  EXPECT_EQ(*HexDecode("00ff"), std::string("\x00\xff", 2));
  EXPECT_FALSE(HexDecode("0").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

}  // namespace
}  // namespace common
