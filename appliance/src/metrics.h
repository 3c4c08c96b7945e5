// Prometheus-format metrics of the gateway, served on loopback only.
// Counters and a latency histogram; never content, never user ids.
#ifndef APPLIANCE_SRC_METRICS_H_
#define APPLIANCE_SRC_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"

namespace appliance {

class Metrics {
 public:
  std::atomic<uint64_t> chat_requests{0};
  std::atomic<uint64_t> chat_denied{0};
  std::atomic<uint64_t> chat_rate_limited{0};
  std::atomic<uint64_t> chat_errors{0};
  std::atomic<uint64_t> chat_completed{0};
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> audit_failures{0};
  std::atomic<uint64_t> tokens_generated{0};
  std::atomic<uint64_t> worker_restarts{0};

  // Gateway-added latency (the request's time in the gateway minus the
  // worker's time for it), time to first token and one durable ledger append,
  // in microseconds.
  void ObserveOverhead(uint64_t micros) { Observe(overhead_, micros); }
  void ObserveTtft(uint64_t micros) { Observe(ttft_, micros); }
  void ObserveLedgerAppend(uint64_t micros) { Observe(ledger_append_, micros); }

  // The exposition text; `gauges` adds lines (queue depth, worker state).
  std::string Render(const std::string& gauges) const;

 private:
  static constexpr std::array<uint64_t, 12> kBucketsUs = {
      100, 250, 500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 500000, 2000000};
  struct Histogram {
    std::array<std::atomic<uint64_t>, 13> buckets{};
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_us{0};
  };
  static void Observe(Histogram& h, uint64_t micros);
  static void RenderHistogram(const Histogram& h, const char* name, const char* help,
                              std::string* out);
  Histogram overhead_;
  Histogram ttft_;
  Histogram ledger_append_;
};

// A minimal HTTP/1.0 server for GET /metrics on a loopback address.
class MetricsServer {
 public:
  static common::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& host_port, std::function<std::string()> render);
  ~MetricsServer();
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  void Run();
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::function<std::string()> render_;
  std::thread thread_;
};

}  // namespace appliance

#endif  // APPLIANCE_SRC_METRICS_H_
