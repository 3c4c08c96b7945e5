// The operations a forward pass needs, implemented once per device (CPU, CUDA).
//
// Architectures (inference/src/arch/) are written only over this interface. The design follows
// what a GPU needs:
//   * weights are uploaded once and live on the device in their file type (BackendWeight);
//   * activations are float32 device buffers addressed through plain views (TensorView);
//   * ops are enqueued in order on the backend's stream and may run asynchronously: results are
//     only guaranteed on the host after Download() + Synchronize();
//   * a step is batched: BeginStep() uploads the token ids, positions and KV block tables of every
//     sequence in the batch once, and the ops that need them (Embed, Rope, PagedAttention,
//     GatherRows) read them from the device.
// The CPU backend executes each op immediately on its thread pool.
#ifndef INFERENCE_BACKEND_H_
#define INFERENCE_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "inference/device_sampling.h"
#include "inference/gguf.h"
#include "inference/model_config.h"

namespace inference {

// A float32 (or int32) matrix on the backend's device: `rows` rows of `cols` elements, row r at
// data + r * stride. Views never own memory.
struct TensorView {
  float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t stride = 0;  // elements between rows (>= cols)

  // Columns [col, col + n) of every row.
  TensorView Cols(int64_t col, int64_t n) const { return {data + col, rows, n, stride}; }
  // Rows [row, row + n).
  TensorView Rows(int64_t row, int64_t n) const { return {data + row * stride, n, cols, stride}; }
  // The same contiguous memory seen as rows of `new_cols` (requires stride == cols).
  TensorView Reshape(int64_t new_cols) const {
    return {data, rows * cols / new_cols, new_cols, new_cols};
  }
  int32_t* ints() const { return reinterpret_cast<int32_t*>(data); }
};

// Memory owned on the device. Released when destroyed.
class DeviceBuffer {
 public:
  virtual ~DeviceBuffer() = default;
  virtual float* data() = 0;
  virtual size_t bytes() const = 0;
  // A [rows, cols] view at the start of the buffer (rows * cols floats must fit).
  TensorView View(int64_t rows, int64_t cols) { return {data(), rows, cols, cols}; }
};

// A weight on the device in its file type. 2-D: `rows` output units of `cols` inputs (ggml ne1 x
// ne0). 3-D (MoE expert stacks, ggml ne2): `n_mats` matrices of rows x cols.
class BackendWeight {
 public:
  virtual ~BackendWeight() = default;
  GgmlType type = GgmlType::kF32;
  int64_t cols = 0;
  int64_t rows = 0;
  int64_t n_mats = 1;
  std::string name;
  // Tensor parallelism: this rank holds a slice of the product's inputs, so the backend sums
  // the outputs of MatMul / MoeMatMul over the ranks (all-reduce) before anything reads them.
  bool all_reduce_after = false;
};

// One sequence's slice of a step, as the backend sees it (host side, uploaded by BeginStep).
struct StepSequence {
  int32_t first_row = 0;   // first row of this sequence in the step's activations
  int32_t n_tokens = 0;    // rows [first_row, first_row + n_tokens)
  int32_t start_pos = 0;   // position of the first token
  std::span<const int32_t> block_table;  // KV blocks covering [0, start_pos + n_tokens)
};

struct StepInput {
  std::span<const int32_t> tokens;       // [n_rows] token ids of all sequences, concatenated
  std::vector<StepSequence> sequences;
  std::vector<int32_t> logit_rows;       // rows whose logits are wanted, in output order
  // Pads the step to this many rows (decode graphs, see Backend::BeginGraph): the extra rows are
  // token 0 at position 0 of no sequence (nothing stored in the KV cache, attention output 0)
  // and the logit rows are padded with row 0 to the same count. 0 = no padding.
  int32_t pad_rows = 0;
};

// What the model does with a padded decode step (Backend::BeginGraph).
enum class GraphAction {
  kEager,    // run the ops as usual
  kCapture,  // run the ops as usual; they are recorded, then EndGraph instantiates and runs them
  kReplay,   // do not run the ops: ReplayGraph runs the recorded ones
};

// Routing of a MoE layer: which experts each token uses and with what weight.
enum class MoeGating { kSoftmax, kSigmoid };
struct MoeRouting {
  int n_expert = 0;
  int n_expert_used = 0;
  MoeGating gating = MoeGating::kSoftmax;
  bool normalize = false;  // renormalise the selected weights to sum 1
  float scale = 1.0f;      // multiply the selected weights
};

// Element type of the paged KV cache.
enum class KvCacheType { kF16, kF32 };

struct AttentionParams {
  int layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim_k = 0;  // q/k width per head
  int head_dim_v = 0;  // v width per head
  float scale = 1.0f;  // applied to q.k
};

struct RopeParams {
  int n_head = 0;
  int head_stride = 0;  // elements from one head to the next inside a row
  int rot_offset = 0;   // first rotated element inside a head
  int n_rot = 0;        // rotated elements per head (even)
  RopeMode mode = RopeMode::kNormal;
  float freq_base = 10000.0f;
  // Optional per-pair frequency divisors [n_rot / 2] (Llama 3.1's rope_freqs.weight).
  const BackendWeight* freq_factors = nullptr;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // "cpu (AVX-512 VNNI, 2 threads)".
  virtual std::string name() const = 0;

  // --- Memory -----------------------------------------------------------------------------
  // Makes `tensor` (from an open GGUF file that outlives the backend) usable on the device in its
  // own type. The CPU backend references the memory-mapped bytes without copying.
  // UNIMPLEMENTED for a type the backend cannot multiply; INVALID_ARGUMENT for a bad shape.
  virtual StatusOr<std::unique_ptr<BackendWeight>> UploadWeight(const GgufTensor& tensor) = 0;
  virtual StatusOr<std::unique_ptr<DeviceBuffer>> Allocate(size_t bytes) = 0;
  virtual Status Upload(const void* host, size_t bytes, DeviceBuffer* dst, size_t dst_offset) = 0;
  // Copies a view's rows into contiguous host memory (rows * cols floats).
  virtual Status Download(const TensorView& src, float* host) = 0;
  // Waits until every enqueued op has finished; reports the first asynchronous error.
  virtual Status Synchronize() = 0;

  // --- Paged KV cache ------------------------------------------------------------------------
  // Per layer, per block, block_size tokens of (k_width + v_width) elements of `type`.
  virtual Status AllocateKvCache(KvCacheType type, int n_layer, int num_blocks, int block_size,
                                 int k_width, int v_width) = 0;
  virtual size_t KvBytesPerBlock(KvCacheType type, int n_layer, int block_size, int k_width,
                                 int v_width) const = 0;
  virtual Status CopyKvBlock(int src_block, int dst_block) = 0;

  // --- Step ---------------------------------------------------------------------------------
  // Uploads the step's tokens, positions and block tables; validates them (INVALID_ARGUMENT for a
  // block id outside the cache or a table too short for the positions it must cover).
  virtual Status BeginStep(const StepInput& step) = 0;

  // --- Ops (enqueued on the stream) -----------------------------------------------------------
  // out[t] = table row tokens[t] (table: rows = vocabulary).
  virtual void Embed(const BackendWeight& table, TensorView out) = 0;
  // out[r] = rows logit_rows[r] of src.
  virtual void GatherLogitRows(TensorView src, TensorView out) = 0;
  // y[t][o] = sum_i w[o][i] * x[t][i]   (x: [n, w.cols], y: [n, w.rows]).
  virtual void MatMul(const BackendWeight& w, TensorView x, TensorView y) = 0;
  // The same product without rounding the activations, for small matrices whose outputs make
  // discrete decisions (MoE routers): the weight rows are expanded to float once per call.
  virtual void MatMulExact(const BackendWeight& w, TensorView x, TensorView y) = 0;
  // y[t] += b (b: one row of y.cols).
  virtual void AddBias(const BackendWeight& b, TensorView y) = 0;
  // y[t] = x[t] / rms(x[t]) * gamma; x.cols must be a multiple of gamma.cols (per-head norms).
  virtual void RmsNorm(TensorView x, const BackendWeight& gamma, float eps, TensorView y) = 0;
  // Rotates each head of x in place at the step's positions.
  virtual void Rope(TensorView x, const RopeParams& p) = 0;
  // Writes the step's k/v rows into the cache of p.layer at their positions, then
  // out[t] = softmax(q[t] . K[0..pos_t] * scale) V for every head (causal within the sequence).
  // q: [n, n_head*head_dim_k], k: [n, n_head_kv*head_dim_k], v: [n, n_head_kv*head_dim_v],
  // out: [n, n_head*head_dim_v].
  virtual void PagedAttention(const AttentionParams& p, TensorView q, TensorView k, TensorView v,
                              TensorView out) = 0;
  // out = silu(gate) * up.
  virtual void SiluMul(TensorView gate, TensorView up, TensorView out) = 0;
  // y += x.
  virtual void Add(TensorView x, TensorView y) = 0;
  // dst = src (same shape; views may be strided).
  virtual void Copy(TensorView src, TensorView dst) = 0;
  // x = 1 / (1 + exp(-x)) element-wise, in place.
  virtual void Sigmoid(TensorView x) = 0;
  // dst *= s for every row r by scalar (per-row scales given as a [rows, 1] view).
  virtual void ScaleRows(TensorView scales, TensorView dst) = 0;

  // MoE: from router logits [n, n_expert] choose n_expert_used experts per token:
  // ids [n, k] (int32 in the view's memory) and weights [n, k]. With `selection_bias`
  // ([n_expert], DeepSeek-V3's exp_probs_b) experts are chosen by probability + bias, weighted
  // by the unbiased probability.
  virtual void MoeRoute(TensorView router_logits, const MoeRouting& r,
                        const BackendWeight* selection_bias, TensorView ids,
                        TensorView weights) = 0;
  // Expert products. experts: 3-D weight [n_expert][rows][cols]. For token t and slot j:
  //   y[t*k + j] = experts[ids[t][j]] * x[x_per_slot ? t*k + j : t]
  virtual void MoeMatMul(const BackendWeight& experts, TensorView x, bool x_per_slot,
                         TensorView ids, TensorView y) = 0;
  // out[t] = sum_j weights[t][j] * y[t*k + j].
  virtual void MoeCombine(TensorView y, TensorView weights, TensorView out) = 0;

  // Rows of a prompt chunk that the dense FFN takes at a time (arch/blocks.cc), for an FFN of
  // n_ff units: its two [rows, n_ff] intermediates are a step's largest activations. The CPU
  // keeps them small; a GPU wants whole chunks, so that each weight is read (and dequantized)
  // once per step and its products are large enough for the tensor cores.
  virtual int64_t FfnSliceRows(int64_t /*n_ff*/) const { return 128; }

  // --- Decode steps as graphs --------------------------------------------------------------------
  // Row counts (ascending) for which decode steps may be recorded once and replayed; empty when
  // the backend has no graphs. The model pads a decode step to the smallest bucket that fits.
  virtual std::vector<int> GraphBuckets() const { return {}; }
  // After BeginStep of a step padded to `bucket`: eager, capture or replay.
  virtual GraphAction BeginGraph(int /*bucket*/) { return GraphAction::kEager; }
  // Ends a kCapture: instantiates and runs the recorded step. ABORTED when the recording was
  // discarded (nothing ran: the caller runs the ops again eagerly).
  virtual Status EndGraph(int /*bucket*/) { return common::OkStatus(); }
  // Runs the step recorded for `bucket` (after BeginStep with the same padding).
  virtual Status ReplayGraph(int /*bucket*/) {
    return common::FailedPreconditionError("this backend records no graphs");
  }

  // --- Sampling (inference/device_sampling.h) --------------------------------------------------
  // True when SampleRows runs on the device, so that only token ids come back.
  virtual bool SamplesOnDevice() const { return false; }
  // tokens[r] (host, logits.rows entries) = the token of logit row r, or kSampleOnHost where the
  // host must finish the row. Synchronous. The default downloads the logits and runs
  // SampleRowsReference on the host.
  virtual Status SampleRows(TensorView logits, std::span<const DeviceSampleRow> rows,
                            std::span<const PenaltyEntry> penalties, int32_t* tokens);
};

struct BackendOptions {
  int threads = 0;  // 0 = all cores
};

// The CPU backend (thread pool, AVX2/AVX-512 kernels chosen at run time).
StatusOr<std::unique_ptr<Backend>> CreateCpuBackend(const BackendOptions& options);

}  // namespace inference

#endif  // INFERENCE_BACKEND_H_
