// Each filter of the decision chain alone, then fail-closed behaviour and
// the privacy of Decision's printable form.
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "filters.h"
#include "policy/decision.h"
#include "policy/policy.h"

namespace policy::internal {
namespace {

class FilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = Policy::FromFile(std::string(ASSISTANT_SOURCE_DIR) +
                              "/tests/policy/policies/base.yaml");
    ASSERT_TRUE(p.ok()) << p.status();
    policy_ = *p;
    request_.user_id = "alice";
    request_.roles = {"user"};
    request_.client_address = "10.20.1.1";
    request_.classification = "INTERNAL";
    request_.model_name = "stories260K";
    request_.model_sha256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
    request_.prompt = prompt_;
  }

  Verdict Run(const Filter& f) {
    decision_ = Decision();
    DecisionState s{*policy_, request_, &table_, decision_};
    s.classification = policy_->FindClassification(request_.classification);
    return f.Apply(s);
  }

  std::shared_ptr<const Policy> policy_;
  std::string prompt_ = "hello";
  RequestContext request_;
  PseudonymTable table_;
  Decision decision_;
};

TEST_F(FilterTest, NetworkFilterAllowsListedDeniesOthers) {
  auto f = MakeNetworkFilter();
  EXPECT_EQ(Run(*f), Verdict::kAllow);
  request_.client_address = "10.21.0.1";
  EXPECT_EQ(Run(*f), Verdict::kDeny);
  EXPECT_EQ(decision_.reasons.at(0).rule_id, "network.not_allowed");
  request_.client_address = "unix:/run/a.sock";
  EXPECT_EQ(Run(*f), Verdict::kAllow);
}

TEST_F(FilterTest, NetworkFilterRefusesUnixSocketWhenPolicySaysSo) {
  std::string yaml = R"(version: 1
site: {name: s, jurisdiction: EU}
networks: {allow: ["::/0"], unix_socket: false}
roles: [user]
classifications:
  default: A
  classes:
    A: {roles: [user], models: {names: any, require_pinned: false}, content_retention: none, audit_retention: 1d}
)";
  auto p = Policy::FromYaml(yaml, "u.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  policy_ = *p;
  request_.client_address = "unix";
  EXPECT_EQ(Run(*MakeNetworkFilter()), Verdict::kDeny);
  EXPECT_EQ(decision_.reasons.at(0).rule_id, "network.unix_socket_refused");
  request_.client_address = "2001:db8::1";
  EXPECT_EQ(Run(*MakeNetworkFilter()), Verdict::kAllow);
}

TEST_F(FilterTest, ClassificationFilterResolvesTheDefault) {
  request_.classification.clear();
  auto f = MakeClassificationFilter();
  EXPECT_EQ(Run(*f), Verdict::kAllow);
  EXPECT_EQ(decision_.classification, "INTERNAL");
  EXPECT_TRUE(decision_.HasReason("classification.default"));
}

TEST_F(FilterTest, ModelFilterContinuesWhenClassIsUnknown) {
  request_.classification = "NOPE";
  EXPECT_EQ(Run(*MakeModelFilter()), Verdict::kContinue);
  EXPECT_TRUE(decision_.reasons.empty());
}

TEST_F(FilterTest, ModelFilterDeniesWrongHash) {
  request_.model_sha256 = std::string(64, '0');
  EXPECT_EQ(Run(*MakeModelFilter()), Verdict::kDeny);
  EXPECT_TRUE(decision_.HasReason("model.hash_mismatch"));
}

TEST_F(FilterTest, LimitsFilterAttachesLimits) {
  EXPECT_EQ(Run(*MakeLimitsFilter()), Verdict::kContinue);
  EXPECT_EQ(decision_.obligations.limits.prompt_tokens, 1000);
  request_.prompt_tokens = 1001;
  EXPECT_EQ(Run(*MakeLimitsFilter()), Verdict::kDeny);
}

TEST_F(FilterTest, SensitiveDataFilterRedacts) {
  prompt_ = "SSN 123-45-6789";
  request_.prompt = prompt_;
  EXPECT_EQ(Run(*MakeSensitiveDataFilter()), Verdict::kRedact);
  EXPECT_EQ(decision_.model_prompt, "SSN [SSN_1]");
}

TEST_F(FilterTest, SensitiveDataFilterDeniesInvalidUtf8) {
  prompt_ = "abc\xff 123-45-6789";
  request_.prompt = prompt_;
  EXPECT_EQ(Run(*MakeSensitiveDataFilter()), Verdict::kDeny);
  EXPECT_TRUE(decision_.HasReason("request.invalid_utf8"));
  EXPECT_EQ(decision_.audit_prompt.find("6789"), std::string::npos);
}

TEST_F(FilterTest, RetentionFilterReportsHolds) {
  request_.user_id = "mallory";
  EXPECT_EQ(Run(*MakeRetentionFilter()), Verdict::kContinue);
  EXPECT_EQ(decision_.obligations.legal_holds, std::vector<std::string>{"case-2026-17"});
  EXPECT_EQ(decision_.obligations.retention.content_seconds, 30 * 86400);
}

class ThrowingFilter final : public Filter {
 public:
  std::string_view name() const override { return "throws"; }
  Verdict Apply(DecisionState&) const override { throw std::runtime_error("boom"); }
};

TEST_F(FilterTest, InternalErrorDeniesFailClosed) {
  std::vector<std::unique_ptr<Filter>> chain;
  chain.push_back(MakeNetworkFilter());
  chain.push_back(MakeSensitiveDataFilter());
  chain.push_back(std::make_unique<ThrowingFilter>());
  prompt_ = "mail a@example.com";
  request_.prompt = prompt_;
  Decision d = DecideWithChain(*policy_, request_, nullptr, chain);
  EXPECT_FALSE(d.allow);
  ASSERT_NE(d.FirstDenyReason(), nullptr);
  EXPECT_EQ(d.FirstDenyReason()->rule_id, "internal.error");
  EXPECT_TRUE(d.model_prompt.empty());
  EXPECT_TRUE(d.audit_prompt.empty());
}

TEST_F(FilterTest, DenyWinsOverAllows) {
  std::vector<std::unique_ptr<Filter>> chain;
  chain.push_back(MakeNetworkFilter());         // allow
  chain.push_back(MakeClassificationFilter());  // deny
  chain.push_back(MakeModelFilter());           // allow
  request_.classification = "CUI";
  Decision d = DecideWithChain(*policy_, request_, nullptr, chain);
  EXPECT_FALSE(d.allow);
  EXPECT_TRUE(d.HasReason("network.allowed"));
  EXPECT_TRUE(d.HasReason("model.pinned"));
  EXPECT_EQ(d.FirstDenyReason()->rule_id, "classification.role_not_allowed");
}

TEST_F(FilterTest, DescribeNeverPrintsPromptContent) {
  prompt_ = "secret-ish a@example.com 123-45-6789 PROJECT-ORCA";
  request_.prompt = prompt_;
  Decision d = Decide(*policy_, request_);
  std::string text = d.Describe();
  EXPECT_EQ(text.find("example"), std::string::npos) << text;
  EXPECT_EQ(text.find("6789"), std::string::npos) << text;
  EXPECT_EQ(text.find("ORCA"), std::string::npos) << text;
  for (const Reason& r : d.reasons) {
    EXPECT_EQ(r.message.find("example"), std::string::npos) << r.message;
    EXPECT_EQ(r.message.find("6789"), std::string::npos) << r.message;
  }
  EXPECT_NE(text.find("[SSN_1]"), std::string::npos);
}

TEST(RestoreMapTest, RestoresOnlyKnownPlaceholders) {
  RestoreMap m;
  m.Add("[EMAIL_1]", "a@example.com");
  EXPECT_EQ(m.Restore("to [EMAIL_1], not [EMAIL_2] or [x"), "to a@example.com, not [EMAIL_2] or [x");
  EXPECT_EQ(m.Restore(""), "");
}

TEST(StreamRestorerTest, PlaceholdersSplitAcrossChunks) {
  RestoreMap m;
  m.Add("[EMAIL_1]", "a@example.com");
  m.Add("[SSN_12]", "123-45-6789");
  StreamRestorer r(&m);
  std::string out;
  for (std::string_view chunk : {"Write to [EM", "AIL", "_1] about [", "SSN_12", "]. [x] [EMAIL_"}) {
    out += r.Push(chunk);
  }
  out += r.Finish();
  EXPECT_EQ(out, "Write to a@example.com about 123-45-6789. [x] [EMAIL_");
}

TEST(StreamRestorerTest, PlainTextPassesImmediately) {
  RestoreMap m;
  StreamRestorer r(&m);
  EXPECT_EQ(r.Push("hello "), "hello ");
  EXPECT_EQ(r.Push("[not a placeholder] ok"), "[not a placeholder] ok");
  EXPECT_EQ(r.Push("[EMA"), "");
  EXPECT_EQ(r.Finish(), "[EMA");
}

TEST(PseudonymTableTest, SameValueSamePlaceholderPerType) {
  PseudonymTable t;
  EXPECT_EQ(t.PlaceholderFor("EMAIL", "a@x.org"), "[EMAIL_1]");
  EXPECT_EQ(t.PlaceholderFor("EMAIL", "b@x.org"), "[EMAIL_2]");
  EXPECT_EQ(t.PlaceholderFor("EMAIL", "a@x.org"), "[EMAIL_1]");
  EXPECT_EQ(t.PlaceholderFor("SSN", "a@x.org"), "[SSN_1]");
  EXPECT_EQ(t.size(), 3u);
}

}  // namespace
}  // namespace policy::internal
