// Many concurrent Generate streams of random lengths against a running
// worker, with random client cancellations and deadlines. Every stream must
// end either with a GenerateFinished event and OK, or with a clear status
// that the client caused or the worker announced (CANCELLED,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED). Shared by the CI test (seconds)
// and the worker-stress program (minutes, under ASan).
#ifndef TESTS_INFERENCE_SERVING_WORKER_STRESS_H_
#define TESTS_INFERENCE_SERVING_WORKER_STRESS_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "inference/v1/inference.grpc.pb.h"

namespace inference::testing {

struct StressResult {
  int64_t streams = 0;
  int64_t finished = 0;           // GenerateFinished + OK
  int64_t cancelled = 0;          // client cancel or deadline
  int64_t refused = 0;            // RESOURCE_EXHAUSTED
  int64_t tokens = 0;
  int64_t failures = 0;           // anything else
  std::vector<std::string> failure_samples;
};

inline StressResult RunStress(const std::string& target, const std::string& model,
                              int concurrency, std::chrono::milliseconds duration,
                              int vocab, uint64_t seed) {
  StressResult total;
  std::mutex mu;
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  const auto end = std::chrono::steady_clock::now() + duration;
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      auto stub = ::inference::v1::InferenceService::NewStub(channel);
      std::mt19937_64 rng(seed * 1000 + static_cast<uint64_t>(t));
      StressResult mine;
      while (std::chrono::steady_clock::now() < end) {
        ::inference::v1::GenerateRequest req;
        req.set_model(model);
        req.set_request_id("stress-" + std::to_string(t) + "-" + std::to_string(mine.streams));
        auto* ids = req.mutable_prompt_ids();
        ids->add_ids(1);
        const int prompt_len = 1 + static_cast<int>(rng() % 60);
        for (int i = 0; i < prompt_len; ++i) ids->add_ids(3 + static_cast<int32_t>(rng() % (vocab - 3)));
        req.set_max_tokens(1 + static_cast<uint32_t>(rng() % 200));
        req.mutable_sampling()->set_temperature((rng() % 3) * 0.5f);
        req.set_tenant_key(rng() % 2 ? "tenant-a" : "tenant-b");
        const int mode = static_cast<int>(rng() % 10);  // 0-1: cancel after k events, 2: deadline
        const int cancel_after = static_cast<int>(rng() % 20);
        grpc::ClientContext ctx;
        if (mode == 2) {
          ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(1 + rng() % 50));
        }
        ++mine.streams;
        auto reader = stub->Generate(&ctx, req);
        ::inference::v1::GenerateEvent ev;
        int events = 0;
        bool got_finished = false;
        bool cancelled_by_us = false;
        while (reader->Read(&ev)) {
          ++events;
          if (ev.has_token()) mine.tokens += ev.token().ids_size();
          if (ev.has_finished()) got_finished = true;
          if (mode <= 1 && events == cancel_after && !cancelled_by_us) {
            ctx.TryCancel();
            cancelled_by_us = true;
          }
        }
        const grpc::Status st = reader->Finish();
        if (st.ok() && got_finished) {
          ++mine.finished;
        } else if ((st.error_code() == grpc::StatusCode::CANCELLED && cancelled_by_us) ||
                   (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && mode == 2)) {
          ++mine.cancelled;
        } else if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++mine.refused;
        } else {
          ++mine.failures;
          if (mine.failure_samples.size() < 3) {
            mine.failure_samples.push_back("code " + std::to_string(st.error_code()) + ": " +
                                           st.error_message() +
                                           (got_finished ? " (had finished)" : ""));
          }
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      total.streams += mine.streams;
      total.finished += mine.finished;
      total.cancelled += mine.cancelled;
      total.refused += mine.refused;
      total.tokens += mine.tokens;
      total.failures += mine.failures;
      for (auto& s : mine.failure_samples) {
        if (total.failure_samples.size() < 10) total.failure_samples.push_back(s);
      }
    });
  }
  for (auto& th : threads) th.join();
  return total;
}

}  // namespace inference::testing

#endif  // TESTS_INFERENCE_SERVING_WORKER_STRESS_H_
