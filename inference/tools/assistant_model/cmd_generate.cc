// assistant-model generate: run one prompt through the serving engine.
//
//   assistant-model generate --model FILE (--prompt TEXT | --prompt-ids JSON)
//       [-n N] [--greedy] [--ids] [--threads N] [--temperature T] [--top-k K]
//       [--top-p P] [--min-p P] [--seed S] [--repeat-penalty R] [--repeat-last-n N]
//       [--frequency-penalty F] [--presence-penalty P] [--stop S]... [--ignore-eos]
//       [--kv-cache-mb N] [--quiet] [--backend auto|cpu|cuda] [--tensor-parallel N]
//       [--sampling auto|host|device]
//
// Text streams to stdout as it is generated; with --ids the generated ids
// follow as a JSON array on the last line. Prompt ids are used exactly as
// given (no BOS added); --prompt text is tokenized with the model's
// tokenizer, BOS added when the model asks for it. Timings go to stderr.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli.h"
#include "common/json.h"
#include "inference/engine.h"
#include "inference/model.h"
#include "serving/token_text.h"

namespace assistant_model {
namespace {

int GenerateUsage() {
  std::fprintf(stderr,
               "usage: assistant-model generate --model FILE (--prompt TEXT | --prompt-ids JSON)\n"
               "         [-n N] [--greedy] [--ids] [--threads N] [--temperature T] [--top-k K]\n"
               "         [--top-p P] [--min-p P] [--seed S] [--repeat-penalty R]\n"
               "         [--repeat-last-n N] [--frequency-penalty F] [--presence-penalty P]\n"
               "         [--stop S]... [--ignore-eos] [--kv-cache-mb N] [--quiet]\n"
               "         [--backend auto|cpu|cuda] [--tensor-parallel N]\n"
               "         [--sampling auto|host|device]\n");
  return 2;
}

int GenerateFail(const common::Status& status) {
  std::fprintf(stderr, "assistant-model generate: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int CmdGenerate(int argc, char** argv) {
  std::string model_path, prompt_text, prompt_ids_json;
  bool print_ids = false, quiet = false, have_text = false, have_ids = false;
  int threads = 0;
  inference::ModelOptions mo;
  size_t kv_cache_mb = 64;
  inference::GenerateRequest req;
  req.max_tokens = 64;
  req.sampling.temperature = 0.8f;
  req.sampling.top_k = 40;
  req.sampling.top_p = 0.95f;
  req.sampling.min_p = 0.05f;
  req.sampling.seed = 0x5EED;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--greedy") {
      req.sampling.temperature = 0;
      continue;
    }
    if (a == "--ids") { print_ids = true; continue; }
    if (a == "--quiet") { quiet = true; continue; }
    if (a == "--ignore-eos") { req.ignore_eos = true; continue; }
    if (a == "-h" || a == "--help") return GenerateUsage(), 0;
    if (!(v = next())) return GenerateUsage();
    if (a == "--model" || a == "-m") model_path = v;
    else if (a == "--prompt" || a == "-p") { prompt_text = v; have_text = true; }
    else if (a == "--prompt-ids") { prompt_ids_json = v; have_ids = true; }
    else if (a == "-n" || a == "--max-tokens") req.max_tokens = std::atoi(v);
    else if (a == "--threads" || a == "-t") threads = std::atoi(v);
    else if (a == "--temperature" || a == "--temp") req.sampling.temperature = std::strtof(v, nullptr);
    else if (a == "--top-k") req.sampling.top_k = std::atoi(v);
    else if (a == "--top-p") req.sampling.top_p = std::strtof(v, nullptr);
    else if (a == "--min-p") req.sampling.min_p = std::strtof(v, nullptr);
    else if (a == "--seed") req.sampling.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--repeat-penalty") req.sampling.repetition_penalty = std::strtof(v, nullptr);
    else if (a == "--repeat-last-n") req.sampling.penalty_last_n = std::atoi(v);
    else if (a == "--frequency-penalty") req.sampling.frequency_penalty = std::strtof(v, nullptr);
    else if (a == "--presence-penalty") req.sampling.presence_penalty = std::strtof(v, nullptr);
    else if (a == "--stop") req.stop.push_back(v);
    else if (a == "--kv-cache-mb") kv_cache_mb = std::strtoull(v, nullptr, 10);
    else if (a == "--backend") mo.backend = v;
    else if (a == "--tensor-parallel") mo.tensor_parallel = std::atoi(v);
    else if (a == "--sampling") mo.sampling = v;
    else return GenerateUsage();
  }
  if (model_path.empty() || have_text == have_ids) return GenerateUsage();

  mo.threads = threads;
  auto model = inference::Model::Load(model_path, mo);
  if (!model.ok()) return GenerateFail(model.status());
  auto text = inference::MakeTokenText((*model)->file());
  if (!text.ok()) return GenerateFail(text.status());

  if (have_ids) {
    auto parsed = common::Json::Parse(prompt_ids_json);
    if (!parsed.ok() || !parsed->is_array()) {
      return GenerateFail(common::InvalidArgumentError("--prompt-ids: expected a JSON array of ids"));
    }
    for (const auto& id : parsed->as_array()) {
      if (!id.is_int()) return GenerateFail(common::InvalidArgumentError("--prompt-ids: non-integer id"));
      req.prompt.push_back(static_cast<int32_t>(id.as_int()));
    }
  } else {
    if (!text->encode) {
      return GenerateFail(common::FailedPreconditionError(
          "--prompt: the model file has no tokenizer; use --prompt-ids"));
    }
    req.prompt = text->encode(prompt_text);  // BOS as the model asks
  }

  inference::EngineOptions eo;
  eo.kv_cache_bytes = kv_cache_mb << 20;
  eo.token_bytes = text->token_bytes;
  eo.is_eog = text->is_eog;
  auto engine = inference::Engine::Create(model->get(), std::move(eo));
  if (!engine.ok()) return GenerateFail(engine.status());
  auto stream = (*engine)->Submit(std::move(req));
  if (!stream.ok()) return GenerateFail(stream.status());

  std::vector<int32_t> ids;
  inference::GenerateEvent ev;
  while ((*stream)->Next(&ev)) {
    if (ev.kind == inference::GenerateEvent::Kind::kToken) {
      if (ev.token >= 0) ids.push_back(ev.token);
      if (!quiet && !ev.text.empty()) {
        std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
        std::fflush(stdout);
      }
    } else if (ev.kind == inference::GenerateEvent::Kind::kFinished) {
      break;
    }
  }
  if (!quiet) std::fputc('\n', stdout);
  if (print_ids) {
    common::Json arr = common::Json::MakeArray();
    for (int32_t id : ids) arr.Push(static_cast<int64_t>(id));
    std::printf("%s\n", arr.Dump().c_str());
  }
  const auto& t = ev.timings;
  const double prefill_s = static_cast<double>(t.prefill_micros) / 1e6;
  const double decode_s = static_cast<double>(t.decode_micros) / 1e6;
  std::fprintf(stderr,
               "[%s] finish=%s prompt=%d (cached %d) generated=%d | prefill %.1f tok/s, "
               "decode %.1f tok/s\n",
               (*model)->backend_name().c_str(),
               std::string(inference::FinishReasonName(ev.reason)).c_str(),
               ev.usage.prompt_tokens, ev.usage.cached_prompt_tokens,
               ev.usage.completion_tokens,
               prefill_s > 0 ? (ev.usage.prompt_tokens - ev.usage.cached_prompt_tokens) / prefill_s : 0.0,
               decode_s > 0 ? (ev.usage.completion_tokens - 1) / decode_s : 0.0);
  if (ev.reason == inference::FinishReason::kError) return GenerateFail(ev.error);
  return 0;
}

}  // namespace assistant_model
