// The clock is injected so tests control time (retention, record times).
#ifndef AUDIT_CLOCK_H_
#define AUDIT_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <memory>

namespace audit {

class Clock {
 public:
  virtual ~Clock() = default;
  // UTC microseconds since the Unix epoch.
  virtual int64_t NowMicros() = 0;
};

// Wall-clock time (CLOCK_REALTIME).
std::shared_ptr<Clock> SystemClock();

// A clock that moves only when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t start_us) : now_(start_us) {}
  int64_t NowMicros() override { return now_.load(); }
  void Set(int64_t us) { now_.store(us); }
  void Advance(int64_t us) { now_.fetch_add(us); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace audit

#endif  // AUDIT_CLOCK_H_
