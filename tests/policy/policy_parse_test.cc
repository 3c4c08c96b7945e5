// Policy::FromYaml / FromFile: accepted files, the canonical hash, accessors,
// and parser limits. (Refused files: malformed_test.cc and malformed/.)
#include <string>

#include <gtest/gtest.h>

#include "parse_util.h"
#include "policy/policy.h"

namespace policy {
namespace {

const std::string kRoot = ASSISTANT_SOURCE_DIR;

constexpr char kMinimal[] = R"(version: 1
site: {name: s1, jurisdiction: EU}
networks: {allow: [10.0.0.0/8]}
roles: [user, analyst]
classifications:
  default: INTERNAL
  classes:
    INTERNAL:
      roles: [user, analyst]
      models: {names: any, require_pinned: false}
      content_retention: 30d
      audit_retention: 1y
)";

// The same policy, reordered, reformatted and commented.
constexpr char kMinimalReordered[] = R"(# A comment that must not change the hash.
classifications:
  classes:
    INTERNAL:
      audit_retention: 1y      # one year
      content_retention: 30d
      models:
        require_pinned: false
        names: any
      roles: [analyst, user]
  default: INTERNAL
roles:
  - user
  - analyst
networks:
  allow:
    - "10.0.0.0/8"
site:
  jurisdiction: EU
  name: s1
version: 1
)";

TEST(PolicyParseTest, DefaultPolicyShipsValid) {
  auto p = Policy::FromFile(kRoot + "/policy/config/default-policy.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const Policy& policy = **p;
  EXPECT_EQ(policy.version(), 1);
  EXPECT_EQ(policy.hash().size(), 64u);
  EXPECT_EQ(policy.default_classification(), "INTERNAL");
  EXPECT_EQ(policy.classifications().size(), 4u);
  ASSERT_NE(policy.FindModel("stories260K"), nullptr);
  EXPECT_EQ(policy.FindModel("stories260K")->sha256,
            "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
  EXPECT_TRUE(policy.allow_unix_socket());
  EXPECT_NE(policy.Summary().find(policy.hash()), std::string::npos);
}

TEST(PolicyParseTest, HashIgnoresCommentsOrderAndFormatting) {
  auto a = Policy::FromYaml(kMinimal, "a.yaml");
  auto b = Policy::FromYaml(kMinimalReordered, "b.yaml");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*a)->hash(), (*b)->hash());
  EXPECT_EQ((*a)->canonical(), (*b)->canonical());
}

TEST(PolicyParseTest, HashChangesWithMeaning) {
  std::string changed = kMinimal;
  changed.replace(changed.find("30d"), 3, "31d");
  auto a = Policy::FromYaml(kMinimal, "a.yaml");
  auto b = Policy::FromYaml(changed, "b.yaml");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->hash(), (*b)->hash());
}

TEST(PolicyParseTest, EquivalentDurationsHashAlike) {
  std::string other = kMinimal;
  other.replace(other.find("30d"), 3, "720h");
  auto a = Policy::FromYaml(kMinimal, "a.yaml");
  auto b = Policy::FromYaml(other, "b.yaml");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->hash(), (*b)->hash());
}

TEST(PolicyParseTest, MissingFileIsNotFound) {
  auto p = Policy::FromFile(kRoot + "/tests/policy/does-not-exist.yaml");
  EXPECT_EQ(p.status().code(), common::StatusCode::kNotFound);
}

TEST(PolicyParseTest, AccessorsAnswerTheGatewaysQuestions) {
  auto p = Policy::FromFile(kRoot + "/tests/policy/policies/base.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const Policy& policy = **p;
  EXPECT_EQ(policy.site(), "test-site");
  EXPECT_EQ(policy.jurisdiction(), "EU-FR");
  auto cui = policy.RetentionFor("CUI");
  ASSERT_TRUE(cui.has_value());
  EXPECT_FALSE(cui->store_content);
  EXPECT_EQ(cui->audit_seconds, 6 * 365 * 86400);
  auto def = policy.RetentionFor("");
  ASSERT_TRUE(def.has_value());
  EXPECT_EQ(def->content_seconds, 30 * 86400);
  EXPECT_FALSE(policy.RetentionFor("NOPE").has_value());
  Limits l = policy.LimitsFor("bob", {"analyst"});
  EXPECT_EQ(l.prompt_tokens, 50);
  EXPECT_EQ(l.output_tokens, 2000);
  EXPECT_EQ(l.concurrent_streams, 5);
  EXPECT_EQ(policy.HoldsFor("mallory", "conv-held-1"),
            (std::vector<std::string>{"case-2026-17", "audit-hold-3"}));
  EXPECT_TRUE(policy.HoldsFor("alice", "").empty());
  const Classification* cls = policy.FindClassification("CUI");
  ASSERT_NE(cls, nullptr);
  EXPECT_EQ(policy.DetectorActionFor(*cls, "email"), Action::kBlock);
  EXPECT_EQ(policy.DetectorActionFor(*cls, "ssn"), Action::kRedactBeforeModel);
  EXPECT_EQ(policy.DetectorAction("badge"), Action::kBlock);
  EXPECT_EQ(policy.DetectorAction("no-such-detector"), Action::kOff);
}

TEST(PolicyParseTest, UnmentionedDetectorsGetSafeDefaults) {
  auto p = Policy::FromYaml(kMinimal, "m.yaml");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->DetectorAction("card"), Action::kRedactBeforeModel);
  EXPECT_EQ((*p)->DetectorAction("private_key"), Action::kBlock);
  EXPECT_EQ((*p)->DetectorAction("email"), Action::kRedactInAudit);
}

TEST(PolicyParseTest, DeepNestingIsRefusedWithoutRecursion) {
  std::string deep = "version: 1\nsite: " + std::string(100000, '[') + "\n";
  auto p = Policy::FromYaml(deep, "deep.yaml");
  EXPECT_EQ(p.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("deep.yaml:1:1: policy nests deeper"), std::string::npos);
}

TEST(PolicyParseTest, OversizedPolicyIsRefused) {
  std::string big = std::string(kMinimal) + "# " + std::string(5 << 20, 'x') + "\n";
  auto p = Policy::FromYaml(big, "big.yaml");
  EXPECT_EQ(p.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("larger than 4 MiB"), std::string::npos);
}

TEST(PolicyParseTest, BinaryGarbageIsRefusedWithLocation) {
  std::string garbage = "version: 1\n\x01\x02\xff: [\n";
  auto p = Policy::FromYaml(garbage, "g.yaml");
  EXPECT_EQ(p.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message().rfind("g.yaml:", 0), 0u) << p.status();
}

TEST(ParseUtilTest, Durations) {
  using internal::ParseDuration;
  EXPECT_EQ(ParseDuration("45s"), 45);
  EXPECT_EQ(ParseDuration("90m"), 5400);
  EXPECT_EQ(ParseDuration("1d12h"), 129600);
  EXPECT_EQ(ParseDuration("2w"), 14 * 86400);
  EXPECT_EQ(ParseDuration("7y"), 7 * 365 * 86400);
  EXPECT_FALSE(ParseDuration("").has_value());
  EXPECT_FALSE(ParseDuration("5").has_value());
  EXPECT_FALSE(ParseDuration("d").has_value());
  EXPECT_FALSE(ParseDuration("1x").has_value());
  EXPECT_FALSE(ParseDuration("-1d").has_value());
  EXPECT_FALSE(ParseDuration("300y").has_value());
  EXPECT_EQ(internal::FormatDuration(129600), "1d12h");
  EXPECT_EQ(internal::FormatDuration(0), "0s");
}

TEST(ParseUtilTest, CidrsAreNormalised) {
  std::string error;
  auto c = internal::ParseCidr("fd00:0:0::/8", &error);
  ASSERT_TRUE(c.has_value()) << error;
  EXPECT_EQ(c->text, "fd00::/8");
  EXPECT_TRUE(c->v6);
  auto host = internal::ParseCidr("192.168.1.7", &error);
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(host->prefix, 32);
  EXPECT_FALSE(internal::ParseCidr("10.0.0.0/08", &error).has_value());
  EXPECT_FALSE(internal::ParseCidr("10.0.0.0/", &error).has_value());
  EXPECT_FALSE(internal::ParseCidr("::/129", &error).has_value());
  auto all = internal::ParseCidr("0.0.0.0/0", &error);
  ASSERT_TRUE(all.has_value());
  bool v6 = false, is_unix = false;
  uint8_t addr[16];
  ASSERT_TRUE(internal::ParseClientAddress("255.255.255.255", &v6, addr, &is_unix));
  EXPECT_TRUE(internal::CidrContains(*all, v6, addr));
}

}  // namespace
}  // namespace policy
