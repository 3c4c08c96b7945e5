// An audit ledger record: who did what, when, of which model, under which
// policy, and with what outcome. Never content: only the hash of the sealed
// content in the vault.
//
// The canonical byte encoding (EncodeRecord) is versioned and length-prefixed
// and is what the Merkle tree commits to; docs/audit.md writes it down.
#ifndef AUDIT_RECORD_H_
#define AUDIT_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace audit {

enum class EventType : uint8_t {
  kChatRequest = 1,
  kChatOutcome = 2,
  kDenial = 3,
  kAuthFailure = 4,
  kPolicyChange = 5,
  kExport = 6,
  kPurge = 7,
  kKeyRotation = 8,
  kShred = 9,
  kLegalHold = 10,
  kWorkerEvent = 11,
  kAuditFailure = 12,   // appends were refused; written once the condition clears
  kAuditAccess = 13,    // an auditor queried, verified or exported
  kConfigChange = 14,
};
inline constexpr uint8_t kMaxEventType = 14;

// "chat_request", "denial", ...
std::string_view EventTypeName(EventType type);
common::StatusOr<EventType> ParseEventType(std::string_view name);

struct Record {
  // Assigned by the ledger on append: leaf index (0-based) and commit time.
  uint64_t seq = 0;
  int64_t time_us = 0;  // UTC, microseconds since the Unix epoch

  EventType event = EventType::kChatRequest;
  std::string subject;           // user id
  std::string subject_cert;      // client certificate fingerprint (hex)
  std::string source_address;
  std::string model_name;
  std::string model_sha256;
  std::string chat_template_sha256;
  std::string policy_sha256;
  std::string decision;          // "allow", "deny", "redact", or empty
  std::vector<std::string> reasons;
  std::string classification;
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
  uint64_t latency_us = 0;
  std::string conversation_id;
  std::string request_id;
  std::string content_sha256;    // hash of the sealed content in the vault
  // Event-specific facts that are not user content (counts, key ids, ...).
  std::string details;

  friend bool operator==(const Record&, const Record&) = default;
};

// Limits enforced by both encoder and decoder (decoding is fuzzed).
inline constexpr size_t kMaxFieldBytes = 16 * 1024;
inline constexpr size_t kMaxReasons = 64;
inline constexpr size_t kMaxRecordBytes = 256 * 1024;
inline constexpr uint8_t kRecordFormatVersion = 1;

// Canonical bytes. Fails (INVALID_ARGUMENT) when a field exceeds the limits.
common::StatusOr<std::string> EncodeRecord(const Record& record);
// Strict inverse: EncodeRecord(DecodeRecord(b)) == b for every accepted b.
// Errors are DATA_LOSS with the offset of the problem.
common::StatusOr<Record> DecodeRecord(std::string_view bytes);

// JSON view of a record, for JSON Lines output. Times are RFC 3339 UTC.
common::Json RecordToJson(const Record& record);

// RFC 3339 UTC with microseconds: 2026-11-29T15:04:05.123456Z.
std::string FormatTime(int64_t time_us);
// Accepts RFC 3339 UTC ("...Z"), a date "YYYY-MM-DD", or integer seconds.
common::StatusOr<int64_t> ParseTime(std::string_view text);

}  // namespace audit

#endif  // AUDIT_RECORD_H_
