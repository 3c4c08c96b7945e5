// tokenizer-bench: encoding speed (MB/s of English text, one thread) of each
// tokenizer, with a cold cache (first pass) and a warm cache (best of the
// next passes). Usage: tokenizer-bench [TEXT_FILE] [--mb N]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "inference/gguf.h"
#include "inference/tokenizer.h"

namespace {

std::string DataPath(const std::string& rel) { return std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/" + rel; }

// English prose built from a fixed word list with a deterministic generator,
// so the text is the same on every machine (no corpus file needed).
std::string EnglishText(size_t bytes) {
  static const char* kWords[] = {
      "the", "of", "and", "to", "a", "in", "that", "is", "was", "he", "for", "it", "with", "as", "his", "on",
      "be", "at", "by", "I", "this", "had", "not", "are", "but", "from", "or", "have", "an", "they", "which",
      "one", "you", "were", "her", "all", "she", "there", "would", "their", "we", "him", "been", "has", "when",
      "who", "will", "more", "no", "if", "out", "so", "said", "what", "up", "its", "about", "into", "than",
      "them", "can", "only", "other", "new", "some", "could", "time", "these", "two", "may", "then", "do",
      "first", "any", "my", "now", "such", "like", "our", "over", "man", "me", "even", "most", "made", "after",
      "also", "did", "many", "before", "must", "through", "back", "years", "where", "much", "your", "way",
      "well", "down", "should", "because", "each", "just", "those", "people", "Mr.", "how", "too", "little",
      "state", "good", "very", "make", "world", "still", "own", "see", "men", "work", "long", "get", "here",
      "between", "both", "life", "being", "under", "never", "day", "same", "another", "know", "while", "last",
      "might", "us", "great", "old", "year", "off", "come", "since", "against", "go", "came", "right", "used",
      "take", "three", "tokenizer", "inference", "appliance", "privately", "assistant's", "don't", "1984",
      "42", "3.14", "e-mail", "well-known", "(see", "below)"};
  const size_t n = sizeof(kWords) / sizeof(kWords[0]);
  std::string out;
  uint64_t s = 88172645463325252ull;
  size_t sentence = 0;
  while (out.size() < bytes) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const char* w = kWords[s % n];
    if (sentence == 0 && !out.empty()) out += ' ';
    out += w;
    if (++sentence > 8 + s % 12) {
      out += (s % 7 == 0) ? ".\n\n" : ". ";
      sentence = 0;
    } else {
      out += (s % 11 == 0) ? ", " : " ";
    }
  }
  return out;
}

void Bench(const char* name, const inference::Tokenizer& tok, const std::string& text) {
  double best = 1e30, cold = 0;
  size_t n_tokens = 0;
  for (int pass = 0; pass < 4; ++pass) {
    auto t0 = std::chrono::steady_clock::now();
    n_tokens = tok.Encode(text, false).size();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (pass == 0) cold = s;
    if (pass > 0 && s < best) best = s;
  }
  const double mb = static_cast<double>(text.size()) / 1e6;
  std::printf("%-28s %8zu tokens  cold %7.2f MB/s  warm %7.2f MB/s  (%.2f bytes/token)\n", name, n_tokens, mb / cold,
              mb / best, static_cast<double>(text.size()) / static_cast<double>(n_tokens));
}

}  // namespace

int main(int argc, char** argv) {
  std::string text;
  double mb = 4;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--mb") == 0 && i + 1 < argc) {
      mb = std::atof(argv[++i]);
    } else {
      std::ifstream in(argv[i], std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
  }
  if (text.empty()) text = EnglishText(static_cast<size_t>(mb * 1e6));
  std::printf("text: %.2f MB, single thread\n", static_cast<double>(text.size()) / 1e6);
  for (const char* name : {"llama3", "qwen3", "deepseek_v3"}) {
    auto tok = inference::Tokenizer::FromHfFiles(DataPath(std::string("tokenizers/") + name + "/tokenizer.json"),
                                                 DataPath(std::string("tokenizers/") + name + "/tokenizer_config.json"));
    if (!tok.ok()) {
      std::fprintf(stderr, "%s: %s\n", name, tok.status().ToString().c_str());
      return 1;
    }
    Bench((std::string(name) + " (tokenizer.json)").c_str(), **tok, text);
  }
  for (const char* name : {"gpt-2", "deepseek-llm", "falcon", "starcoder", "llama-spm", "bert-bge"}) {
    auto g = inference::GgufFile::Open(DataPath(std::string("vocab/ggml-vocab-") + name + ".gguf"));
    if (!g.ok()) return 1;
    auto tok = inference::Tokenizer::FromGguf(**g);
    if (!tok.ok()) return 1;
    Bench((std::string(name) + " (gguf)").c_str(), **tok, text);
  }
  return 0;
}
