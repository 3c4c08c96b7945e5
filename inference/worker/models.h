// The worker's models: loaded in the background (SHA-256 verified where the
// config pins one, progress reported), each with its own Engine.
#ifndef INFERENCE_WORKER_MODELS_H_
#define INFERENCE_WORKER_MODELS_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "inference/engine.h"
#include "inference/model.h"
#include "worker/config.h"

namespace worker {

enum class ModelState { kLoading, kReady, kFailed };

// What the worker needs from a model's tokenizer and chat template. Members
// may be empty when the model carries no tokenizer: prompts must then be ids.
struct ModelText {
  std::function<std::string(int32_t)> token_bytes;
  std::function<bool(int32_t)> is_eog;
  // Text -> ids, BOS as the model asks; special-token text stays text.
  std::function<common::StatusOr<std::vector<int32_t>>(std::string_view)> encode;
  // Chat messages (JSON array of {role, content}) + extra template variables
  // (JSON object) -> the rendered prompt, with the generation prompt added.
  // Empty when the model file carries no chat template.
  std::function<common::StatusOr<std::string>(const common::Json& messages,
                                              const common::Json& extra)> render_chat;
  // Rendered chat text -> ids: special tokens recognised, BOS added unless
  // the template already wrote it.
  std::function<common::StatusOr<std::vector<int32_t>>(std::string_view)> encode_chat;
  std::string chat_template_sha256;
};

// Builds ModelText from the model file's tokenizer (worker/text.cc).
common::StatusOr<ModelText> MakeModelText(const inference::Model& model);

struct ModelSnapshot {
  ModelEntry entry;
  ModelState state = ModelState::kLoading;
  float progress = 0;
  std::string error;
  std::string sha256;
  std::string architecture;
  std::string backend;
  int context_length = 0;
  uint64_t file_size = 0;
  uint64_t parameters = 0;      // weights in the file
  std::string quantization;     // tensor type holding most of the weight bytes
};

// One configured model. Thread-safe.
class ModelSlot {
 public:
  explicit ModelSlot(ModelEntry entry) : entry_(std::move(entry)) {}
  const ModelEntry& entry() const { return entry_; }
  ModelSnapshot Snapshot() const;
  ModelState state() const { return state_.load(); }
  // Valid once state() == kReady; live as long as the slot.
  inference::Engine* engine() const { return engine_.get(); }
  const ModelText& text() const { return text_; }
  const std::string& sha256() const { return sha256_; }

 private:
  friend class ModelRegistry;
  const ModelEntry entry_;
  std::atomic<ModelState> state_{ModelState::kLoading};
  std::atomic<float> progress_{0};
  mutable std::mutex mu_;
  std::string error_;        // guarded by mu_
  // Written once before state_ becomes kReady, then constant.
  std::string sha256_;
  uint64_t file_size_ = 0;
  std::unique_ptr<inference::Model> model_;
  std::unique_ptr<inference::Engine> engine_;
  ModelText text_;
};

using ModelLoader = std::function<common::StatusOr<std::unique_ptr<inference::Model>>(
    const ModelEntry& entry, int threads)>;

class ModelRegistry {
 public:
  // Starts loading every model in the background (one after another).
  // `loader` defaults to inference::Model::Load.
  static std::unique_ptr<ModelRegistry> Start(const WorkerConfig& config,
                                              ModelLoader loader = nullptr);
  ~ModelRegistry();  // waits for the loader thread; engines stop with the slots

  // nullptr when no model has that name.
  std::shared_ptr<ModelSlot> Find(std::string_view name) const;
  std::vector<ModelSnapshot> List() const;
  // Blocks until every model is ready or failed.
  void WaitUntilLoaded();

 private:
  ModelRegistry() = default;
  void LoadAll(int threads, ModelLoader loader);
  common::Status LoadOne(ModelSlot& slot, int threads, const ModelLoader& loader);

  std::vector<std::shared_ptr<ModelSlot>> slots_;  // constant after Start
  std::mutex mu_;
  std::condition_variable loaded_cv_;
  bool all_loaded_ = false;  // guarded by mu_
  std::atomic<bool> stop_{false};
  std::thread loader_;
};

std::string_view ModelStateName(ModelState state);

}  // namespace worker

#endif  // INFERENCE_WORKER_MODELS_H_
