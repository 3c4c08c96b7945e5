// Sampling: from one row of logits to one token id, and stop-string handling.
//
// Order of operations (as vLLM): penalties on the raw logits, then greedy
// argmax if temperature == 0, else temperature, top-k, top-p, min-p, and a
// draw from the renormalised distribution with the request's own RNG.
// Same seed and same logits => same tokens, whatever else runs in the batch.
#ifndef INFERENCE_SAMPLER_H_
#define INFERENCE_SAMPLER_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"

namespace inference {

struct SamplingParams {
  float temperature = 1.0f;         // 0 = greedy
  int top_k = 0;                    // 0 = off
  float top_p = 1.0f;               // 1 = off
  float min_p = 0.0f;               // 0 = off; keep p >= min_p * p_max
  float repetition_penalty = 1.0f;  // 1 = off; CTRL-style divide/multiply
  float frequency_penalty = 0.0f;   // subtract count * f
  float presence_penalty = 0.0f;    // subtract p once per seen token
  int penalty_last_n = 64;          // window of recent tokens penalties look at; -1 = all
  bool penalize_prompt = true;      // window includes prompt tokens
  uint64_t seed = 0;

  bool greedy() const { return temperature <= 0.0f; }
  // INVALID_ARGUMENT naming the first bad field.
  common::Status Validate() const;
};

// Deterministic RNG (splitmix64-seeded xoshiro256**): identical sequences on
// every platform and standard library, unlike std:: distributions.
class SamplerRng {
 public:
  explicit SamplerRng(uint64_t seed);
  uint64_t Next();
  double Uniform();  // [0, 1)

 private:
  uint64_t s_[4];
};

class Sampler {
 public:
  // params must be valid (Validate()).
  explicit Sampler(const SamplingParams& params);

  // Picks a token from `logits` (modified in place: penalties, temperature).
  // `history` = prompt + generated tokens so far (penalties look at its tail,
  // and only at the generated part when !penalize_prompt).
  int32_t Sample(std::span<float> logits, std::span<const int32_t> history,
                 size_t prompt_len);

  const SamplingParams& params() const { return params_; }

  // For samplers split between host and device (inference/device_sampling.h):
  // the (token, count) pairs the penalties of the next Sample() would apply,
  // sorted by token (empty when no penalty is on); one draw from the
  // request's RNG, as Sample() makes for a non-greedy token; and Sample() with
  // that draw given instead of taken from the RNG.
  std::vector<std::pair<int32_t, int>> PenaltyCounts(std::span<const int32_t> history,
                                                     size_t prompt_len) const;
  double DrawUniform() { return rng_.Uniform(); }
  int32_t SampleWithUniform(std::span<float> logits, std::span<const int32_t> history,
                            size_t prompt_len, double uniform);

 private:
  void ApplyPenalties(std::span<float> logits, std::span<const int32_t> history,
                      size_t prompt_len);
  int32_t SampleImpl(std::span<float> logits, std::span<const int32_t> history,
                     size_t prompt_len, const double* uniform);

  SamplingParams params_;
  SamplerRng rng_;
  std::vector<std::pair<float, int32_t>> candidates_;  // scratch
  std::unordered_map<int32_t, int> counts_;           // scratch
};

// Index of the largest logit (the lowest index among ties).
int32_t ArgMax(std::span<const float> logits);

// Watches decoded text for stop strings. Text that could still turn out to
// be the start of a stop string is held back; the stop string itself and
// anything after it are never emitted.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Feeds newly decoded text; returns the text that is safe to emit now.
  std::string Push(std::string_view delta);
  // True once a stop string was seen (further Push calls return "").
  bool stopped() const { return stopped_; }
  // The held-back text, released when generation ends without a stop.
  std::string Flush();

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace inference

#endif  // INFERENCE_SAMPLER_H_
