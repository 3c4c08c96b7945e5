#include "inference/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace inference {

common::Status SamplingParams::Validate() const {
  auto bad = [](const char* what) {
    return common::InvalidArgumentError(std::string("sampling: ") + what);
  };
  if (!std::isfinite(temperature) || temperature < 0) return bad("temperature must be >= 0");
  if (top_k < 0) return bad("top_k must be >= 0");
  if (!(top_p > 0.0f && top_p <= 1.0f)) return bad("top_p must be in (0, 1]");
  if (!(min_p >= 0.0f && min_p <= 1.0f)) return bad("min_p must be in [0, 1]");
  if (!std::isfinite(repetition_penalty) || repetition_penalty <= 0) {
    return bad("repetition_penalty must be > 0");
  }
  if (!std::isfinite(frequency_penalty) || std::fabs(frequency_penalty) > 2.0f) {
    return bad("frequency_penalty must be in [-2, 2]");
  }
  if (!std::isfinite(presence_penalty) || std::fabs(presence_penalty) > 2.0f) {
    return bad("presence_penalty must be in [-2, 2]");
  }
  if (penalty_last_n < -1) return bad("penalty_last_n must be >= -1");
  return common::OkStatus();
}

namespace {
uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

SamplerRng::SamplerRng(uint64_t seed) {
  for (auto& s : s_) s = SplitMix64(seed);
}

uint64_t SamplerRng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double SamplerRng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

int32_t ArgMax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  }
  return best;
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

void Sampler::ApplyPenalties(std::span<float> logits, std::span<const int32_t> history,
                             size_t prompt_len) {
  const bool any = params_.repetition_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
                   params_.presence_penalty != 0.0f;
  if (!any || params_.penalty_last_n == 0) return;
  size_t begin = params_.penalize_prompt ? 0 : std::min(prompt_len, history.size());
  if (params_.penalty_last_n > 0 &&
      history.size() - begin > static_cast<size_t>(params_.penalty_last_n)) {
    begin = history.size() - static_cast<size_t>(params_.penalty_last_n);
  }
  auto& counts = counts_;
  counts.clear();
  for (size_t i = begin; i < history.size(); ++i) {
    const int32_t t = history[i];
    if (t >= 0 && static_cast<size_t>(t) < logits.size()) ++counts[t];
  }
  for (const auto& [token, count] : counts) {
    float& l = logits[token];
    if (params_.repetition_penalty != 1.0f) {
      l = l > 0 ? l / params_.repetition_penalty : l * params_.repetition_penalty;
    }
    l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
  }
}

std::vector<std::pair<int32_t, int>> Sampler::PenaltyCounts(std::span<const int32_t> history,
                                                            size_t prompt_len) const {
  std::vector<std::pair<int32_t, int>> out;
  const bool any = params_.repetition_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
                   params_.presence_penalty != 0.0f;
  if (!any || params_.penalty_last_n == 0) return out;
  size_t begin = params_.penalize_prompt ? 0 : std::min(prompt_len, history.size());
  if (params_.penalty_last_n > 0 &&
      history.size() - begin > static_cast<size_t>(params_.penalty_last_n)) {
    begin = history.size() - static_cast<size_t>(params_.penalty_last_n);
  }
  std::unordered_map<int32_t, int> counts;
  for (size_t i = begin; i < history.size(); ++i) {
    if (history[i] >= 0) ++counts[history[i]];
  }
  out.assign(counts.begin(), counts.end());
  std::sort(out.begin(), out.end());
  return out;
}

int32_t Sampler::Sample(std::span<float> logits, std::span<const int32_t> history,
                        size_t prompt_len) {
  return SampleImpl(logits, history, prompt_len, nullptr);
}

int32_t Sampler::SampleWithUniform(std::span<float> logits, std::span<const int32_t> history,
                                   size_t prompt_len, double uniform) {
  return SampleImpl(logits, history, prompt_len, &uniform);
}

int32_t Sampler::SampleImpl(std::span<float> logits, std::span<const int32_t> history,
                            size_t prompt_len, const double* uniform) {
  ApplyPenalties(logits, history, prompt_len);
  if (params_.greedy()) return ArgMax(logits);

  // Temperature, then candidates sorted by logit (descending, index ascending on ties).
  const float inv_t = 1.0f / params_.temperature;
  candidates_.clear();
  candidates_.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = logits[i] * inv_t;
    if (l > -std::numeric_limits<float>::infinity()) {
      candidates_.emplace_back(l, static_cast<int32_t>(i));
    }
  }
  if (candidates_.empty()) return ArgMax(logits);
  auto by_logit = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t n = candidates_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    n = static_cast<size_t>(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + n, candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  candidates_.resize(n);

  // Softmax over the survivors (double for a stable sum).
  std::vector<double> probs(n);
  const double max_l = candidates_[0].first;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    probs[i] = std::exp(static_cast<double>(candidates_[i].first) - max_l);
    sum += probs[i];
  }
  for (auto& p : probs) p /= sum;

  // top-p: smallest prefix whose mass reaches top_p (at least one token).
  if (params_.top_p < 1.0f) {
    double acc = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      acc += probs[i];
      if (acc >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
  }
  // min-p: drop tokens below min_p times the most likely one.
  if (params_.min_p > 0.0f) {
    const double floor = params_.min_p * probs[0];
    size_t keep = 1;
    while (keep < n && probs[keep] >= floor) ++keep;
    n = keep;
  }

  double total = 0;
  for (size_t i = 0; i < n; ++i) total += probs[i];
  const double r = (uniform != nullptr ? *uniform : rng_.Uniform()) * total;
  double acc = 0;
  for (size_t i = 0; i < n; ++i) {
    acc += probs[i];
    if (r < acc) return candidates_[i].second;
  }
  return candidates_[n - 1].second;
}

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

std::string StopMatcher::Push(std::string_view delta) {
  if (stopped_) return {};
  pending_.append(delta);
  // Earliest complete stop string wins.
  size_t first = std::string::npos;
  for (const auto& s : stops_) {
    const size_t at = pending_.find(s);
    if (at < first) first = at;
  }
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, first);
    pending_.clear();
    return out;
  }
  // Hold back the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& s : stops_) {
    const size_t max_len = std::min(s.size() - 1, pending_.size());
    for (size_t len = max_len; len > hold; --len) {
      if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopMatcher::Flush() {
  std::string out;
  if (!stopped_) out.swap(pending_);
  pending_.clear();
  return out;
}

}  // namespace inference
