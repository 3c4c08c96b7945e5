// SHA-256 without dependencies (inference/ builds without OpenSSL). Used for
// model file hashes; cryptographic code elsewhere uses OpenSSL directly.
#ifndef COMMON_SHA256_H_
#define COMMON_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace common {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;
  Sha256();
  void Update(const void* data, size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  Digest Finish();

  static Digest Hash(std::string_view data);

 private:
  void Block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string HexEncode(const void* data, size_t size);
inline std::string HexEncode(const Sha256::Digest& d) { return HexEncode(d.data(), d.size()); }
StatusOr<std::string> HexDecode(std::string_view hex);

// SHA-256 of a whole file, streamed, as lowercase hex.
StatusOr<std::string> Sha256File(const std::string& path);

}  // namespace common

#endif  // COMMON_SHA256_H_
