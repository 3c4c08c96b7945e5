// Host-side logic of the CUDA backend's decode graphs (inference/cuda_backend.h), built in every
// configuration and tested without a GPU.
#include <algorithm>

#include "inference/cuda_backend.h"

namespace inference {

std::vector<int> DefaultGraphBuckets() { return {1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128}; }

int GraphBucketFor(int rows, std::span<const int> buckets) {
  if (rows <= 0) return 0;
  int best = 0;
  for (int b : buckets) {
    if (b >= rows && (best == 0 || b < best)) best = b;
  }
  return best;
}

GraphSchedule::Decision GraphSchedule::Next(int bucket, uint64_t generation) {
  Decision d;
  if (!enabled_ || bucket <= 0) return d;
  if (auto f = failures_.find(bucket); f != failures_.end() && f->second >= kMaxFailures) return d;
  if (generation != generation_) {
    d.drop_graphs = recorded() > 0;
    buckets_.clear();
    generation_ = generation;
  }
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) {
    buckets_.emplace(bucket, State::kWarm);
    d.action = Action::kEager;
  } else if (it->second == State::kWarm) {
    d.action = Action::kCapture;
  } else {
    d.action = Action::kReplay;
  }
  return d;
}

void GraphSchedule::Captured(int bucket, uint64_t generation) {
  if (generation != generation_) {  // memory moved while recording: start over
    buckets_.clear();
    generation_ = generation;
    return;
  }
  buckets_[bucket] = State::kRecorded;
}

void GraphSchedule::CaptureFailed(int bucket) {
  buckets_.erase(bucket);
  ++failures_[bucket];
}

void GraphSchedule::Disable() {
  enabled_ = false;
  buckets_.clear();
}

int GraphSchedule::recorded() const {
  return static_cast<int>(std::count_if(buckets_.begin(), buckets_.end(), [](const auto& kv) {
    return kv.second == State::kRecorded;
  }));
}

}  // namespace inference
