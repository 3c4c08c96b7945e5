#include "common/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace common {
namespace {

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/common_file_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
};

TEST_F(FileTest, ReplacesTheContentsWithTheGivenModeAndLeavesNoTemporaryFile) {
  const std::string path = dir_ + "/state.json";
  ASSERT_TRUE(WriteFileAtomic(path, "old", 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(path, std::string("new\0contents", 12), 0600).ok());
  EXPECT_EQ(Read(path), std::string("new\0contents", 12));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);
}

TEST_F(FileTest, AMissingDirectoryIsUnavailableAndNamesTheFile) {
  const std::string path = dir_ + "/no-such-dir/state.json";
  Status s = WriteFileAtomic(path, "x");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find(path + ".tmp"), std::string::npos) << s.message();
}

TEST_F(FileTest, AFailedRenameLeavesTheOldFileAndRemovesTheTemporaryOne) {
  const std::string path = dir_ + "/target";
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);                        // a directory cannot be replaced
  ASSERT_EQ(::mkdir((path + "/inside").c_str(), 0700), 0);          // ...when it is not empty
  Status s = WriteFileAtomic(path, "x");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("cannot replace " + path), std::string::npos) << s.message();
  EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);
  EXPECT_EQ(::access((path + "/inside").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace common
