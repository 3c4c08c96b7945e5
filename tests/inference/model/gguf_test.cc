#include "inference/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace inference {
namespace {

using common::StatusCode;
using ::testing::HasSubstr;

std::string DataPath(const std::string& rel) { return std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/" + rel; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes GGUF bytes by hand, so each test can break exactly one thing.
class Bytes {
 public:
  Bytes& U8(uint8_t v) { return Raw(&v, 1); }
  Bytes& U32(uint32_t v) { return Raw(&v, 4); }
  Bytes& U64(uint64_t v) { return Raw(&v, 8); }
  Bytes& F32(float v) { return Raw(&v, 4); }
  Bytes& Str(std::string_view s) {
    U64(s.size());
    b_.append(s);
    return *this;
  }
  Bytes& Header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    b_.append("GGUF");
    U32(version);
    U64(n_tensors);
    return U64(n_kv);
  }
  Bytes& KvU32(std::string_view key, uint32_t v) { return Str(key).U32(4).U32(v); }
  Bytes& KvStr(std::string_view key, std::string_view v) { return Str(key).U32(8).Str(v); }
  Bytes& Tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) U64(d);
    return U32(type).U64(offset);
  }
  Bytes& PadTo(uint64_t alignment) {
    while (b_.size() % alignment != 0) b_.push_back('\0');
    return *this;
  }
  Bytes& Zeros(size_t n) {
    b_.append(n, '\0');
    return *this;
  }
  const std::string& str() const { return b_; }

 private:
  Bytes& Raw(const void* p, size_t n) {
    b_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string b_;
};

TEST(GgufTest, EveryModelFileInTestDataParses) {
  int count = 0;
  for (const char* dir : {"vocab", "tinyllamas", "random"}) {
    for (const auto& entry : std::filesystem::directory_iterator(DataPath(dir))) {
      if (entry.path().extension() != ".gguf") continue;
      auto f = GgufFile::Open(entry.path().string());
      ASSERT_TRUE(f.ok()) << entry.path() << ": " << f.status();
      EXPECT_GE((*f)->version(), 2u);
      EXPECT_TRUE((*f)->Has("tokenizer.ggml.model")) << entry.path();
      EXPECT_FALSE((*f)->architecture().empty()) << entry.path();
      ++count;
    }
  }
  EXPECT_EQ(count, 14);
}

TEST(GgufTest, Stories260KHeaderAndTensorsMatchTheModelsReadme) {
  auto f = GgufFile::Open(DataPath("tinyllamas/stories260K.gguf"));
  ASSERT_TRUE(f.ok()) << f.status();
  const GgufFile& g = **f;
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(g.data_offset(), 14176u);
  EXPECT_EQ(g.file_size(), 1185376u);
  EXPECT_EQ(g.keys().size(), 19u);
  EXPECT_EQ(g.tensors().size(), 48u);
  EXPECT_EQ(g.architecture(), "llama");
  EXPECT_EQ(*g.GetUint("llama.block_count"), 5u);
  EXPECT_EQ(*g.GetUint("llama.embedding_length"), 64u);
  EXPECT_NEAR(*g.GetFloat("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-9);
  EXPECT_EQ(*g.GetUint("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(g.GetStringArray("tokenizer.ggml.tokens")->size(), 512u);
  EXPECT_EQ(g.GetFloatArray("tokenizer.ggml.scores")->at(260), -1.0f);
  EXPECT_EQ(g.GetIntArray("tokenizer.ggml.token_type")->at(3), 6);
  const GgufTensor* emb = g.FindTensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->dims, (std::vector<uint64_t>{64, 512}));
  EXPECT_EQ(emb->type, GgmlType::kF32);
  EXPECT_EQ(emb->n_elements, 64u * 512u);
  EXPECT_EQ(emb->n_bytes, 64u * 512u * 4u);
  const GgufTensor* out = g.FindTensor("output.weight");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(std::memcmp(out->data, emb->data, emb->n_bytes), 0);  // tied classifier
  uint64_t total = 0;
  for (const auto& t : g.tensors()) total += t.n_bytes;
  EXPECT_EQ(total, 1171200u);
  EXPECT_EQ(g.FindTensor("nope"), nullptr);
}

TEST(GgufTest, RandomLlamaHasF16Tensors) {
  auto f = GgufFile::Open(DataPath("random/llama-2-tiny-random.gguf"));
  ASSERT_TRUE(f.ok()) << f.status();
  int f16 = 0;
  for (const auto& t : (*f)->tensors()) f16 += t.type == GgmlType::kF16;
  EXPECT_EQ(f16, 9);
  EXPECT_EQ(*(*f)->GetUint("general.file_type"), 1u);
}

TEST(GgufTest, VersionOneIsRejectedAsUnimplemented) {
  auto f = GgufFile::Open(DataPath("tinyllamas/legacy-v1/tinyllamas-stories-260k-f32.gguf"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kUnimplemented);
  EXPECT_THAT(f.status().message(), HasSubstr("version 1"));
}

TEST(GgufTest, MissingFileIsNotFound) {
  auto f = GgufFile::Open(DataPath("does-not-exist.gguf"));
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
}

TEST(GgufTest, TypedGettersReportMissingAndMistypedKeys) {
  auto f = GgufFile::Open(DataPath("tinyllamas/stories260K.gguf"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->GetUint("no.such.key").status().code(), StatusCode::kNotFound);
  auto s = (*f)->GetUint("general.architecture");
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("'general.architecture': expected an integer, got str"));
  EXPECT_EQ((*f)->GetString("llama.block_count").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*f)->GetStringArray("tokenizer.ggml.scores").status().code(), StatusCode::kInvalidArgument);
  auto j = (*f)->GetJson("tokenizer.ggml.tokens", 2);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->Dump(), R"x(["<unk>","<s>","...(510 more)"])x");
}

TEST(GgufTest, EveryTruncationOfARealFileIsAnErrorNotACrash) {
  std::string bytes = ReadAll(DataPath("tinyllamas/stories260K.gguf"));
  ASSERT_EQ(bytes.size(), 1185376u);
  // Every cut inside the header/metadata/tensor table, and a few inside the data.
  for (size_t cut = 0; cut < 14176; cut += (cut < 200 ? 1 : 37)) {
    auto f = GgufFile::FromBuffer(bytes.substr(0, cut));
    ASSERT_FALSE(f.ok()) << "cut at " << cut;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << cut << ": " << f.status();
  }
  auto f = GgufFile::FromBuffer(bytes.substr(0, bytes.size() - 1));
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("runs past end of file (size 1185375"));
  EXPECT_THAT(f.status().message(), HasSubstr("tensor '"));
}

TEST(GgufTest, TruncatedMetadataValueNamesTheKey) {
  Bytes b;
  b.Header(0, 1).Str("general.name").U32(8).U64(100).Zeros(10);
  auto f = GgufFile::FromBuffer(b.str());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(f.status().message(), HasSubstr("metadata key 'general.name': string length runs past end of file"));
}

TEST(GgufTest, BadMagicIsRejected) {
  auto f = GgufFile::FromBuffer("GGML\x03\0\0\0" + std::string(16, '\0'));
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(f.status().message(), HasSubstr("bad magic"));
}

TEST(GgufTest, BigEndianAndFutureVersionsAreUnimplemented) {
  Bytes be;
  be.Header(0, 0, 0x03000000u);
  EXPECT_EQ(GgufFile::FromBuffer(be.str()).status().code(), StatusCode::kUnimplemented);
  EXPECT_THAT(GgufFile::FromBuffer(be.str()).status().message(), HasSubstr("big-endian"));
  Bytes v9;
  v9.Header(0, 0, 9);
  EXPECT_THAT(GgufFile::FromBuffer(v9.str()).status().message(), HasSubstr("unsupported GGUF version 9"));
}

TEST(GgufTest, OversizedCountsAreRejectedBeforeAllocation) {
  Bytes kv;
  kv.Header(0, 1ull << 60);
  auto f = GgufFile::FromBuffer(kv.str());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(f.status().message(), HasSubstr("metadata count 1152921504606846976 is larger than the file can hold"));

  Bytes t;
  t.Header(~0ull, 0);
  EXPECT_THAT(GgufFile::FromBuffer(t.str()).status().message(), HasSubstr("tensor count"));

  Bytes arr;
  arr.Header(0, 1).Str("tokenizer.ggml.scores").U32(9).U32(6).U64(1ull << 62).F32(1);
  auto a = GgufFile::FromBuffer(arr.str());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr("'tokenizer.ggml.scores': array of 4611686018427387904 elements runs past end of file"));

  Bytes sarr;
  sarr.Header(0, 1).Str("tokenizer.ggml.tokens").U32(9).U32(8).U64(1ull << 40).Str("a");
  EXPECT_THAT(GgufFile::FromBuffer(sarr.str()).status().message(), HasSubstr("'tokenizer.ggml.tokens': array of"));

  Bytes str;
  str.Header(0, 1).Str("k").U32(8).U64(~0ull);
  EXPECT_THAT(GgufFile::FromBuffer(str.str()).status().message(),
              HasSubstr("metadata key 'k': string length runs past end of file"));
}

TEST(GgufTest, InvalidTypeIdsAreRejected) {
  Bytes kv;
  kv.Header(0, 1).Str("k").U32(13).U32(0);
  EXPECT_THAT(GgufFile::FromBuffer(kv.str()).status().message(), HasSubstr("metadata key 'k': invalid value type 13"));

  Bytes nested;
  nested.Header(0, 1).Str("k").U32(9).U32(9).U64(1).U32(9).U64(1).U32(9).U64(1).U32(4).U64(0);
  EXPECT_THAT(GgufFile::FromBuffer(nested.str()).status().message(), HasSubstr("nested too deeply"));

  Bytes t;
  t.Header(1, 0).Tensor("w", {32}, 4, 0).PadTo(32).Zeros(64);
  EXPECT_THAT(GgufFile::FromBuffer(t.str()).status().message(), HasSubstr("tensor 'w': unknown tensor type 4"));
}

TEST(GgufTest, ContradictoryTensorTablesAreRejected) {
  {
    Bytes b;  // 5 dimensions
    b.Header(1, 0).Tensor("w", {1, 1, 1, 1, 1}, 0, 0).PadTo(32).Zeros(32);
    EXPECT_THAT(GgufFile::FromBuffer(b.str()).status().message(), HasSubstr("tensor 'w': 5 dimensions"));
  }
  {
    Bytes b;  // element count overflow
    b.Header(1, 0).Tensor("w", {1ull << 40, 1ull << 40}, 0, 0).PadTo(32);
    EXPECT_THAT(GgufFile::FromBuffer(b.str()).status().message(), HasSubstr("tensor 'w': element count overflows"));
  }
  {
    Bytes b;  // row not a multiple of the block size
    b.Header(1, 0).Tensor("blk.0.attn_q.weight", {30, 2}, 2, 0).PadTo(32).Zeros(64);
    EXPECT_THAT(GgufFile::FromBuffer(b.str()).status().message(),
                HasSubstr("tensor 'blk.0.attn_q.weight': row of 30 elements is not a multiple of the Q4_0 block size 32"));
  }
  {
    Bytes b;  // misaligned offset
    b.Header(1, 0).Tensor("w", {4}, 0, 4).PadTo(32).Zeros(64);
    EXPECT_THAT(GgufFile::FromBuffer(b.str()).status().message(),
                HasSubstr("tensor 'w': offset 4 is not a multiple of the alignment 32"));
  }
  {
    Bytes b;  // overlap
    b.Header(2, 0).Tensor("a", {16}, 0, 0).Tensor("b", {8}, 0, 32).PadTo(32).Zeros(128);
    auto f = GgufFile::FromBuffer(b.str());
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr("tensor 'b': data at offset 32 overlaps tensor 'a' [0..64)"));
  }
  {
    Bytes b;  // past end of file
    b.Header(1, 0).Tensor("blk.0.attn_q.weight", {64, 64}, 0, 0).PadTo(32).Zeros(100);
    auto f = GgufFile::FromBuffer(b.str());
    EXPECT_THAT(f.status().message(), HasSubstr("tensor 'blk.0.attn_q.weight': data [0..16384) runs past end of file"));
  }
  {
    Bytes b;  // offset near 2^64
    b.Header(1, 0).Tensor("w", {8}, 0, ~0ull - 31).PadTo(32).Zeros(64);
    EXPECT_THAT(GgufFile::FromBuffer(b.str()).status().message(), HasSubstr("runs past end of file"));
  }
  {
    Bytes b;  // duplicate names
    b.Header(2, 0).Tensor("w", {8}, 0, 0).Tensor("w", {8}, 0, 32).PadTo(32).Zeros(64);
    EXPECT_THAT(GgufFile::FromBuffer(b.str()).status().message(), HasSubstr("tensor 'w': duplicate tensor name"));
  }
  {
    Bytes b;
    b.Header(0, 2).KvU32("k", 1).KvU32("k", 2);
    EXPECT_THAT(GgufFile::FromBuffer(b.str()).status().message(), HasSubstr("metadata key 'k': duplicate key"));
  }
}

TEST(GgufTest, AlignmentMustBeAPowerOfTwo) {
  Bytes b;
  b.Header(0, 1).KvU32("general.alignment", 48);
  auto f = GgufFile::FromBuffer(b.str());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(f.status().message(), HasSubstr("'general.alignment': 48 is not a power of two"));

  Bytes zero;
  zero.Header(0, 1).KvU32("general.alignment", 0);
  EXPECT_THAT(GgufFile::FromBuffer(zero.str()).status().message(), HasSubstr("is not a power of two"));

  Bytes ok;
  ok.Header(1, 1).KvU32("general.alignment", 64).Tensor("w", {16}, 0, 0).PadTo(64).Zeros(64);
  auto g = GgufFile::FromBuffer(ok.str());
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->alignment(), 64u);
  EXPECT_EQ((*g)->data_offset() % 64, 0u);
}

TEST(GgufTest, HandWrittenFileReadsBack) {
  Bytes b;
  b.Header(1, 3).KvStr("general.architecture", "llama").KvU32("llama.block_count", 2);
  b.Str("neg").U32(5).U32(static_cast<uint32_t>(-3));
  b.Tensor("w", {32, 2}, 8, 0).PadTo(32).Zeros(68);
  auto f = GgufFile::FromBuffer(b.str());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->architecture(), "llama");
  EXPECT_EQ(*(*f)->GetInt("neg"), -3);
  EXPECT_EQ((*f)->GetUint("neg").status().code(), StatusCode::kInvalidArgument);
  const GgufTensor* w = (*f)->FindTensor("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->type, GgmlType::kQ8_0);
  EXPECT_EQ(w->n_bytes, 68u);
}

TEST(GgmlTypeTest, BlockSizesAndRowBytes) {
  EXPECT_STREQ(GgmlTypeName(GgmlType::kQ4_K), "Q4_K");
  EXPECT_EQ(GgmlBlockSize(GgmlType::kQ6_K), 256);
  EXPECT_EQ(GgmlTypeSize(GgmlType::kQ6_K), 210);
  EXPECT_EQ(GgmlTypeSize(GgmlType::kQ8_0), 34);
  EXPECT_EQ(*GgmlRowBytes(GgmlType::kQ4_K, 4096), 16u * 144u);
  EXPECT_EQ(*GgmlRowBytes(GgmlType::kBF16, 3), 6u);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ4_K, 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(GgmlTypeIsValid(4));
  EXPECT_FALSE(GgmlTypeIsValid(31));
  EXPECT_TRUE(GgmlTypeIsValid(30));
}

}  // namespace
}  // namespace inference
