// Key material lives in SecretBytes: its memory is zeroed when it is destroyed
// or reassigned, it never prints its contents, and reading the bytes goes
// through one explicit, greppable accessor.
#ifndef COMMON_SECRET_H_
#define COMMON_SECRET_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>
#include <vector>

namespace common {

// Overwrites memory in a way the optimizer cannot elide.
void SecureZero(void* data, size_t size);

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : bytes_(size) {}
  SecretBytes(const uint8_t* data, size_t size) : bytes_(data, data + size) {}
  ~SecretBytes();

  SecretBytes(const SecretBytes& other) = default;
  SecretBytes& operator=(const SecretBytes& other);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;

  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

  // The one way to reach the raw bytes. Grep for it in review.
  uint8_t* InsecureMutableData() { return bytes_.data(); }
  const uint8_t* InsecureData() const { return bytes_.data(); }

  friend bool operator==(const SecretBytes& a, const SecretBytes& b);  // constant time

 private:
  void Wipe();
  std::vector<uint8_t> bytes_;
};

// Prints only the length.
std::ostream& operator<<(std::ostream& os, const SecretBytes& s);

}  // namespace common

#endif  // COMMON_SECRET_H_
