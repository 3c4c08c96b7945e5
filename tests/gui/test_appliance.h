// A scripted assistant.v1 server for the desktop client's tests: real gRPC
// over real mutual TLS on 127.0.0.1 (port 0) with certificates generated per
// run by the openssl tool, serving every service the client calls with
// deterministic behaviour:
//   - Chat streams a fixed story word by word (a prompt naming "C++" gets a
//     Markdown answer with a <think> section and a code block); a prompt containing
//     "endless" streams until the client cancels; an e-mail address in the
//     prompt yields a redaction notice in ChatStart; a social security number
//     ("123-45-6789" form) is blocked with PERMISSION_DENIED and an
//     ErrorDetail in "assistant-error-bin", like the policy's `block` action.
//   - Conversations, legal holds and the audit ledger live in memory.
//   - ValidatePolicy/ApplyPolicy parse YAML with yaml-cpp and report
//     line/column errors; a policy must have a top-level `version` key.
// It stands in for `assistantd` until the gateway lands; see docs/gui.md.
#ifndef TESTS_GUI_TEST_APPLIANCE_H_
#define TESTS_GUI_TEST_APPLIANCE_H_

#include <QString>
#include <memory>

#include "gui/connection_settings.h"

namespace gui_test {

class TestAppliance {
 public:
  // Writes certificates into `dir` and starts serving; nullptr on failure
  // (the reason is printed with qWarning).
  static std::unique_ptr<TestAppliance> start(const QString& dir);
  ~TestAppliance();

  // Client-certificate settings for user "alice" (roles user, auditor, admin).
  gui::ConnectionSettings settings() const;
  // A certificate signed by a CA the server does not trust.
  gui::ConnectionSettings untrustedSettings() const;
  QString address() const;
  // Bearer tokens the server accepts / reports as expired.
  static QByteArray validToken() { return "tok-valid-bob"; }
  static QByteArray expiredToken() { return "tok-expired"; }

  // Observations for assertions.
  int cancelledStreams() const;
  int chatRequests() const;
  // The story every normal chat answers with (first words).
  static QString storyPrefix();

  struct Impl;

 private:
  explicit TestAppliance(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace gui_test

#endif  // TESTS_GUI_TEST_APPLIANCE_H_
