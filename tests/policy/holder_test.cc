// Hot reload: atomic swap, in-flight requests keep their policy, invalid
// files are refused and the running policy stays.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "policy/decision.h"
#include "policy/holder.h"

namespace policy {
namespace {

std::string PolicyText(const std::string& retention) {
  return R"(version: 1
site: {name: s, jurisdiction: EU}
networks: {allow: [10.0.0.0/8]}
roles: [user]
classifications:
  default: A
  classes:
    A:
      roles: [user]
      models: {names: any, require_pinned: false}
      content_retention: )" +
         retention + R"(
      audit_retention: 1y
)";
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(PolicyHolderTest, ValidReloadSwapsPolicy) {
  auto first = Policy::FromYaml(PolicyText("30d"), "p.yaml");
  ASSERT_TRUE(first.ok());
  PolicyHolder holder(*first);
  const std::string old_hash = holder.Current()->hash();
  ASSERT_TRUE(holder.ReloadFromYaml(PolicyText("7d"), "p.yaml").ok());
  EXPECT_NE(holder.Current()->hash(), old_hash);
  EXPECT_EQ(holder.Current()->RetentionFor("A")->content_seconds, 7 * 86400);
  EXPECT_EQ(holder.generation(), 1);
}

TEST(PolicyHolderTest, InvalidFileIsRefusedAndRunningPolicyStays) {
  std::string good = WriteTemp("holder_good.yaml", PolicyText("30d"));
  auto holder = PolicyHolder::FromFile(good);
  ASSERT_TRUE(holder.ok()) << holder.status();
  const std::string hash = (*holder)->Current()->hash();
  std::string bad = WriteTemp("holder_bad.yaml", PolicyText("30 days"));
  common::Status s = (*holder)->ReloadFromFile(bad);
  EXPECT_EQ(s.code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("holder_bad.yaml:11:26: invalid duration '30 days'"),
            std::string::npos)
      << s;
  EXPECT_EQ((*holder)->Current()->hash(), hash);
  EXPECT_EQ((*holder)->generation(), 0);
  EXPECT_EQ((*holder)->ReloadFromFile(::testing::TempDir() + "/missing.yaml").code(),
            common::StatusCode::kNotFound);
  EXPECT_EQ((*holder)->Current()->hash(), hash);
}

TEST(PolicyHolderTest, InFlightRequestFinishesOnItsPolicy) {
  auto first = Policy::FromYaml(PolicyText("30d"), "p.yaml");
  ASSERT_TRUE(first.ok());
  PolicyHolder holder(*first);
  // A request starts: it takes the current policy once.
  std::shared_ptr<const Policy> in_flight = holder.Current();
  const std::string started_on = in_flight->hash();
  ASSERT_TRUE(holder.ReloadFromYaml(PolicyText("none"), "p.yaml").ok());
  // The old policy is still alive and unchanged for the in-flight request.
  RequestContext r;
  r.user_id = "u";
  r.roles = {"user"};
  r.client_address = "10.0.0.1";
  r.model_name = "m";
  Decision d = Decide(*in_flight, r);
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.policy_hash, started_on);
  EXPECT_TRUE(d.obligations.retention.store_content);
  // New requests see the new one.
  Decision d2 = Decide(*holder.Current(), r);
  EXPECT_NE(d2.policy_hash, started_on);
  EXPECT_FALSE(d2.obligations.retention.store_content);
}

TEST(PolicyHolderTest, ReadersSeeWholePoliciesDuringConcurrentReloads) {
  auto a = Policy::FromYaml(PolicyText("30d"), "a.yaml");
  auto b = Policy::FromYaml(PolicyText("7d"), "b.yaml");
  ASSERT_TRUE(a.ok() && b.ok());
  const std::set<std::string> valid = {(*a)->hash(), (*b)->hash()};
  PolicyHolder holder(*a);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto p = holder.Current();
        if (!p || !valid.count(p->hash())) bad.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) holder.Install(i % 2 ? *a : *b);
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(holder.generation(), 2000);
}

}  // namespace
}  // namespace policy
