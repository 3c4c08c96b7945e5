// Every file in tests/policy/malformed/ is an invalid policy whose first line
// says what the error must be: "# expect: LINE:COL: message text", or
// "# expect: text" where only the message is fixed (the line:col is still
// required to be present).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "policy/policy.h"

namespace policy {
namespace {

namespace fs = std::filesystem;

struct Malformed {
  std::string name;  // file name
  std::string text;
  std::string expect;
};

void PrintTo(const Malformed& m, std::ostream* os) { *os << m.name; }

std::vector<Malformed> Load() {
  std::vector<Malformed> out;
  for (const auto& e :
       fs::directory_iterator(std::string(ASSISTANT_SOURCE_DIR) + "/tests/policy/malformed")) {
    if (e.path().extension() != ".yaml") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    Malformed m{e.path().filename().string(), ss.str(), ""};
    const std::string prefix = "# expect: ";
    if (m.text.rfind(prefix, 0) == 0) {
      m.expect = m.text.substr(prefix.size(), m.text.find('\n') - prefix.size());
    }
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const Malformed& a, const Malformed& b) { return a.name < b.name; });
  return out;
}

class MalformedPolicyTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedPolicyTest, RefusedWithLineNumberedError) {
  const Malformed& m = GetParam();
  ASSERT_FALSE(m.expect.empty()) << m.name << " has no '# expect: ' first line";
  auto p = Policy::FromYaml(m.text, m.name);
  ASSERT_FALSE(p.ok()) << m.name << " was accepted";
  EXPECT_EQ(p.status().code(), common::StatusCode::kInvalidArgument);
  const std::string& msg = p.status().message();
  // Always "file:line:col: ...".
  EXPECT_TRUE(std::regex_search(msg, std::regex("^" + std::regex_replace(m.name, std::regex("\\."), "\\.") +
                                                ":[0-9]+:[0-9]+: ")))
      << msg;
  if (std::isdigit(static_cast<unsigned char>(m.expect[0]))) {
    EXPECT_EQ(msg.rfind(m.name + ":" + m.expect, 0), 0u) << "got:  " << msg << "\nwant: "
                                                          << m.name << ":" << m.expect;
  } else {
    EXPECT_NE(msg.find(m.expect), std::string::npos) << msg;
  }
}

std::string Name(const ::testing::TestParamInfo<Malformed>& info) {
  std::string n = info.param.name.substr(0, info.param.name.find('.'));
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedPolicyTest, ::testing::ValuesIn(Load()), Name);

TEST(MalformedPolicyCorpus, HasAtLeast30Files) { EXPECT_GE(Load().size(), 30u); }

}  // namespace
}  // namespace policy
