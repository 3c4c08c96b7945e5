#include "audit/checkpoint.h"

#include <cstring>
#include <vector>

#include "audit/record.h"
#include "crypto.h"
#include "file_util.h"

namespace audit {
namespace {

constexpr std::string_view kEmDash = "\xE2\x80\x94";  // U+2014, as in C2SP signed notes
constexpr size_t kMaxCheckpointBytes = 8192;

common::Status Bad(int line, std::string_view what) {
  return common::InvalidArgumentError("checkpoint line " + std::to_string(line) + ": " +
                                      std::string(what));
}

}  // namespace

std::string Checkpoint::Body() const {
  std::string root_raw(reinterpret_cast<const char*>(root.data()), root.size());
  return origin + "\n" + std::to_string(tree_size) + "\n" + internal::Base64Encode(root_raw) +
         "\ntime " + FormatTime(time_us) + "\n";
}

std::string SignedCheckpoint::ToText() const {
  std::string blob(4, '\0');
  blob[0] = static_cast<char>(key_id >> 24);
  blob[1] = static_cast<char>(key_id >> 16);
  blob[2] = static_cast<char>(key_id >> 8);
  blob[3] = static_cast<char>(key_id);
  blob.append(reinterpret_cast<const char*>(signature.data()), signature.size());
  return checkpoint.Body() + "\n" + std::string(kEmDash) + " " + key_name + " " +
         internal::Base64Encode(blob) + "\n";
}

common::StatusOr<SignedCheckpoint> SignedCheckpoint::Parse(std::string_view text) {
  if (text.size() > kMaxCheckpointBytes) return Bad(0, "checkpoint too large");
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return Bad(static_cast<int>(lines.size()) + 1, "missing newline");
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  if (lines.size() != 6) return Bad(static_cast<int>(lines.size()), "want 4 body lines, a blank line and one signature line");
  SignedCheckpoint sc;
  Checkpoint& cp = sc.checkpoint;
  if (lines[0].empty()) return Bad(1, "empty origin");
  cp.origin = std::string(lines[0]);
  if (lines[1].empty() || lines[1].size() > 20 ||
      lines[1].find_first_not_of("0123456789") != std::string_view::npos ||
      (lines[1].size() > 1 && lines[1][0] == '0')) {
    return Bad(2, "tree size must be a decimal number");
  }
  cp.tree_size = std::stoull(std::string(lines[1]));
  auto root = internal::Base64Decode(lines[2]);
  if (!root.ok() || root->size() != 32) return Bad(3, "root must be 32 bytes of base64");
  std::memcpy(cp.root.data(), root->data(), 32);
  if (lines[3].substr(0, 5) != "time ") return Bad(4, "want 'time <RFC 3339 UTC>'");
  auto t = ParseTime(lines[3].substr(5));
  if (!t.ok()) return Bad(4, t.status().message());
  cp.time_us = *t;
  if (!lines[4].empty()) return Bad(5, "want a blank line before the signature");
  std::string_view sig = lines[5];
  if (sig.substr(0, kEmDash.size() + 1) != std::string(kEmDash) + " ") {
    return Bad(6, "signature line must start with an em dash and a space");
  }
  sig.remove_prefix(kEmDash.size() + 1);
  size_t sp = sig.find(' ');
  if (sp == std::string_view::npos || sp == 0) return Bad(6, "want '<key name> <signature>'");
  sc.key_name = std::string(sig.substr(0, sp));
  auto blob = internal::Base64Decode(sig.substr(sp + 1));
  if (!blob.ok() || blob->size() != 68) return Bad(6, "signature must be 68 bytes of base64");
  const auto* b = reinterpret_cast<const uint8_t*>(blob->data());
  sc.key_id = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  std::memcpy(sc.signature.data(), b + 4, 64);
  // Canonical: the text must be exactly what we would write.
  if (sc.ToText() != text) return Bad(0, "not in canonical form");
  return sc;
}

common::StatusOr<SignedCheckpoint> SignedCheckpoint::ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, internal::ReadFileToString(path, kMaxCheckpointBytes));
  auto sc = Parse(text);
  if (!sc.ok()) return sc.status().WithContext(path);
  return sc;
}

common::Status SignedCheckpoint::WriteFile(const std::string& path) const {
  return internal::WriteFileAtomic(path, ToText(), 0644);
}

common::Status SignedCheckpoint::Verify(const PublicKey& key) const {
  if (key_name != key.name() || key_id != key.key_id()) {
    char id[9];
    std::snprintf(id, sizeof(id), "%08x", key_id);
    return common::Status(common::StatusCode::kDataLoss,
                          "checkpoint at size " + std::to_string(checkpoint.tree_size) +
                              " is signed by key " + key_name + "+" + id +
                              ", not by the trusted key " + key.name() + "+" + key.key_id_hex(),
                          "KEY_MISMATCH");
  }
  common::Status st = key.Verify(checkpoint.Body(), signature);
  if (!st.ok()) {
    return common::Status(st.code(),
                          "checkpoint at size " + std::to_string(checkpoint.tree_size) + ": " +
                              st.message(),
                          st.reason());
  }
  return common::OkStatus();
}

common::StatusOr<SignedCheckpoint> SignCheckpoint(const Checkpoint& cp, const Signer& signer) {
  SignedCheckpoint sc;
  sc.checkpoint = cp;
  sc.key_name = signer.public_key().name();
  sc.key_id = signer.public_key().key_id();
  ASSIGN_OR_RETURN(sc.signature, signer.Sign(cp.Body()));
  return sc;
}

}  // namespace audit
