// A stand-in Model for engine tests that exercises the paged-KV contract
// exactly: Forward writes each chunk's tokens into the "KV cache" through the
// block table, and logits are a function of the whole sequence read back from
// the cache through the block table. A wrong block table, position or chunk
// changes the tokens. A gate lets a test hold a step in flight, and an error
// can be injected. The real-model tests (engine_model_test.cc) run
// stories260K.gguf through the same engine.
#ifndef TESTS_INFERENCE_SERVING_PAGED_FAKE_MODEL_H_
#define TESTS_INFERENCE_SERVING_PAGED_FAKE_MODEL_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "inference/gguf.h"
#include "inference/model.h"

namespace inference::testing {

class PagedFakeModel : public Model {
 public:
  explicit PagedFakeModel(int n_vocab = 64) {
    config_.arch = "fake";
    config_.n_vocab = n_vocab;
    config_.n_ctx_train = 0;
    std::string gguf("GGUF", 4);
    const uint32_t version = 3;
    const uint64_t zero = 0;
    gguf.append(reinterpret_cast<const char*>(&version), 4);
    gguf.append(reinterpret_cast<const char*>(&zero), 8);
    gguf.append(reinterpret_cast<const char*>(&zero), 8);
    file_ = std::move(GgufFile::FromBuffer(gguf)).value();
  }

  // The token the model predicts after `seq` (FNV-1a of the sequence).
  static int32_t Next(const std::vector<int32_t>& seq, int n_vocab) {
    uint32_t h = 2166136261u;
    for (int32_t t : seq) h = (h ^ static_cast<uint32_t>(t)) * 16777619u;
    return static_cast<int32_t>(h % static_cast<uint32_t>(n_vocab));
  }

  const ModelConfig& config() const override { return config_; }
  const GgufFile& file() const override { return *file_; }
  std::string backend_name() const override { return "fake"; }
  size_t KvBytesPerBlock(int block_size) const override {
    return sizeof(int32_t) * static_cast<size_t>(block_size);
  }
  Status AllocateKvCache(int num_blocks, int block_size) override {
    block_size_ = block_size;
    cache_.assign(static_cast<size_t>(num_blocks) * block_size, -1);
    return common::OkStatus();
  }
  Status CopyKvBlock(int src, int dst) override {
    std::copy_n(cache_.begin() + src * block_size_, block_size_,
                cache_.begin() + dst * block_size_);
    return common::OkStatus();
  }

  Status Forward(const ForwardBatch& batch, std::vector<float>* logits) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++steps_entered_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hold_; });
      max_batch_ = std::max(max_batch_, static_cast<int>(batch.sequences.size()));
      if (fail_) return common::InternalError("injected forward failure");
    }
    logits->clear();
    for (const auto& s : batch.sequences) {
      for (size_t i = 0; i < s.tokens.size(); ++i) {
        const int pos = s.start_pos + static_cast<int>(i);
        cache_[Slot(s.block_table, pos)] = s.tokens[i];
      }
      if (!s.want_logits) continue;
      std::vector<int32_t> seq;
      const int end = s.start_pos + static_cast<int>(s.tokens.size());
      for (int pos = 0; pos < end; ++pos) seq.push_back(cache_[Slot(s.block_table, pos)]);
      const int32_t target = Next(seq, config_.n_vocab);
      for (int j = 0; j < config_.n_vocab; ++j) {
        // Peaked at target, a smooth tail elsewhere (so sampling has choices).
        logits->push_back(j == target ? 4.0f : static_cast<float>((j * 7 + end) % 5) * 0.5f);
      }
    }
    return common::OkStatus();
  }

  // Test controls.
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_ = false;
    }
    cv_.notify_all();
  }
  // Blocks until at least n Forward calls have started.
  void WaitForSteps(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return steps_entered_ >= n; });
  }
  int steps_entered() {
    std::lock_guard<std::mutex> lock(mu_);
    return steps_entered_;
  }
  void FailForwards() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = true;
  }
  int max_batch() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_batch_;
  }

 private:
  size_t Slot(std::span<const int32_t> table, int pos) const {
    return static_cast<size_t>(table[pos / block_size_]) * block_size_ + pos % block_size_;
  }

  ModelConfig config_;
  std::unique_ptr<GgufFile> file_;
  int block_size_ = 0;
  std::vector<int32_t> cache_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  bool fail_ = false;
  int steps_entered_ = 0;
  int max_batch_ = 0;
};

}  // namespace inference::testing

#endif  // TESTS_INFERENCE_SERVING_PAGED_FAKE_MODEL_H_
