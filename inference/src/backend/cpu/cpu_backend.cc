// The CPU backend: ops run synchronously on a thread pool with the kernels of kernels.h.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <thread>
#include <vector>

#include "backend/cpu/kernels.h"
#include "backend/cpu/thread_pool.h"
#include "inference/backend.h"

namespace inference {
namespace {

using cpu::Kernels;
using cpu::ThreadPool;
using cpu::TypeTraits;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

void* AlignedAlloc(size_t bytes) {
  const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  return std::aligned_alloc(64, rounded);
}

class CpuBuffer final : public DeviceBuffer {
 public:
  CpuBuffer(void* p, size_t bytes) : mem_(p), bytes_(bytes) {}
  float* data() override { return static_cast<float*>(mem_.get()); }
  size_t bytes() const override { return bytes_; }

 private:
  std::unique_ptr<void, FreeDeleter> mem_;
  size_t bytes_;
};

class CpuWeight final : public BackendWeight {
 public:
  const uint8_t* data = nullptr;  // in the memory-mapped file (not to be read when repacked)
  size_t row_bytes = 0;
  size_t mat_bytes = 0;
  TypeTraits traits{};
  bool has_traits = false;
  // Q8_0 / Q4_0 / F32 matrices: an owned copy in row groups (kernels.h), n_mats x
  // packed_mat_bytes.
  std::unique_ptr<void, FreeDeleter> packed;
  size_t packed_mat_bytes = 0;
  int64_t groups = 0;  // row groups per matrix

  const uint8_t* Row(int64_t mat, int64_t row) const {
    return data + mat * mat_bytes + row * row_bytes;
  }
  const uint8_t* Packed(int64_t mat) const {
    return static_cast<const uint8_t*>(packed.get()) + mat * packed_mat_bytes;
  }
  // Row `row` of matrix `mat` as floats, whatever the storage.
  void DequantizeRow(int64_t mat, int64_t row, float* out) const {
    if (packed) {
      cpu::DequantizeRepackedRow(type, Packed(mat), cols, row, out);
    } else {
      cpu::DequantizeRow(type, Row(mat, row), cols, out);
    }
  }
};

const CpuWeight& AsCpu(const BackendWeight& w) { return static_cast<const CpuWeight&>(w); }

// Grows a scratch vector of bytes without zeroing it again.
struct Scratch {
  std::unique_ptr<void, FreeDeleter> mem;
  size_t size = 0;
  uint8_t* Get(size_t bytes) {
    if (bytes > size) {
      // Geometric growth: a decode step's attention scratch grows with every 16 positions.
      const size_t grown = std::max(bytes, size + size / 2);
      mem.reset(AlignedAlloc(grown));
      size = grown;
    }
    return static_cast<uint8_t*>(mem.get());
  }
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : kernels_(cpu::BestKernels()), pool_(threads) {
    thread_scratch_.resize(pool_.size());
  }

  std::string name() const override {
    return std::string("cpu (") + kernels_.isa + ", " + std::to_string(pool_.size()) +
           (pool_.size() == 1 ? " thread)" : " threads)");
  }

  StatusOr<std::unique_ptr<BackendWeight>> UploadWeight(const GgufTensor& t) override {
    auto w = std::make_unique<CpuWeight>();
    w->name = t.name;
    w->type = t.type;
    if (t.dims.empty() || t.dims.size() > 3) {
      return common::InvalidArgumentError("tensor '" + t.name + "': expected 1 to 3 dimensions");
    }
    w->cols = static_cast<int64_t>(t.dims[0]);
    w->rows = t.dims.size() > 1 ? static_cast<int64_t>(t.dims[1]) : 1;
    w->n_mats = t.dims.size() > 2 ? static_cast<int64_t>(t.dims[2]) : 1;
    auto row_bytes = GgmlRowBytes(t.type, t.dims[0]);
    if (!row_bytes.ok()) return row_bytes.status().WithContext("tensor '" + t.name + "'");
    w->row_bytes = *row_bytes;
    w->mat_bytes = w->row_bytes * static_cast<size_t>(w->rows);
    if (w->mat_bytes * static_cast<size_t>(w->n_mats) != t.n_bytes) {
      return common::InvalidArgumentError("tensor '" + t.name + "': size does not match its shape");
    }
    w->data = t.data;
    w->has_traits = cpu::GetTypeTraits(kernels_, t.type, &w->traits);
    if (!w->has_traits) {
      return common::UnimplementedError("tensor '" + t.name + "': type " +
                                        GgmlTypeName(t.type) + " is not supported by the CPU backend");
    }
    if (w->cols % w->traits.block != 0) {
      return common::InvalidArgumentError("tensor '" + t.name + "': row length not a multiple of the block");
    }
    if (t.dims.size() >= 2 && cpu::IsRepackedType(t.type, w->cols)) {
      RETURN_IF_ERROR(Repack(t, w.get()));
    }
    return std::unique_ptr<BackendWeight>(std::move(w));
  }

  StatusOr<std::unique_ptr<DeviceBuffer>> Allocate(size_t bytes) override {
    void* p = AlignedAlloc(bytes);
    if (p == nullptr) {
      return common::ResourceExhaustedError("cannot allocate " + std::to_string(bytes) + " bytes");
    }
    return std::unique_ptr<DeviceBuffer>(new CpuBuffer(p, bytes));
  }

  Status Upload(const void* host, size_t bytes, DeviceBuffer* dst, size_t offset) override {
    if (offset + bytes > dst->bytes()) return common::OutOfRangeError("upload past buffer end");
    std::memcpy(reinterpret_cast<uint8_t*>(dst->data()) + offset, host, bytes);
    return common::OkStatus();
  }

  Status Download(const TensorView& src, float* host) override {
    for (int64_t r = 0; r < src.rows; ++r) {
      std::memcpy(host + r * src.cols, src.data + r * src.stride, src.cols * sizeof(float));
    }
    return common::OkStatus();
  }

  Status Synchronize() override { return common::OkStatus(); }

  // --- KV cache ------------------------------------------------------------------------------

  size_t KvBytesPerBlock(KvCacheType type, int n_layer, int block_size, int k_width,
                         int v_width) const override {
    return static_cast<size_t>(n_layer) * block_size * (k_width + v_width) * ElementBytes(type);
  }

  Status AllocateKvCache(KvCacheType type, int n_layer, int num_blocks, int block_size,
                         int k_width, int v_width) override {
    if (n_layer <= 0 || num_blocks <= 0 || block_size <= 0 || k_width <= 0 || v_width <= 0) {
      return common::InvalidArgumentError("KV cache dimensions must be positive");
    }
    const size_t bytes = KvBytesPerBlock(type, n_layer, block_size, k_width, v_width) * num_blocks;
    kv_.reset();
    kv_.reset(AlignedAlloc(bytes));
    if (!kv_) {
      return common::ResourceExhaustedError("cannot allocate a KV cache of " +
                                            std::to_string(bytes) + " bytes");
    }
    // Pages stay unbacked until a sequence writes them, so resident memory follows use.
    kv_type_ = type;
    kv_layers_ = n_layer;
    kv_blocks_ = num_blocks;
    kv_block_size_ = block_size;
    kv_k_width_ = k_width;
    kv_v_width_ = v_width;
    return common::OkStatus();
  }

  Status CopyKvBlock(int src, int dst) override {
    if (!kv_) return common::FailedPreconditionError("KV cache not allocated");
    if (src < 0 || src >= kv_blocks_ || dst < 0 || dst >= kv_blocks_) {
      return common::OutOfRangeError("KV block id out of range");
    }
    for (int l = 0; l < kv_layers_; ++l) std::memcpy(KvBlock(l, dst), KvBlock(l, src), BlockBytes());
    return common::OkStatus();
  }

  // --- Step ---------------------------------------------------------------------------------

  Status BeginStep(const StepInput& step) override {
    const int64_t n = static_cast<int64_t>(step.tokens.size());
    tokens_.assign(step.tokens.begin(), step.tokens.end());
    positions_.assign(n, 0);
    row_seq_.assign(n, -1);
    seqs_.clear();
    tables_.clear();
    for (size_t s = 0; s < step.sequences.size(); ++s) {
      const StepSequence& q = step.sequences[s];
      if (q.n_tokens <= 0 || q.first_row < 0 || q.first_row + q.n_tokens > n || q.start_pos < 0) {
        return common::InvalidArgumentError("sequence " + std::to_string(s) + ": bad row range");
      }
      const int64_t end_pos = static_cast<int64_t>(q.start_pos) + q.n_tokens;
      if (kv_) {
        const int64_t need = (end_pos + kv_block_size_ - 1) / kv_block_size_;
        if (static_cast<int64_t>(q.block_table.size()) < need) {
          return common::InvalidArgumentError("sequence " + std::to_string(s) +
                                              ": block table too short for its positions");
        }
        for (int64_t b = 0; b < need; ++b) {
          if (q.block_table[b] < 0 || q.block_table[b] >= kv_blocks_) {
            return common::InvalidArgumentError("sequence " + std::to_string(s) +
                                                ": block id outside the KV cache");
          }
        }
      }
      SeqInfo info{q.first_row, q.n_tokens, q.start_pos, tables_.size()};
      tables_.insert(tables_.end(), q.block_table.begin(), q.block_table.end());
      seqs_.push_back(info);
      for (int i = 0; i < q.n_tokens; ++i) {
        if (row_seq_[q.first_row + i] != -1) {
          return common::InvalidArgumentError("sequences overlap in the step's rows");
        }
        row_seq_[q.first_row + i] = static_cast<int32_t>(s);
        positions_[q.first_row + i] = q.start_pos + i;
      }
    }
    logit_rows_ = step.logit_rows;
    for (int32_t r : logit_rows_) {
      if (r < 0 || r >= n) return common::InvalidArgumentError("logit row out of range");
    }
    return common::OkStatus();
  }

  // --- Ops ----------------------------------------------------------------------------------

  void Embed(const BackendWeight& table, TensorView out) override {
    const CpuWeight& w = AsCpu(table);
    For(out.rows, 16, double(out.rows) * w.cols, [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) {
        const int32_t tok = std::clamp<int32_t>(tokens_[r], 0, static_cast<int32_t>(w.rows - 1));
        w.DequantizeRow(0, tok, out.data + r * out.stride);
      }
    });
  }

  void GatherLogitRows(TensorView src, TensorView out) override {
    for (size_t i = 0; i < logit_rows_.size(); ++i) {
      std::memcpy(out.data + i * out.stride, src.data + logit_rows_[i] * src.stride,
                  src.cols * sizeof(float));
    }
  }

  void MatMul(const BackendWeight& weight, TensorView x, TensorView y) override {
    MatMulRows(AsCpu(weight), 0, x, y, nullptr);
  }

  void MatMulExact(const BackendWeight& weight, TensorView x, TensorView y) override {
    const CpuWeight& w = AsCpu(weight);
    if (w.traits.act == cpu::ActivationFormat::kF32) return MatMul(weight, x, y);
    std::vector<float> rows(static_cast<size_t>(w.rows) * w.cols);
    for (int64_t r = 0; r < w.rows; ++r) w.DequantizeRow(0, r, rows.data() + r * w.cols);
    For(x.rows, 1, double(x.rows) * w.rows * w.cols, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) {
        for (int64_t r = 0; r < w.rows; ++r) {
          y.data[t * y.stride + r] =
              kernels_.dot_ff(rows.data() + r * w.cols, x.data + t * x.stride, w.cols);
        }
      }
    });
  }

  void AddBias(const BackendWeight& b, TensorView y) override {
    std::vector<float> bias(b.cols);
    cpu::DequantizeRow(b.type, AsCpu(b).data, b.cols, bias.data());
    for (int64_t r = 0; r < y.rows; ++r) {
      float* row = y.data + r * y.stride;
      for (int64_t c = 0; c < y.cols; ++c) row[c] += bias[c];
    }
  }

  void RmsNorm(TensorView x, const BackendWeight& gamma, float eps, TensorView y) override {
    std::vector<float> g(gamma.cols);
    cpu::DequantizeRow(gamma.type, AsCpu(gamma).data, gamma.cols, g.data());
    const int64_t width = gamma.cols;
    const int64_t per_row = x.cols / width;
    For(x.rows, 8, double(x.rows) * x.cols * 2, [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) {
        for (int64_t h = 0; h < per_row; ++h) {
          const float* in = x.data + r * x.stride + h * width;
          float* out = y.data + r * y.stride + h * width;
          double ss = 0.0;
          for (int64_t i = 0; i < width; ++i) ss += static_cast<double>(in[i]) * in[i];
          const float scale = static_cast<float>(1.0 / std::sqrt(ss / width + eps));
          for (int64_t i = 0; i < width; ++i) out[i] = in[i] * scale * g[i];
        }
      }
    });
  }

  void Rope(TensorView x, const RopeParams& p) override {
    const int half = p.n_rot / 2;
    std::vector<float> factors(half, 1.0f);
    if (p.freq_factors != nullptr) {
      cpu::DequantizeRow(p.freq_factors->type, AsCpu(*p.freq_factors).data, half, factors.data());
    }
    For(x.rows, 8, double(x.rows) * (p.n_head * p.n_rot * 2 + half * 40), [&](int64_t b, int64_t e, int thread) {
      float* cs = reinterpret_cast<float*>(thread_scratch_[thread].Get(sizeof(float) * p.n_rot));
      for (int64_t r = b; r < e; ++r) {
        const double pos = positions_[r];
        for (int i = 0; i < half; ++i) {
          const double theta = pos *
                               std::pow(static_cast<double>(p.freq_base),
                                        -2.0 * i / static_cast<double>(p.n_rot)) /
                               factors[i];
          cs[2 * i] = static_cast<float>(std::cos(theta));
          cs[2 * i + 1] = static_cast<float>(std::sin(theta));
        }
        for (int h = 0; h < p.n_head; ++h) {
          float* v = x.data + r * x.stride + h * p.head_stride + p.rot_offset;
          for (int i = 0; i < half; ++i) {
            const int a = p.mode == RopeMode::kNormal ? 2 * i : i;
            const int c = p.mode == RopeMode::kNormal ? 2 * i + 1 : i + half;
            const float x0 = v[a], x1 = v[c];
            v[a] = x0 * cs[2 * i] - x1 * cs[2 * i + 1];
            v[c] = x0 * cs[2 * i + 1] + x1 * cs[2 * i];
          }
        }
      }
    });
  }

  void PagedAttention(const AttentionParams& p, TensorView q, TensorView k, TensorView v,
                      TensorView out) override {
    const int kw = p.n_head_kv * p.head_dim_k;
    const int vw = p.n_head_kv * p.head_dim_v;
    // 1. Store the step's keys and values at their positions.
    const bool f16 = kv_type_ == KvCacheType::kF16;
    for (int64_t r = 0; r < q.rows; ++r) {
      const SeqInfo& s = seqs_[row_seq_[r]];
      uint8_t* kd = KvRow(p.layer, s, positions_[r]);
      uint8_t* vd = kd + kv_k_width_ * ElementBytes(kv_type_);
      if (f16) {
        kernels_.to_f16(k.data + r * k.stride, reinterpret_cast<uint16_t*>(kd), kw);
        kernels_.to_f16(v.data + r * v.stride, reinterpret_cast<uint16_t*>(vd), vw);
      } else {
        std::memcpy(kd, k.data + r * k.stride, kw * sizeof(float));
        std::memcpy(vd, v.data + r * v.stride, vw * sizeof(float));
      }
    }
    // 2. Attend. One task per (sequence, kv head, tile of rows): the keys and values the tile
    //    needs are expanded to float once (keys transposed), then for each row the heads that
    //    share the kv head are done together: scores as a small GEMM, softmax, values as another.
    const int group = p.n_head / p.n_head_kv;
    const size_t esize = ElementBytes(kv_type_);
    const size_t k_off = static_cast<size_t>(p.head_dim_k) * esize;  // per kv head
    const size_t v_off = kv_k_width_ * esize;
    const size_t v_head = static_cast<size_t>(p.head_dim_v) * esize;
    const int dk = p.head_dim_k, dv = p.head_dim_v;
    constexpr int kRowTile = 16;
    attn_tasks_.clear();
    for (size_t si = 0; si < seqs_.size(); ++si) {
      const SeqInfo& s = seqs_[si];
      // Last tiles (most positions) first, for balance.
      for (int t0 = (s.n_tokens - 1) / kRowTile * kRowTile; t0 >= 0; t0 -= kRowTile) {
        for (int hk = 0; hk < p.n_head_kv; ++hk) {
          attn_tasks_.push_back({static_cast<int>(si), hk, s.first_row + t0,
                                 s.first_row + std::min(s.n_tokens, t0 + kRowTile)});
        }
      }
    }
    const double attn_work = double(q.rows) * p.n_head *
                             (positions_.empty() ? 1 : positions_.back() + 1) *
                             (p.head_dim_k + p.head_dim_v);
    const int64_t n_tasks = static_cast<int64_t>(attn_tasks_.size());
    For(n_tasks, 1, attn_work, [&](int64_t b, int64_t e, int thread) {
      for (int64_t t = b; t < e; ++t) {
        const AttnTask& task = attn_tasks_[t];
        const SeqInfo& s = seqs_[task.seq];
        const int n_pos = positions_[task.r1 - 1] + 1;
        const int n_pad = (n_pos + cpu::kAttnTile - 1) / cpu::kAttnTile * cpu::kAttnTile;
        float* kt = reinterpret_cast<float*>(thread_scratch_[thread].Get(
            sizeof(float) * (static_cast<size_t>(dk) * n_pad + static_cast<size_t>(n_pad) * dv +
                             static_cast<size_t>(group) * n_pad + dk)));
        float* vv = kt + static_cast<size_t>(dk) * n_pad;
        float* sc = vv + static_cast<size_t>(n_pad) * dv;
        float* tmp = sc + static_cast<size_t>(group) * n_pad;
        for (int j = 0; j < n_pos; ++j) {
          const uint8_t* kr = KvRow(p.layer, s, j) + task.hk * k_off;
          const uint8_t* vr = KvRow(p.layer, s, j) + v_off + task.hk * v_head;
          if (f16) {
            kernels_.from_f16(reinterpret_cast<const uint16_t*>(kr), tmp, dk);
            kernels_.from_f16(reinterpret_cast<const uint16_t*>(vr), vv + j * dv, dv);
          } else {
            std::memcpy(tmp, kr, dk * sizeof(float));
            std::memcpy(vv + j * dv, vr, dv * sizeof(float));
          }
          for (int i = 0; i < dk; ++i) kt[i * n_pad + j] = tmp[i];
        }
        for (int i = 0; i < dk; ++i) std::fill(kt + i * n_pad + n_pos, kt + (i + 1) * n_pad, 0.0f);
        for (int r = task.r0; r < task.r1; ++r) {
          const int np = positions_[r] + 1;
          const int h0 = task.hk * group;
          kernels_.attn_scores(q.data + r * q.stride + h0 * dk, dk, group, kt, n_pad, dk, np, sc,
                               n_pad);
          for (int g = 0; g < group; ++g) {
            float* sg = sc + g * n_pad;
            float max_score = -std::numeric_limits<float>::infinity();
            for (int j = 0; j < np; ++j) {
              sg[j] *= p.scale;
              max_score = std::max(max_score, sg[j]);
            }
            float sum = 0.0f;
            for (int j = 0; j < np; ++j) {
              sg[j] = std::exp(sg[j] - max_score);
              sum += sg[j];
            }
            const float inv = 1.0f / sum;
            for (int j = 0; j < np; ++j) sg[j] *= inv;
          }
          kernels_.attn_values(sc, n_pad, group, vv, dv, np, dv,
                               out.data + r * out.stride + h0 * dv, dv);
        }
      }
    });
  }

  void SiluMul(TensorView gate, TensorView up, TensorView out) override {
    For(gate.rows, 4, double(gate.rows) * gate.cols * 8, [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) {
        const float* g = gate.data + r * gate.stride;
        const float* u = up.data + r * up.stride;
        float* o = out.data + r * out.stride;
        for (int64_t i = 0; i < gate.cols; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
      }
    });
  }

  void Add(TensorView x, TensorView y) override {
    for (int64_t r = 0; r < x.rows; ++r) {
      const float* a = x.data + r * x.stride;
      float* o = y.data + r * y.stride;
      for (int64_t i = 0; i < x.cols; ++i) o[i] += a[i];
    }
  }

  void Copy(TensorView src, TensorView dst) override {
    for (int64_t r = 0; r < src.rows; ++r) {
      std::memcpy(dst.data + r * dst.stride, src.data + r * src.stride, src.cols * sizeof(float));
    }
  }

  void Sigmoid(TensorView x) override {
    for (int64_t r = 0; r < x.rows; ++r) {
      float* o = x.data + r * x.stride;
      for (int64_t i = 0; i < x.cols; ++i) o[i] = 1.0f / (1.0f + std::exp(-o[i]));
    }
  }

  void ScaleRows(TensorView scales, TensorView dst) override {
    for (int64_t r = 0; r < dst.rows; ++r) {
      const float s = scales.data[r * scales.stride];
      float* o = dst.data + r * dst.stride;
      for (int64_t i = 0; i < dst.cols; ++i) o[i] *= s;
    }
  }

  void MoeRoute(TensorView logits, const MoeRouting& rt, const BackendWeight* selection_bias,
                TensorView ids, TensorView weights) override {
    std::vector<float> probs(rt.n_expert), select(rt.n_expert), bias(rt.n_expert, 0.0f);
    std::vector<int> order(rt.n_expert);
    if (selection_bias != nullptr) {
      cpu::DequantizeRow(selection_bias->type, AsCpu(*selection_bias).data, rt.n_expert,
                         bias.data());
    }
    for (int64_t r = 0; r < logits.rows; ++r) {
      const float* l = logits.data + r * logits.stride;
      if (rt.gating == MoeGating::kSoftmax) {
        const float mx = *std::max_element(l, l + rt.n_expert);
        float sum = 0.0f;
        for (int e = 0; e < rt.n_expert; ++e) sum += probs[e] = std::exp(l[e] - mx);
        for (int e = 0; e < rt.n_expert; ++e) probs[e] /= sum;
      } else {
        for (int e = 0; e < rt.n_expert; ++e) probs[e] = 1.0f / (1.0f + std::exp(-l[e]));
      }
      for (int e = 0; e < rt.n_expert; ++e) select[e] = probs[e] + bias[e];
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + rt.n_expert_used, order.end(),
                        [&](int a, int b) {
                          return select[a] > select[b] || (select[a] == select[b] && a < b);
                        });
      float sel_sum = 0.0f;
      for (int j = 0; j < rt.n_expert_used; ++j) sel_sum += probs[order[j]];
      int32_t* id_row = ids.ints() + r * ids.stride;
      float* w_row = weights.data + r * weights.stride;
      for (int j = 0; j < rt.n_expert_used; ++j) {
        id_row[j] = order[j];
        float wgt = probs[order[j]];
        if (rt.normalize) wgt /= sel_sum;
        w_row[j] = wgt * rt.scale;
      }
    }
  }

  void MoeMatMul(const BackendWeight& experts, TensorView x, bool x_per_slot, TensorView ids,
                 TensorView y) override {
    const CpuWeight& w = AsCpu(experts);
    const int64_t k = ids.cols;
    const int64_t n_tok = ids.rows;
    // Group the (token, slot) pairs by expert.
    std::vector<std::vector<int64_t>> slots(w.n_mats);
    for (int64_t t = 0; t < n_tok; ++t) {
      for (int64_t j = 0; j < k; ++j) {
        const int32_t e = ids.ints()[t * ids.stride + j];
        if (e >= 0 && e < w.n_mats) slots[e].push_back(t * k + j);
      }
    }
    std::vector<int64_t> x_rows;
    for (int64_t e = 0; e < w.n_mats; ++e) {
      if (slots[e].empty()) continue;
      x_rows.clear();
      for (int64_t s : slots[e]) x_rows.push_back(x_per_slot ? s : s / k);
      MatMulRowsGathered(w, e, x, x_rows, y, slots[e]);
    }
  }

  void MoeCombine(TensorView y, TensorView weights, TensorView out) override {
    const int64_t k = weights.cols;
    for (int64_t t = 0; t < out.rows; ++t) {
      float* o = out.data + t * out.stride;
      std::fill(o, o + out.cols, 0.0f);
      for (int64_t j = 0; j < k; ++j) {
        kernels_.axpy(weights.data[t * weights.stride + j], y.data + (t * k + j) * y.stride, o,
                      out.cols);
      }
    }
  }

 private:
  struct AttnTask {
    int seq;
    int hk;      // kv head
    int r0, r1;  // step rows [r0, r1) of the sequence
  };
  struct SeqInfo {
    int32_t first_row;
    int32_t n_tokens;
    int32_t start_pos;
    size_t table_offset;  // into tables_
  };

  // Runs fn over [0, n) on the pool only when the op has enough work (about `work` multiply-adds)
  // to pay for waking the workers; small ops of a decode step run on the calling thread.
  void For(int64_t n, int64_t grain, double work,
           const std::function<void(int64_t, int64_t, int)>& fn) {
    constexpr double kMinParallelWork = 1 << 15;
    if (work < kMinParallelWork || pool_.size() == 1) {
      if (n > 0) fn(0, n, 0);
    } else {
      pool_.ParallelFor(n, grain, fn);
    }
  }

  // Rewrites a Q8_0 / Q4_0 / F32 matrix (or expert stack) in row groups, then lets the kernel drop the
  // file pages of the original bytes (madvise on the page-aligned interior of the tensor), so
  // resident memory holds one copy.
  Status Repack(const GgufTensor& t, CpuWeight* w) {
    w->groups = (w->rows + cpu::kRowGroup - 1) / cpu::kRowGroup;
    w->packed_mat_bytes = cpu::RepackedMatrixBytes(t.type, w->rows, w->cols);
    w->packed.reset(AlignedAlloc(w->packed_mat_bytes * static_cast<size_t>(w->n_mats)));
    if (!w->packed) {
      return common::ResourceExhaustedError("tensor '" + t.name + "': cannot allocate " +
                                            std::to_string(w->packed_mat_bytes * w->n_mats) +
                                            " bytes for its repacked copy");
    }
    const int64_t total = w->groups * w->n_mats;
    uint8_t* dst = static_cast<uint8_t*>(w->packed.get());
    For(total, 8, double(w->mat_bytes) * w->n_mats, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t mat = i / w->groups, g = i % w->groups;
        cpu::RepackGroups(t.type, w->Row(mat, 0), w->rows, w->cols, g, g + 1,
                          dst + mat * w->packed_mat_bytes);
      }
    });
    if (t.mapped) {
      const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
      const uintptr_t begin = (reinterpret_cast<uintptr_t>(t.data) + page - 1) / page * page;
      const uintptr_t end = (reinterpret_cast<uintptr_t>(t.data) + t.n_bytes) / page * page;
      if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    }
    return common::OkStatus();
  }

  static size_t ElementBytes(KvCacheType t) {
    return t == KvCacheType::kF16 ? sizeof(uint16_t) : sizeof(float);
  }
  size_t RowBytes() const { return (kv_k_width_ + kv_v_width_) * ElementBytes(kv_type_); }
  size_t BlockBytes() const { return RowBytes() * kv_block_size_; }
  uint8_t* KvBlock(int layer, int block) {
    return static_cast<uint8_t*>(kv_.get()) +
           (static_cast<size_t>(layer) * kv_blocks_ + block) * BlockBytes();
  }
  // K of position `pos` of sequence s; its V follows after k_width elements.
  uint8_t* KvRow(int layer, const SeqInfo& s, int pos) {
    const int block = tables_[s.table_offset + pos / kv_block_size_];
    return KvBlock(layer, block) + static_cast<size_t>(pos % kv_block_size_) * RowBytes();
  }

  void MatMulRows(const CpuWeight& w, int64_t mat, TensorView x, TensorView y,
                  const std::vector<int64_t>* unused) {
    (void)unused;
    std::vector<int64_t> rows(x.rows);
    std::iota(rows.begin(), rows.end(), 0);
    MatMulRowsGathered(w, mat, x, rows, y, rows);
  }

  // y[out_rows[i]] = W[mat] * x[x_rows[i]] for every i.
  void MatMulRowsGathered(const CpuWeight& w, int64_t mat, TensorView x,
                          const std::vector<int64_t>& x_rows, TensorView y,
                          const std::vector<int64_t>& out_rows) {
    const TypeTraits& tt = w.traits;
    const int64_t n = static_cast<int64_t>(x_rows.size());
    // A repacked F32 row may end in zero-padded inputs (kernels.h): its activations get zeros
    // there, so the padding contributes exactly 0.
    const int64_t act_cols = w.packed ? cpu::RepackedBlocks(w.cols) * cpu::kQK : w.cols;
    const size_t act_row = cpu::ActivationBytes(tt.act, act_cols);
    const size_t act_stride = (act_row + 63) / 64 * 64;
    const size_t pad_bytes = act_row - cpu::ActivationBytes(tt.act, w.cols);  // F32 only
    uint8_t* act = act_scratch_.Get(act_stride * n);
    For(n, 4, double(n) * w.cols * 2, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) {
        uint8_t* a = act + i * act_stride;
        cpu::ConvertActivations(kernels_, tt.act, x.data + x_rows[i] * x.stride, w.cols, a);
        if (pad_bytes > 0) std::memset(a + (act_row - pad_bytes), 0, pad_bytes);
      }
    });
    if (w.packed) return MatMulPacked(w, mat, act, act_stride, n, y, out_rows);
    // Split the output units across threads; each chunk walks all tokens in tiles of
    // kMaxDotCols so a weight row is read once per tile, and the chunk stays in cache.
    const int64_t rows = w.rows;
    const int64_t chunk = n == 1 ? std::max<int64_t>(8, rows / (pool_.size() * 16))
                                 : std::max<int64_t>(4, std::min<int64_t>(128, rows / (pool_.size() * 4)));
    For(rows, chunk, double(rows) * w.cols * n, [&](int64_t rb, int64_t re, int) {
      float out[cpu::kMaxDotCols];
      for (int64_t t0 = 0; t0 < n; t0 += cpu::kMaxDotCols) {
        const int nt = static_cast<int>(std::min<int64_t>(cpu::kMaxDotCols, n - t0));
        for (int64_t r = rb; r < re; ++r) {
          tt.dot(w.cols, w.Row(mat, r), act + t0 * act_stride, act_stride, nt, out);
          for (int j = 0; j < nt; ++j) y.data[out_rows[t0 + j] * y.stride + r] = out[j];
        }
      }
    });
  }

  // The product with a repacked matrix. Work items are (column tile, run of row groups): a tile
  // of activation columns small enough to stay in L2 is multiplied by every group, each group's
  // weights read once per kMaxGroupCols columns (the group, some tens of KB, stays in L1/L2
  // across the tile). Threads take items dynamically, so a descheduled worker delays one item.
  void MatMulPacked(const CpuWeight& w, int64_t mat, const uint8_t* act, size_t act_stride,
                    int64_t n, TensorView y, const std::vector<int64_t>& out_rows) {
    if (n <= 0) return;
    const cpu::GroupDotFn dot = cpu::GroupDotFor(kernels_, w.type);
    const int64_t nb = cpu::RepackedBlocks(w.cols);
    const size_t gbb = cpu::GroupBlockBytes(w.type);
    const uint8_t* base = w.Packed(mat);
    constexpr size_t kTileBytes = 384 << 10;  // well inside a 1 MiB L2, beside one weight group
    int64_t tile = static_cast<int64_t>(kTileBytes / act_stride) / cpu::kMaxGroupCols *
                   cpu::kMaxGroupCols;
    tile = std::clamp<int64_t>(tile, cpu::kMaxGroupCols, 256);
    tile = std::min(tile, n);
    const int64_t n_tiles = (n + tile - 1) / tile;
    const int64_t threads = pool_.size();
    // Enough runs per tile for dynamic balance; small runs for decode-sized products.
    const int64_t run = std::max<int64_t>(1, w.groups / (threads * (n_tiles > 1 ? 4 : 8)));
    const int64_t n_runs = (w.groups + run - 1) / run;
    const int64_t rows = w.rows;
    For(n_tiles * n_runs, 1, double(w.groups) * cpu::kRowGroup * w.cols * n,
        [&](int64_t ib, int64_t ie, int) {
          alignas(64) float out[cpu::kRowGroup * cpu::kMaxGroupCols];
          for (int64_t item = ib; item < ie; ++item) {
            const int64_t t0 = (item / n_runs) * tile;
            const int64_t t1 = std::min(n, t0 + tile);
            const int64_t g0 = (item % n_runs) * run;
            const int64_t g1 = std::min(w.groups, g0 + run);
            for (int64_t g = g0; g < g1; ++g) {
              const uint8_t* gp = base + static_cast<size_t>(g) * nb * gbb;
              const int64_t r0 = g * cpu::kRowGroup;
              const int nr = static_cast<int>(std::min<int64_t>(cpu::kRowGroup, rows - r0));
              for (int64_t c0 = t0; c0 < t1; c0 += cpu::kMaxGroupCols) {
                const int nc = static_cast<int>(std::min<int64_t>(cpu::kMaxGroupCols, t1 - c0));
                dot(nb, gp, act + c0 * act_stride, act_stride, nc, out);
                for (int j = 0; j < nc; ++j) {
                  std::memcpy(y.data + out_rows[c0 + j] * y.stride + r0, out + j * cpu::kRowGroup,
                              nr * sizeof(float));
                }
              }
            }
          }
        });
  }

  // Constant after construction.
  const Kernels& kernels_;
  ThreadPool pool_;

  // Paged KV cache: [layer][block][slot][k_width | v_width] elements of kv_type_.
  std::unique_ptr<void, FreeDeleter> kv_;
  KvCacheType kv_type_ = KvCacheType::kF16;
  int kv_layers_ = 0;
  int kv_blocks_ = 0;
  int kv_block_size_ = 0;
  int kv_k_width_ = 0;
  int kv_v_width_ = 0;

  // The current step.
  std::vector<int32_t> tokens_;
  std::vector<int32_t> positions_;
  std::vector<int32_t> row_seq_;
  std::vector<SeqInfo> seqs_;
  std::vector<int32_t> tables_;
  std::vector<int32_t> logit_rows_;

  std::vector<AttnTask> attn_tasks_;
  Scratch act_scratch_;
  std::vector<Scratch> thread_scratch_;
};

}  // namespace

StatusOr<std::unique_ptr<Backend>> CreateCpuBackend(const BackendOptions& options) {
  int threads = options.threads;
  if (threads < 0) return common::InvalidArgumentError("threads must be >= 0");
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::unique_ptr<Backend>(new CpuBackend(threads));
}

}  // namespace inference
