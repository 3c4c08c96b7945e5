#include "common/secret.h"

#include <cstring>

namespace common {

void SecureZero(void* data, size_t size) {
  volatile unsigned char* p = static_cast<volatile unsigned char*>(data);
  while (size--) *p++ = 0;
  asm volatile("" ::: "memory");
}

SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  if (!bytes_.empty()) SecureZero(bytes_.data(), bytes_.size());
}

SecretBytes& SecretBytes::operator=(const SecretBytes& other) {
  if (this != &other) {
    Wipe();
    bytes_ = other.bytes_;
  }
  return *this;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

bool operator==(const SecretBytes& a, const SecretBytes& b) {
  if (a.bytes_.size() != b.bytes_.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.bytes_.size(); ++i) diff |= a.bytes_[i] ^ b.bytes_[i];
  return diff == 0;
}

std::ostream& operator<<(std::ostream& os, const SecretBytes& s) {
  return os << "SecretBytes(" << s.size() << " bytes)";
}

}  // namespace common
