#include "policy/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace policy {

void RateLimiter::Refill(Bucket& b, int64_t per_minute,
                         std::chrono::steady_clock::time_point now) const {
  const double capacity = static_cast<double>(per_minute);
  if (!b.initialised) {
    b.level = capacity;
    b.initialised = true;
    b.last = now;
    return;
  }
  double seconds = std::chrono::duration<double>(now - b.last).count();
  if (seconds > 0) {
    b.level = std::min(capacity, b.level + seconds * capacity / 60.0);
    b.last = now;
  }
}

namespace {
std::string WaitText(double missing, int64_t per_minute) {
  double seconds = std::ceil(missing * 60.0 / static_cast<double>(per_minute));
  return "retry in " + std::to_string(static_cast<int64_t>(std::max(1.0, seconds))) + "s";
}
}  // namespace

common::Status RateLimiter::Admit(std::string_view key, const Limits& limits, int64_t tokens) {
  const auto now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  State& s = state_[std::string(key)];
  if (limits.requests_per_minute) {
    Refill(s.requests, *limits.requests_per_minute, now);
    if (s.requests.level < 1.0) {
      return common::Status(common::StatusCode::kResourceExhausted,
                            "more than " + std::to_string(*limits.requests_per_minute) +
                                " requests per minute; " +
                                WaitText(1.0 - s.requests.level, *limits.requests_per_minute),
                            "limits.requests_per_minute");
    }
  }
  if (limits.tokens_per_minute) {
    if (tokens > *limits.tokens_per_minute) {
      return common::Status(common::StatusCode::kResourceExhausted,
                            "the request needs " + std::to_string(tokens) +
                                " tokens; the limit is " +
                                std::to_string(*limits.tokens_per_minute) + " per minute",
                            "limits.tokens_per_minute");
    }
    Refill(s.tokens, *limits.tokens_per_minute, now);
    if (s.tokens.level < static_cast<double>(tokens)) {
      return common::Status(
          common::StatusCode::kResourceExhausted,
          "more than " + std::to_string(*limits.tokens_per_minute) + " tokens per minute; " +
              WaitText(static_cast<double>(tokens) - s.tokens.level, *limits.tokens_per_minute),
          "limits.tokens_per_minute");
    }
  }
  if (limits.requests_per_minute) s.requests.level -= 1.0;
  if (limits.tokens_per_minute) s.tokens.level -= static_cast<double>(tokens);
  return common::OkStatus();
}

void RateLimiter::Charge(std::string_view key, const Limits& limits, int64_t tokens) {
  if (!limits.tokens_per_minute || tokens <= 0) return;
  const auto now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  State& s = state_[std::string(key)];
  Refill(s.tokens, *limits.tokens_per_minute, now);
  s.tokens.level -= static_cast<double>(tokens);
}

common::StatusOr<RateLimiter::StreamLease> RateLimiter::AcquireStream(std::string_view key,
                                                                      const Limits& limits) {
  std::lock_guard<std::mutex> lock(mu_);
  State& s = state_[std::string(key)];
  if (limits.concurrent_streams && s.streams >= *limits.concurrent_streams) {
    return common::Status(common::StatusCode::kResourceExhausted,
                          "already " + std::to_string(s.streams) +
                              " concurrent streams; the limit is " +
                              std::to_string(*limits.concurrent_streams),
                          "limits.concurrent_streams");
  }
  ++s.streams;
  return StreamLease(this, std::string(key));
}

int RateLimiter::ActiveStreams(std::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = state_.find(std::string(key));
  return it == state_.end() ? 0 : it->second.streams;
}

RateLimiter::StreamLease::StreamLease(StreamLease&& other) noexcept
    : limiter_(other.limiter_), key_(std::move(other.key_)) {
  other.limiter_ = nullptr;
}

RateLimiter::StreamLease& RateLimiter::StreamLease::operator=(StreamLease&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = other.limiter_;
    key_ = std::move(other.key_);
    other.limiter_ = nullptr;
  }
  return *this;
}

RateLimiter::StreamLease::~StreamLease() { Release(); }

void RateLimiter::StreamLease::Release() {
  if (!limiter_) return;
  {
    std::lock_guard<std::mutex> lock(limiter_->mu_);
    auto it = limiter_->state_.find(key_);
    if (it != limiter_->state_.end() && it->second.streams > 0) --it->second.streams;
  }
  limiter_ = nullptr;
}

}  // namespace policy
