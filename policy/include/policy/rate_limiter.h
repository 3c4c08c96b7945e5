// Per-user request/token rates and concurrent streams, for the gateway.
//
// The Policy is pure and only says what the limits are (Policy::LimitsFor);
// the state lives here. Token buckets refill continuously: a limit of N per
// minute holds at most N and refills N/60 per second. The clock is injected.
//
// Thread safety: all methods may be called concurrently.
#ifndef POLICY_RATE_LIMITER_H_
#define POLICY_RATE_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"
#include "policy/policy.h"

namespace policy {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
};

// The real monotonic clock.
class SteadyClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
};

class RateLimiter {
 public:
  // `clock` must outlive the limiter.
  explicit RateLimiter(const Clock* clock) : clock_(clock) {}

  // Admits one request that will use `tokens` tokens (prompt + requested
  // output). On refusal nothing is consumed and the status is
  // RESOURCE_EXHAUSTED with reason "limits.requests_per_minute" or
  // "limits.tokens_per_minute" and the wait in the message.
  common::Status Admit(std::string_view key, const Limits& limits, int64_t tokens);

  // Charges tokens used beyond what Admit() took (e.g. output actually
  // produced); the bucket may go into debt, delaying the next request.
  void Charge(std::string_view key, const Limits& limits, int64_t tokens);

  // A concurrent-stream slot, released when the lease is destroyed. The
  // limiter must outlive its leases.
  class StreamLease {
   public:
    StreamLease() = default;
    StreamLease(StreamLease&& other) noexcept;
    StreamLease& operator=(StreamLease&& other) noexcept;
    StreamLease(const StreamLease&) = delete;
    StreamLease& operator=(const StreamLease&) = delete;
    ~StreamLease();
    bool held() const { return limiter_ != nullptr; }

   private:
    friend class RateLimiter;
    StreamLease(RateLimiter* limiter, std::string key) : limiter_(limiter), key_(std::move(key)) {}
    void Release();
    RateLimiter* limiter_ = nullptr;
    std::string key_;
  };
  // RESOURCE_EXHAUSTED with reason "limits.concurrent_streams" when the key
  // already holds limits.concurrent_streams leases.
  common::StatusOr<StreamLease> AcquireStream(std::string_view key, const Limits& limits);

  int ActiveStreams(std::string_view key) const;

 private:
  struct Bucket {
    double level = 0;
    bool initialised = false;
    std::chrono::steady_clock::time_point last;
  };
  struct State {
    Bucket requests;
    Bucket tokens;
    int streams = 0;
  };
  void Refill(Bucket& b, int64_t per_minute, std::chrono::steady_clock::time_point now) const;

  const Clock* const clock_;  // constant after construction
  mutable std::mutex mu_;
  std::unordered_map<std::string, State> state_;  // guarded by mu_
};

}  // namespace policy

#endif  // POLICY_RATE_LIMITER_H_
