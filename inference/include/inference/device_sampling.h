// Sampling on the device: the logits of a step stay where they were computed and only token ids
// cross PCIe.
//
// The algorithm is the CPU Sampler's (inference/sampler.h), split between host and device:
//   * the host keeps each request's Sampler: it lists the (token, count) pairs the penalties look
//     at (the same window as Sampler) and, for a non-greedy row, draws the row's uniform from the
//     request's own RNG before the step, exactly one draw per sampled token as on the CPU;
//   * the device applies the penalties to a copy of the row, then greedy argmax, or temperature,
//     the top `kDeviceSampleCandidates` candidates sorted (logit descending, index ascending),
//     softmax over the survivors (in double), top-p, min-p and the draw with the host's uniform.
// When the answer depends on candidates beyond the first kDeviceSampleCandidates (top_k == 0 or
// larger than that, and the top-p / min-p cut or the draw falls past them) the device answers
// kSampleOnHost for the row; the host then downloads that row alone and finishes it with
// Sampler::SampleWithUniform using the same uniform, so the token is the CPU's token.
//
// Where the random stream may differ from the CPU sampler's: (a) when every logit of a row is
// -inf a uniform is still drawn (the CPU draws none); (b) when the survivors outnumber the
// candidates and no cut applies, the softmax normaliser is summed in a different order, so a draw
// within ~1e-15 of a boundary between two tokens may pick the neighbour. NaN logits are not
// candidates on either side, but a NaN may win greedy argmax differently.
#ifndef INFERENCE_DEVICE_SAMPLING_H_
#define INFERENCE_DEVICE_SAMPLING_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "inference/sampler.h"

namespace inference {

// Candidates a device row keeps, sorted, per step. top_k up to this is exact on the device.
constexpr int kDeviceSampleCandidates = 1024;

// The token id a device answers when the row must be finished on the host.
constexpr int32_t kSampleOnHost = -1;

// One (token, count) pair of the penalty window.
struct PenaltyEntry {
  int32_t token = 0;
  int32_t count = 0;
};

// One logit row's sampling parameters as the device sees them (plain data, uploaded per step).
struct DeviceSampleRow {
  enum Mode : int32_t { kGreedy = 0, kSample = 1, kHost = 2 };
  int32_t mode = kGreedy;
  int32_t top_k = 0;             // 0 = off
  float inv_temperature = 1.0f;  // 1.0f / temperature, as the CPU computes it
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int32_t penalty_offset = 0;  // first entry of this row in the step's PenaltyEntry list
  int32_t penalty_count = 0;
  double uniform = 0.0;        // the request's draw for this token (kSample)
};

// Where a request's tokens are sampled.
enum class SamplerPlacement {
  kDevice,            // always on the device (greedy, or 1 <= top_k <= kDeviceSampleCandidates)
  kDeviceOrFallback,  // top_k off: on the device, a row finished on the host when the top-p /
                      // min-p cut or the draw falls beyond the first kDeviceSampleCandidates
  kHost,              // on the host: the backend cannot sample, or top_k > the candidates
};
const char* SamplerPlacementName(SamplerPlacement p);

// Which placement `params` gets when the backend samples on its device (`device` true).
SamplerPlacement ChooseSamplerPlacement(const SamplingParams& params, bool device);

// Builds the device row of a request's next token: appends its penalty entries to *penalties and,
// for a non-greedy row, draws the uniform from the sampler's RNG. kHost placement gives a kHost
// row (no draw: the host samples the downloaded logits with Sampler::Sample as usual).
DeviceSampleRow MakeDeviceSampleRow(Sampler& sampler, SamplerPlacement placement,
                                    std::span<const int32_t> history, size_t prompt_len,
                                    std::vector<PenaltyEntry>* penalties);

// The device algorithm on the host, row by row (the reference the CUDA kernel is checked
// against, and what a backend without its own sampling kernel runs). `logits`: [rows, n_vocab]
// row-major, not modified. Returns one token per row, kSampleOnHost where the host must finish.
std::vector<int32_t> SampleRowsReference(std::span<const float> logits, int64_t n_vocab,
                                         std::span<const DeviceSampleRow> rows,
                                         std::span<const PenaltyEntry> penalties);
// The same with another candidate count (tests use a small one to reach the host fallback).
std::vector<int32_t> SampleRowsReferenceWithCap(std::span<const float> logits, int64_t n_vocab,
                                                std::span<const DeviceSampleRow> rows,
                                                std::span<const PenaltyEntry> penalties,
                                                int candidates_cap);

}  // namespace inference

#endif  // INFERENCE_DEVICE_SAMPLING_H_
