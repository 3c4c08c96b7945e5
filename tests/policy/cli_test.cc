// `assistant policy check|explain` through policy::cli::Main.
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/json.h"
#include "policy/cli.h"

namespace policy::cli {
namespace {

const std::string kRoot = ASSISTANT_SOURCE_DIR;
const std::string kPolicy = kRoot + "/tests/policy/policies/base.yaml";

struct CliRun {
  int code;
  std::string out, err;
};

CliRun Invoke(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = Main(args, out, err);
  return {code, out.str(), err.str()};
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

constexpr char kAllowed[] = R"({"user": "alice", "roles": ["user"], "client_address": "10.20.1.1",
  "classification": "INTERNAL", "model": "stories260K",
  "model_sha256": "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d",
  "prompt": "mail bo@example.com about 123-45-6789", "max_output_tokens": 100})";

TEST(PolicyCliTest, CheckValidPolicyPrintsHashAndSummary) {
  CliRun r = Invoke({"check", kRoot + "/policy/config/default-policy.yaml"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("OK: "), std::string::npos);
  EXPECT_NE(r.out.find("sha256: "), std::string::npos);
  EXPECT_NE(r.out.find("CUI level 3"), std::string::npos) << r.out;
}

TEST(PolicyCliTest, CheckMalformedPolicyPrintsLineAndColumn) {
  std::string bad = kRoot + "/tests/policy/malformed/02_unknown_class_key.yaml";
  CliRun r = Invoke({"check", bad});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(bad + ":15:7: unknown key 'retension'"), std::string::npos) << r.err;
}

TEST(PolicyCliTest, ExplainAllowedRequestListsReasonsButNotThePrompt) {
  std::string req = WriteTemp("allowed.json", kAllowed);
  CliRun r = Invoke({"explain", "--policy", kPolicy, "--request", req});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("decision: ALLOW"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("network.allowed"), std::string::npos);
  EXPECT_NE(r.out.find("[SSN_1] ssn bytes 26-37 redact_before_model"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("bo@example.com"), std::string::npos);
  EXPECT_EQ(r.out.find("6789"), std::string::npos);
}

TEST(PolicyCliTest, ExplainShowPromptsPrintsRedactedCopies) {
  std::string req = WriteTemp("allowed2.json", kAllowed);
  CliRun r = Invoke({"explain", "--policy", kPolicy, "--request", req, "--show-prompts"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("audit copy: mail [EMAIL_1] about [SSN_1]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model copy: mail bo@example.com about [SSN_1]"), std::string::npos);
}

TEST(PolicyCliTest, ExplainDeniedRequestExitsThreeWithJson) {
  std::string text = kAllowed;
  text.replace(text.find("10.20.1.1"), 9, "8.8.8.8");
  std::string req = WriteTemp("denied.json", text);
  CliRun r = Invoke({"explain", "--policy", kPolicy, "--request", req, "--json"});
  EXPECT_EQ(r.code, 3) << r.err;
  auto j = common::Json::Parse(r.out);
  ASSERT_TRUE(j.ok()) << j.status() << r.out;
  EXPECT_FALSE(j->Find("allow")->as_bool());
  bool found = false;
  for (const auto& reason : j->Find("reasons")->as_array()) {
    if (reason.Find("rule_id")->as_string() == "network.not_allowed") {
      found = true;
      EXPECT_EQ(reason.Find("effect")->as_string(), "deny");
    }
  }
  EXPECT_TRUE(found) << r.out;
  EXPECT_EQ(j->Find("obligations")->Find("redactions")->size(), 2u);
  EXPECT_EQ(j->Find("audit_prompt"), nullptr);
}

TEST(PolicyCliTest, ExplainRefusesUnknownRequestKeys) {
  std::string req = WriteTemp("typo.json", R"({"usr": "alice"})");
  CliRun r = Invoke({"explain", "--policy", kPolicy, "--request", req});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown key 'usr'"), std::string::npos) << r.err;
}

TEST(PolicyCliTest, ExplainReportsJsonSyntaxErrorsWithLocation) {
  std::string req = WriteTemp("broken.json", "{\n  \"user\": \n}");
  CliRun r = Invoke({"explain", "--policy", kPolicy, "--request", req});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("line 3 column 1"), std::string::npos) << r.err;
}

TEST(PolicyCliTest, UsageErrors) {
  EXPECT_EQ(Invoke({}).code, 2);
  EXPECT_EQ(Invoke({"frobnicate"}).code, 2);
  EXPECT_EQ(Invoke({"check"}).code, 2);
  EXPECT_EQ(Invoke({"explain", "--policy", kPolicy}).code, 2);
  EXPECT_EQ(Invoke({"help"}).code, 0);
}

}  // namespace
}  // namespace policy::cli
