// Model: opens the GGUF file, picks the backend and the architecture, runs batched steps.
#include "inference/model.h"

#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "arch/arch.h"
#include "backend/cuda/rank_threads.h"
#include "inference/backend.h"
#include "inference/cuda_backend.h"
#include "inference/gguf.h"
#include "inference/tensor_parallel.h"

namespace inference {
namespace {

class ModelImpl final : public Model {
 public:
  ModelImpl(std::shared_ptr<const GgufFile> file, ModelConfig config, std::unique_ptr<Backend> backend,
            std::unique_ptr<arch::Architecture> arch, KvCacheType kv_type)
      : kv_type_(kv_type),
        file_(std::move(file)),
        config_(std::move(config)),
        backend_(std::move(backend)),
        arch_(std::move(arch)),
        act_(backend_.get()) {}

  const ModelConfig& config() const override { return config_; }
  const GgufFile& file() const override { return *file_; }
  std::string backend_name() const override { return backend_->name(); }

  size_t KvBytesPerBlock(int block_size) const override {
    return backend_->KvBytesPerBlock(kv_type_, config_.n_layer, block_size, arch_->kv_k_width(),
                                     arch_->kv_v_width());
  }

  Status AllocateKvCache(int num_blocks, int block_size) override {
    RETURN_IF_ERROR(backend_->AllocateKvCache(kv_type_, config_.n_layer, num_blocks, block_size,
                                              arch_->kv_k_width(), arch_->kv_v_width()));
    kv_ready_ = true;
    return common::OkStatus();
  }

  Status CopyKvBlock(int src_block, int dst_block) override {
    return backend_->CopyKvBlock(src_block, dst_block);
  }

  Status Forward(const ForwardBatch& batch, std::vector<float>* logits) override {
    logits->clear();
    TensorView out;
    RETURN_IF_ERROR(RunStep(batch, &out));
    if (out.rows == 0) return backend_->Synchronize();
    logits->resize(static_cast<size_t>(out.rows) * config_.n_vocab);
    RETURN_IF_ERROR(backend_->Download(out, logits->data()));
    return backend_->Synchronize();
  }

  bool samples_on_device() const override { return device_sampling_; }

  // The logits stay on the backend; only token ids (and the rare rows the host must finish)
  // come back.
  Status ForwardSample(const ForwardBatch& batch, std::span<const DeviceSampleRow> rows,
                       std::span<const PenaltyEntry> penalties, std::vector<int32_t>* tokens,
                       std::vector<float>* host_rows) override {
    host_rows->clear();
    tokens->clear();
    TensorView out;
    RETURN_IF_ERROR(RunStep(batch, &out));
    if (out.rows != static_cast<int64_t>(rows.size())) {
      return common::InvalidArgumentError("ForwardSample: one parameter row per logit row expected");
    }
    if (out.rows == 0) return backend_->Synchronize();
    tokens->resize(rows.size());
    RETURN_IF_ERROR(backend_->SampleRows(out, rows, penalties, tokens->data()));
    for (size_t r = 0; r < tokens->size(); ++r) {
      if ((*tokens)[r] != kSampleOnHost) continue;
      host_rows->resize(host_rows->size() + static_cast<size_t>(config_.n_vocab));
      RETURN_IF_ERROR(backend_->Download(out.Rows(static_cast<int64_t>(r), 1),
                                         host_rows->data() + host_rows->size() - config_.n_vocab));
    }
    return backend_->Synchronize();
  }

  void set_device_sampling(bool on) { device_sampling_ = on; }
  Backend& backend() { return *backend_; }

  // Embeds the batch and runs the architecture: *out = the logits [logit rows, n_vocab] on the
  // backend (valid until the next step).
  Status RunStep(const ForwardBatch& batch, TensorView* out) {
    if (!kv_ready_) return common::FailedPreconditionError("AllocateKvCache was not called");
    // Lay the sequences out as consecutive rows of one activation matrix.
    tokens_.clear();
    StepInput step;
    for (size_t s = 0; s < batch.sequences.size(); ++s) {
      const SequenceChunk& chunk = batch.sequences[s];
      if (chunk.tokens.empty()) {
        return common::InvalidArgumentError("sequence " + std::to_string(s) + " has no tokens");
      }
      for (int32_t t : chunk.tokens) {
        if (t < 0 || t >= config_.n_vocab) {
          return common::InvalidArgumentError("sequence " + std::to_string(s) + ": token id " +
                                              std::to_string(t) + " outside the vocabulary");
        }
      }
      StepSequence seq;
      seq.first_row = static_cast<int32_t>(tokens_.size());
      seq.n_tokens = static_cast<int32_t>(chunk.tokens.size());
      seq.start_pos = chunk.start_pos;
      seq.block_table = chunk.block_table;
      tokens_.insert(tokens_.end(), chunk.tokens.begin(), chunk.tokens.end());
      if (chunk.want_logits) step.logit_rows.push_back(seq.first_row + seq.n_tokens - 1);
      step.sequences.push_back(seq);
    }
    step.tokens = tokens_;
    const int64_t n = static_cast<int64_t>(tokens_.size());
    const int64_t m = static_cast<int64_t>(step.logit_rows.size());
    *out = TensorView{};
    if (n == 0) return common::OkStatus();
    // A decode step (one token per sequence, every sequence wants its logits) is padded to a
    // graph bucket when the backend records graphs.
    int bucket = 0;
    if (m == n && static_cast<int64_t>(step.sequences.size()) == n) {
      bucket = GraphBucketFor(static_cast<int>(n), backend_->GraphBuckets());
    }
    step.pad_rows = bucket;
    RETURN_IF_ERROR(backend_->BeginStep(step));
    const int64_t rows = bucket > 0 ? bucket : n;
    const int64_t logit_rows = bucket > 0 ? bucket : m;

    const GraphAction action = bucket > 0 ? backend_->BeginGraph(bucket) : GraphAction::kEager;
    if (action == GraphAction::kReplay) {
      auto it = graph_out_.find(bucket);
      if (it == graph_out_.end()) return common::InternalError("no logits view for the graph");
      RETURN_IF_ERROR(backend_->ReplayGraph(bucket));
      *out = it->second.Rows(0, m);
      return common::OkStatus();
    }
    TensorView full;
    auto run = [&]() -> Status {
      act_.Reset();
      ASSIGN_OR_RETURN(TensorView x, act_.Take(rows, config_.n_embd));       // [rows, n_embd]
      ASSIGN_OR_RETURN(full, act_.Take(logit_rows, config_.n_vocab));        // [.., n_vocab]
      backend_->Embed(arch_->token_embd(), x);
      return arch_->Forward(*backend_, act_, x, full);
    };
    Status ran = run();
    if (action == GraphAction::kCapture) {
      Status ended = backend_->EndGraph(bucket);  // always ends the recording
      if (ran.ok() && ended.ok()) {
        graph_out_[bucket] = full;
      } else if (ran.ok() && ended.code() == common::StatusCode::kAborted) {
        ran = run();  // the recording was discarded: run the step for real
      } else if (ran.ok()) {
        ran = ended;
      }
    }
    RETURN_IF_ERROR(ran);
    *out = full.Rows(0, m);
    return common::OkStatus();
  }

 private:
  // Constant after construction.
  const KvCacheType kv_type_;
  const std::shared_ptr<const GgufFile> file_;  // the mapping the CPU weights point into
  const ModelConfig config_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<arch::Architecture> arch_;

  // Per step (one caller at a time).
  arch::Activations act_;
  std::vector<int32_t> tokens_;
  bool kv_ready_ = false;
  bool device_sampling_ = false;
  std::map<int, TensorView> graph_out_;  // logits of each recorded decode bucket
};

// One structured line on stderr when "auto" cannot use the GPU.
void LogBackendFallback(const Status& why) {
  std::string msg = "CUDA backend not used (" + why.message() + "); running on the CPU";
  std::string quoted;
  for (char c : msg) {
    if (c == '"' || c == '\\') quoted += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) quoted += c;
  }
  std::fprintf(stderr, "{\"level\":\"info\",\"component\":\"inference\",\"msg\":\"%s\"}\n",
               quoted.c_str());
}

std::unique_ptr<arch::Architecture> MakeArch(const ModelConfig& config) {
  if (config.arch == "llama") return arch::MakeLlama(config);
  if (config.arch == "qwen2" || config.arch == "qwen2moe") return arch::MakeQwen2(config);
  if (config.arch == "qwen3" || config.arch == "qwen3moe") return arch::MakeQwen3(config);
  if (config.arch == "deepseek2") return arch::MakeDeepseek2(config);
  return nullptr;
}

// Tensor parallelism over GPUs 0..N-1 of this host: one ModelImpl per rank (its backend, its
// slice of the weights as planned by inference/tensor_parallel.h, its slice of the KV heads),
// each driven by its own thread; the backends all-reduce after the split products. Every rank
// computes the same logits; rank 0's are returned (and sampled).
class TensorParallelModel final : public Model {
 public:
  TensorParallelModel(std::shared_ptr<const GgufFile> file, ModelConfig config, int ranks,
                      std::shared_ptr<NcclGroup> nccl)
      : file_(std::move(file)),
        config_(std::move(config)),
        nccl_(std::move(nccl)),
        ranks_(static_cast<size_t>(ranks)),
        threads_(ranks) {}
  ~TensorParallelModel() override {
    // Each rank's device objects are released on its own thread, with its device current.
    (void)threads_.RunAll([this](int r) {
      Status s = UseCudaDevice(r);
      ranks_[static_cast<size_t>(r)].reset();
      return s;
    });
  }

  Status LoadRanks(const ModelOptions& options, KvCacheType kv_type) {
    const int n = static_cast<int>(ranks_.size());
    ASSIGN_OR_RETURN(const ModelConfig rank_config, RankConfig(config_, n));
    return threads_.RunAll([&](int r) -> Status {
      RETURN_IF_ERROR(UseCudaDevice(r));
      CudaBackendOptions o;
      o.device = r;
      o.rank = r;
      o.nccl = nccl_;
      o.graphs = false;  // NCCL inside captured graphs is not verified yet
      ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, CreateCudaBackend(o));
      std::unique_ptr<arch::Architecture> a = MakeArch(rank_config);
      if (!a) return common::UnimplementedError("architecture '" + config_.arch + "'");
      arch::WeightLoader loader(
          *file_, backend.get(),
          [this, n, r](const GgufTensor& t, std::vector<uint8_t>* storage,
                       bool* all_reduce) -> StatusOr<GgufTensor> {
            ASSIGN_OR_RETURN(const TensorShard s, ShardTensor(config_, n, r, t.name, t.dims, t.type));
            *all_reduce = s.all_reduce_after;
            if (s.split == ShardSplit::kReplicated) return t;
            ASSIGN_OR_RETURN(*storage, ExtractShard(t, s));
            GgufTensor out = t;
            const size_t axis = s.split == ShardSplit::kRows ? 1 : 0;
            out.n_elements = t.n_elements / out.dims[axis] * static_cast<uint64_t>(s.count);
            out.dims[axis] = static_cast<uint64_t>(s.count);
            out.data = storage->data();
            out.n_bytes = storage->size();
            out.mapped = false;  // a temporary copy, not the file's mapping
            return out;
          });
      RETURN_IF_ERROR(a->Load(loader));
      auto model = std::make_unique<ModelImpl>(file_, rank_config, std::move(backend),
                                               std::move(a), kv_type);
      model->set_device_sampling(options.sampling != "host");
      ranks_[static_cast<size_t>(r)] = std::move(model);
      return common::OkStatus();
    });
  }

  const ModelConfig& config() const override { return config_; }
  const GgufFile& file() const override { return *file_; }
  std::string backend_name() const override {
    return "cuda tensor-parallel x" + std::to_string(ranks_.size()) + " (" +
           ranks_[0]->backend_name() + ")";
  }
  size_t KvBytesPerBlock(int block_size) const override {
    return ranks_[0]->KvBytesPerBlock(block_size);  // per GPU: each holds its heads' K/V
  }
  Status AllocateKvCache(int num_blocks, int block_size) override {
    return threads_.RunAll([&](int r) -> Status {
      RETURN_IF_ERROR(UseCudaDevice(r));
      return ranks_[static_cast<size_t>(r)]->AllocateKvCache(num_blocks, block_size);
    });
  }
  Status CopyKvBlock(int src_block, int dst_block) override {
    return threads_.RunAll([&](int r) -> Status {
      RETURN_IF_ERROR(UseCudaDevice(r));
      return ranks_[static_cast<size_t>(r)]->CopyKvBlock(src_block, dst_block);
    });
  }
  Status Forward(const ForwardBatch& batch, std::vector<float>* logits) override {
    return threads_.RunAll([&](int r) -> Status {
      RETURN_IF_ERROR(UseCudaDevice(r));
      ModelImpl& m = *ranks_[static_cast<size_t>(r)];
      if (r == 0) return m.Forward(batch, logits);
      TensorView out;
      RETURN_IF_ERROR(m.RunStep(batch, &out));
      return m.backend().Synchronize();
    });
  }
  bool samples_on_device() const override { return ranks_[0]->samples_on_device(); }
  Status ForwardSample(const ForwardBatch& batch, std::span<const DeviceSampleRow> rows,
                       std::span<const PenaltyEntry> penalties, std::vector<int32_t>* tokens,
                       std::vector<float>* host_rows) override {
    return threads_.RunAll([&](int r) -> Status {
      RETURN_IF_ERROR(UseCudaDevice(r));
      ModelImpl& m = *ranks_[static_cast<size_t>(r)];
      if (r == 0) return m.ForwardSample(batch, rows, penalties, tokens, host_rows);
      TensorView out;
      RETURN_IF_ERROR(m.RunStep(batch, &out));
      return m.backend().Synchronize();
    });
  }

 private:
  const std::shared_ptr<const GgufFile> file_;
  const ModelConfig config_;
  const std::shared_ptr<NcclGroup> nccl_;          // outlives the backends that use it
  std::vector<std::unique_ptr<ModelImpl>> ranks_;  // rank r used on thread r only
  mutable RankThreads threads_;
};

StatusOr<std::unique_ptr<Model>> LoadTensorParallel(std::unique_ptr<GgufFile> file,
                                                    ModelConfig config,
                                                    const ModelOptions& options,
                                                    KvCacheType kv_type) {
  ASSIGN_OR_RETURN(std::shared_ptr<NcclGroup> nccl, NcclGroup::Create(options.tensor_parallel));
  auto model = std::make_unique<TensorParallelModel>(std::move(file), std::move(config),
                                                     options.tensor_parallel, std::move(nccl));
  RETURN_IF_ERROR(model->LoadRanks(options, kv_type));
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace

StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& gguf_path,
                                             const ModelOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::Open(gguf_path));
  ASSIGN_OR_RETURN(ModelConfig config, arch::ReadConfig(*file));

  std::unique_ptr<arch::Architecture> arch = MakeArch(config);
  if (!arch) {
    return common::UnimplementedError("architecture '" + config.arch + "' is not supported");
  }

  KvCacheType kv_type;
  if (options.kv_cache_type == "f16") {
    kv_type = KvCacheType::kF16;
  } else if (options.kv_cache_type == "f32") {
    kv_type = KvCacheType::kF32;
  } else {
    return common::InvalidArgumentError("kv_cache_type must be \"f16\" or \"f32\"");
  }
  if (options.sampling != "auto" && options.sampling != "host" && options.sampling != "device") {
    return common::InvalidArgumentError("sampling must be \"auto\", \"host\" or \"device\"");
  }
  if (options.backend != "auto" && options.backend != "cpu" && options.backend != "cuda") {
    return common::InvalidArgumentError("backend must be \"auto\", \"cpu\" or \"cuda\", not '" +
                                        options.backend + "'");
  }
  if (options.tensor_parallel != 1) {
    // Checked in the order a user can act on: the flag, the GPUs, the model's shape, NCCL.
    if (options.backend == "cpu") {
      return common::InvalidArgumentError("tensor_parallel " +
                                          std::to_string(options.tensor_parallel) +
                                          " needs the cuda backend");
    }
    RETURN_IF_ERROR(ValidateTensorParallel(config, options.tensor_parallel, CudaDeviceCount()));
    RETURN_IF_ERROR(CheckNcclForTensorParallel(options.tensor_parallel));
    return LoadTensorParallel(std::move(file), std::move(config), options, kv_type);
  }
  std::unique_ptr<Backend> backend;
  // The GPU when one is present and the model fits, else the CPU, saying why.
  if (options.backend != "cpu") {
    Status gpu = [&]() -> Status {
      CudaBackendOptions cuda_options;
      cuda_options.graphs = options.cuda_graphs;
      ASSIGN_OR_RETURN(backend, CreateCudaBackend(cuda_options));
      arch::WeightLoader loader(*file, backend.get());
      return arch->Load(loader);
    }();
    if (!gpu.ok()) {
      if (options.backend == "cuda") return gpu;
      backend.reset();
      arch = MakeArch(config);
      LogBackendFallback(gpu);
    }
  }
  if (!backend) {
    BackendOptions backend_options;
    backend_options.threads = options.threads;
    // Threads "auto" on a model this small: one thread. Its matrices are a
    // few microseconds of work each; handing them to a pool costs more than
    // it saves, and the pool's waiting threads take CPU from the gateway on
    // the same machine. An explicit thread count is kept.
    constexpr uint64_t kSmallModelBytes = uint64_t{16} << 20;
    if (options.threads == 0 && file->file_size() < kSmallModelBytes) {
      backend_options.threads = 1;
      std::fprintf(stderr,
                   "{\"level\":\"info\",\"component\":\"inference\",\"msg\":\"model file is "
                   "%.1f MiB (under 16 MiB): one CPU thread; set threads to override\"}\n",
                   static_cast<double>(file->file_size()) / (1 << 20));
    }
    ASSIGN_OR_RETURN(backend, CreateCpuBackend(backend_options));
    arch::WeightLoader loader(*file, backend.get());
    RETURN_IF_ERROR(arch->Load(loader));
  }
  const bool device_sampling =
      options.sampling == "device" || (options.sampling == "auto" && backend->SamplesOnDevice());
  auto model = std::make_unique<ModelImpl>(std::move(file), std::move(config), std::move(backend),
                                           std::move(arch), kv_type);
  model->set_device_sampling(device_sampling);
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace inference
