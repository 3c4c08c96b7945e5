// RateLimiter with an injected clock: token buckets and stream leases.
#include <chrono>

#include <gtest/gtest.h>

#include "policy/rate_limiter.h"

namespace policy {
namespace {

using std::chrono::seconds;

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return now_; }
  void Advance(std::chrono::steady_clock::duration d) { now_ += d; }

 private:
  std::chrono::steady_clock::time_point now_{};
};

TEST(RateLimiterTest, RequestsPerMinuteRefillContinuously) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  Limits l;
  l.requests_per_minute = 3;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit("alice", l, 0).ok()) << i;
  common::Status s = limiter.Admit("alice", l, 0);
  EXPECT_EQ(s.code(), common::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.reason(), "limits.requests_per_minute");
  EXPECT_NE(s.message().find("retry in 20s"), std::string::npos) << s;
  clock.Advance(seconds(19));
  EXPECT_EQ(limiter.Admit("alice", l, 0).code(), common::StatusCode::kResourceExhausted);
  clock.Advance(seconds(1));
  EXPECT_TRUE(limiter.Admit("alice", l, 0).ok());
}

TEST(RateLimiterTest, KeysAreIndependent) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  Limits l;
  l.requests_per_minute = 1;
  EXPECT_TRUE(limiter.Admit("alice", l, 0).ok());
  EXPECT_TRUE(limiter.Admit("bob", l, 0).ok());
  EXPECT_FALSE(limiter.Admit("alice", l, 0).ok());
}

TEST(RateLimiterTest, TokensPerMinuteAndRefusalConsumesNothing) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  Limits l;
  l.tokens_per_minute = 600;
  l.requests_per_minute = 100;
  EXPECT_TRUE(limiter.Admit("u", l, 500).ok());
  common::Status s = limiter.Admit("u", l, 200);
  EXPECT_EQ(s.reason(), "limits.tokens_per_minute");
  // The refused request took no request slot and no tokens.
  EXPECT_TRUE(limiter.Admit("u", l, 100).ok());
  clock.Advance(seconds(10));  // +100 tokens
  EXPECT_TRUE(limiter.Admit("u", l, 100).ok());
  EXPECT_FALSE(limiter.Admit("u", l, 1).ok());
}

TEST(RateLimiterTest, RequestLargerThanTheBudgetIsRefused) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  Limits l;
  l.tokens_per_minute = 100;
  common::Status s = limiter.Admit("u", l, 101);
  EXPECT_EQ(s.code(), common::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("needs 101 tokens"), std::string::npos);
}

TEST(RateLimiterTest, ChargedOutputTokensDelayTheNextRequest) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  Limits l;
  l.tokens_per_minute = 60;
  EXPECT_TRUE(limiter.Admit("u", l, 10).ok());
  limiter.Charge("u", l, 80);  // now 30 tokens in debt
  EXPECT_FALSE(limiter.Admit("u", l, 1).ok());
  clock.Advance(seconds(31));
  EXPECT_TRUE(limiter.Admit("u", l, 1).ok());
}

TEST(RateLimiterTest, UnsetLimitsAreUnlimited) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  Limits none;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Admit("u", none, 1'000'000).ok());
  auto lease = limiter.AcquireStream("u", none);
  EXPECT_TRUE(lease.ok());
}

TEST(RateLimiterTest, ConcurrentStreamsAreLeased) {
  FakeClock clock;
  RateLimiter limiter(&clock);
  Limits l;
  l.concurrent_streams = 2;
  auto a = limiter.AcquireStream("u", l);
  auto b = limiter.AcquireStream("u", l);
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = limiter.AcquireStream("u", l);
  EXPECT_EQ(c.status().code(), common::StatusCode::kResourceExhausted);
  EXPECT_EQ(c.status().reason(), "limits.concurrent_streams");
  EXPECT_EQ(limiter.ActiveStreams("u"), 2);
  {
    RateLimiter::StreamLease moved = std::move(*a);
    EXPECT_TRUE(moved.held());
    EXPECT_EQ(limiter.ActiveStreams("u"), 2);
  }  // released here
  EXPECT_EQ(limiter.ActiveStreams("u"), 1);
  EXPECT_TRUE(limiter.AcquireStream("u", l).ok());  // acquired and released at once
  EXPECT_EQ(limiter.ActiveStreams("u"), 1);
}

}  // namespace
}  // namespace policy
