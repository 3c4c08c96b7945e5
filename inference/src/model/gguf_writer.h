// Writes GGUF v3 files: metadata, then tensors produced row by row (so a
// multi-gigabyte model is written with memory for one row at a time).
// Internal to inference/ (tests and tools include it from src/).
#ifndef INFERENCE_SRC_MODEL_GGUF_WRITER_H_
#define INFERENCE_SRC_MODEL_GGUF_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "inference/gguf.h"

namespace inference {

class GgufWriter {
 public:
  explicit GgufWriter(uint64_t alignment = 32) : alignment_(alignment) {}

  void SetString(std::string_view key, std::string_view value);
  void SetUint32(std::string_view key, uint32_t value);
  void SetInt32(std::string_view key, int32_t value);
  void SetUint64(std::string_view key, uint64_t value);
  void SetFloat32(std::string_view key, float value);
  void SetBool(std::string_view key, bool value);
  void SetStringArray(std::string_view key, const std::vector<std::string>& values);
  void SetFloat32Array(std::string_view key, const std::vector<float>& values);
  void SetInt32Array(std::string_view key, const std::vector<int32_t>& values);
  // Copies one key's value verbatim from another file.
  common::Status CopyKey(const GgufFile& from, std::string_view key);

  // Fills one row (dims[0] floats) of a tensor; rows are numbered 0.. in
  // file order (ne1 fastest, then ne2, ...). Called from several threads at
  // once, so it must be thread-safe (a pure function of the row number).
  using RowFn = std::function<void(uint64_t row, float* out)>;
  // A tensor whose rows are produced in float and stored as `type`
  // (quantized with the reference quantizers of quant.h).
  common::Status AddTensor(std::string name, std::vector<uint64_t> dims, GgmlType type, RowFn rows);
  // A tensor given as raw bytes already in `type`'s layout.
  common::Status AddRawTensor(std::string name, std::vector<uint64_t> dims, GgmlType type, std::string bytes);

  common::Status WriteFile(const std::string& path) const;
  common::StatusOr<std::string> ToBytes() const;

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    GgmlType type;
    RowFn rows;
    std::string raw;
    uint64_t n_bytes = 0;
    uint64_t offset = 0;
  };
  void Key(std::string_view key, uint32_t type);
  common::Status Write(const std::function<common::Status(std::string_view)>& sink) const;

  uint64_t alignment_;
  uint64_t n_kv_ = 0;
  std::string kv_;  // encoded metadata
  std::vector<Tensor> tensors_;
  uint64_t data_size_ = 0;
};

}  // namespace inference

#endif  // INFERENCE_SRC_MODEL_GGUF_WRITER_H_
