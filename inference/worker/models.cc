#include "worker/models.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <vector>

#include "common/sha256.h"
#include "inference/gguf.h"

namespace worker {

std::string_view ModelStateName(ModelState state) {
  switch (state) {
    case ModelState::kLoading: return "loading";
    case ModelState::kReady: return "ready";
    case ModelState::kFailed: return "failed";
  }
  return "unknown";
}

ModelSnapshot ModelSlot::Snapshot() const {
  ModelSnapshot s;
  s.entry = entry_;
  s.state = state_.load();
  s.progress = progress_.load();
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.error = error_;
  }
  if (s.state == ModelState::kReady) {
    s.sha256 = sha256_;
    s.file_size = file_size_;
    s.architecture = model_->config().arch;
    s.backend = model_->backend_name();
    s.context_length = engine_->Stats().max_model_len;
    // Parameters and the dominant tensor type, from the file's tensor table.
    std::map<std::string, uint64_t> bytes_by_type;
    for (const auto& t : model_->file().tensors()) {
      s.parameters += t.n_elements;
      if (t.dims.size() >= 2) bytes_by_type[inference::GgmlTypeName(t.type)] += t.n_bytes;
    }
    uint64_t most = 0;
    for (const auto& [type, bytes] : bytes_by_type) {
      if (bytes > most) {
        most = bytes;
        s.quantization = type;
      }
    }
  }
  return s;
}

std::unique_ptr<ModelRegistry> ModelRegistry::Start(const WorkerConfig& config,
                                                    ModelLoader loader) {
  std::unique_ptr<ModelRegistry> r(new ModelRegistry());
  for (const auto& e : config.models) r->slots_.push_back(std::make_shared<ModelSlot>(e));
  if (!loader) {
    loader = [](const ModelEntry& e, int threads) {
      inference::ModelOptions options;
      options.threads = threads;
      options.backend = e.backend;
      options.tensor_parallel = e.tensor_parallel;
      return inference::Model::Load(e.path, options);
    };
  }
  r->loader_ = std::thread([reg = r.get(), threads = config.threads, loader] {
    reg->LoadAll(threads, loader);
  });
  return r;
}

ModelRegistry::~ModelRegistry() {
  stop_ = true;
  if (loader_.joinable()) loader_.join();
}

std::shared_ptr<ModelSlot> ModelRegistry::Find(std::string_view name) const {
  for (const auto& s : slots_) {
    if (s->entry().name == name) return s;
  }
  return nullptr;
}

std::vector<ModelSnapshot> ModelRegistry::List() const {
  std::vector<ModelSnapshot> out;
  for (const auto& s : slots_) out.push_back(s->Snapshot());
  return out;
}

void ModelRegistry::WaitUntilLoaded() {
  std::unique_lock<std::mutex> lock(mu_);
  loaded_cv_.wait(lock, [&] { return all_loaded_; });
}

void ModelRegistry::LoadAll(int threads, ModelLoader loader) {
  for (auto& slot : slots_) {
    if (stop_) break;
    const auto status = LoadOne(*slot, threads, loader);
    if (status.ok()) {
      slot->progress_ = 1.0f;
      slot->state_ = ModelState::kReady;
      std::fprintf(stderr, "assistant-worker: model '%s' ready (%s)\n",
                   slot->entry().name.c_str(), slot->model_->backend_name().c_str());
    } else {
      {
        std::lock_guard<std::mutex> lock(slot->mu_);
        slot->error_ = status.ToString();
      }
      slot->state_ = ModelState::kFailed;
      std::fprintf(stderr, "assistant-worker: model '%s' failed: %s\n",
                   slot->entry().name.c_str(), status.ToString().c_str());
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    all_loaded_ = true;
  }
  loaded_cv_.notify_all();
}

common::Status ModelRegistry::LoadOne(ModelSlot& slot, int threads, const ModelLoader& loader) {
  const ModelEntry& e = slot.entry();
  // 1. Hash the file (progress 0 .. 0.5): the hash is pinned in the config
  // and reported for the audit record either way.
  std::ifstream in(e.path, std::ios::binary);
  if (!in) return common::NotFoundError("model '" + e.name + "': cannot open " + e.path);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  common::Sha256 hash;
  std::vector<char> buf(size_t{4} << 20);
  uint64_t done = 0;
  while (in && done < size) {
    if (stop_) return common::CancelledError("worker shutting down");
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    hash.Update(buf.data(), n);
    done += n;
    slot.progress_ = 0.5f * static_cast<float>(done) / static_cast<float>(size ? size : 1);
  }
  if (done != size) return common::DataLossError("model '" + e.name + "': short read");
  const std::string hex = common::HexEncode(hash.Finish());
  if (!e.sha256.empty() && hex != e.sha256) {
    return common::Status(common::StatusCode::kFailedPrecondition,
                          "model '" + e.name + "': SHA-256 mismatch: file " + e.path + " is " +
                              hex + ", config pins " + e.sha256,
                          "MODEL_HASH_MISMATCH");
  }
  slot.sha256_ = hex;
  slot.file_size_ = size;

  // 2. Load (0.5 .. 0.9), then the engine and its KV cache (0.9 .. 1).
  auto model = loader(e, e.threads > 0 ? e.threads : threads);
  if (!model.ok()) return model.status().WithContext("model '" + e.name + "'");
  slot.model_ = std::move(model).value();
  slot.progress_ = 0.9f;
  auto text = MakeModelText(*slot.model_);
  if (!text.ok()) return text.status().WithContext("model '" + e.name + "': tokenizer");
  slot.text_ = std::move(text).value();

  inference::EngineOptions options;
  options.kv_cache_bytes = e.kv_cache_bytes;
  options.scheduler.num_blocks = 0;
  options.scheduler.block_size = e.block_size;
  options.scheduler.max_num_seqs = e.max_num_seqs;
  options.scheduler.max_batched_tokens = e.max_batched_tokens;
  options.scheduler.max_prefill_chunk = e.max_prefill_chunk;
  options.scheduler.max_waiting = e.max_waiting;
  options.scheduler.max_model_len = e.max_model_len;
  options.token_bytes = slot.text_.token_bytes;
  options.is_eog = slot.text_.is_eog;
  auto engine = inference::Engine::Create(slot.model_.get(), std::move(options));
  if (!engine.ok()) return engine.status().WithContext("model '" + e.name + "': engine");
  slot.engine_ = std::move(engine).value();
  return common::OkStatus();
}

}  // namespace worker
