// Key material of the audit component.
//
// The master key (32 random bytes) protects both databases and wraps the
// per-conversation data keys; every use gets its own HKDF-derived key. It is
// read from a file that must not be accessible by group or others, or from a
// systemd credential ($CREDENTIALS_DIRECTORY/<name>).
//
// The signing key (Ed25519) signs tree heads. It lives in its own file, apart
// from the master key, so holding the database key is not enough to forge
// history. Its public half is written as a C2SP "vkey":
//   <name>+<key id, 8 hex>+<base64(0x01 || 32-byte public key)>
#ifndef AUDIT_KEYS_H_
#define AUDIT_KEYS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"

namespace audit {

class MasterKey {
 public:
  // 32 raw bytes or 64 hex digits (a trailing newline is allowed). Refuses
  // (PERMISSION_DENIED, reason KEY_FILE_PERMISSIONS) a file that group or
  // others may read or write, and anything that is not a regular file.
  static common::StatusOr<MasterKey> FromFile(const std::string& path);
  // $CREDENTIALS_DIRECTORY/<name>, as systemd's LoadCredential= provides it.
  static common::StatusOr<MasterKey> FromCredential(const std::string& name);
  static common::StatusOr<MasterKey> FromBytes(common::SecretBytes bytes);
  static common::StatusOr<MasterKey> Generate();
  // Writes a new random key as hex to `path` with mode 0600 (fails if it exists).
  static common::Status GenerateFile(const std::string& path);

  // A key for one purpose ("ledger-db", "vault-db", "keystore-db", "dek-wrap").
  common::StatusOr<common::SecretBytes> Derive(std::string_view purpose) const;
  // Public identifier (16 hex digits), safe to log; changes with the key.
  const std::string& id() const { return id_; }

 private:
  MasterKey(common::SecretBytes key, std::string id) : key_(std::move(key)), id_(std::move(id)) {}
  common::SecretBytes key_;
  std::string id_;
};

// An Ed25519 public key with its C2SP key name and 4-byte key id.
class PublicKey {
 public:
  static common::StatusOr<PublicKey> FromVkey(std::string_view vkey);
  static common::StatusOr<PublicKey> FromFile(const std::string& path);
  static common::StatusOr<PublicKey> FromRaw(std::string name, std::array<uint8_t, 32> raw);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  std::string key_id_hex() const;
  const std::array<uint8_t, 32>& raw() const { return raw_; }
  std::string ToVkey() const;
  // OK, or DATA_LOSS (reason BAD_SIGNATURE) when the signature does not verify.
  common::Status Verify(std::string_view message, const std::array<uint8_t, 64>& sig) const;

  friend bool operator==(const PublicKey& a, const PublicKey& b) {
    return a.name_ == b.name_ && a.raw_ == b.raw_;
  }

 private:
  std::string name_;
  uint32_t key_id_ = 0;
  std::array<uint8_t, 32> raw_{};
};

class Signer {
 public:
  // A new random key named `name` (e.g. "assistant-audit.example.org").
  static common::StatusOr<std::unique_ptr<Signer>> Generate(std::string name);
  // The C2SP-style private key file: PRIVATE+KEY+<name>+<id>+<base64(0x01||seed)>.
  // Same permission rule as the master key file.
  static common::StatusOr<std::unique_ptr<Signer>> FromFile(const std::string& path);
  // Writes the private key (mode 0600, refuses to overwrite) and returns it.
  common::Status WriteFile(const std::string& path) const;

  const PublicKey& public_key() const { return public_key_; }
  common::StatusOr<std::array<uint8_t, 64>> Sign(std::string_view message) const;

  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

 private:
  Signer(common::SecretBytes seed, PublicKey pub, void* pkey)
      : seed_(std::move(seed)), public_key_(std::move(pub)), pkey_(pkey) {}
  static common::StatusOr<std::unique_ptr<Signer>> FromSeed(std::string name,
                                                            common::SecretBytes seed);
  common::SecretBytes seed_;
  PublicKey public_key_;
  void* pkey_;  // EVP_PKEY*, owned
};

// Reads a whole key file after checking it is a regular file that neither
// group nor others can access. Exposed for the CLI's error messages.
common::StatusOr<common::SecretBytes> ReadPrivateFile(const std::string& path);

}  // namespace audit

#endif  // AUDIT_KEYS_H_
