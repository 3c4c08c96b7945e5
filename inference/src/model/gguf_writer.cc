#include "model/gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <algorithm>
#include <memory>
#include <thread>

#include "inference/quant.h"

namespace inference {
namespace {

template <typename T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

void PutStr(std::string& out, std::string_view s) {
  Put<uint64_t>(out, s.size());
  out.append(s);
}

}  // namespace

void GgufWriter::Key(std::string_view key, uint32_t type) {
  PutStr(kv_, key);
  Put<uint32_t>(kv_, type);
  ++n_kv_;
}

void GgufWriter::SetString(std::string_view key, std::string_view value) {
  Key(key, 8);
  PutStr(kv_, value);
}
void GgufWriter::SetUint32(std::string_view key, uint32_t value) {
  Key(key, 4);
  Put(kv_, value);
}
void GgufWriter::SetInt32(std::string_view key, int32_t value) {
  Key(key, 5);
  Put(kv_, value);
}
void GgufWriter::SetUint64(std::string_view key, uint64_t value) {
  Key(key, 10);
  Put(kv_, value);
}
void GgufWriter::SetFloat32(std::string_view key, float value) {
  Key(key, 6);
  Put(kv_, value);
}
void GgufWriter::SetBool(std::string_view key, bool value) {
  Key(key, 7);
  Put<uint8_t>(kv_, value ? 1 : 0);
}
void GgufWriter::SetStringArray(std::string_view key, const std::vector<std::string>& values) {
  Key(key, 9);
  Put<uint32_t>(kv_, 8);
  Put<uint64_t>(kv_, values.size());
  for (const auto& v : values) PutStr(kv_, v);
}
void GgufWriter::SetFloat32Array(std::string_view key, const std::vector<float>& values) {
  Key(key, 9);
  Put<uint32_t>(kv_, 6);
  Put<uint64_t>(kv_, values.size());
  for (float v : values) Put(kv_, v);
}
void GgufWriter::SetInt32Array(std::string_view key, const std::vector<int32_t>& values) {
  Key(key, 9);
  Put<uint32_t>(kv_, 5);
  Put<uint64_t>(kv_, values.size());
  for (int32_t v : values) Put(kv_, v);
}

common::Status GgufWriter::CopyKey(const GgufFile& from, std::string_view key) {
  ASSIGN_OR_RETURN(std::string_view raw, from.RawValue(key));
  PutStr(kv_, key);
  kv_.append(raw);
  ++n_kv_;
  return common::OkStatus();
}

common::Status GgufWriter::AddTensor(std::string name, std::vector<uint64_t> dims, GgmlType type, RowFn rows) {
  if (dims.empty() || dims.size() > 4) return common::InvalidArgumentError("tensor '" + name + "': 1 to 4 dimensions");
  if (!CanQuantize(type)) {
    return common::UnimplementedError("tensor '" + name + "': cannot write type " + GgmlTypeName(type));
  }
  ASSIGN_OR_RETURN(uint64_t row_bytes, GgmlRowBytes(type, dims[0]));
  uint64_t n_rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) n_rows *= dims[i];
  Tensor t{std::move(name), std::move(dims), type, std::move(rows), {}, row_bytes * n_rows, 0};
  t.offset = data_size_;
  data_size_ += (t.n_bytes + alignment_ - 1) / alignment_ * alignment_;
  tensors_.push_back(std::move(t));
  return common::OkStatus();
}

common::Status GgufWriter::AddRawTensor(std::string name, std::vector<uint64_t> dims, GgmlType type,
                                        std::string bytes) {
  if (dims.empty() || dims.size() > 4) return common::InvalidArgumentError("tensor '" + name + "': 1 to 4 dimensions");
  ASSIGN_OR_RETURN(uint64_t row_bytes, GgmlRowBytes(type, dims[0]));
  uint64_t n_rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) n_rows *= dims[i];
  if (bytes.size() != row_bytes * n_rows) {
    return common::InvalidArgumentError("tensor '" + name + "': " + std::to_string(bytes.size()) + " bytes given, " +
                                        std::to_string(row_bytes * n_rows) + " needed");
  }
  Tensor t{std::move(name), std::move(dims), type, nullptr, std::move(bytes), row_bytes * n_rows, 0};
  t.offset = data_size_;
  data_size_ += (t.n_bytes + alignment_ - 1) / alignment_ * alignment_;
  tensors_.push_back(std::move(t));
  return common::OkStatus();
}

common::Status GgufWriter::Write(const std::function<common::Status(std::string_view)>& sink) const {
  std::string head = "GGUF";
  Put<uint32_t>(head, 3);
  Put<uint64_t>(head, tensors_.size());
  Put<uint64_t>(head, n_kv_);
  head += kv_;
  for (const auto& t : tensors_) {
    PutStr(head, t.name);
    Put<uint32_t>(head, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) Put<uint64_t>(head, d);
    Put<uint32_t>(head, static_cast<uint32_t>(t.type));
    Put<uint64_t>(head, t.offset);
  }
  head.resize((head.size() + alignment_ - 1) / alignment_ * alignment_, '\0');
  RETURN_IF_ERROR(sink(head));
  std::string buf;
  for (const auto& t : tensors_) {
    if (t.rows) {
      const uint64_t ne0 = t.dims[0];
      const uint64_t row_bytes = *GgmlRowBytes(t.type, ne0);
      const uint64_t n_rows = ne0 == 0 ? 0 : t.n_bytes / row_bytes;
      // Batch rows into ~4 MiB writes.
      const uint64_t batch = std::max<uint64_t>(1, (4u << 20) / std::max<uint64_t>(1, row_bytes));
      for (uint64_t r = 0; r < n_rows; r += batch) {
        const uint64_t n = std::min(batch, n_rows - r);
        buf.resize(n * row_bytes);
        // Rows are independent: generate and quantize them on all cores.
        const unsigned n_threads =
            n < 8 ? 1u : std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
        auto work = [&](unsigned tid) {
          std::vector<float> local(ne0);
          for (uint64_t k = tid; k < n; k += n_threads) {
            t.rows(r + k, local.data());
            // Cannot fail: type and row length were checked in AddTensor.
            (void)QuantizeRow(t.type, local.data(), buf.data() + k * row_bytes, static_cast<int64_t>(ne0));
          }
        };
        std::vector<std::thread> pool;
        for (unsigned tid = 1; tid < n_threads; ++tid) pool.emplace_back(work, tid);
        work(0);
        for (auto& th : pool) th.join();
        RETURN_IF_ERROR(sink(buf));
      }
    } else {
      RETURN_IF_ERROR(sink(t.raw));
    }
    uint64_t pad = (alignment_ - t.n_bytes % alignment_) % alignment_;
    if (pad) RETURN_IF_ERROR(sink(std::string(pad, '\0')));
  }
  return common::OkStatus();
}

common::Status GgufWriter::WriteFile(const std::string& path) const {
  std::string tmp = path + ".tmp";
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!f) return common::PermissionDeniedError("cannot create '" + tmp + "'");
  RETURN_IF_ERROR(Write([&](std::string_view s) -> common::Status {
    if (std::fwrite(s.data(), 1, s.size(), f.get()) != s.size()) {
      return common::ResourceExhaustedError("write to '" + tmp + "' failed (disk full?)");
    }
    return common::OkStatus();
  }));
  if (std::fclose(f.release()) != 0) return common::ResourceExhaustedError("closing '" + tmp + "' failed");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return common::PermissionDeniedError("cannot rename to '" + path + "'");
  return common::OkStatus();
}

common::StatusOr<std::string> GgufWriter::ToBytes() const {
  std::string out;
  RETURN_IF_ERROR(Write([&](std::string_view s) {
    out.append(s);
    return common::OkStatus();
  }));
  return out;
}

}  // namespace inference
