// GGUF v2/v3 reader. Layout (little-endian):
//   magic "GGUF", u32 version, u64 n_tensors, u64 n_kv,
//   n_kv x { string key, u32 type, value },
//   n_tensors x { string name, u32 n_dims, u64 dims[n_dims], u32 type, u64 offset },
//   padding to `general.alignment` (default 32), tensor data.
// A string is u64 length + bytes; an array is u32 element type + u64 count + elements.
#include "inference/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

namespace inference {
namespace {

using common::InvalidArgumentError;

struct TypeTraits {
  uint32_t id;
  const char* name;
  int64_t block;
  int64_t bytes;
};

constexpr TypeTraits kTypes[] = {
    {0, "F32", 1, 4},           {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},
    {3, "Q4_1", 32, 20},        {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},
    {8, "Q8_0", 32, 34},        {9, "Q8_1", 32, 36},      {10, "Q2_K", 256, 84},
    {11, "Q3_K", 256, 110},     {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},     {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66},
    {17, "IQ2_XS", 256, 74},    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},
    {20, "IQ4_NL", 32, 18},     {21, "IQ3_S", 256, 110},  {22, "IQ2_S", 256, 82},
    {23, "IQ4_XS", 256, 136},   {24, "I8", 1, 1},         {25, "I16", 1, 2},
    {26, "I32", 1, 4},          {27, "I64", 1, 8},        {28, "F64", 1, 8},
    {29, "IQ1_M", 256, 56},     {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},
    {35, "TQ2_0", 256, 66},     {39, "MXFP4", 32, 17},
};

const TypeTraits* FindType(uint32_t id) {
  for (const auto& t : kTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxNameBytes = 63;     // ggml's GGML_MAX_NAME - 1
constexpr int kMaxArrayNesting = 3;

bool MulOverflow(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }
bool AddOverflow(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_add_overflow(a, b, out); }

uint64_t ScalarSize(GgufValueType t) {
  switch (t) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
      return 8;
    case GgufValueType::kString:
    case GgufValueType::kArray:
      return 0;
  }
  return 0;
}

bool ValidValueType(uint32_t t) { return t <= 12; }

// Bounds-checked little-endian cursor over the file.
class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t size) : base_(base), size_(size) {}
  uint64_t pos() const { return pos_; }
  void Seek(uint64_t p) { pos_ = p; }
  uint64_t remaining() const { return size_ - pos_; }

  bool Read(void* out, uint64_t n) {
    if (n > remaining()) return false;
    std::memcpy(out, base_ + pos_, n);
    pos_ += n;
    return true;
  }
  bool Skip(uint64_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }
  bool U32(uint32_t* v) { return Read(v, 4); }
  bool U64(uint64_t* v) { return Read(v, 8); }
  // Reads a string; on failure *why says what went wrong.
  bool Str(std::string* s, const char** why) {
    uint64_t n;
    if (!U64(&n)) {
      *why = "string length runs past end of file";
      return false;
    }
    if (n > remaining()) {
      *why = "string length runs past end of file";
      return false;
    }
    if (s) s->assign(reinterpret_cast<const char*>(base_ + pos_), n);
    pos_ += n;
    return true;
  }

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

std::string Quoted(std::string_view s) {
  // Keys come from the file: keep them printable and short in messages.
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      const char* hex = "0123456789abcdef";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 80) out += "...";
  out += "'";
  return out;
}

// Validates one value of type t at the cursor (skipping it).
Status SkipValue(Cursor& c, GgufValueType t, int depth, const std::string& what) {
  if (t == GgufValueType::kString) {
    const char* why = nullptr;
    if (!c.Str(nullptr, &why)) return InvalidArgumentError(what + ": " + why);
    return common::OkStatus();
  }
  if (t == GgufValueType::kArray) {
    if (depth >= kMaxArrayNesting) return InvalidArgumentError(what + ": arrays nested too deeply");
    uint32_t et;
    uint64_t n;
    if (!c.U32(&et) || !c.U64(&n)) return InvalidArgumentError(what + ": array header runs past end of file");
    if (!ValidValueType(et)) {
      return InvalidArgumentError(what + ": invalid array element type " + std::to_string(et));
    }
    GgufValueType e = static_cast<GgufValueType>(et);
    uint64_t sz = ScalarSize(e);
    if (sz > 0) {
      uint64_t total;
      if (MulOverflow(n, sz, &total) || total > c.remaining()) {
        return InvalidArgumentError(what + ": array of " + std::to_string(n) +
                                    " elements runs past end of file");
      }
      c.Skip(total);
      return common::OkStatus();
    }
    // Strings/arrays take at least 8 bytes each.
    if (n > c.remaining() / 8) {
      return InvalidArgumentError(what + ": array of " + std::to_string(n) +
                                  " elements runs past end of file");
    }
    for (uint64_t i = 0; i < n; ++i) {
      RETURN_IF_ERROR(SkipValue(c, e, depth + 1, what + "[" + std::to_string(i) + "]"));
    }
    return common::OkStatus();
  }
  if (!c.Skip(ScalarSize(t))) return InvalidArgumentError(what + ": value runs past end of file");
  return common::OkStatus();
}

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// A scalar read as one of three representations.
struct Scalar {
  enum Kind { kUnsigned, kSigned, kFloat, kBool } kind;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
};

Scalar ReadScalar(const uint8_t* p, GgufValueType t) {
  Scalar s{};
  switch (t) {
    case GgufValueType::kUint8: s.kind = Scalar::kUnsigned; s.u = Load<uint8_t>(p); break;
    case GgufValueType::kUint16: s.kind = Scalar::kUnsigned; s.u = Load<uint16_t>(p); break;
    case GgufValueType::kUint32: s.kind = Scalar::kUnsigned; s.u = Load<uint32_t>(p); break;
    case GgufValueType::kUint64: s.kind = Scalar::kUnsigned; s.u = Load<uint64_t>(p); break;
    case GgufValueType::kInt8: s.kind = Scalar::kSigned; s.i = Load<int8_t>(p); break;
    case GgufValueType::kInt16: s.kind = Scalar::kSigned; s.i = Load<int16_t>(p); break;
    case GgufValueType::kInt32: s.kind = Scalar::kSigned; s.i = Load<int32_t>(p); break;
    case GgufValueType::kInt64: s.kind = Scalar::kSigned; s.i = Load<int64_t>(p); break;
    case GgufValueType::kFloat32: s.kind = Scalar::kFloat; s.f = Load<float>(p); break;
    case GgufValueType::kFloat64: s.kind = Scalar::kFloat; s.f = Load<double>(p); break;
    case GgufValueType::kBool: s.kind = Scalar::kBool; s.u = Load<uint8_t>(p) != 0; break;
    default: s.kind = Scalar::kBool; break;
  }
  return s;
}

bool IsInteger(GgufValueType t) {
  switch (t) {
    case GgufValueType::kUint8: case GgufValueType::kInt8: case GgufValueType::kUint16:
    case GgufValueType::kInt16: case GgufValueType::kUint32: case GgufValueType::kInt32:
    case GgufValueType::kUint64: case GgufValueType::kInt64:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool GgmlTypeIsValid(uint32_t type_id) { return FindType(type_id) != nullptr; }

const char* GgmlTypeName(GgmlType type) {
  const TypeTraits* t = FindType(static_cast<uint32_t>(type));
  return t ? t->name : "unknown";
}

int64_t GgmlBlockSize(GgmlType type) {
  const TypeTraits* t = FindType(static_cast<uint32_t>(type));
  return t ? t->block : 0;
}

int64_t GgmlTypeSize(GgmlType type) {
  const TypeTraits* t = FindType(static_cast<uint32_t>(type));
  return t ? t->bytes : 0;
}

StatusOr<uint64_t> GgmlRowBytes(GgmlType type, uint64_t n) {
  const TypeTraits* t = FindType(static_cast<uint32_t>(type));
  if (!t) return InvalidArgumentError("unknown tensor type " + std::to_string(static_cast<uint32_t>(type)));
  if (n % static_cast<uint64_t>(t->block) != 0) {
    return InvalidArgumentError("row of " + std::to_string(n) + " elements is not a multiple of the " +
                                t->name + " block size " + std::to_string(t->block));
  }
  uint64_t bytes;
  if (MulOverflow(n / static_cast<uint64_t>(t->block), static_cast<uint64_t>(t->bytes), &bytes)) {
    return InvalidArgumentError("row size overflows");
  }
  return bytes;
}

const char* GgufValueTypeName(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8: return "u8";
    case GgufValueType::kInt8: return "i8";
    case GgufValueType::kUint16: return "u16";
    case GgufValueType::kInt16: return "i16";
    case GgufValueType::kUint32: return "u32";
    case GgufValueType::kInt32: return "i32";
    case GgufValueType::kFloat32: return "f32";
    case GgufValueType::kBool: return "bool";
    case GgufValueType::kString: return "str";
    case GgufValueType::kArray: return "arr";
    case GgufValueType::kUint64: return "u64";
    case GgufValueType::kInt64: return "i64";
    case GgufValueType::kFloat64: return "f64";
  }
  return "unknown";
}

GgufFile::~GgufFile() {
  if (map_ != nullptr) munmap(map_, size_);
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return common::NotFoundError("cannot open '" + path + "': " + std::strerror(err));
    return common::PermissionDeniedError("cannot open '" + path + "': " + std::strerror(err));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("'" + path + "' is not a regular file");
  }
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->size_ = static_cast<uint64_t>(st.st_size);
  if (f->size_ > 0) {
    void* m = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return common::ResourceExhaustedError("cannot map '" + path + "': " + std::strerror(err));
    }
    f->map_ = m;
    f->base_ = static_cast<const uint8_t*>(m);
  } else {
    f->base_ = reinterpret_cast<const uint8_t*>(f->owned_.data());
  }
  ::close(fd);
  Status s = f->Parse();
  if (!s.ok()) return s.WithContext("'" + path + "'");
  return f;
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::FromBuffer(std::string bytes) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->owned_ = std::move(bytes);
  f->base_ = reinterpret_cast<const uint8_t*>(f->owned_.data());
  f->size_ = f->owned_.size();
  RETURN_IF_ERROR(f->Parse());
  return f;
}

Status GgufFile::Parse() {
  Cursor c(base_, size_);
  uint32_t magic;
  if (!c.U32(&magic)) return InvalidArgumentError("file too small for a GGUF header (" + std::to_string(size_) + " bytes)");
  if (magic != 0x46554747u) {  // "GGUF"
    return InvalidArgumentError("not a GGUF file (bad magic)");
  }
  if (!c.U32(&version_)) return InvalidArgumentError("header truncated: no version");
  if (version_ == 1) return common::UnimplementedError("GGUF version 1 is not supported (re-convert the model to GGUF v3)");
  if (version_ > 0xffff && (version_ & 0xffff) == 0) {
    return common::UnimplementedError("big-endian GGUF files are not supported");
  }
  if (version_ != 2 && version_ != 3) {
    return common::UnimplementedError("unsupported GGUF version " + std::to_string(version_));
  }
  uint64_t n_tensors, n_kv;
  if (!c.U64(&n_tensors) || !c.U64(&n_kv)) return InvalidArgumentError("header truncated: no tensor/metadata counts");
  // Each key needs >= 12 bytes (length + type), each tensor info >= 24.
  if (n_kv > c.remaining() / 12) {
    return InvalidArgumentError("metadata count " + std::to_string(n_kv) + " is larger than the file can hold");
  }
  if (n_tensors > c.remaining() / 24) {
    return InvalidArgumentError("tensor count " + std::to_string(n_tensors) + " is larger than the file can hold");
  }

  entries_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    Entry e;
    const char* why = nullptr;
    if (!c.Str(&e.info.key, &why)) {
      return InvalidArgumentError("metadata entry " + std::to_string(i) + ": key " + why);
    }
    const std::string what = "metadata key " + Quoted(e.info.key);
    if (e.info.key.empty()) return InvalidArgumentError("metadata entry " + std::to_string(i) + ": empty key");
    if (entry_index_.count(e.info.key)) return InvalidArgumentError(what + ": duplicate key");
    uint32_t t;
    if (!c.U32(&t)) return InvalidArgumentError(what + ": type runs past end of file");
    if (!ValidValueType(t)) return InvalidArgumentError(what + ": invalid value type " + std::to_string(t));
    e.info.type = static_cast<GgufValueType>(t);
    e.value_pos = c.pos();
    if (e.info.type == GgufValueType::kArray) {
      uint32_t et = 0;
      uint64_t n = 0;
      Cursor peek = c;
      if (peek.U32(&et) && peek.U64(&n) && ValidValueType(et)) {
        e.info.array_type = static_cast<GgufValueType>(et);
        e.info.array_size = n;
      }
    }
    RETURN_IF_ERROR(SkipValue(c, e.info.type, 0, what));
    e.value_end = c.pos();
    entry_index_.emplace(e.info.key, entries_.size());
    key_infos_.push_back(e.info);
    entries_.push_back(std::move(e));
  }

  if (const Entry* a = FindEntry("general.alignment")) {
    if (!IsInteger(a->info.type)) {
      return InvalidArgumentError("metadata key 'general.alignment': expected an integer, got " +
                                  std::string(GgufValueTypeName(a->info.type)));
    }
    ASSIGN_OR_RETURN(uint64_t al, GetUint("general.alignment"));
    if (al == 0 || (al & (al - 1)) != 0 || al > (1u << 30)) {
      return InvalidArgumentError("metadata key 'general.alignment': " + std::to_string(al) +
                                  " is not a power of two (up to 2^30)");
    }
    alignment_ = al;
  }

  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t{};
    const char* why = nullptr;
    if (!c.Str(&t.name, &why)) return InvalidArgumentError("tensor " + std::to_string(i) + ": name " + why);
    const std::string what = "tensor " + Quoted(t.name);
    if (t.name.empty()) return InvalidArgumentError("tensor " + std::to_string(i) + ": empty name");
    if (t.name.size() > kMaxNameBytes) return InvalidArgumentError(what + ": name longer than 63 bytes");
    if (tensor_index_.count(t.name)) return InvalidArgumentError(what + ": duplicate tensor name");
    uint32_t n_dims;
    if (!c.U32(&n_dims)) return InvalidArgumentError(what + ": dimension count runs past end of file");
    if (n_dims == 0 || n_dims > kMaxDims) {
      return InvalidArgumentError(what + ": " + std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
    }
    t.dims.resize(n_dims);
    uint64_t n_el = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      if (!c.U64(&t.dims[d])) return InvalidArgumentError(what + ": dimensions run past end of file");
      if (t.dims[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          MulOverflow(n_el, t.dims[d], &n_el) ||
          n_el > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return InvalidArgumentError(what + ": element count overflows");
      }
    }
    t.n_elements = n_el;
    uint32_t type_id;
    if (!c.U32(&type_id)) return InvalidArgumentError(what + ": type runs past end of file");
    if (!GgmlTypeIsValid(type_id)) return InvalidArgumentError(what + ": unknown tensor type " + std::to_string(type_id));
    t.type = static_cast<GgmlType>(type_id);
    if (!c.U64(&t.offset)) return InvalidArgumentError(what + ": offset runs past end of file");
    auto row = GgmlRowBytes(t.type, t.dims[0]);
    if (!row.ok()) return InvalidArgumentError(what + ": " + row.status().message());
    uint64_t n_rows = t.dims[0] == 0 ? 0 : n_el / t.dims[0];
    if (MulOverflow(*row, n_rows, &t.n_bytes)) return InvalidArgumentError(what + ": byte size overflows");
    if (t.offset % alignment_ != 0) {
      return InvalidArgumentError(what + ": offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                                  std::to_string(alignment_));
    }
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // Data section: the end of the tensor table rounded up to the alignment.
  uint64_t end_of_infos = c.pos();
  uint64_t padded;
  if (AddOverflow(end_of_infos, alignment_ - 1, &padded)) return InvalidArgumentError("data offset overflows");
  data_offset_ = padded / alignment_ * alignment_;
  if (!tensors_.empty() && data_offset_ > size_) {
    return InvalidArgumentError("tensor data section starts at " + std::to_string(data_offset_) +
                                ", past end of file (size " + std::to_string(size_) + ")");
  }
  for (auto& t : tensors_) {
    uint64_t start, end;
    if (AddOverflow(data_offset_, t.offset, &start) || AddOverflow(start, t.n_bytes, &end) || end > size_) {
      return InvalidArgumentError("tensor " + Quoted(t.name) + ": data [" + std::to_string(t.offset) + ".." +
                                  (AddOverflow(t.offset, t.n_bytes, &end) ? std::string("overflow")
                                                                          : std::to_string(t.offset + t.n_bytes)) +
                                  ") runs past end of file (size " + std::to_string(size_) + ", data starts at " +
                                  std::to_string(data_offset_) + ")");
    }
    t.data = base_ + start;
    t.mapped = map_ != nullptr;
  }
  // No two tensors may share bytes.
  std::vector<const GgufTensor*> order;
  order.reserve(tensors_.size());
  for (const auto& t : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const GgufTensor* a = order[i - 1];
    const GgufTensor* b = order[i];
    if (a->offset + a->n_bytes > b->offset && a->n_bytes > 0 && b->n_bytes > 0) {
      return InvalidArgumentError("tensor " + Quoted(b->name) + ": data at offset " + std::to_string(b->offset) +
                                  " overlaps tensor " + Quoted(a->name) + " [" + std::to_string(a->offset) + ".." +
                                  std::to_string(a->offset + a->n_bytes) + ")");
    }
  }
  return common::OkStatus();
}

const GgufFile::Entry* GgufFile::FindEntry(std::string_view key) const {
  auto it = entry_index_.find(std::string(key));
  return it == entry_index_.end() ? nullptr : &entries_[it->second];
}

StatusOr<const GgufFile::Entry*> GgufFile::Need(std::string_view key) const {
  const Entry* e = FindEntry(key);
  if (!e) return common::NotFoundError("metadata key '" + std::string(key) + "' is missing");
  return e;
}

bool GgufFile::Has(std::string_view key) const { return FindEntry(key) != nullptr; }

const GgufKeyInfo* GgufFile::FindKey(std::string_view key) const {
  const Entry* e = FindEntry(key);
  return e ? &e->info : nullptr;
}

namespace {
Status WrongType(std::string_view key, const GgufKeyInfo& info, const char* wanted) {
  std::string got = GgufValueTypeName(info.type);
  if (info.type == GgufValueType::kArray) got += std::string(" of ") + GgufValueTypeName(info.array_type);
  return InvalidArgumentError("metadata key '" + std::string(key) + "': expected " + wanted + ", got " + got);
}

std::string ReadStr(const uint8_t* base, uint64_t pos, uint64_t* next) {
  uint64_t n = Load<uint64_t>(base + pos);
  *next = pos + 8 + n;
  return std::string(reinterpret_cast<const char*>(base + pos + 8), n);
}
}  // namespace

StatusOr<std::string> GgufFile::GetString(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* e, Need(key));
  if (e->info.type != GgufValueType::kString) return WrongType(key, e->info, "a string");
  uint64_t next;
  return ReadStr(base_, e->value_pos, &next);
}

StatusOr<uint64_t> GgufFile::GetUint(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* e, Need(key));
  if (!IsInteger(e->info.type)) return WrongType(key, e->info, "an integer");
  Scalar s = ReadScalar(base_ + e->value_pos, e->info.type);
  if (s.kind == Scalar::kSigned) {
    if (s.i < 0) return InvalidArgumentError("metadata key '" + std::string(key) + "': negative value " + std::to_string(s.i));
    return static_cast<uint64_t>(s.i);
  }
  return s.u;
}

StatusOr<int64_t> GgufFile::GetInt(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* e, Need(key));
  if (!IsInteger(e->info.type)) return WrongType(key, e->info, "an integer");
  Scalar s = ReadScalar(base_ + e->value_pos, e->info.type);
  if (s.kind == Scalar::kUnsigned) {
    if (s.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgumentError("metadata key '" + std::string(key) + "': value too large");
    }
    return static_cast<int64_t>(s.u);
  }
  return s.i;
}

StatusOr<double> GgufFile::GetFloat(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* e, Need(key));
  if (e->info.type == GgufValueType::kString || e->info.type == GgufValueType::kArray ||
      e->info.type == GgufValueType::kBool) {
    return WrongType(key, e->info, "a number");
  }
  Scalar s = ReadScalar(base_ + e->value_pos, e->info.type);
  if (s.kind == Scalar::kFloat) return s.f;
  if (s.kind == Scalar::kSigned) return static_cast<double>(s.i);
  return static_cast<double>(s.u);
}

StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* e, Need(key));
  if (e->info.type != GgufValueType::kBool) return WrongType(key, e->info, "a bool");
  return base_[e->value_pos] != 0;
}

StatusOr<std::vector<std::string>> GgufFile::GetStringArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* e, Need(key));
  if (e->info.type != GgufValueType::kArray || e->info.array_type != GgufValueType::kString) {
    return WrongType(key, e->info, "an array of strings");
  }
  std::vector<std::string> out;
  out.reserve(e->info.array_size);
  uint64_t pos = e->value_pos + 12;
  for (uint64_t i = 0; i < e->info.array_size; ++i) out.push_back(ReadStr(base_, pos, &pos));
  return out;
}

StatusOr<std::vector<float>> GgufFile::GetFloatArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* e, Need(key));
  GgufValueType et = e->info.array_type;
  if (e->info.type != GgufValueType::kArray || ScalarSize(et) == 0 || et == GgufValueType::kBool) {
    return WrongType(key, e->info, "an array of numbers");
  }
  std::vector<float> out(e->info.array_size);
  const uint8_t* p = base_ + e->value_pos + 12;
  uint64_t sz = ScalarSize(et);
  for (uint64_t i = 0; i < e->info.array_size; ++i, p += sz) {
    Scalar s = ReadScalar(p, et);
    out[i] = s.kind == Scalar::kFloat    ? static_cast<float>(s.f)
             : s.kind == Scalar::kSigned ? static_cast<float>(s.i)
                                         : static_cast<float>(s.u);
  }
  return out;
}

StatusOr<std::vector<int64_t>> GgufFile::GetIntArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* e, Need(key));
  GgufValueType et = e->info.array_type;
  if (e->info.type != GgufValueType::kArray || !IsInteger(et)) return WrongType(key, e->info, "an array of integers");
  std::vector<int64_t> out(e->info.array_size);
  const uint8_t* p = base_ + e->value_pos + 12;
  uint64_t sz = ScalarSize(et);
  for (uint64_t i = 0; i < e->info.array_size; ++i, p += sz) {
    Scalar s = ReadScalar(p, et);
    out[i] = s.kind == Scalar::kSigned ? s.i : static_cast<int64_t>(s.u);
  }
  return out;
}

namespace {
common::Json ValueToJson(const uint8_t* base, uint64_t* pos, GgufValueType t, uint64_t max_items) {
  if (t == GgufValueType::kString) return common::Json(ReadStr(base, *pos, pos));
  if (t == GgufValueType::kArray) {
    GgufValueType et = static_cast<GgufValueType>(Load<uint32_t>(base + *pos));
    uint64_t n = Load<uint64_t>(base + *pos + 4);
    *pos += 12;
    common::Json arr = common::Json::MakeArray();
    uint64_t sz = ScalarSize(et);
    for (uint64_t i = 0; i < n; ++i) {
      if (i == max_items) {
        arr.Push(common::Json("...(" + std::to_string(n - i) + " more)"));
        if (sz > 0) {
          *pos += (n - i) * sz;
          return arr;
        }
        // Walk the rest to keep *pos right for nested arrays.
        for (; i < n; ++i) (void)ValueToJson(base, pos, et, 0);
        return arr;
      }
      arr.Push(ValueToJson(base, pos, et, max_items));
    }
    return arr;
  }
  Scalar s = ReadScalar(base + *pos, t);
  *pos += ScalarSize(t);
  switch (s.kind) {
    case Scalar::kUnsigned: return common::Json(s.u);
    case Scalar::kSigned: return common::Json(s.i);
    case Scalar::kFloat: return common::Json(s.f);
    case Scalar::kBool: return common::Json(s.u != 0);
  }
  return common::Json();
}
}  // namespace

StatusOr<common::Json> GgufFile::GetJson(std::string_view key, uint64_t max_array_items) const {
  ASSIGN_OR_RETURN(const Entry* e, Need(key));
  uint64_t pos = e->value_pos;
  return ValueToJson(base_, &pos, e->info.type, max_array_items);
}

StatusOr<std::string_view> GgufFile::RawValue(std::string_view key) const {
  ASSIGN_OR_RETURN(const Entry* e, Need(key));
  // The type id sits in the 4 bytes before the value.
  return std::string_view(reinterpret_cast<const char*>(base_ + e->value_pos - 4), e->value_end - e->value_pos + 4);
}

uint64_t GgufFile::GetUintOr(std::string_view key, uint64_t def) const {
  auto v = GetUint(key);
  return v.ok() ? *v : def;
}
double GgufFile::GetFloatOr(std::string_view key, double def) const {
  auto v = GetFloat(key);
  return v.ok() ? *v : def;
}
std::string GgufFile::GetStringOr(std::string_view key, std::string def) const {
  auto v = GetString(key);
  return v.ok() ? *v : def;
}

const GgufTensor* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::string GgufFile::architecture() const { return GetStringOr("general.architecture", ""); }

}  // namespace inference
