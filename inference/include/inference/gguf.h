// GGUF model files (versions 2 and 3), read over mmap.
//
// A model file is untrusted input. GgufFile::Open validates the whole header,
// metadata and tensor table before it returns: every count, string length,
// array length, dimension, type id, offset and the alignment are checked with
// overflow-safe arithmetic, tensors must not overlap and must lie inside the
// file. An object that exists is valid, so the accessors below never read
// outside the mapping. Errors name the key or tensor and the problem.
#ifndef INFERENCE_GGUF_H_
#define INFERENCE_GGUF_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace inference {

using common::Status;
using common::StatusOr;

// Tensor element types, with ggml's numeric ids (the on-disk values).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
  // Not a file type: Q8_0 regrouped in GPU memory by the CUDA backend (backend/cuda/dequant.cuh).
  // Files that name it are refused like any other unknown type.
  kCudaQ8_0Grouped = 1000,
};

// True for the ids listed above (removed and unknown ids are false).
bool GgmlTypeIsValid(uint32_t type_id);
// "F32", "Q4_K", ...; "unknown" for an invalid id.
const char* GgmlTypeName(GgmlType type);
// Elements per block (1 for F32/F16/BF16, 32 for Q8_0, 256 for K-quants); 0 if invalid.
int64_t GgmlBlockSize(GgmlType type);
// Bytes per block; 0 if invalid.
int64_t GgmlTypeSize(GgmlType type);
// Bytes of one row of n elements; an error if n is not a multiple of the
// block size or the size overflows.
StatusOr<uint64_t> GgmlRowBytes(GgmlType type, uint64_t n_elements_in_row);

// Metadata value types, with GGUF's numeric ids.
enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
const char* GgufValueTypeName(GgufValueType type);  // "u32", "str", "arr", ...

// One metadata entry, for iteration.
struct GgufKeyInfo {
  std::string key;
  GgufValueType type;
  GgufValueType array_type = GgufValueType::kUint8;  // element type, for kArray
  uint64_t array_size = 0;                            // element count, for kArray
};

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> dims;  // ne0 first (ne0 = elements in one row)
  GgmlType type;
  uint64_t offset;      // from the start of the data section
  uint64_t n_bytes;     // exact size of the data
  const uint8_t* data;  // points into the mapping; valid while the file lives
  uint64_t n_elements;
  // True when `data` lies in the file's read-only private mapping (Open), false for FromBuffer.
  // A backend that keeps its own copy may then drop the pages with madvise(MADV_DONTNEED): a
  // later read faults them in again from the file, so the bytes never change.
  bool mapped = false;
};

class GgufFile {
 public:
  // Maps the file read-only and validates it. NOT_FOUND if it cannot be
  // opened; INVALID_ARGUMENT (with the key/tensor and the problem) if it is
  // not a well-formed GGUF v2/v3 file; UNIMPLEMENTED for v1 and big-endian.
  static StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Same validation over bytes held in memory (tests, fuzzing).
  static StatusOr<std::unique_ptr<GgufFile>> FromBuffer(std::string bytes);

  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t file_size() const { return size_; }
  uint64_t data_offset() const { return data_offset_; }  // start of tensor data
  const uint8_t* bytes() const { return base_; }         // the whole file

  // Metadata. Getters return NOT_FOUND for a missing key and
  // INVALID_ARGUMENT for a value of the wrong type (naming key and type).
  bool Has(std::string_view key) const;
  const std::vector<GgufKeyInfo>& keys() const { return key_infos_; }
  const GgufKeyInfo* FindKey(std::string_view key) const;
  StatusOr<std::string> GetString(std::string_view key) const;
  StatusOr<uint64_t> GetUint(std::string_view key) const;  // any integer type >= 0
  StatusOr<int64_t> GetInt(std::string_view key) const;    // any integer type that fits
  StatusOr<double> GetFloat(std::string_view key) const;   // f32/f64 and integers
  StatusOr<bool> GetBool(std::string_view key) const;
  StatusOr<std::vector<std::string>> GetStringArray(std::string_view key) const;
  StatusOr<std::vector<float>> GetFloatArray(std::string_view key) const;  // float or int elements
  StatusOr<std::vector<int64_t>> GetIntArray(std::string_view key) const;  // integer elements
  // Any value as JSON; arrays longer than max_array_items are cut and end
  // with the string "...(N more)". For `assistant-model info`.
  StatusOr<common::Json> GetJson(std::string_view key, uint64_t max_array_items = UINT64_MAX) const;

  // The encoded bytes of a value (type id + value), for copying metadata
  // verbatim into another file (see the GGUF writer).
  StatusOr<std::string_view> RawValue(std::string_view key) const;

  // Convenience: the value or a default when the key is absent or mistyped.
  uint64_t GetUintOr(std::string_view key, uint64_t def) const;
  double GetFloatOr(std::string_view key, double def) const;
  std::string GetStringOr(std::string_view key, std::string def) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* FindTensor(std::string_view name) const;

  std::string architecture() const;  // general.architecture, "" if absent

 private:
  struct Entry {
    GgufKeyInfo info;
    uint64_t value_pos;  // file position of the value (after the type id)
    uint64_t value_end;  // one past its last byte
  };
  GgufFile() = default;
  Status Parse();
  const Entry* FindEntry(std::string_view key) const;
  StatusOr<const Entry*> Need(std::string_view key) const;

  // Constant after construction.
  std::string owned_;             // FromBuffer storage
  void* map_ = nullptr;           // mmap storage
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<Entry> entries_;
  std::vector<GgufKeyInfo> key_infos_;
  std::unordered_map<std::string, size_t> entry_index_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace inference

#endif  // INFERENCE_GGUF_H_
