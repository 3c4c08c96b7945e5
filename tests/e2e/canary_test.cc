// No leaks, proven: plant e-mail addresses, SSNs and card numbers in prompts
// under the shipped policy (email: redact_in_audit; ssn, card:
// redact_before_model), then search everything the appliance wrote — every
// file of the state directory as raw bytes, the ledger decrypted with the
// master key, every sealed vault content opened with it, the logs of
// assistantd and the worker, and the metrics — for the planted values.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "audit/keys.h"
#include "audit/ledger.h"
#include "audit/record.h"
#include "audit/vault.h"
#include "common/json.h"
#include "e2e_fixture.h"

namespace e2e {
namespace {

const std::vector<std::string> kCanaries = {
    "canary.4f9e2@example.org", "123-45-6789", "4111 1111 1111 1111", "4111111111111111",
    "ops-7c1d@corp.example.net"};

std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\n\r\n";
    (void)!::write(fd, req.data(), req.size());
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

class CanaryTest : public Appliance {};

TEST_F(CanaryTest, PlantedPersonalDataAppearsNowhereTheApplianceWrote) {
  // Capture stderr (assistantd's logs and the worker's, which inherits it).
  char log_tmpl[] = "/tmp/assistant-canary-log-XXXXXX";
  const int log_fd = mkstemp(log_tmpl);
  ASSERT_GE(log_fd, 0);
  const int saved_stderr = ::dup(2);
  ::dup2(log_fd, 2);

  StartAppliance();
  const std::vector<std::string> prompts = {
      "Please write to canary.4f9e2@example.org about the story.",
      "My SSN is 123-45-6789, keep it safe.",
      "Pay with card 4111 1111 1111 1111 today.",
      "Card 4111111111111111 and mail ops-7c1d@corp.example.net, SSN 123-45-6789.",
  };
  std::vector<std::string> conversations;
  for (const auto& p : prompts) {
    ChatResult r = Chat(As("alice"), p, "", 12);
    ASSERT_TRUE(r.status.ok()) << r.detail;
    EXPECT_GT(r.start.redactions_size(), 0);
    conversations.push_back(r.start.conversation_id());
  }
  // Continue one conversation, so history handling is covered too.
  ASSERT_TRUE(Chat(As("alice"), "And again: canary.4f9e2@example.org", "", 8, {}, conversations[0]).status.ok());
  const std::string metrics = HttpGet(gateway_->metrics_port(), "/metrics");
  ASSERT_NE(metrics.find("assistant_chat_requests_total 5"), std::string::npos) << metrics;
  gateway_->Shutdown(std::chrono::milliseconds(200));
  gateway_.reset();
  std::fflush(stderr);
  ::dup2(saved_stderr, 2);
  ::close(saved_stderr);
  ::close(log_fd);

  std::vector<std::pair<std::string, std::string>> corpus;  // (where, text)
  corpus.emplace_back("logs", ReadText(log_tmpl));
  corpus.emplace_back("metrics", metrics);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(state_)) {
    if (entry.is_regular_file()) corpus.emplace_back(entry.path().string(), ReadText(entry.path().string()));
  }
  auto key = audit::MasterKey::FromFile(state_ + "/keys/master.key");
  ASSERT_TRUE(key.ok()) << key.status();
  // The ledger, decrypted.
  auto reader = audit::LedgerReader::Open(state_ + "/audit/ledger.db", *key);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string ledger_text;
  size_t records = 0;
  ASSERT_TRUE((*reader)->Query({}, [&](const audit::Record& r) {
                                 ledger_text += audit::RecordToJson(r).Dump() + "\n";
                                 ++records;
                                 return true;
                               })
                  .ok());
  EXPECT_GE(records, 10u);
  corpus.emplace_back("ledger (decrypted)", ledger_text);
  // The vault, every sealed content opened with the key.
  audit::VaultOptions vo;
  vo.dir = state_ + "/audit";
  auto vault = audit::ContentVault::Open(*key, vo);
  ASSERT_TRUE(vault.ok()) << vault.status();
  size_t opened = 0;
  std::string vault_text;
  for (const auto& [cid, c] : IndexedConversations(state_)) {
    for (const auto& m : c.Find("messages")->as_array()) {
      auto content = (*vault)->OpenContent(m.as_array()[1].as_string());
      ASSERT_TRUE(content.ok()) << content.status();
      vault_text.append(reinterpret_cast<const char*>(content->InsecureData()), content->size());
      vault_text += "\n";
      ++opened;
    }
  }
  EXPECT_EQ(opened, 10u);  // 5 turns, prompt and answer each
  // The vault holds the policy's audit copy: placeholders instead of values.
  EXPECT_NE(vault_text.find("[EMAIL_1]"), std::string::npos);
  EXPECT_NE(vault_text.find("[SSN_1]"), std::string::npos);
  corpus.emplace_back("vault (decrypted)", vault_text);

  size_t hits = 0;
  for (const auto& [where, text] : corpus) {
    for (const auto& canary : kCanaries) {
      if (text.find(canary) != std::string::npos) {
        ADD_FAILURE() << "planted value " << canary << " found in " << where;
        ++hits;
      }
    }
  }
  EXPECT_EQ(hits, 0u);
  EXPECT_GE(corpus.size(), 8u);
  std::filesystem::remove(log_tmpl);
}

}  // namespace
}  // namespace e2e
