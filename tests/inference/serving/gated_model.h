// A real Model with a gate in front of Forward, so a test can hold a step in
// flight (to fill the queue, or to cancel mid-step) without sleeping.
#ifndef TESTS_INFERENCE_SERVING_GATED_MODEL_H_
#define TESTS_INFERENCE_SERVING_GATED_MODEL_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "inference/model.h"

namespace inference::testing {

class Gate {
 public:
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Called by the model; counts arrivals and waits while closed.
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    ++arrivals_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void WaitForArrivals(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return arrivals_ >= n; });
  }
  int arrivals() {
    std::lock_guard<std::mutex> lock(mu_);
    return arrivals_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int arrivals_ = 0;
};

class GatedModel : public Model {
 public:
  GatedModel(std::unique_ptr<Model> inner, std::shared_ptr<Gate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  const ModelConfig& config() const override { return inner_->config(); }
  const GgufFile& file() const override { return inner_->file(); }
  std::string backend_name() const override { return inner_->backend_name(); }
  size_t KvBytesPerBlock(int block_size) const override {
    return inner_->KvBytesPerBlock(block_size);
  }
  Status AllocateKvCache(int num_blocks, int block_size) override {
    return inner_->AllocateKvCache(num_blocks, block_size);
  }
  Status CopyKvBlock(int src, int dst) override { return inner_->CopyKvBlock(src, dst); }
  Status Forward(const ForwardBatch& batch, std::vector<float>* logits) override {
    gate_->Pass();
    return inner_->Forward(batch, logits);
  }

 private:
  std::unique_ptr<Model> inner_;
  std::shared_ptr<Gate> gate_;
};

}  // namespace inference::testing

#endif  // TESTS_INFERENCE_SERVING_GATED_MODEL_H_
