#include "audit/keys.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/sha256.h"
#include "crypto.h"
#include "file_util.h"

namespace audit {
namespace {

using internal::Base64Decode;
using internal::Base64Encode;

constexpr uint8_t kEd25519Alg = 0x01;

uint32_t ComputeKeyId(std::string_view name, const std::array<uint8_t, 32>& raw) {
  std::string buf(name);
  buf.push_back('\n');
  buf.push_back(static_cast<char>(kEd25519Alg));
  buf.append(reinterpret_cast<const char*>(raw.data()), raw.size());
  uint8_t h[32];
  SHA256(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), h);
  return (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
}

std::string Hex8(uint32_t v) {
  uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                  static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  return common::HexEncode(b, 4);
}

bool ValidKeyName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (char c : name) {
    if (c == '+' || c == ' ' || c == '\n' || c == '\t' || static_cast<unsigned char>(c) < 0x21) {
      return false;
    }
  }
  return true;
}

// Splits on '+' into at most `max_parts` (base64 in the last part may hold '+').
std::vector<std::string_view> SplitPlus(std::string_view s, size_t max_parts) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = out.size() + 1 == max_parts ? std::string_view::npos : s.find('+', start);
    out.push_back(s.substr(start, p == std::string_view::npos ? p : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

std::string_view TrimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

common::StatusOr<common::SecretBytes> ReadPrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return common::NotFoundError("key file " + path + ": no such file");
    return common::PermissionDeniedError("key file " + path + ": " + internal::ErrnoText(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return common::PermissionDeniedError("key file " + path + ": not a regular file");
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return common::Status(common::StatusCode::kPermissionDenied,
                          "key file " + path + " has mode " + mode +
                              ": group or others may access it; run chmod 600 on it",
                          "KEY_FILE_PERMISSIONS");
  }
  if (st.st_size > 4096) {
    ::close(fd);
    return common::InvalidArgumentError("key file " + path + ": too large for a key");
  }
  common::SecretBytes buf(static_cast<size_t>(st.st_size));
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t n = ::read(fd, buf.InsecureMutableData() + off, buf.size() - off);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      ::close(fd);
      return common::UnavailableError("key file " + path + ": short read");
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  return buf;
}

// ---- MasterKey ----

common::StatusOr<MasterKey> MasterKey::FromBytes(common::SecretBytes bytes) {
  if (bytes.size() != 32) {
    return common::InvalidArgumentError("master key must be 32 bytes, got " +
                                        std::to_string(bytes.size()));
  }
  ASSIGN_OR_RETURN(common::SecretBytes idkey, internal::Hkdf(bytes, "master-key-id", 8));
  std::string id = common::HexEncode(idkey.InsecureData(), idkey.size());
  return MasterKey(std::move(bytes), std::move(id));
}

common::StatusOr<MasterKey> MasterKey::FromFile(const std::string& path) {
  ASSIGN_OR_RETURN(common::SecretBytes raw, ReadPrivateFile(path));
  size_t n = raw.size();
  const uint8_t* p = raw.InsecureData();
  while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r')) --n;
  if (n == 64) {
    common::SecretBytes key(32);
    for (size_t i = 0; i < 32; ++i) {
      int v = 0;
      for (int j = 0; j < 2; ++j) {
        char c = static_cast<char>(p[2 * i + j]);
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0) return common::InvalidArgumentError("key file " + path + ": bad hex");
        v = v * 16 + d;
      }
      key.InsecureMutableData()[i] = static_cast<uint8_t>(v);
    }
    return FromBytes(std::move(key));
  }
  if (raw.size() == 32) return FromBytes(std::move(raw));
  return common::InvalidArgumentError("key file " + path +
                                      ": want 32 raw bytes or 64 hex digits");
}

common::StatusOr<MasterKey> MasterKey::FromCredential(const std::string& name) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0') {
    return common::FailedPreconditionError(
        "CREDENTIALS_DIRECTORY is not set: no systemd credentials are available");
  }
  if (name.empty() || name.find('/') != std::string::npos) {
    return common::InvalidArgumentError("bad credential name '" + name + "'");
  }
  return FromFile(std::string(dir) + "/" + name);
}

common::StatusOr<MasterKey> MasterKey::Generate() {
  ASSIGN_OR_RETURN(common::SecretBytes key, internal::RandomSecret(32));
  return FromBytes(std::move(key));
}

common::Status MasterKey::GenerateFile(const std::string& path) {
  ASSIGN_OR_RETURN(common::SecretBytes key, internal::RandomSecret(32));
  std::string hex = common::HexEncode(key.InsecureData(), key.size()) + "\n";
  common::Status st = internal::WriteNewFile(path, hex, 0600);
  common::SecureZero(hex.data(), hex.size());
  return st;
}

common::StatusOr<common::SecretBytes> MasterKey::Derive(std::string_view purpose) const {
  return internal::Hkdf(key_, std::string("assistant-audit/v1 ") + std::string(purpose), 32);
}

// ---- PublicKey ----

common::StatusOr<PublicKey> PublicKey::FromRaw(std::string name, std::array<uint8_t, 32> raw) {
  if (!ValidKeyName(name)) return common::InvalidArgumentError("bad key name '" + name + "'");
  PublicKey k;
  k.key_id_ = ComputeKeyId(name, raw);
  k.name_ = std::move(name);
  k.raw_ = raw;
  return k;
}

common::StatusOr<PublicKey> PublicKey::FromVkey(std::string_view vkey) {
  vkey = TrimNewline(vkey);
  auto parts = SplitPlus(vkey, 3);
  if (parts.size() != 3) {
    return common::InvalidArgumentError("public key: want <name>+<id>+<base64 key>");
  }
  auto decoded = Base64Decode(parts[2]);
  if (!decoded.ok() || decoded->size() != 33 || static_cast<uint8_t>((*decoded)[0]) != kEd25519Alg) {
    return common::InvalidArgumentError("public key: not a base64 Ed25519 key");
  }
  std::array<uint8_t, 32> raw;
  std::memcpy(raw.data(), decoded->data() + 1, 32);
  ASSIGN_OR_RETURN(PublicKey k, FromRaw(std::string(parts[0]), raw));
  if (k.key_id_hex() != parts[1]) {
    return common::InvalidArgumentError("public key: key id " + std::string(parts[1]) +
                                        " does not match the key (" + k.key_id_hex() + ")");
  }
  return k;
}

common::StatusOr<PublicKey> PublicKey::FromFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, internal::ReadFileToString(path, 4096));
  auto k = FromVkey(text);
  if (!k.ok()) return k.status().WithContext(path);
  return k;
}

std::string PublicKey::key_id_hex() const { return Hex8(key_id_); }

std::string PublicKey::ToVkey() const {
  std::string blob(1, static_cast<char>(kEd25519Alg));
  blob.append(reinterpret_cast<const char*>(raw_.data()), raw_.size());
  return name_ + "+" + key_id_hex() + "+" + Base64Encode(blob);
}

common::Status PublicKey::Verify(std::string_view message,
                                 const std::array<uint8_t, 64>& sig) const {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_.data(), 32);
  if (pkey == nullptr) return common::InternalError("cannot load the Ed25519 public key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  int rc = ctx ? EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) : 0;
  if (rc == 1) {
    rc = EVP_DigestVerify(ctx, sig.data(), sig.size(),
                          reinterpret_cast<const uint8_t*>(message.data()), message.size());
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  if (rc != 1) {
    return common::Status(common::StatusCode::kDataLoss,
                          "signature does not verify with key " + name_ + "+" + key_id_hex(),
                          "BAD_SIGNATURE");
  }
  return common::OkStatus();
}

// ---- Signer ----

Signer::~Signer() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

common::StatusOr<std::unique_ptr<Signer>> Signer::FromSeed(std::string name,
                                                            common::SecretBytes seed) {
  if (seed.size() != 32) return common::InvalidArgumentError("Ed25519 seed must be 32 bytes");
  if (!ValidKeyName(name)) return common::InvalidArgumentError("bad key name '" + name + "'");
  EVP_PKEY* pkey =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.InsecureData(), 32);
  if (pkey == nullptr) return common::InternalError("cannot load the Ed25519 private key");
  std::array<uint8_t, 32> pub;
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey, pub.data(), &len) != 1 || len != 32) {
    EVP_PKEY_free(pkey);
    return common::InternalError("cannot derive the Ed25519 public key");
  }
  auto pk = PublicKey::FromRaw(std::move(name), pub);
  if (!pk.ok()) {
    EVP_PKEY_free(pkey);
    return pk.status();
  }
  return std::unique_ptr<Signer>(new Signer(std::move(seed), std::move(*pk), pkey));
}

common::StatusOr<std::unique_ptr<Signer>> Signer::Generate(std::string name) {
  ASSIGN_OR_RETURN(common::SecretBytes seed, internal::RandomSecret(32));
  return FromSeed(std::move(name), std::move(seed));
}

common::StatusOr<std::unique_ptr<Signer>> Signer::FromFile(const std::string& path) {
  ASSIGN_OR_RETURN(common::SecretBytes raw, ReadPrivateFile(path));
  std::string_view text(reinterpret_cast<const char*>(raw.InsecureData()), raw.size());
  text = TrimNewline(text);
  auto parts = SplitPlus(text, 5);
  auto bad = [&] {
    return common::InvalidArgumentError(
        "signing key file " + path + ": want PRIVATE+KEY+<name>+<id>+<base64 seed>");
  };
  if (parts.size() != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY") return bad();
  auto decoded = Base64Decode(parts[4]);
  if (!decoded.ok() || decoded->size() != 33 || static_cast<uint8_t>((*decoded)[0]) != kEd25519Alg) {
    return bad();
  }
  common::SecretBytes seed(reinterpret_cast<const uint8_t*>(decoded->data()) + 1, 32);
  common::SecureZero(decoded->data(), decoded->size());
  ASSIGN_OR_RETURN(auto signer, FromSeed(std::string(parts[2]), std::move(seed)));
  if (signer->public_key().key_id_hex() != parts[3]) {
    return common::InvalidArgumentError("signing key file " + path +
                                        ": key id does not match the key");
  }
  return signer;
}

common::Status Signer::WriteFile(const std::string& path) const {
  std::string blob(1, static_cast<char>(kEd25519Alg));
  blob.append(reinterpret_cast<const char*>(seed_.InsecureData()), seed_.size());
  std::string text = "PRIVATE+KEY+" + public_key_.name() + "+" + public_key_.key_id_hex() + "+" +
                     Base64Encode(blob) + "\n";
  common::Status st = internal::WriteNewFile(path, text, 0600);
  common::SecureZero(blob.data(), blob.size());
  common::SecureZero(text.data(), text.size());
  return st;
}

common::StatusOr<std::array<uint8_t, 64>> Signer::Sign(std::string_view message) const {
  std::array<uint8_t, 64> sig;
  size_t len = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  int rc = ctx ? EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr,
                                    static_cast<EVP_PKEY*>(pkey_))
               : 0;
  if (rc == 1) {
    rc = EVP_DigestSign(ctx, sig.data(), &len, reinterpret_cast<const uint8_t*>(message.data()),
                        message.size());
  }
  EVP_MD_CTX_free(ctx);
  if (rc != 1 || len != 64) return common::InternalError("Ed25519 signing failed");
  return sig;
}

}  // namespace audit
