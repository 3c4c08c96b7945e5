// Internal interface between the Model and the per-architecture forward passes.
//
// Each architecture file (llama.cc, qwen2.cc, qwen3.cc, deepseek2.cc) loads its weights and
// writes its forward pass top to bottom over Backend ops; the pieces they share (weight loading
// with shape checks, scratch activations, the FFN blocks) live here and in blocks.cc / moe.cc.
#ifndef INFERENCE_SRC_ARCH_ARCH_H_
#define INFERENCE_SRC_ARCH_ARCH_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "inference/backend.h"
#include "inference/gguf.h"
#include "inference/model_config.h"

namespace inference::arch {

using Weight = std::unique_ptr<BackendWeight>;

// Scratch activations for one step. Take() hands out buffers in call order; the same call order
// every step reuses the same buffers, grown when a step has more rows.
class Activations {
 public:
  explicit Activations(Backend* backend) : backend_(backend) {}
  void Reset() { next_ = 0; }

  // Buffers taken while a Scope lives are handed out again after it ends (per-layer temporaries).
  class Scope {
   public:
    explicit Scope(Activations& a) : a_(a), mark_(a.next_) {}
    ~Scope() { a_.next_ = mark_; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Activations& a_;
    size_t mark_;
  };
  // A [rows, cols] float view (or int32 view through TensorView::ints()).
  StatusOr<TensorView> Take(int64_t rows, int64_t cols);

 private:
  Backend* backend_;
  std::vector<std::unique_ptr<DeviceBuffer>> buffers_;
  size_t next_ = 0;
};

// Loads weights by name and checks their shapes against the configuration.
class WeightLoader {
 public:
  // Optional (tensor parallelism): the part of a file tensor this rank holds, its bytes kept in
  // *storage until the upload (which copies them), and whether its products need an all-reduce.
  using ShardFn = std::function<StatusOr<GgufTensor>(const GgufTensor&, std::vector<uint8_t>*,
                                                     bool* all_reduce)>;
  WeightLoader(const GgufFile& file, Backend* backend, ShardFn shard = nullptr)
      : file_(file), backend_(backend), shard_(std::move(shard)) {}
  // A tensor named `name` with exactly `dims` (ggml order: ne0 first). NOT_FOUND if missing,
  // INVALID_ARGUMENT (naming the tensor, expected and actual shape) if the shape differs.
  StatusOr<Weight> Need(const std::string& name, std::vector<int64_t> dims);
  // The same, but a missing tensor gives nullptr.
  StatusOr<Weight> Maybe(const std::string& name, std::vector<int64_t> dims);
  bool Has(const std::string& name) const { return file_.FindTensor(name) != nullptr; }
  static std::string Layer(int il, const std::string& suffix) {
    return "blk." + std::to_string(il) + "." + suffix;
  }

 private:
  const GgufFile& file_;
  Backend* backend_;
  ShardFn shard_;
};

// Dense SwiGLU FFN weights.
struct FfnWeights {
  Weight gate, up, down;  // [n_embd -> n_ff], [n_embd -> n_ff], [n_ff -> n_embd]
};

// Routed experts plus optional shared experts.
struct MoeWeights {
  Weight router;                        // ffn_gate_inp [n_embd -> n_expert]
  Weight gate_exps, up_exps, down_exps; // [n_expert][n_ff_exp x n_embd], ... down [n_embd x n_ff_exp]
  FfnWeights shared;                    // ffn_*_shexp (absent: gate == nullptr)
  Weight shared_gate;                   // qwen2moe ffn_gate_inp_shexp [n_embd -> 1] (optional)
  Weight selection_bias;                // deepseek exp_probs_b [n_expert] (optional)
};

// What every architecture provides to the Model.
class Architecture {
 public:
  virtual ~Architecture() = default;
  // Floats of K and of V stored per token per layer in the paged cache.
  virtual int kv_k_width() const = 0;
  virtual int kv_v_width() const = 0;
  virtual Status Load(WeightLoader& loader) = 0;
  // x: [n, n_embd] embedded tokens of the step (BeginStep done). Runs every layer and the final
  // norm over the logit rows, then the output projection: logits [m, n_vocab].
  virtual Status Forward(Backend& b, Activations& act, TensorView x, TensorView logits) = 0;
  // The token embedding table (rows = vocabulary).
  virtual const BackendWeight& token_embd() const = 0;
};

// Config readers per architecture (read the `{arch}.*` keys of the file).
StatusOr<ModelConfig> ReadConfig(const GgufFile& file);

std::unique_ptr<Architecture> MakeLlama(const ModelConfig& c);
std::unique_ptr<Architecture> MakeQwen2(const ModelConfig& c);
std::unique_ptr<Architecture> MakeQwen3(const ModelConfig& c);
std::unique_ptr<Architecture> MakeDeepseek2(const ModelConfig& c);

// --- Shared blocks (blocks.cc, moe.cc) ---------------------------------------------------------

Status LoadFfn(WeightLoader& l, int il, int n_embd, int n_ff, const std::string& suffix,
               FfnWeights* w);
Status LoadMoe(WeightLoader& l, const ModelConfig& c, int il, MoeWeights* w);

// out = down(silu(gate(xn)) * up(xn)).   xn: [n, n_embd] -> out: [n, n_embd]
Status DenseFfn(Backend& b, Activations& act, const FfnWeights& w, TensorView xn, TensorView out);
// out = sum over the chosen experts of weight * expert(xn) (+ shared experts).
Status MoeFfn(Backend& b, Activations& act, const ModelConfig& c, const MoeRouting& routing,
              const MoeWeights& w, TensorView xn, TensorView out);

// The output head shared by all architectures: gather the logit rows of x, RMS-norm them and
// project to the vocabulary.  x: [n, n_embd] -> logits: [m, n_vocab]
Status OutputHead(Backend& b, Activations& act, const ModelConfig& c, const BackendWeight& norm,
                  const BackendWeight& output, TensorView x, TensorView logits);

}  // namespace inference::arch

#endif  // INFERENCE_SRC_ARCH_ARCH_H_
