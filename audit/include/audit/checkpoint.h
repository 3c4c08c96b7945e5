// Signed tree heads ("checkpoints") in the transparency-log checkpoint format
// (C2SP tlog-checkpoint, a signed note):
//
//   <origin>\n
//   <tree size, decimal>\n
//   <root hash, base64>\n
//   time <RFC 3339 UTC>\n
//   \n
//   — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>\n
//
// The signature covers the four body lines exactly as written.
#ifndef AUDIT_CHECKPOINT_H_
#define AUDIT_CHECKPOINT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "audit/keys.h"
#include "audit/merkle.h"
#include "common/status.h"

namespace audit {

struct Checkpoint {
  std::string origin;
  uint64_t tree_size = 0;
  Hash root{};
  int64_t time_us = 0;

  std::string Body() const;
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

struct SignedCheckpoint {
  Checkpoint checkpoint;
  std::string key_name;
  uint32_t key_id = 0;
  std::array<uint8_t, 64> signature{};

  std::string ToText() const;
  // Strict parse; INVALID_ARGUMENT naming the line on malformed text.
  static common::StatusOr<SignedCheckpoint> Parse(std::string_view text);
  static common::StatusOr<SignedCheckpoint> ReadFile(const std::string& path);
  common::Status WriteFile(const std::string& path) const;

  // Checks key name and id against `key` (reason KEY_MISMATCH when another
  // key signed it) and then the signature (reason BAD_SIGNATURE).
  common::Status Verify(const PublicKey& key) const;
};

common::StatusOr<SignedCheckpoint> SignCheckpoint(const Checkpoint& cp, const Signer& signer);

}  // namespace audit

#endif  // AUDIT_CHECKPOINT_H_
