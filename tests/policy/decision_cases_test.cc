// Table-driven decision cases: every file in tests/policy/cases/ names a
// policy (tests/policy/policies/), request defaults, and rows. Each row is
// registered as its own test; see tests/policy/cases/README.md for the keys.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "policy/decision.h"
#include "policy/policy.h"

namespace policy {
namespace {

namespace fs = std::filesystem;

const std::string kDir = std::string(ASSISTANT_SOURCE_DIR) + "/tests/policy";

struct Case {
  std::string file;
  std::string policy_file;
  std::string name;
  int line = 0;
  YAML::Node row;       // merged: defaults then the row's own keys
};

std::vector<Case> LoadCases() {
  std::vector<Case> out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kDir + "/cases")) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    YAML::Node doc = YAML::LoadFile(f.string());
    YAML::Node defaults = doc["defaults"];
    for (const auto& row : doc["cases"]) {
      Case c;
      c.file = f.filename().string();
      c.policy_file = doc["policy"].as<std::string>();
      c.name = row["name"].as<std::string>();
      c.line = row.Mark().line + 1;
      YAML::Node merged(YAML::NodeType::Map);
      if (defaults) {
        for (const auto& kv : defaults) merged[kv.first.Scalar()] = kv.second;
      }
      for (const auto& kv : row) merged[kv.first.Scalar()] = kv.second;
      c.row = merged;
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::shared_ptr<const Policy> LoadPolicy(const std::string& name) {
  static std::map<std::string, std::shared_ptr<const Policy>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  auto p = Policy::FromFile(kDir + "/policies/" + name);
  if (!p.ok()) {
    ADD_FAILURE() << p.status();
    return nullptr;
  }
  cache[name] = *p;
  return *p;
}

std::vector<std::string> Strings(const YAML::Node& n) {
  std::vector<std::string> v;
  if (n.IsScalar()) {
    v.push_back(n.Scalar());
  } else {
    for (const auto& x : n) v.push_back(x.Scalar());
  }
  return v;
}

class DecisionCaseTest : public ::testing::TestWithParam<Case> {};

TEST_P(DecisionCaseTest, MatchesExpectation) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.file + ":" + std::to_string(c.line) + ": " + c.name);
  std::shared_ptr<const Policy> policy = LoadPolicy(c.policy_file);
  ASSERT_NE(policy, nullptr);
  const YAML::Node& r = c.row;
  static const std::vector<std::string> kKnown = {
      "name", "user", "roles", "client", "classification", "model", "model_sha256",
      "model_labels", "prompt", "prompt_repeat", "conversation", "prompt_tokens",
      "output_tokens", "expect", "deny", "has", "lacks", "redactions", "audit_prompt",
      "model_prompt", "restore", "content_retention", "audit_retention", "limits", "holds",
      "class", "same_conversation_prompt", "same_conversation_redactions"};
  for (const auto& kv : r) {
    ASSERT_NE(std::find(kKnown.begin(), kKnown.end(), kv.first.Scalar()), kKnown.end())
        << "unknown key in case: " << kv.first.Scalar();
  }

  RequestContext req;
  std::string prompt;
  if (r["user"]) req.user_id = r["user"].Scalar();
  if (r["roles"]) req.roles = Strings(r["roles"]);
  if (r["client"]) req.client_address = r["client"].Scalar();
  if (r["classification"]) req.classification = r["classification"].Scalar();
  if (r["model"]) req.model_name = r["model"].Scalar();
  if (r["model_sha256"]) req.model_sha256 = r["model_sha256"].Scalar();
  if (r["model_labels"]) {
    for (const auto& kv : r["model_labels"]) req.model_labels[kv.first.Scalar()] = kv.second.Scalar();
  }
  if (r["prompt"]) prompt = r["prompt"].Scalar();
  if (r["prompt_repeat"]) {
    std::string unit = prompt;
    int n = r["prompt_repeat"].as<int>();
    for (int i = 1; i < n; ++i) prompt += unit;
  }
  req.prompt = prompt;
  if (r["conversation"]) req.conversation_id = r["conversation"].Scalar();
  if (r["prompt_tokens"]) req.prompt_tokens = r["prompt_tokens"].as<int64_t>();
  if (r["output_tokens"]) req.max_output_tokens = r["output_tokens"].as<int64_t>();

  PseudonymTable table;
  Decision d = Decide(*policy, req, &table);
  SCOPED_TRACE(d.Describe());

  const std::string expect = r["expect"].Scalar();
  ASSERT_TRUE(expect == "allow" || expect == "deny") << "expect must be allow or deny";
  EXPECT_EQ(d.allow, expect == "allow");
  EXPECT_EQ(d.policy_hash, policy->hash());

  std::vector<std::string> denies;
  for (const Reason& reason : d.reasons) {
    if (reason.effect == Effect::kDeny) denies.push_back(reason.rule_id);
  }
  std::sort(denies.begin(), denies.end());
  if (expect == "deny") {
    ASSERT_TRUE(r["deny"]) << "a deny case must list the deny rule ids";
  }
  if (r["deny"]) {
    std::vector<std::string> want = Strings(r["deny"]);
    std::sort(want.begin(), want.end());
    EXPECT_EQ(denies, want);
  } else {
    EXPECT_TRUE(denies.empty());
  }
  if (r["has"]) {
    for (const std::string& id : Strings(r["has"])) EXPECT_TRUE(d.HasReason(id)) << id;
  }
  if (r["lacks"]) {
    for (const std::string& id : Strings(r["lacks"])) EXPECT_FALSE(d.HasReason(id)) << id;
  }
  if (r["redactions"]) {
    std::vector<std::string> got;
    for (const Redaction& red : d.obligations.redactions) {
      got.push_back(red.placeholder.substr(1, red.placeholder.size() - 2));
      // Spans point at the original text.
      EXPECT_LE(red.end, prompt.size());
      EXPECT_LT(red.begin, red.end);
    }
    EXPECT_EQ(got, Strings(r["redactions"]));
  }
  if (r["audit_prompt"]) {
    EXPECT_EQ(d.audit_prompt, r["audit_prompt"].Scalar());
  }
  if (r["model_prompt"]) {
    EXPECT_EQ(d.model_prompt, r["model_prompt"].Scalar());
  }
  if (r["restore"]) {
    EXPECT_EQ(d.restore.Restore(r["restore"]["input"].Scalar()), r["restore"]["output"].Scalar());
  }
  if (r["class"]) {
    EXPECT_EQ(d.classification, r["class"].Scalar());
  }
  if (r["content_retention"]) {
    const std::string want = r["content_retention"].Scalar();
    if (want == "none") {
      EXPECT_FALSE(d.obligations.retention.store_content);
    } else {
      EXPECT_TRUE(d.obligations.retention.store_content);
      EXPECT_EQ(d.obligations.retention.content_seconds, std::stoll(want));
    }
  }
  if (r["audit_retention"]) {
    EXPECT_EQ(d.obligations.retention.audit_seconds, r["audit_retention"].as<int64_t>());
  }
  if (r["limits"]) {
    const Limits& l = d.obligations.limits;
    std::map<std::string, std::optional<int64_t>> got = {
        {"prompt_tokens", l.prompt_tokens},
        {"output_tokens", l.output_tokens},
        {"requests_per_minute", l.requests_per_minute},
        {"tokens_per_minute", l.tokens_per_minute},
        {"concurrent_streams", l.concurrent_streams}};
    for (const auto& kv : r["limits"]) {
      ASSERT_TRUE(got.count(kv.first.Scalar())) << kv.first.Scalar();
      const auto& v = got[kv.first.Scalar()];
      if (kv.second.Scalar() == "unlimited") {
        EXPECT_FALSE(v.has_value()) << kv.first.Scalar();
      } else {
        ASSERT_TRUE(v.has_value()) << kv.first.Scalar();
        EXPECT_EQ(*v, kv.second.as<int64_t>()) << kv.first.Scalar();
      }
    }
  }
  if (r["holds"]) {
    EXPECT_EQ(d.obligations.legal_holds, Strings(r["holds"]));
  }
  // A second prompt in the same conversation reuses the placeholders.
  if (r["same_conversation_prompt"]) {
    std::string second = r["same_conversation_prompt"].Scalar();
    req.prompt = second;
    Decision d2 = Decide(*policy, req, &table);
    std::vector<std::string> got;
    for (const Redaction& red : d2.obligations.redactions) {
      got.push_back(red.placeholder.substr(1, red.placeholder.size() - 2));
    }
    EXPECT_EQ(got, Strings(r["same_conversation_redactions"]));
  }
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.file.substr(0, info.param.file.find('.')) + "_" +
                     std::to_string(info.param.line) + "_";
  for (char ch : info.param.name) {
    name.push_back(std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, DecisionCaseTest, ::testing::ValuesIn(LoadCases()), CaseName);

TEST(DecisionCaseCorpus, HasAtLeast150Cases) { EXPECT_GE(LoadCases().size(), 150u); }

}  // namespace
}  // namespace policy
