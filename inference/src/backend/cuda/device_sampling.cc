// Host side of device sampling (inference/device_sampling.h): placement, the per-row parameters,
// the reference algorithm (which the CUDA kernel in sampling.cu mirrors step by step), and the
// default Backend::SampleRows / Model::ForwardSample for backends without a sampling kernel.
// Built in every configuration: CI tests it without a GPU.
#include "inference/device_sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "inference/backend.h"
#include "inference/model.h"

namespace inference {

const char* SamplerPlacementName(SamplerPlacement p) {
  switch (p) {
    case SamplerPlacement::kDevice: return "device";
    case SamplerPlacement::kDeviceOrFallback: return "device-or-host";
    case SamplerPlacement::kHost: return "host";
  }
  return "?";
}

SamplerPlacement ChooseSamplerPlacement(const SamplingParams& params, bool device) {
  if (!device) return SamplerPlacement::kHost;
  if (params.greedy()) return SamplerPlacement::kDevice;
  if (params.top_k > kDeviceSampleCandidates) return SamplerPlacement::kHost;  // rare: top_k > 1024
  if (params.top_k > 0) return SamplerPlacement::kDevice;
  return SamplerPlacement::kDeviceOrFallback;
}

DeviceSampleRow MakeDeviceSampleRow(Sampler& sampler, SamplerPlacement placement,
                                    std::span<const int32_t> history, size_t prompt_len,
                                    std::vector<PenaltyEntry>* penalties) {
  DeviceSampleRow row;
  if (placement == SamplerPlacement::kHost) {
    row.mode = DeviceSampleRow::kHost;
    return row;
  }
  const SamplingParams& p = sampler.params();
  row.repetition_penalty = p.repetition_penalty;
  row.frequency_penalty = p.frequency_penalty;
  row.presence_penalty = p.presence_penalty;
  row.penalty_offset = static_cast<int32_t>(penalties->size());
  for (const auto& [token, count] : sampler.PenaltyCounts(history, prompt_len)) {
    penalties->push_back(PenaltyEntry{token, count});
  }
  row.penalty_count = static_cast<int32_t>(penalties->size()) - row.penalty_offset;
  if (p.greedy()) {
    row.mode = DeviceSampleRow::kGreedy;
    return row;
  }
  row.mode = DeviceSampleRow::kSample;
  row.top_k = p.top_k;
  row.inv_temperature = 1.0f / p.temperature;
  row.top_p = p.top_p;
  row.min_p = p.min_p;
  row.uniform = sampler.DrawUniform();
  return row;
}

namespace {

// The CPU's ArgMax: the first largest value.
int32_t FirstMax(const std::vector<float>& w) {
  int32_t best = 0;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i] > w[best]) best = static_cast<int32_t>(i);
  }
  return best;
}

int32_t SampleOneRow(const float* logits, int64_t n_vocab, const DeviceSampleRow& row,
                     std::span<const PenaltyEntry> penalties, int candidates_cap,
                     std::vector<float>& w, std::vector<std::pair<float, int32_t>>& cand) {
  if (row.mode == DeviceSampleRow::kHost) return kSampleOnHost;
  // 1. Penalties on a copy of the row (the same float operations as Sampler::ApplyPenalties).
  w.assign(logits, logits + n_vocab);
  for (int32_t e = 0; e < row.penalty_count; ++e) {
    const int64_t at = static_cast<int64_t>(row.penalty_offset) + e;
    if (at < 0 || at >= static_cast<int64_t>(penalties.size())) break;
    const PenaltyEntry& pe = penalties[static_cast<size_t>(at)];
    if (pe.token < 0 || pe.token >= n_vocab) continue;
    float& l = w[static_cast<size_t>(pe.token)];
    if (row.repetition_penalty != 1.0f) {
      l = l > 0 ? l / row.repetition_penalty : l * row.repetition_penalty;
    }
    l -= static_cast<float>(pe.count) * row.frequency_penalty + row.presence_penalty;
  }
  if (row.mode == DeviceSampleRow::kGreedy) return FirstMax(w);

  // 2. Temperature; the valid candidates are those above -inf.
  int64_t n_valid = 0;
  for (int64_t i = 0; i < n_vocab; ++i) {
    if (w[static_cast<size_t>(i)] * row.inv_temperature > -std::numeric_limits<float>::infinity()) {
      ++n_valid;
    }
  }
  if (n_valid == 0) return FirstMax(w);
  const int64_t survivors =
      row.top_k > 0 && row.top_k < n_valid ? static_cast<int64_t>(row.top_k) : n_valid;
  const int64_t c = std::min<int64_t>(survivors, candidates_cap);
  // A top-k cut beyond the candidates (top_k > cap): the normaliser needs the host.
  if (survivors > c && survivors < n_valid) return kSampleOnHost;

  // 3. The top c candidates, logit descending, index ascending (the CPU's order).
  cand.clear();
  for (int64_t i = 0; i < n_vocab; ++i) {
    float l = w[static_cast<size_t>(i)] * row.inv_temperature;
    if (l > -std::numeric_limits<float>::infinity()) {
      if (l == 0.0f) l = 0.0f;  // -0 and +0 tie, as in the CPU comparator
      cand.emplace_back(l, static_cast<int32_t>(i));
    }
  }
  auto before = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  std::partial_sort(cand.begin(), cand.begin() + c, cand.end(), before);
  const double max_l = cand[0].first;

  // 4. Softmax normaliser over the survivors: in candidate order when the candidates are all the
  //    survivors (bit-identical to the CPU), else over every valid token (the device reduces in
  //    its own order).
  double sum = 0;
  if (survivors == c) {
    for (int64_t i = 0; i < c; ++i) sum += std::exp(static_cast<double>(cand[i].first) - max_l);
  } else {
    for (const auto& [l, id] : cand) sum += std::exp(static_cast<double>(l) - max_l);
  }
  std::vector<double> probs(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) {
    probs[i] = std::exp(static_cast<double>(cand[i].first) - max_l) / sum;
  }

  // 5. top-p, min-p and the draw, deferring to the host whenever the answer lies beyond c.
  int64_t keep = survivors;
  if (row.top_p < 1.0f) {
    double acc = 0;
    bool cut = false;
    for (int64_t i = 0; i < c; ++i) {
      acc += probs[i];
      if (acc >= row.top_p) {
        keep = i + 1;
        cut = true;
        break;
      }
    }
    if (!cut && survivors > c) return kSampleOnHost;
  }
  if (row.min_p > 0.0f) {
    const double floor = row.min_p * probs[0];
    int64_t k = 1;
    while (k < keep && k < c && probs[k] >= floor) ++k;
    if (k == c && keep > c) return kSampleOnHost;
    keep = k;
  }
  double total = 0;
  if (keep <= c) {
    for (int64_t i = 0; i < keep; ++i) total += probs[i];
  } else {
    total = 1.0;  // every survivor kept: the probabilities sum to one
  }
  const double r = row.uniform * total;
  double acc = 0;
  for (int64_t i = 0; i < std::min(keep, c); ++i) {
    acc += probs[i];
    if (r < acc) return cand[i].second;
  }
  if (keep <= c) return cand[keep - 1].second;
  return kSampleOnHost;
}

}  // namespace

std::vector<int32_t> SampleRowsReference(std::span<const float> logits, int64_t n_vocab,
                                         std::span<const DeviceSampleRow> rows,
                                         std::span<const PenaltyEntry> penalties) {
  return SampleRowsReferenceWithCap(logits, n_vocab, rows, penalties, kDeviceSampleCandidates);
}

std::vector<int32_t> SampleRowsReferenceWithCap(std::span<const float> logits, int64_t n_vocab,
                                                std::span<const DeviceSampleRow> rows,
                                                std::span<const PenaltyEntry> penalties,
                                                int candidates_cap) {
  std::vector<int32_t> out(rows.size(), kSampleOnHost);
  if (n_vocab <= 0 || candidates_cap <= 0) return out;
  std::vector<float> w;
  std::vector<std::pair<float, int32_t>> cand;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (static_cast<int64_t>(r + 1) * n_vocab > static_cast<int64_t>(logits.size())) break;
    out[r] = SampleOneRow(logits.data() + static_cast<int64_t>(r) * n_vocab, n_vocab, rows[r],
                          penalties, candidates_cap, w, cand);
  }
  return out;
}

// --- Defaults for backends and models without their own sampling ------------------------------

Status Backend::SampleRows(TensorView logits, std::span<const DeviceSampleRow> rows,
                           std::span<const PenaltyEntry> penalties, int32_t* tokens) {
  if (logits.rows != static_cast<int64_t>(rows.size())) {
    return common::InvalidArgumentError("SampleRows: one parameter row per logit row expected");
  }
  std::vector<float> host(static_cast<size_t>(logits.rows * logits.cols));
  RETURN_IF_ERROR(Download(logits, host.data()));
  RETURN_IF_ERROR(Synchronize());
  const std::vector<int32_t> t = SampleRowsReference(host, logits.cols, rows, penalties);
  std::copy(t.begin(), t.end(), tokens);
  return common::OkStatus();
}

Status Model::ForwardSample(const ForwardBatch& batch, std::span<const DeviceSampleRow> rows,
                            std::span<const PenaltyEntry> penalties, std::vector<int32_t>* tokens,
                            std::vector<float>* host_rows) {
  std::vector<float> logits;
  RETURN_IF_ERROR(Forward(batch, &logits));
  const int64_t n_vocab = config().n_vocab;
  if (static_cast<int64_t>(logits.size()) != static_cast<int64_t>(rows.size()) * n_vocab) {
    return common::InvalidArgumentError("ForwardSample: one parameter row per logit row expected");
  }
  *tokens = SampleRowsReference(logits, n_vocab, rows, penalties);
  host_rows->clear();
  for (size_t r = 0; r < tokens->size(); ++r) {
    if ((*tokens)[r] != kSampleOnHost) continue;
    const auto first = logits.begin() + static_cast<int64_t>(r) * n_vocab;
    host_rows->insert(host_rows->end(), first, first + n_vocab);
  }
  return common::OkStatus();
}

}  // namespace inference
