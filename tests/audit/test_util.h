// Shared fixtures of the audit tests: a temporary state directory, keys and
// a record maker.
#ifndef TESTS_AUDIT_TEST_UTIL_H_
#define TESTS_AUDIT_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "audit/keys.h"
#include "audit/record.h"

namespace audit::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/audit-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline MasterKey TestMasterKey(uint8_t fill = 0x42) {
  common::SecretBytes b(32);
  for (size_t i = 0; i < 32; ++i) b.InsecureMutableData()[i] = static_cast<uint8_t>(fill + i);
  return *MasterKey::FromBytes(std::move(b));
}

inline std::shared_ptr<Signer> TestSigner(const std::string& name = "audit.test") {
  return std::shared_ptr<Signer>(std::move(*Signer::Generate(name)));
}

inline Record MakeRecord(int i) {
  Record r;
  r.event = i % 5 == 0 ? EventType::kDenial : EventType::kChatRequest;
  r.subject = "user" + std::to_string(i % 7);
  r.subject_cert = "c0ffee" + std::to_string(i % 3);
  r.source_address = "10.0.0." + std::to_string(i % 250);
  r.model_name = "stories260K";
  r.model_sha256 = std::string(64, 'a');
  r.chat_template_sha256 = std::string(64, 'b');
  r.policy_sha256 = std::string(64, 'c');
  r.decision = i % 5 == 0 ? "deny" : "allow";
  if (i % 5 == 0) r.reasons = {"classification_not_allowed"};
  r.classification = i % 2 ? "internal" : "public";
  r.prompt_tokens = static_cast<uint32_t>(10 + i % 100);
  r.completion_tokens = static_cast<uint32_t>(i % 200);
  r.latency_us = static_cast<uint64_t>(1000 + i);
  r.conversation_id = "conv-" + std::to_string(i / 4);
  r.request_id = "req-" + std::to_string(i);
  r.content_sha256 = std::string(64, 'd');
  return r;
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

}  // namespace audit::testing

#endif  // TESTS_AUDIT_TEST_UTIL_H_
