// libFuzzer target for the tokenizers: arbitrary bytes (valid UTF-8 or not)
// are encoded by an SPM, a byte-level BPE and a WordPiece vocabulary, with
// and without special tokens, and the ids decode and stream without error.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "inference/gguf.h"
#include "inference/tokenizer.h"

namespace {
std::unique_ptr<inference::Tokenizer> Load(const char* rel) {
  auto g = inference::GgufFile::Open(std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/" + rel);
  if (!g.ok()) __builtin_trap();
  auto t = inference::Tokenizer::FromGguf(**g);
  if (!t.ok()) __builtin_trap();
  return std::move(*t);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto spm = Load("tinyllamas/stories260K.gguf");
  static const auto bpe = Load("vocab/ggml-vocab-deepseek-llm.gguf");
  static const auto gpt2 = Load("vocab/ggml-vocab-gpt-2.gguf");
  static const auto bert = Load("vocab/ggml-vocab-bert-bge.gguf");
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const inference::Tokenizer* t : {spm.get(), bpe.get(), gpt2.get(), bert.get()}) {
    for (bool special : {false, true}) {
      std::vector<int32_t> ids = t->Encode(text, special);
      for (int32_t id : ids) {
        if (id < 0 || id >= t->vocab_size()) __builtin_trap();
      }
      std::string decoded = t->Decode(ids);
      inference::StreamingDetokenizer d(*t);
      std::string streamed;
      for (int32_t id : ids) streamed += d.Push(id);
      streamed += d.Finish();
      (void)decoded;
    }
  }
  return 0;
}
