#include "crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>

namespace audit::internal {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

constexpr std::string_view kHkdfSalt = "assistant-audit/v1 hkdf salt";

}  // namespace

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

common::StatusOr<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0 || text.size() > (1u << 28)) {
    return common::InvalidArgumentError("bad base64 length");
  }
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return common::InvalidArgumentError("bad base64 character");
  }
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return common::InvalidArgumentError("bad base64");
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  // Canonical form only: re-encoding must give the same text.
  if (Base64Encode(out) != text) return common::InvalidArgumentError("non-canonical base64");
  return out;
}

common::Status RandomBytes(uint8_t* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    return common::UnavailableError("the random number generator failed");
  }
  return common::OkStatus();
}

common::StatusOr<common::SecretBytes> RandomSecret(size_t n) {
  common::SecretBytes s(n);
  RETURN_IF_ERROR(RandomBytes(s.InsecureMutableData(), n));
  return s;
}

common::StatusOr<common::SecretBytes> Hkdf(const common::SecretBytes& ikm, std::string_view label,
                                           size_t out_len) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return common::InternalError("HKDF is not available in OpenSSL");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return common::InternalError("HKDF context");
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[1] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.InsecureData()), ikm.size());
  params[2] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_SALT, const_cast<char*>(kHkdfSalt.data()), kHkdfSalt.size());
  params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                const_cast<char*>(label.data()), label.size());
  params[4] = OSSL_PARAM_construct_end();
  common::SecretBytes out(out_len);
  int rc = EVP_KDF_derive(ctx, out.InsecureMutableData(), out_len, params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) return common::InternalError("HKDF derivation failed");
  return out;
}

common::StatusOr<std::string> AesGcmSeal(const common::SecretBytes& key, std::string_view aad,
                                         std::string_view plaintext) {
  if (key.size() != 32) return common::InternalError("AES-256-GCM needs a 32-byte key");
  std::string out(kGcmNonceBytes + plaintext.size() + kGcmTagBytes, '\0');
  auto* nonce = reinterpret_cast<uint8_t*>(out.data());
  RETURN_IF_ERROR(RandomBytes(nonce, kGcmNonceBytes));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* ct = nonce + kGcmNonceBytes;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.InsecureData(),
                                      nonce) == 1;
  ok = ok && EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                               reinterpret_cast<const uint8_t*>(aad.data()),
                               static_cast<int>(aad.size())) == 1;
  ok = ok && EVP_EncryptUpdate(ctx.get(), ct, &len,
                               reinterpret_cast<const uint8_t*>(plaintext.data()),
                               static_cast<int>(plaintext.size())) == 1;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes,
                                 ct + plaintext.size()) == 1;
  if (!ok) return common::InternalError("AES-256-GCM encryption failed");
  return out;
}

common::StatusOr<common::SecretBytes> AesGcmOpen(const common::SecretBytes& key,
                                                 std::string_view aad, std::string_view sealed) {
  if (key.size() != 32) return common::InternalError("AES-256-GCM needs a 32-byte key");
  if (sealed.size() < kGcmNonceBytes + kGcmTagBytes) {
    return common::DataLossError("sealed blob too short");
  }
  const auto* nonce = reinterpret_cast<const uint8_t*>(sealed.data());
  const uint8_t* ct = nonce + kGcmNonceBytes;
  size_t ct_len = sealed.size() - kGcmNonceBytes - kGcmTagBytes;
  common::SecretBytes out(ct_len);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  uint8_t tag[kGcmTagBytes];
  std::copy(ct + ct_len, ct + ct_len + kGcmTagBytes, tag);
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.InsecureData(),
                                      nonce) == 1;
  ok = ok && EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                               reinterpret_cast<const uint8_t*>(aad.data()),
                               static_cast<int>(aad.size())) == 1;
  ok = ok && EVP_DecryptUpdate(ctx.get(), out.InsecureMutableData(), &len, ct,
                               static_cast<int>(ct_len)) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag) == 1;
  if (!ok) return common::InternalError("AES-256-GCM decryption setup failed");
  if (EVP_DecryptFinal_ex(ctx.get(), out.InsecureMutableData() + len, &len) != 1) {
    return common::DataLossError("authentication failed: wrong key or altered data");
  }
  return out;
}

common::SecretBytes SqlcipherKeyLiteral(const common::SecretBytes& raw_key) {
  static constexpr char kHex[] = "0123456789abcdef";
  common::SecretBytes lit(raw_key.size() * 2 + 3);
  uint8_t* p = lit.InsecureMutableData();
  *p++ = 'x';
  *p++ = '\'';
  for (size_t i = 0; i < raw_key.size(); ++i) {
    *p++ = static_cast<uint8_t>(kHex[raw_key.InsecureData()[i] >> 4]);
    *p++ = static_cast<uint8_t>(kHex[raw_key.InsecureData()[i] & 15]);
  }
  *p++ = '\'';
  return lit;
}

}  // namespace audit::internal
