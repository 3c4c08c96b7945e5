#include "inference/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/json.h"
#include "inference/gguf.h"

namespace inference {
namespace {

using common::Json;

std::string DataPath(const std::string& rel) { return std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/" + rel; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string IdsToString(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

std::unique_ptr<Tokenizer> LoadGguf(const std::string& rel) {
  auto g = GgufFile::Open(DataPath(rel));
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return nullptr;
  auto t = Tokenizer::FromGguf(**g);
  EXPECT_TRUE(t.ok()) << rel << ": " << t.status();
  return t.ok() ? std::move(*t) : nullptr;
}

std::unique_ptr<Tokenizer> LoadHf(const std::string& name) {
  auto t = Tokenizer::FromHfFiles(DataPath("tokenizers/" + name + "/tokenizer.json"),
                                  DataPath("tokenizers/" + name + "/tokenizer_config.json"));
  EXPECT_TRUE(t.ok()) << name << ": " << t.status();
  return t.ok() ? std::move(*t) : nullptr;
}

// llama.cpp's .inp/.out vectors: inputs separated by "\n__ggml_vocab_test__\n",
// one line of space-prefixed ids per input.
void CheckInpOut(const Tokenizer& tok, const std::string& stem, bool check_decode) {
  std::string inp = ReadAll(DataPath("vocab/" + stem + ".inp"));
  std::string outs = ReadAll(DataPath("vocab/" + stem + ".out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0;;) {
    size_t next = inp.find(sep, pos);
    if (next == std::string::npos) break;
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<std::string> lines;
  std::stringstream ss(outs);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  ASSERT_EQ(texts.size(), lines.size()) << stem;
  ASSERT_GE(texts.size(), 40u);
  int failures = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int32_t> ids = tok.Encode(texts[i], false);
    if (IdsToString(ids) != lines[i]) {
      if (++failures <= 5) {
        ADD_FAILURE() << stem << " #" << i << " text '" << texts[i] << "'\n  want" << lines[i] << "\n  got "
                      << IdsToString(ids);
      }
      continue;
    }
    if (check_decode) {
      EXPECT_EQ(tok.Decode(ids), texts[i]) << stem << " #" << i;
    }
  }
  EXPECT_EQ(failures, 0) << stem;
}

class VocabVectorTest : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabVectorTest, EncodesEveryInputAsLlamaCppDoes) {
  auto tok = LoadGguf("vocab/ggml-vocab-" + GetParam() + ".gguf");
  ASSERT_NE(tok, nullptr);
  // BERT lowercases and strips whitespace, so its ids do not decode to the input.
  CheckInpOut(*tok, "ggml-vocab-" + GetParam() + ".gguf", GetParam() != "bert-bge");
}

INSTANTIATE_TEST_SUITE_P(Vocabs, VocabVectorTest,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "mpt", "falcon", "starcoder", "refact",
                                           "deepseek-llm", "deepseek-coder", "bert-bge"),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

TEST(TokenizerJsonVectors, LlamaBpeVectorsWithLlama3TokenizerJson) {
  auto tok = LoadHf("llama3");
  ASSERT_NE(tok, nullptr);
  CheckInpOut(*tok, "ggml-vocab-llama-bpe.gguf", true);
}

TEST(TokenizerJsonVectors, Qwen2AndR1QwenVectorsWithQwen3TokenizerJson) {
  auto tok = LoadHf("qwen3");
  ASSERT_NE(tok, nullptr);
  CheckInpOut(*tok, "ggml-vocab-qwen2.gguf", true);
  CheckInpOut(*tok, "ggml-vocab-deepseek-r1-qwen.gguf", true);
}

// tests.jsonl: {"text", "ids", "parse_special", "decoded"}.
void CheckJsonl(const Tokenizer& tok, const std::string& rel) {
  std::stringstream ss(ReadAll(DataPath(rel)));
  int n = 0, failures = 0;
  for (std::string line; std::getline(ss, line);) {
    if (line.empty()) continue;
    auto j = Json::Parse(line);
    ASSERT_TRUE(j.ok()) << j.status();
    const std::string& text = j->Find("text")->as_string();
    const bool special = j->Find("parse_special")->as_bool();
    std::vector<int32_t> want;
    for (const auto& v : j->Find("ids")->as_array()) want.push_back(static_cast<int32_t>(v.as_int()));
    ++n;
    std::vector<int32_t> got = tok.Encode(text, special);
    if (got != want) {
      if (++failures <= 5) {
        ADD_FAILURE() << rel << " line " << n << " special=" << special << " text '" << text << "'\n  want"
                      << IdsToString(want) << "\n  got " << IdsToString(got);
      }
      continue;
    }
    EXPECT_EQ(tok.Decode(want), j->Find("decoded")->as_string()) << rel << " line " << n;
  }
  EXPECT_GT(n, 100);
  EXPECT_EQ(failures, 0) << rel;
}

TEST(TokenizerJsonVectors, Llama3TestsJsonl) {
  auto tok = LoadHf("llama3");
  ASSERT_NE(tok, nullptr);
  CheckJsonl(*tok, "tokenizers/llama3/tests.jsonl");
}

TEST(TokenizerJsonVectors, Qwen3TestsJsonl) {
  auto tok = LoadHf("qwen3");
  ASSERT_NE(tok, nullptr);
  CheckJsonl(*tok, "tokenizers/qwen3/tests.jsonl");
}

TEST(TokenizerJsonVectors, DeepseekV3TestsJsonl) {
  auto tok = LoadHf("deepseek_v3");
  ASSERT_NE(tok, nullptr);
  CheckJsonl(*tok, "tokenizers/deepseek_v3/tests.jsonl");
}

TEST(GgufTokenizer, Stories260KTokenizerJsonl) {
  auto tok = LoadGguf("tinyllamas/stories260K.gguf");
  ASSERT_NE(tok, nullptr);
  CheckJsonl(*tok, "tinyllamas/stories260K.tokenizer.jsonl");
}

TEST(GgufTokenizer, Stories260KSpecialIds) {
  auto tok = LoadGguf("tinyllamas/stories260K.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->kind(), TokenizerKind::kSpm);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_TRUE(tok->add_bos());
  EXPECT_TRUE(tok->IsEog(2));
  EXPECT_FALSE(tok->IsEog(1));
  EXPECT_EQ(tok->Encode("<s>", true), std::vector<int32_t>({1}));
  EXPECT_NE(tok->Encode("<s>", false), std::vector<int32_t>({1}));
}

TEST(TokenizerJson, SpecialIdsFromTokenizerConfig) {
  auto llama3 = LoadHf("llama3");
  ASSERT_NE(llama3, nullptr);
  EXPECT_EQ(llama3->bos_id(), 128000);
  EXPECT_EQ(llama3->eos_id(), 128001);
  EXPECT_TRUE(llama3->IsEog(*llama3->TokenId("<|eot_id|>")));
  auto qwen3 = LoadHf("qwen3");
  ASSERT_NE(qwen3, nullptr);
  EXPECT_EQ(qwen3->bos_id(), -1);
  EXPECT_EQ(qwen3->eos_id(), *qwen3->TokenId("<|im_end|>"));
  EXPECT_TRUE(qwen3->IsEog(*qwen3->TokenId("<|endoftext|>")));
  auto ds = LoadHf("deepseek_v3");
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->bos_id(), 0);
  EXPECT_TRUE(ds->add_bos());
}

TEST(StreamingDetokenizer, NeverEmitsBrokenUtf8) {
  auto tok = LoadGguf("tinyllamas/stories260K.gguf");
  ASSERT_NE(tok, nullptr);
  // "é" is not a piece of this vocabulary: it is spelled as two byte tokens.
  std::vector<int32_t> ids = tok->Encode("café ok", false);
  StreamingDetokenizer d(*tok);
  std::string all;
  for (int32_t id : ids) {
    std::string part = d.Push(id);
    // Every chunk is valid UTF-8 on its own.
    EXPECT_EQ(Json(part).Dump().find("\\ufffd"), std::string::npos);
    all += part;
  }
  all += d.Finish();
  EXPECT_EQ(all, "café ok");
  EXPECT_EQ(all, tok->Decode(ids));
}

TEST(StreamingDetokenizer, IncompleteTailIsFlushedAsReplacementCharacter) {
  auto tok = LoadGguf("tinyllamas/stories260K.gguf");
  ASSERT_NE(tok, nullptr);
  StreamingDetokenizer d(*tok);
  int32_t c3 = *tok->TokenId("<0xC3>");
  EXPECT_EQ(d.Push(c3), "");
  EXPECT_EQ(d.Finish(), "\xEF\xBF\xBD");
}

TEST(TokenizerGguf, MismatchedArraysAreRejected) {
  // A GGUF whose scores array is shorter than its token list.
  std::string b = "GGUF";
  auto u32 = [&](uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [&](uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); };
  auto str = [&](const std::string& s) {
    u64(s.size());
    b += s;
  };
  u32(3);
  u64(0);
  u64(3);
  str("tokenizer.ggml.model");
  u32(8);
  str("llama");
  str("tokenizer.ggml.tokens");
  u32(9);
  u32(8);
  u64(2);
  str("a");
  str("b");
  str("tokenizer.ggml.scores");
  u32(9);
  u32(6);
  u64(1);
  u32(0);
  auto g = GgufFile::FromBuffer(b);
  ASSERT_TRUE(g.ok()) << g.status();
  auto t = Tokenizer::FromGguf(**g);
  EXPECT_EQ(t.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), ::testing::HasSubstr("tokenizer.ggml.scores has 1 entries for 2 tokens"));
}

}  // namespace
}  // namespace inference
