// The CUDA backend: implements inference::Backend with the kernels of this
// folder. Ops are enqueued on one stream; the first error of an op is kept and
// reported by Synchronize() (ops themselves return nothing, as on the CPU).
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cuda/attention.cuh"
#include "backend/cuda/common.cuh"
#include "backend/cuda/dequant.cuh"
#include "backend/cuda/matmul.cuh"
#include "backend/cuda/ops.cuh"
#include "backend/cuda/sampling.cuh"
#include "inference/cuda_backend.h"
#include "inference/tensor_parallel.h"

namespace inference {
namespace {

using cuda::WeightRef;

// cuBLAS is loaded at run time, so the packages need no CUDA library at
// install time: CPU-only hosts run the same binaries, and a GPU host needs the
// driver and the toolkit's libcublas. (The CUDA runtime is linked statically.)
struct CublasApi {
  void* handle = nullptr;
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  using GemmExFn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                                      int, int, const void*, const void*, cudaDataType, int,
                                      const void*, cudaDataType, int, const void*, void*,
                                      cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
  GemmExFn gemm_ex = nullptr;
  using GemmStridedBatchedExFn = cublasStatus_t (*)(
      cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
      const void*, cudaDataType, int, long long, const void*, cudaDataType, int, long long,
      const void*, void*, cudaDataType, int, long long, int, cublasComputeType_t,
      cublasGemmAlgo_t);
  GemmStridedBatchedExFn gemm_strided_batched_ex = nullptr;
  // Optional (graphs): a fixed workspace, so captured GEMMs allocate nothing.
  using SetWorkspaceFn = cublasStatus_t (*)(cublasHandle_t, void*, size_t);
  SetWorkspaceFn set_workspace = nullptr;

  Status Load() {
    for (const char* name : {"libcublas.so.13", "libcublas.so"}) {
      handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (handle != nullptr) break;
    }
    if (handle == nullptr) {
      return common::UnavailableError("cuBLAS (libcublas.so.13) was not found: " +
                                      std::string(dlerror()));
    }
    create = reinterpret_cast<decltype(create)>(dlsym(handle, "cublasCreate_v2"));
    destroy = reinterpret_cast<decltype(destroy)>(dlsym(handle, "cublasDestroy_v2"));
    set_stream = reinterpret_cast<decltype(set_stream)>(dlsym(handle, "cublasSetStream_v2"));
    gemm_ex = reinterpret_cast<decltype(gemm_ex)>(dlsym(handle, "cublasGemmEx"));
    set_workspace = reinterpret_cast<SetWorkspaceFn>(dlsym(handle, "cublasSetWorkspace_v2"));
    gemm_strided_batched_ex = reinterpret_cast<GemmStridedBatchedExFn>(
        dlsym(handle, "cublasGemmStridedBatchedEx"));
    if (!create || !destroy || !set_stream || !gemm_ex || !gemm_strided_batched_ex) {
      return common::UnavailableError("libcublas lacks the functions this backend needs");
    }
    return common::OkStatus();
  }
};

struct CudaFree {
  void operator()(void* p) const { cudaFree(p); }
};
using DevicePtr = std::unique_ptr<void, CudaFree>;

class CudaBuffer final : public DeviceBuffer {
 public:
  CudaBuffer(void* p, size_t bytes) : mem_(p), bytes_(bytes) {}
  float* data() override { return static_cast<float*>(mem_.get()); }
  size_t bytes() const override { return bytes_; }

 private:
  DevicePtr mem_;
  size_t bytes_;
};

class CudaWeight final : public BackendWeight {
 public:
  DevicePtr mem;
  WeightRef ref;
};

const WeightRef& Ref(const BackendWeight& w) { return static_cast<const CudaWeight&>(w).ref; }

// A device allocation that only grows.
// Growth bumps *generation (when set): recorded graphs may hold the old pointer.
struct Scratch {
  DevicePtr mem;
  size_t size = 0;
  uint64_t* generation = nullptr;
  void* Get(size_t bytes, common::Status* error) {
    if (bytes > size) {
      if (generation != nullptr) ++*generation;
      mem.reset();
      void* p = nullptr;
      cudaError_t e = cudaMalloc(&p, bytes);
      if (e != cudaSuccess) {
        if (error->ok()) *error = cuda::CudaStatus(e, "cudaMalloc(scratch)", __FILE__, __LINE__);
        size = 0;
        return nullptr;
      }
      mem.reset(p);
      size = bytes;
    }
    return mem.get();
  }
};

// A sequence of the current step whose prefill attention runs on cuBLAS (GemmAttention).
struct GemmSequence {
  int32_t index;  // in the step's sequences (its block table on the device)
  int32_t first_row, n_tokens, start_pos;
};

class CudaBackend final : public Backend {
 public:
  ~CudaBackend() override {
    if (profile_) PrintProfile();
    DropGraphs();
    if (cublas_) blas_.destroy(cublas_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  Status Init(const CudaBackendOptions& options) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
      return common::UnavailableError(
          std::string("no usable NVIDIA GPU (CUDA says: ") +
          (e != cudaSuccess ? cudaGetErrorString(e) : "no device") + ")");
    }
    if (options.device < 0 || options.device >= count) {
      return common::InvalidArgumentError("CUDA device " + std::to_string(options.device) +
                                          " does not exist (" + std::to_string(count) + " found)");
    }
    device_ = options.device;
    reserve_ = options.reserve_bytes;
    nccl_ = options.nccl;
    rank_ = options.rank;
    const char* profile = std::getenv("ASSISTANT_CUDA_PROFILE");
    profile_ = profile != nullptr && std::string(profile) == "1";
    if (options.graphs && !profile_) graph_buckets_ = DefaultGraphBuckets();
    flash_min_rows_ = options.flash_prefill_min_rows;
    gemm_attention_min_rows_ = options.gemm_attention_min_rows;
    for (Scratch* sc : {&step_mem_, &w_scratch_, &x_scratch_, &attn_part_}) {
      sc->generation = &generation_;
    }
    RETURN_IF_CUDA_ERROR(cudaSetDevice(device_));
    cudaDeviceProp prop;
    RETURN_IF_CUDA_ERROR(cudaGetDeviceProperties(&prop, device_));
    device_name_ = prop.name;
    RETURN_IF_CUDA_ERROR(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    RETURN_IF_ERROR(blas_.Load());
    if (blas_.create(&cublas_) != CUBLAS_STATUS_SUCCESS) {
      return common::InternalError("cublasCreate failed");
    }
    blas_.set_stream(cublas_, stream_);
    if (blas_.set_workspace != nullptr) {
      constexpr size_t kWorkspace = size_t{32} << 20;
      void* ws = nullptr;
      RETURN_IF_CUDA_ERROR(cudaMalloc(&ws, kWorkspace));
      blas_workspace_.reset(ws);
      if (blas_.set_workspace(cublas_, ws, kWorkspace) != CUBLAS_STATUS_SUCCESS) {
        return common::InternalError("cublasSetWorkspace failed");
      }
    }
    return common::OkStatus();
  }

  std::string name() const override {
    return "cuda (" + device_name_ + ", device " + std::to_string(device_) + ")";
  }

  // --- Memory -------------------------------------------------------------------------------
  StatusOr<std::unique_ptr<BackendWeight>> UploadWeight(const GgufTensor& t) override {
    if (t.dims.empty() || t.dims.size() > 3) {
      return common::InvalidArgumentError("tensor '" + t.name + "': expected 1 to 3 dimensions");
    }
    auto w = std::make_unique<CudaWeight>();
    w->name = t.name;
    w->type = t.type;
    w->cols = static_cast<int64_t>(t.dims[0]);
    w->rows = t.dims.size() > 1 ? static_cast<int64_t>(t.dims[1]) : 1;
    w->n_mats = t.dims.size() > 2 ? static_cast<int64_t>(t.dims[2]) : 1;
    auto row_bytes = GgmlRowBytes(t.type, t.dims[0]);
    if (!row_bytes.ok()) return row_bytes.status().WithContext("tensor '" + t.name + "'");
    if (!cuda::TypeSupported(t.type)) {
      return common::UnimplementedError("tensor '" + t.name + "': type " + GgmlTypeName(t.type) +
                                        " is not supported by the CUDA backend");
    }
    const size_t mat_bytes = *row_bytes * static_cast<size_t>(w->rows);
    if (mat_bytes * static_cast<size_t>(w->n_mats) != t.n_bytes) {
      return common::InvalidArgumentError("tensor '" + t.name + "': size does not match its shape");
    }
    RETURN_IF_CUDA_ERROR(cudaSetDevice(device_));
    size_t free_bytes = 0, total = 0;
    RETURN_IF_CUDA_ERROR(cudaMemGetInfo(&free_bytes, &total));
    if (t.n_bytes + reserve_ > free_bytes) {
      return common::Status(common::StatusCode::kResourceExhausted,
                            "tensor '" + t.name + "' needs " + FormatBytes(t.n_bytes) +
                                " of GPU memory but only " + FormatBytes(free_bytes) +
                                " is free (after " + FormatBytes(uploaded_) +
                                " of weights already loaded)",
                            "GPU_MEMORY");
    }
    void* p = nullptr;
    RETURN_IF_CUDA_ERROR(cudaMalloc(&p, t.n_bytes));
    w->mem.reset(p);
    // Q8_0 matrices with rows of whole 256-element groups are regrouped for 16-byte loads
    // (dequant.cuh), through a temporary copy; without room for it they stay in the file's
    // layout. Expert stacks (3-D) stay too: their gathered kernel reads element by element.
    GgmlType layout = t.type;
    void* tmp = nullptr;
    if (t.type == GgmlType::kQ8_0 && w->n_mats == 1 && w->cols % cuda::kQ8GroupElems == 0 &&
        cudaMalloc(&tmp, t.n_bytes) == cudaSuccess) {
      DevicePtr tmp_owner(tmp);
      RETURN_IF_CUDA_ERROR(cudaMemcpy(tmp, t.data, t.n_bytes, cudaMemcpyHostToDevice));
      cuda::LaunchGroupQ8_0(static_cast<const uint8_t*>(tmp), w->rows,
                            static_cast<int64_t>(*row_bytes), static_cast<uint8_t*>(p), stream_);
      RETURN_IF_CUDA_ERROR(cudaGetLastError());
      RETURN_IF_CUDA_ERROR(cudaStreamSynchronize(stream_));
      layout = cuda::kQ8_0Grouped;
    } else {
      (void)cudaGetLastError();  // a failed temporary allocation is not an error
      RETURN_IF_CUDA_ERROR(cudaMemcpy(p, t.data, t.n_bytes, cudaMemcpyHostToDevice));
    }
    uploaded_ += t.n_bytes;
    w->ref = WeightRef{static_cast<const uint8_t*>(p), layout, w->rows, w->cols,
                       static_cast<int64_t>(*row_bytes), static_cast<int64_t>(mat_bytes)};
    return std::unique_ptr<BackendWeight>(std::move(w));
  }

  StatusOr<std::unique_ptr<DeviceBuffer>> Allocate(size_t bytes) override {
    ++generation_;  // activations: a recorded graph may hold a pointer this replaces
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, std::max<size_t>(bytes, 4));
    if (e != cudaSuccess) {
      return common::ResourceExhaustedError("cannot allocate " + FormatBytes(bytes) +
                                            " on the GPU: " + cudaGetErrorString(e));
    }
    return std::unique_ptr<DeviceBuffer>(new CudaBuffer(p, bytes));
  }

  Status Upload(const void* host, size_t bytes, DeviceBuffer* dst, size_t offset) override {
    if (offset + bytes > dst->bytes()) return common::OutOfRangeError("upload past buffer end");
    RETURN_IF_CUDA_ERROR(cudaMemcpyAsync(reinterpret_cast<uint8_t*>(dst->data()) + offset, host,
                                         bytes, cudaMemcpyHostToDevice, stream_));
    // The host memory may be reused as soon as we return.
    RETURN_IF_CUDA_ERROR(cudaStreamSynchronize(stream_));
    return common::OkStatus();
  }

  Status Download(const TensorView& src, float* host) override {
    RETURN_IF_CUDA_ERROR(cudaMemcpy2DAsync(host, src.cols * sizeof(float), src.data,
                                           src.stride * sizeof(float), src.cols * sizeof(float),
                                           src.rows, cudaMemcpyDeviceToHost, stream_));
    return common::OkStatus();
  }

  Status Synchronize() override {
    RETURN_IF_CUDA_ERROR(cudaStreamSynchronize(stream_));
    if (profile_) CollectProfile();
    Status e = error_;
    error_ = common::OkStatus();
    return e;
  }

  // --- Paged KV cache -------------------------------------------------------------------------
  size_t KvBytesPerBlock(KvCacheType type, int n_layer, int block_size, int k_width,
                         int v_width) const override {
    return static_cast<size_t>(n_layer) * block_size * (k_width + v_width) *
           (type == KvCacheType::kF16 ? 2 : 4);
  }

  Status AllocateKvCache(KvCacheType type, int n_layer, int num_blocks, int block_size,
                         int k_width, int v_width) override {
    if (n_layer <= 0 || num_blocks <= 0 || block_size <= 0 || k_width <= 0 || v_width <= 0) {
      return common::InvalidArgumentError("KV cache dimensions must be positive");
    }
    const size_t bytes = KvBytesPerBlock(type, n_layer, block_size, k_width, v_width) * num_blocks;
    ++generation_;
    kv_mem_.reset();
    size_t free_bytes = 0, total = 0;
    RETURN_IF_CUDA_ERROR(cudaMemGetInfo(&free_bytes, &total));
    if (bytes > free_bytes) {
      return common::Status(common::StatusCode::kResourceExhausted,
                            "a KV cache of " + std::to_string(num_blocks) + " blocks needs " +
                                FormatBytes(bytes) + " but only " + FormatBytes(free_bytes) +
                                " of GPU memory is free",
                            "GPU_MEMORY");
    }
    void* p = nullptr;
    RETURN_IF_CUDA_ERROR(cudaMalloc(&p, bytes));
    kv_mem_.reset(p);
    kv_ = cuda::KvLayout{static_cast<uint8_t*>(p), type == KvCacheType::kF16, n_layer, num_blocks,
                         block_size, k_width, v_width};
    return common::OkStatus();
  }

  Status CopyKvBlock(int src, int dst) override {
    if (!kv_mem_) return common::FailedPreconditionError("KV cache not allocated");
    if (src < 0 || src >= kv_.num_blocks || dst < 0 || dst >= kv_.num_blocks) {
      return common::OutOfRangeError("KV block id out of range");
    }
    for (int l = 0; l < kv_.n_layer; ++l) {
      const size_t layer_off = static_cast<size_t>(l) * kv_.num_blocks * kv_.BlockBytes();
      RETURN_IF_CUDA_ERROR(cudaMemcpyAsync(kv_.base + layer_off + dst * kv_.BlockBytes(),
                                           kv_.base + layer_off + src * kv_.BlockBytes(),
                                           kv_.BlockBytes(), cudaMemcpyDeviceToDevice, stream_));
    }
    return common::OkStatus();
  }

  // --- Step -----------------------------------------------------------------------------------
  Status BeginStep(const StepInput& step) override {
    if (profile_) {
      CollectProfile();
      Mark("(step start)", GgmlType::kF32);
    }
    const int64_t n_real = static_cast<int64_t>(step.tokens.size());
    // Padded decode steps (graphs) have a fixed layout per bucket: n rows, n logit rows, n table
    // offsets and a table area that only grows, so a recorded graph's pointers stay valid.
    const bool padded = step.pad_rows > 0;
    if (padded && (step.pad_rows < n_real ||
                   static_cast<int64_t>(step.sequences.size()) > step.pad_rows ||
                   static_cast<int64_t>(step.logit_rows.size()) > step.pad_rows)) {
      return common::InvalidArgumentError("pad_rows smaller than the step");
    }
    const int64_t n = padded ? step.pad_rows : n_real;
    std::vector<int32_t> positions(n, 0), row_seq(n, -1), offsets, tables;
    for (size_t s = 0; s < step.sequences.size(); ++s) {
      const StepSequence& q = step.sequences[s];
      if (q.n_tokens <= 0 || q.first_row < 0 || q.first_row + q.n_tokens > n_real ||
          q.start_pos < 0) {
        return common::InvalidArgumentError("sequence " + std::to_string(s) + ": bad row range");
      }
      if (kv_mem_) {
        const int64_t end_pos = static_cast<int64_t>(q.start_pos) + q.n_tokens;
        const int64_t need = (end_pos + kv_.block_size - 1) / kv_.block_size;
        if (static_cast<int64_t>(q.block_table.size()) < need) {
          return common::InvalidArgumentError("sequence " + std::to_string(s) +
                                              ": block table too short for its positions");
        }
        for (int64_t b = 0; b < need; ++b) {
          if (q.block_table[b] < 0 || q.block_table[b] >= kv_.num_blocks) {
            return common::InvalidArgumentError("sequence " + std::to_string(s) +
                                                ": block id outside the KV cache");
          }
        }
      }
      offsets.push_back(static_cast<int32_t>(tables.size()));
      tables.insert(tables.end(), q.block_table.begin(), q.block_table.end());
      for (int i = 0; i < q.n_tokens; ++i) {
        if (row_seq[q.first_row + i] != -1) {
          return common::InvalidArgumentError("sequences overlap in the step's rows");
        }
        row_seq[q.first_row + i] = static_cast<int32_t>(s);
        positions[q.first_row + i] = q.start_pos + i;
      }
    }
    for (int32_t r : step.logit_rows) {
      if (r < 0 || r >= n_real) return common::InvalidArgumentError("logit row out of range");
    }
    PrefillAttentionPlan plan;
    if (!padded) {
      plan = PlanPrefillAttention(step.sequences, n_real, cuda::kFlashTileRows, flash_min_rows_,
                                  gemm_attention_min_rows_, kMaxGemmAttentionPositions);
    }
    const std::vector<int32_t>& tiles = plan.tiles;
    gemm_sequences_.clear();
    for (int32_t i : plan.gemm_sequences) {
      const StepSequence& q = step.sequences[i];
      gemm_sequences_.push_back({i, q.first_row, q.n_tokens, q.start_pos});
    }
    std::vector<int32_t> logit_rows(step.logit_rows.begin(), step.logit_rows.end());
    if (padded) {
      logit_rows.resize(static_cast<size_t>(n), 0);
      offsets.resize(static_cast<size_t>(n), 0);
      if (tables.size() > table_capacity_) {
        table_capacity_ = std::max<size_t>(256, table_capacity_);
        while (table_capacity_ < tables.size()) table_capacity_ *= 2;
      }
      tables.resize(table_capacity_, 0);
    }
    // One device buffer: tokens | positions | row_seq | logit_rows | offsets | tables.
    std::vector<int32_t> packed;
    packed.reserve(3 * n + logit_rows.size() + offsets.size() + tables.size());
    packed.insert(packed.end(), step.tokens.begin(), step.tokens.end());
    packed.resize(static_cast<size_t>(n), 0);  // padding rows: token 0
    packed.insert(packed.end(), positions.begin(), positions.end());
    packed.insert(packed.end(), row_seq.begin(), row_seq.end());
    packed.insert(packed.end(), logit_rows.begin(), logit_rows.end());
    packed.insert(packed.end(), offsets.begin(), offsets.end());
    packed.insert(packed.end(), tables.begin(), tables.end());
    packed.insert(packed.end(), tiles.begin(), tiles.end());
    // Room for the largest padded layout, so that steps of other sizes do not move the buffer.
    const size_t want = std::max(packed.size(), step_floor_) * 4 + 4;
    int32_t* d = static_cast<int32_t*>(step_mem_.Get(want, &error_));
    if (d == nullptr) return Synchronize();
    RETURN_IF_CUDA_ERROR(cudaMemcpyAsync(d, packed.data(), packed.size() * 4,
                                         cudaMemcpyHostToDevice, stream_));
    RETURN_IF_CUDA_ERROR(cudaStreamSynchronize(stream_));
    if (padded) step_floor_ = std::max(step_floor_, packed.size());
    const int64_t n_lr = static_cast<int64_t>(logit_rows.size());
    tokens_ = d;
    arrays_.positions = d + n;
    arrays_.row_seq = d + 2 * n;
    logit_rows_ = d + 3 * n;
    arrays_.table_offset = d + 3 * n + n_lr;
    arrays_.tables = d + 3 * n + n_lr + static_cast<int64_t>(offsets.size());
    n_logit_rows_ = n_lr;
    tiles_ = arrays_.tables + tables.size();
    n_tiles_ = static_cast<int64_t>(tiles.size() / 2);
    return common::OkStatus();
  }

  // A whole prefill chunk at once (one tensor-core product per weight), as long as the two
  // intermediates stay within 256 MiB (an 8B model's 2,048-row chunk: one slice; a 70B's: two).
  int64_t FfnSliceRows(int64_t n_ff) const override {
    constexpr int64_t kBytes = int64_t{256} << 20;
    return std::clamp<int64_t>(kBytes / (2 * static_cast<int64_t>(sizeof(float)) *
                                         std::max<int64_t>(1, n_ff)),
                               128, 4096);
  }

  // --- Graphs ---------------------------------------------------------------------------------
  std::vector<int> GraphBuckets() const override {
    return graph_schedule_.enabled() ? graph_buckets_ : std::vector<int>{};
  }

  GraphAction BeginGraph(int bucket) override {
    const GraphSchedule::Decision d = graph_schedule_.Next(bucket, generation_);
    if (d.drop_graphs) DropGraphs();
    if (d.action == GraphSchedule::Action::kReplay) {
      if (graphs_.count(bucket) != 0) return GraphAction::kReplay;
      graph_schedule_.CaptureFailed(bucket);  // bookkeeping out of step: record again
      return GraphAction::kEager;
    }
    if (d.action != GraphSchedule::Action::kCapture || !error_.ok()) return GraphAction::kEager;
    cudaError_t e = cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      graph_schedule_.CaptureFailed(bucket);
      return GraphAction::kEager;
    }
    capture_generation_ = generation_;
    return GraphAction::kCapture;
  }

  Status EndGraph(int bucket) override {
    cudaGraph_t graph = nullptr;
    cudaError_t e = cudaStreamEndCapture(stream_, &graph);
    cudaGraphExec_t exec = nullptr;
    if (e == cudaSuccess && error_.ok() && generation_ == capture_generation_ &&
        graph != nullptr) {
      e = cudaGraphInstantiate(&exec, graph, 0);
    }
    if (graph != nullptr) cudaGraphDestroy(graph);
    if (exec == nullptr) {
      // Nothing ran: forget launch errors of the recording and let the caller run eagerly.
      (void)cudaGetLastError();
      error_ = common::OkStatus();
      graph_schedule_.CaptureFailed(bucket);
      return common::Status(common::StatusCode::kAborted,
                            std::string("decode graph for ") + std::to_string(bucket) +
                                " rows discarded (" + cudaGetErrorName(e) + ")");
    }
    auto old = graphs_.find(bucket);
    if (old != graphs_.end()) {
      cudaGraphExecDestroy(old->second);
      graphs_.erase(old);
    }
    graphs_[bucket] = exec;
    graph_schedule_.Captured(bucket, generation_);
    return ReplayGraph(bucket);
  }

  Status ReplayGraph(int bucket) override {
    auto it = graphs_.find(bucket);
    if (it == graphs_.end()) return common::FailedPreconditionError("no graph for this bucket");
    RETURN_IF_CUDA_ERROR(cudaGraphLaunch(it->second, stream_));
    return common::OkStatus();
  }

  // --- Ops ------------------------------------------------------------------------------------
  void Embed(const BackendWeight& table, TensorView out) override {
    Check(cuda::LaunchEmbed(Ref(table), tokens_, out, stream_), "Embed", table.type);
  }
  void GatherLogitRows(TensorView src, TensorView out) override {
    cuda::LaunchGatherRows(src, logit_rows_, n_logit_rows_, out, stream_);
    Check(true, "GatherLogitRows", GgmlType::kF32);
  }
  void MatMul(const BackendWeight& weight, TensorView x, TensorView y) override {
    Product(weight, x, y);
    if (weight.all_reduce_after) AllReduce(y, weight.name);
  }

  // y = W x on this rank (no communication).
  void Product(const BackendWeight& weight, TensorView x, TensorView y) {
    const WeightRef& w = Ref(weight);
    if (x.rows <= cuda::kMaxMatVecBatch) {
      Check(cuda::LaunchMatVec(w, x.data, x.stride, static_cast<int>(x.rows), y.data, y.stride,
                               stream_),
            "MatMul (matvec)", weight.type);
      return;
    }
    const float alpha = 1.0f, beta = 0.0f;
    if (w.type == GgmlType::kF32) {
      // F32 weights (small and test models): an fp32 product, as exact as the decode kernels.
      cublasStatus_t s = blas_.gemm_ex(
          cublas_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(w.rows), static_cast<int>(x.rows),
          static_cast<int>(w.cols), &alpha, w.data, CUDA_R_32F, static_cast<int>(w.cols), x.data,
          CUDA_R_32F, static_cast<int>(x.stride), &beta, y.data, CUDA_R_32F,
          static_cast<int>(y.stride), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
      GemmDone(s, weight, "MatMul (cuBLAS fp32)");
      return;
    }
    // Prefill: bf16 tensor-core GEMM with fp32 accumulation, y^T = W x^T. BF16 weights are used
    // in place; other types are dequantized to a bf16 scratch matrix first.
    const __nv_bfloat16* wb = nullptr;
    if (w.type == GgmlType::kBF16) {
      wb = reinterpret_cast<const __nv_bfloat16*>(w.data);
    } else {
      auto* scratch = static_cast<__nv_bfloat16*>(
          w_scratch_.Get(static_cast<size_t>(w.rows * w.cols) * sizeof(__nv_bfloat16), &error_));
      if (scratch == nullptr) return;
      Check(cuda::LaunchDequantizeToBf16(w, 0, scratch, stream_), "MatMul (dequantize to bf16)",
            weight.type);
      wb = scratch;
    }
    auto* xb = static_cast<__nv_bfloat16*>(
        x_scratch_.Get(static_cast<size_t>(x.rows * x.cols) * sizeof(__nv_bfloat16), &error_));
    if (xb == nullptr) return;
    cuda::LaunchF32ToBf16(x.data, x.rows, x.cols, x.stride, xb, stream_);
    Check(true, "MatMul (activations to bf16)", GgmlType::kF32);
    cublasStatus_t s = blas_.gemm_ex(
        cublas_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(w.rows), static_cast<int>(x.rows),
        static_cast<int>(w.cols), &alpha, wb, CUDA_R_16BF, static_cast<int>(w.cols), xb,
        CUDA_R_16BF, static_cast<int>(x.cols), &beta, y.data, CUDA_R_32F,
        static_cast<int>(y.stride), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    GemmDone(s, weight, "MatMul (cuBLAS bf16)");
  }

  void GemmDone(cublasStatus_t s, const BackendWeight& weight, const char* label) {
    if (s != CUBLAS_STATUS_SUCCESS && error_.ok()) {
      error_ = common::InternalError("cublasGemmEx failed with status " + std::to_string(s) +
                                     " for weight '" + weight.name + "'");
    }
    Mark(label, weight.type);
  }

  // Tensor parallelism: sums y over the ranks in place (after a product over split inputs).
  // Issued even after an earlier error: every rank must make the same collective calls, or the
  // others would wait forever; the error is reported by Synchronize() as usual.
  void AllReduce(TensorView y, const std::string& what) {
    if (!nccl_) {
      if (error_.ok()) {
        error_ = common::FailedPreconditionError("weight '" + what +
                                                 "' needs an all-reduce but no NCCL group is set");
      }
      return;
    }
    if (y.stride != y.cols && error_.ok()) {
      error_ = common::InternalError("all-reduce of a strided view after '" + what + "'");
    }
    Status st = nccl_->AllReduceSum(rank_, y.data, static_cast<size_t>(y.rows * y.cols), stream_);
    if (!st.ok() && error_.ok()) error_ = st.WithContext("after '" + what + "'");
  }

  // fp32 activations in blocks of up to 8 tokens: exact for every batch size.
  void MatMulExact(const BackendWeight& weight, TensorView x, TensorView y) override {
    const WeightRef& w = Ref(weight);
    for (int64_t r = 0; r < x.rows; r += cuda::kMaxMatVecBatch) {
      const int n = static_cast<int>(std::min<int64_t>(cuda::kMaxMatVecBatch, x.rows - r));
      Check(cuda::LaunchMatVec(w, x.data + r * x.stride, x.stride, n, y.data + r * y.stride,
                               y.stride, stream_),
            "MatMulExact", weight.type);
    }
  }
  void AddBias(const BackendWeight& b, TensorView y) override {
    Check(cuda::LaunchAddBias(Ref(b), y, stream_), "AddBias", b.type);
  }
  void RmsNorm(TensorView x, const BackendWeight& gamma, float eps, TensorView y) override {
    Check(cuda::LaunchRmsNorm(x, Ref(gamma), eps, y, stream_), "RmsNorm", gamma.type);
  }
  void Rope(TensorView x, const RopeParams& p) override {
    const float* factors = F32Data(p.freq_factors, "Rope frequency factors");
    cuda::LaunchRope(x, p, arrays_.positions, factors, stream_);
    Check(true, "Rope", GgmlType::kF32);
  }
  void PagedAttention(const AttentionParams& p, TensorView q, TensorView k, TensorView v,
                      TensorView out) override {
    cuda::LaunchKvStore(kv_, p.layer, arrays_, k, v, p.n_head_kv * p.head_dim_k,
                        p.n_head_kv * p.head_dim_v, stream_);
    if (!gemm_sequences_.empty() && p.head_dim_k <= cuda::kMaxFlashHeadDim &&
        p.head_dim_v <= cuda::kMaxFlashHeadDim) {
      for (const GemmSequence& sq : gemm_sequences_) GemmAttention(p, sq, q, out);
      if (n_tiles_ > 0) {
        Check(cuda::LaunchFlashPrefill(kv_, p, arrays_, tiles_, n_tiles_, q, out, stream_),
              "PagedAttention (flash prefill)", GgmlType::kF32);
      }
      return;
    }
    if (n_tiles_ > 0 &&
        cuda::LaunchFlashPrefill(kv_, p, arrays_, tiles_, n_tiles_, q, out, stream_)) {
      Check(true, "PagedAttention (flash prefill)", GgmlType::kF32);
      return;
    }
    auto* part = static_cast<float*>(
        attn_part_.Get(cuda::AttentionPartFloats(q.rows, p) * sizeof(float), &error_));
    if (part == nullptr) return;
    Check(cuda::LaunchPagedAttention(kv_, p, arrays_, q, out, part, stream_), "PagedAttention",
          GgmlType::kF32);
  }
  // Prefill attention of one long sequence (gemm_sequences_[i]) with tensor cores: K/V and Q to
  // head-major bf16, then per key/value head group scores = scale Q K^T (all positions), causal
  // softmax to bf16, out = P V written straight into the sequence's output rows.
  void GemmAttention(const AttentionParams& p, const GemmSequence& sq, TensorView q,
                     TensorView out) {
    const int n = sq.n_tokens, n_pos = sq.start_pos + sq.n_tokens;
    const int dk = p.head_dim_k, dv = p.head_dim_v, group = p.n_head / p.n_head_kv;
    auto align = [](size_t b) { return (b + 255) / 256 * 256; };
    const size_t kc_bytes = align(size_t{2} * p.n_head_kv * n_pos * dk);
    const size_t vc_bytes = align(size_t{2} * p.n_head_kv * n_pos * dv);
    const size_t qc_bytes = align(size_t{2} * p.n_head * n * dk);
    const size_t sc_bytes = align(size_t{4} * group * n * n_pos);
    const size_t pr_bytes = align(size_t{2} * group * n * n_pos);
    auto* base = static_cast<uint8_t*>(
        gemm_attn_.Get(kc_bytes + vc_bytes + qc_bytes + sc_bytes + pr_bytes, &error_));
    if (base == nullptr) return;
    auto* kc = reinterpret_cast<__nv_bfloat16*>(base);
    auto* vc = reinterpret_cast<__nv_bfloat16*>(base + kc_bytes);
    auto* qc = reinterpret_cast<__nv_bfloat16*>(base + kc_bytes + vc_bytes);
    auto* sc = reinterpret_cast<float*>(base + kc_bytes + vc_bytes + qc_bytes);
    auto* pr = reinterpret_cast<__nv_bfloat16*>(base + kc_bytes + vc_bytes + qc_bytes + sc_bytes);
    cuda::LaunchGatherKvBf16(kv_, p.layer, arrays_, sq.index, n_pos, p.n_head_kv, dk, dv, kc, vc,
                             stream_);
    cuda::LaunchQHeadsBf16(q, sq.first_row, n, p.n_head, dk, qc, stream_);
    Check(true, "PagedAttention (GEMM prefill: to bf16)", GgmlType::kF32);
    const float zero = 0.0f, one = 1.0f;
    for (int hk = 0; hk < p.n_head_kv; ++hk) {
      const int h0 = hk * group;
      // Scores, column-major [n_pos x n] per head = (K as dk x n_pos)^T (Q as dk x n).
      cublasStatus_t st = blas_.gemm_strided_batched_ex(
          cublas_, CUBLAS_OP_T, CUBLAS_OP_N, n_pos, n, dk, &p.scale,
          kc + static_cast<int64_t>(hk) * n_pos * dk, CUDA_R_16BF, dk, 0,
          qc + static_cast<int64_t>(h0) * n * dk, CUDA_R_16BF, dk,
          static_cast<long long>(n) * dk, &zero, sc, CUDA_R_32F, n_pos,
          static_cast<long long>(n) * n_pos, group, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
      GemmAttentionDone(st, "scores");
      cuda::LaunchCausalSoftmaxBf16(sc, static_cast<int64_t>(group) * n, n, n_pos, sq.start_pos,
                                    pr, stream_);
      Check(true, "PagedAttention (GEMM prefill: softmax)", GgmlType::kF32);
      // Output, column-major [dv x n] per head (the rows of `out`) = (V as dv x n_pos) P^T.
      st = blas_.gemm_strided_batched_ex(
          cublas_, CUBLAS_OP_N, CUBLAS_OP_N, dv, n, n_pos, &one,
          vc + static_cast<int64_t>(hk) * n_pos * dv, CUDA_R_16BF, dv, 0, pr, CUDA_R_16BF, n_pos,
          static_cast<long long>(n) * n_pos, &zero,
          out.data + static_cast<int64_t>(sq.first_row) * out.stride +
              static_cast<int64_t>(h0) * dv,
          CUDA_R_32F, static_cast<int>(out.stride), dv, group, CUBLAS_COMPUTE_32F,
          CUBLAS_GEMM_DEFAULT);
      GemmAttentionDone(st, "output");
    }
  }
  void GemmAttentionDone(cublasStatus_t st, const char* what) {
    if (st != CUBLAS_STATUS_SUCCESS && error_.ok()) {
      error_ = common::InternalError(std::string("cuBLAS attention (") + what +
                                     ") failed with status " + std::to_string(st));
    }
    Mark("PagedAttention (GEMM prefill: cuBLAS)", GgmlType::kF32);
  }

  void SiluMul(TensorView gate, TensorView up, TensorView out) override {
    cuda::LaunchSiluMul(gate, up, out, stream_);
    Check(true, "SiluMul", GgmlType::kF32);
  }
  void Add(TensorView x, TensorView y) override {
    cuda::LaunchAdd(x, y, stream_);
    Check(true, "Add", GgmlType::kF32);
  }
  void Copy(TensorView src, TensorView dst) override {
    cuda::LaunchCopy(src, dst, stream_);
    Check(true, "Copy", GgmlType::kF32);
  }
  void Sigmoid(TensorView x) override {
    cuda::LaunchSigmoid(x, stream_);
    Check(true, "Sigmoid", GgmlType::kF32);
  }
  void ScaleRows(TensorView scales, TensorView dst) override {
    cuda::LaunchScaleRows(scales, dst, stream_);
    Check(true, "ScaleRows", GgmlType::kF32);
  }
  void MoeRoute(TensorView logits, const MoeRouting& r, const BackendWeight* selection_bias,
                TensorView ids, TensorView weights) override {
    const float* bias = F32Data(selection_bias, "MoE selection bias");
    cuda::LaunchMoeRoute(logits, r, bias, ids, weights, stream_);
    Check(true, "MoeRoute", GgmlType::kF32);
  }
  void MoeMatMul(const BackendWeight& experts, TensorView x, bool x_per_slot, TensorView ids,
                 TensorView y) override {
    Check(cuda::LaunchGatheredMatVec(Ref(experts), x.data, x.stride, x_per_slot, ids.ints(),
                                     ids.stride, static_cast<int>(ids.cols), ids.rows * ids.cols,
                                     y.data, y.stride, stream_),
          "MoeMatMul", experts.type);
    // Split expert inputs (ffn_down_exps): the slots are partial sums; combining is linear.
    if (experts.all_reduce_after) AllReduce(y, experts.name);
  }
  void MoeCombine(TensorView y, TensorView weights, TensorView out) override {
    cuda::LaunchMoeCombine(y, weights, out, stream_);
    Check(true, "MoeCombine", GgmlType::kF32);
  }

  // --- Sampling -------------------------------------------------------------------------------
  bool SamplesOnDevice() const override { return true; }

  Status SampleRows(TensorView logits, std::span<const DeviceSampleRow> rows,
                    std::span<const PenaltyEntry> penalties, int32_t* tokens) override {
    if (logits.rows != static_cast<int64_t>(rows.size())) {
      return common::InvalidArgumentError("SampleRows: one parameter row per logit row expected");
    }
    if (rows.empty()) return Synchronize();
    // One upload: rows | penalties | tokens (each part 8-byte aligned).
    const size_t rows_bytes = rows.size() * sizeof(DeviceSampleRow);
    const size_t pen_bytes = (penalties.size() * sizeof(PenaltyEntry) + 7) / 8 * 8;
    const size_t tok_bytes = rows.size() * sizeof(int32_t);
    sample_host_.resize(rows_bytes + pen_bytes);
    std::memcpy(sample_host_.data(), rows.data(), rows_bytes);
    if (!penalties.empty()) {
      std::memcpy(sample_host_.data() + rows_bytes, penalties.data(),
                  penalties.size() * sizeof(PenaltyEntry));
    }
    auto* d = static_cast<uint8_t*>(sample_mem_.Get(rows_bytes + pen_bytes + tok_bytes, &error_));
    auto* work = static_cast<float*>(sample_work_.Get(
        static_cast<size_t>(logits.rows * logits.cols) * sizeof(float), &error_));
    if (d == nullptr || work == nullptr) return Synchronize();
    RETURN_IF_CUDA_ERROR(cudaMemcpyAsync(d, sample_host_.data(), rows_bytes + pen_bytes,
                                         cudaMemcpyHostToDevice, stream_));
    auto* d_tokens = reinterpret_cast<int32_t*>(d + rows_bytes + pen_bytes);
    if (!cuda::LaunchSampleRows(logits, reinterpret_cast<const DeviceSampleRow*>(d),
                                reinterpret_cast<const PenaltyEntry*>(d + rows_bytes),
                                static_cast<int64_t>(penalties.size()), work, d_tokens, stream_)) {
      return common::InvalidArgumentError("SampleRows: vocabulary of " +
                                          std::to_string(logits.cols) + " not supported");
    }
    Check(true, "SampleRows", GgmlType::kF32);
    RETURN_IF_CUDA_ERROR(
        cudaMemcpyAsync(tokens, d_tokens, tok_bytes, cudaMemcpyDeviceToHost, stream_));
    return Synchronize();
  }

 private:
  void DropGraphs() {
    for (auto& [bucket, exec] : graphs_) cudaGraphExecDestroy(exec);
    graphs_.clear();
  }

  // Device data of an optional F32 vector weight (null when absent or not F32).
  const float* F32Data(const BackendWeight* w, const char* what) {
    if (w == nullptr) return nullptr;
    if (w->type != GgmlType::kF32) {
      if (error_.ok()) {
        error_ = common::UnimplementedError(std::string(what) + " of type " +
                                            GgmlTypeName(w->type) + " on the CUDA backend");
      }
      return nullptr;
    }
    return reinterpret_cast<const float*>(Ref(*w).data);
  }

  // Profiling (ASSISTANT_CUDA_PROFILE=1 in the environment; decode graphs are then off): an
  // event after every op on the stream; the time between consecutive events is the op's GPU
  // time, summed by op and weight type and printed to stderr when the backend is destroyed.
  void Mark(const char* op, GgmlType type) {
    if (!profile_) return;
    cudaEvent_t e = nullptr;
    if (!free_events_.empty()) {
      e = free_events_.back();
      free_events_.pop_back();
    } else if (cudaEventCreate(&e) != cudaSuccess) {
      return;
    }
    cudaEventRecord(e, stream_);
    marks_.push_back({std::string(op) + " " + GgmlTypeName(type), e});
  }
  // After a stream synchronize: the marks since the last step start are complete.
  void CollectProfile() {
    for (size_t i = 1; i < marks_.size(); ++i) {
      float ms = 0;
      if (cudaEventElapsedTime(&ms, marks_[i - 1].second, marks_[i].second) != cudaSuccess) continue;
      auto& [total, calls] = profile_totals_[marks_[i].first];
      total += ms;
      ++calls;
    }
    for (auto& m : marks_) free_events_.push_back(m.second);
    marks_.clear();
  }
  void PrintProfile() {
    CollectProfile();
    for (cudaEvent_t e : free_events_) cudaEventDestroy(e);
    double sum = 0;
    std::vector<std::pair<double, std::string>> rows;
    for (const auto& [label, tc] : profile_totals_) {
      if (label.rfind("(", 0) == 0) continue;  // host time between steps
      sum += tc.first;
      rows.push_back({tc.first, label});
    }
    std::sort(rows.rbegin(), rows.rend());
    std::fprintf(stderr, "CUDA profile (%s): %.1f ms of GPU time in ops\n", name().c_str(), sum);
    for (const auto& [ms, label] : rows) {
      const auto& tc = profile_totals_[label];
      std::fprintf(stderr, "  %-44s %8lld calls %10.2f ms %9.1f us/call %5.1f%%\n", label.c_str(),
                   static_cast<long long>(tc.second), ms, 1000.0 * ms / tc.second,
                   100.0 * ms / sum);
    }
  }

  // Keeps the first failure of an op (unsupported type or launch error).
  void Check(bool launched, const char* op, GgmlType type) {
    Mark(op, type);
    if (!error_.ok()) return;
    if (!launched) {
      error_ = common::UnimplementedError(std::string(op) + ": unsupported type " +
                                          GgmlTypeName(type) + " on the CUDA backend");
      return;
    }
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) error_ = cuda::CudaStatus(e, op, __FILE__, __LINE__);
  }

  // Constant after Init.
  int device_ = 0;
  std::shared_ptr<NcclGroup> nccl_;  // tensor parallelism (null: one GPU)
  int rank_ = 0;
  size_t reserve_ = 0;
  std::string device_name_;
  cudaStream_t stream_ = nullptr;
  CublasApi blas_;
  cublasHandle_t cublas_ = nullptr;
  DevicePtr blas_workspace_;

  // State of the loaded model and the current step (one caller at a time).
  size_t uploaded_ = 0;
  DevicePtr kv_mem_;
  cuda::KvLayout kv_;
  Scratch step_mem_, w_scratch_, x_scratch_, sample_mem_, sample_work_, attn_part_, gemm_attn_;
  size_t table_capacity_ = 0;  // table entries of a padded step (grows)
  size_t step_floor_ = 0;      // int32s of the largest padded step so far
  // Graphs: device memory generation (bumped by every (re)allocation a graph could hold).
  uint64_t generation_ = 1, capture_generation_ = 0;
  std::vector<int> graph_buckets_;
  GraphSchedule graph_schedule_;
  std::map<int, cudaGraphExec_t> graphs_;
  int flash_min_rows_ = 0;
  // Prefill attention with cuBLAS: the sequences of the current step that take it.
  static constexpr int kMaxGemmAttentionPositions = 8192;
  int gemm_attention_min_rows_ = 0;
  std::vector<GemmSequence> gemm_sequences_;
  const int32_t* tiles_ = nullptr;  // flash prefill tiles of the current step (device)
  int64_t n_tiles_ = 0;
  std::vector<uint8_t> sample_host_;
  const int32_t* tokens_ = nullptr;
  const int32_t* logit_rows_ = nullptr;
  int64_t n_logit_rows_ = 0;
  cuda::StepArrays arrays_;
  Status error_;
  // Profiling (Mark).
  bool profile_ = false;
  std::vector<std::pair<std::string, cudaEvent_t>> marks_;
  std::vector<cudaEvent_t> free_events_;
  std::map<std::string, std::pair<double, int64_t>> profile_totals_;
};

}  // namespace

bool CudaBackendCompiled() { return true; }

int CudaDeviceCount() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

namespace {
// Times `fn` (enqueued on `stream`) with events: best of `reps` runs, in seconds.
template <typename Fn>
StatusOr<double> BestTime(cudaStream_t stream, int reps, Fn fn) {
  cudaEvent_t start = nullptr, stop = nullptr;
  RETURN_IF_CUDA_ERROR(cudaEventCreate(&start));
  RETURN_IF_CUDA_ERROR(cudaEventCreate(&stop));
  double best = 1e30;
  Status st;
  for (int i = 0; i < reps && st.ok(); ++i) {
    st = cuda::CudaStatus(cudaEventRecord(start, stream), "cudaEventRecord", __FILE__, __LINE__);
    if (st.ok()) st = fn();
    if (st.ok()) st = cuda::CudaStatus(cudaEventRecord(stop, stream), "cudaEventRecord", __FILE__, __LINE__);
    if (st.ok()) st = cuda::CudaStatus(cudaEventSynchronize(stop), "cudaEventSynchronize", __FILE__, __LINE__);
    float ms = 0;
    if (st.ok()) st = cuda::CudaStatus(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime", __FILE__, __LINE__);
    if (st.ok() && i > 0) best = std::min(best, static_cast<double>(ms) / 1e3);  // run 0 warms up
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  RETURN_IF_ERROR(st);
  return best;
}
}  // namespace

StatusOr<double> MeasureCopyBandwidth(int device, size_t bytes) {
  if (CudaDeviceCount() <= device || device < 0) return common::UnavailableError("no such GPU");
  RETURN_IF_CUDA_ERROR(cudaSetDevice(device));
  void *a = nullptr, *b = nullptr;
  RETURN_IF_CUDA_ERROR(cudaMalloc(&a, bytes));
  DevicePtr hold_a(a);
  RETURN_IF_CUDA_ERROR(cudaMalloc(&b, bytes));
  DevicePtr hold_b(b);
  RETURN_IF_CUDA_ERROR(cudaMemset(a, 1, bytes));
  ASSIGN_OR_RETURN(double s, BestTime(nullptr, 6, [&]() -> Status {
    RETURN_IF_CUDA_ERROR(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, nullptr));
    return common::OkStatus();
  }));
  // A copy reads and writes every byte.
  return 2.0 * static_cast<double>(bytes) / s;
}

StatusOr<double> MeasureBf16GemmPeak(int device, int n) {
  if (CudaDeviceCount() <= device || device < 0) return common::UnavailableError("no such GPU");
  if (n <= 0 || n > 32768) return common::InvalidArgumentError("bad GEMM size");
  RETURN_IF_CUDA_ERROR(cudaSetDevice(device));
  CublasApi blas;
  RETURN_IF_ERROR(blas.Load());
  cublasHandle_t h = nullptr;
  if (blas.create(&h) != CUBLAS_STATUS_SUCCESS) return common::InternalError("cublasCreate failed");
  const size_t elems = static_cast<size_t>(n) * n;
  void *a = nullptr, *b = nullptr, *c = nullptr;
  Status st = cuda::CudaStatus(cudaMalloc(&a, elems * 2), "cudaMalloc", __FILE__, __LINE__);
  DevicePtr ha(a);
  if (st.ok()) st = cuda::CudaStatus(cudaMalloc(&b, elems * 2), "cudaMalloc", __FILE__, __LINE__);
  DevicePtr hb(b);
  if (st.ok()) st = cuda::CudaStatus(cudaMalloc(&c, elems * 4), "cudaMalloc", __FILE__, __LINE__);
  DevicePtr hc(c);
  if (st.ok()) st = cuda::CudaStatus(cudaMemset(a, 0, elems * 2), "cudaMemset", __FILE__, __LINE__);
  if (st.ok()) st = cuda::CudaStatus(cudaMemset(b, 0, elems * 2), "cudaMemset", __FILE__, __LINE__);
  StatusOr<double> t = st;
  if (st.ok()) {
    t = BestTime(nullptr, 6, [&]() -> Status {
      const float alpha = 1.0f, beta = 0.0f;
      if (blas.gemm_ex(h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &alpha, a, CUDA_R_16BF, n, b,
                       CUDA_R_16BF, n, &beta, c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                       CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS) {
        return common::InternalError("cublasGemmEx failed");
      }
      return common::OkStatus();
    });
  }
  blas.destroy(h);
  if (!t.ok()) return t.status();
  return 2.0 * n * static_cast<double>(n) * n / *t;
}

Status UseCudaDevice(int device) {
  RETURN_IF_CUDA_ERROR(cudaSetDevice(device));
  return common::OkStatus();
}

// --- NCCL, opened at run time ------------------------------------------------------------------
// The few declarations of nccl.h this needs (NCCL 2.x ABI), so that building needs no NCCL.
namespace {
using NcclComm = struct ncclComm*;
using NcclResult = int;  // ncclSuccess = 0
constexpr int kNcclFloat32 = 7;
constexpr int kNcclSum = 0;
}  // namespace

struct NcclGroup::Impl {
  void* lib = nullptr;
  NcclResult (*comm_init_all)(NcclComm*, int, const int*) = nullptr;
  NcclResult (*all_reduce)(const void*, void*, size_t, int, int, NcclComm, cudaStream_t) = nullptr;
  NcclResult (*comm_destroy)(NcclComm) = nullptr;
  const char* (*error_string)(NcclResult) = nullptr;
  std::vector<NcclComm> comms;
};

NcclGroup::NcclGroup() : impl_(new Impl) {}

NcclGroup::~NcclGroup() {
  for (NcclComm c : impl_->comms) {
    if (c != nullptr && impl_->comm_destroy != nullptr) impl_->comm_destroy(c);
  }
  if (impl_->lib != nullptr) dlclose(impl_->lib);
}

StatusOr<std::shared_ptr<NcclGroup>> NcclGroup::Create(int ranks) {
  RETURN_IF_ERROR(CheckNcclForTensorParallel(ranks));
  if (ranks < 2) return common::InvalidArgumentError("an NCCL group needs at least 2 ranks");
  if (ranks > CudaDeviceCount()) {
    return common::FailedPreconditionError("fewer GPUs than tensor-parallel ranks");
  }
  std::shared_ptr<NcclGroup> g(new NcclGroup());
  Impl& m = *g->impl_;
  for (const char* so : {"libnccl.so.2", "libnccl.so"}) {
    m.lib = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (m.lib != nullptr) break;
  }
  if (m.lib == nullptr) return common::UnavailableError("libnccl.so.2 could not be opened");
  m.comm_init_all = reinterpret_cast<decltype(m.comm_init_all)>(dlsym(m.lib, "ncclCommInitAll"));
  m.all_reduce = reinterpret_cast<decltype(m.all_reduce)>(dlsym(m.lib, "ncclAllReduce"));
  m.comm_destroy = reinterpret_cast<decltype(m.comm_destroy)>(dlsym(m.lib, "ncclCommDestroy"));
  m.error_string = reinterpret_cast<decltype(m.error_string)>(dlsym(m.lib, "ncclGetErrorString"));
  if (!m.comm_init_all || !m.all_reduce || !m.comm_destroy || !m.error_string) {
    return common::UnavailableError("libnccl lacks the functions tensor parallelism needs");
  }
  // One process, one communicator per GPU 0..ranks-1 (ncclCommInitAll); multi-host runs would
  // use ncclGetUniqueId + ncclCommInitRank instead (docs/cuda.md).
  m.comms.assign(static_cast<size_t>(ranks), nullptr);
  std::vector<int> devices(static_cast<size_t>(ranks));
  for (int r = 0; r < ranks; ++r) devices[static_cast<size_t>(r)] = r;
  const NcclResult res = m.comm_init_all(m.comms.data(), ranks, devices.data());
  if (res != 0) {
    m.comms.clear();
    return common::UnavailableError(std::string("ncclCommInitAll failed: ") + m.error_string(res));
  }
  return g;
}

int NcclGroup::ranks() const { return static_cast<int>(impl_->comms.size()); }

Status NcclGroup::AllReduceSum(int rank, float* data, size_t count, void* stream) {
  if (rank < 0 || rank >= ranks()) return common::InvalidArgumentError("no such NCCL rank");
  const NcclResult res = impl_->all_reduce(data, data, count, kNcclFloat32, kNcclSum,
                                           impl_->comms[static_cast<size_t>(rank)],
                                           static_cast<cudaStream_t>(stream));
  if (res != 0) {
    return common::InternalError(std::string("ncclAllReduce failed: ") + impl_->error_string(res));
  }
  return common::OkStatus();
}

StatusOr<std::unique_ptr<Backend>> CreateCudaBackend(const CudaBackendOptions& options) {
  auto backend = std::make_unique<CudaBackend>();
  RETURN_IF_ERROR(backend->Init(options));
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace inference
