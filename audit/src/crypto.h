// Private OpenSSL helpers of the audit library: base64, randomness, HKDF,
// AES-256-GCM. Secrets in, secrets out: common::SecretBytes.
#ifndef AUDIT_SRC_CRYPTO_H_
#define AUDIT_SRC_CRYPTO_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"

namespace audit::internal {

std::string Base64Encode(std::string_view data);
common::StatusOr<std::string> Base64Decode(std::string_view text);

common::Status RandomBytes(uint8_t* out, size_t n);
common::StatusOr<common::SecretBytes> RandomSecret(size_t n);

// HKDF-SHA256 with a fixed product salt; `label` separates uses.
common::StatusOr<common::SecretBytes> Hkdf(const common::SecretBytes& ikm, std::string_view label,
                                           size_t out_len = 32);

inline constexpr size_t kGcmNonceBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;

// Output: nonce || ciphertext || tag. A fresh random nonce per call.
common::StatusOr<std::string> AesGcmSeal(const common::SecretBytes& key, std::string_view aad,
                                         std::string_view plaintext);
// Fails with DATA_LOSS when authentication fails.
common::StatusOr<common::SecretBytes> AesGcmOpen(const common::SecretBytes& key,
                                                 std::string_view aad, std::string_view sealed);

// "x'<hex>'" for PRAGMA key, in a SecretBytes so it is wiped.
common::SecretBytes SqlcipherKeyLiteral(const common::SecretBytes& raw_key);

}  // namespace audit::internal

#endif  // AUDIT_SRC_CRYPTO_H_
