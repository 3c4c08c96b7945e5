// Independent double-precision reference forward pass (see reference_model.cc).
#ifndef TESTS_INFERENCE_ENGINE_REFERENCE_MODEL_H_
#define TESTS_INFERENCE_ENGINE_REFERENCE_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "inference/synth.h"

namespace inference::testing {

// Logits [T][n_vocab] after each of `tokens` at positions 0..T-1, for the model file at `path`
// (llama incl. Mixtral experts, qwen2, qwen2moe, qwen3, qwen3moe, deepseek2). With
// `round_activations`, activations are rounded to 8 bits per block before every product with
// quantized weights (Q4_0/Q8_0: blocks of 32; K-quants: 256), as the engine and llama.cpp do.
common::StatusOr<std::vector<std::vector<double>>> ReferenceLogits(
    const std::string& path, const std::vector<int32_t>& tokens, bool round_activations);

// An architecture variant of the reference tests: the model-files synthetic presets (all
// dimensions multiples of 256, so every weight type applies), plus variants for the options
// each architecture has (Mixtral experts, tied output, DeepSeek-V2-Lite without a q latent).
struct ArchCase {
  std::string name;
  SynthConfig config;
};
common::StatusOr<std::vector<ArchCase>> ReferenceArchitectures();

}  // namespace inference::testing

#endif  // TESTS_INFERENCE_ENGINE_REFERENCE_MODEL_H_
