// An appliance on loopback for end-to-end tests: assistantd's Gateway with
// the real assistant-worker serving stories260K, real mTLS, real SQLCipher.
#ifndef TESTS_E2E_E2E_FIXTURE_H_
#define TESTS_E2E_E2E_FIXTURE_H_

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "appliance/client.h"
#include "appliance/gateway.h"
#include "appliance/grpc_status.h"
#include "appliance/tls_material.h"
#include "common/json.h"
#include "assistant/v1/admin.grpc.pb.h"
#include "assistant/v1/audit.grpc.pb.h"
#include "assistant/v1/chat.grpc.pb.h"
#include "assistant/v1/conversations.grpc.pb.h"
#include "assistant/v1/models.grpc.pb.h"
#include "assistant/v1/policy.grpc.pb.h"

namespace e2e {

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::string DefaultPolicy() {
  return ReadText(std::string(ASSISTANT_SOURCE_DIR) + "/policy/config/default-policy.yaml");
}

// Replaces the first occurrence of `from` (which must exist) by `to`.
inline std::string Patch(std::string text, const std::string& from, const std::string& to) {
  const size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << "policy text lacks: " << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

// The gateway's conversation index as on disk: the snapshot
// (conversations.json) with its journal (conversations.json.journal) replayed.
// Entries as JSON objects (id, owner, messages: [[role, content id], ...]).
inline std::map<std::string, common::Json> IndexedConversations(const std::string& state) {
  std::map<std::string, common::Json> out;
  auto snapshot = common::Json::Parse(ReadText(state + "/conversations.json"));
  EXPECT_TRUE(snapshot.ok());
  if (snapshot.ok()) {
    for (const auto& c : snapshot->Find("conversations")->as_array()) {
      out[c.Find("id")->as_string()] = c;
    }
  }
  std::istringstream journal(ReadText(state + "/conversations.json.journal"));
  for (std::string line; std::getline(journal, line);) {
    auto j = common::Json::Parse(line);
    EXPECT_TRUE(j.ok()) << line;
    if (!j.ok()) continue;
    if (j->Find("op")->as_string() == "put") {
      const common::Json& c = *j->Find("conversation");
      out[c.Find("id")->as_string()] = c;
    } else {
      out.erase(j->Find("id")->as_string());
    }
  }
  return out;
}

struct ChatResult {
  grpc::Status status;
  common::Status detail;  // FromGrpcStatus: message and reason
  assistant::v1::ErrorDetail error;
  assistant::v1::ChatStart start;
  assistant::v1::ChatEnd end;
  std::string text;
  int deltas = 0;
};

class Appliance : public ::testing::Test {
 protected:
  // Starts the appliance with `policy_yaml` (default: the shipped policy);
  // `customize` may change the options (workers, fault injection) first.
  void StartAppliance(const std::string& policy_yaml = DefaultPolicy(),
                      const std::function<void(appliance::GatewayOptions&)>& customize = {}) {
    char tmpl[] = "/tmp/assistant-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    state_ = dir_ + "/state";
    std::filesystem::create_directories(state_);
    WriteText(state_ + "/policy.yaml", policy_yaml);
    WriteText(state_ + "/users.yaml",
              "users:\n"
              "  - {id: local-admin, certificate: local-admin, roles: [user, admin]}\n"
              "  - {id: local-auditor, certificate: local-auditor, roles: [auditor]}\n"
              "  - {id: alice, certificate: alice, roles: [user]}\n"
              "  - {id: root, certificate: root, roles: [admin]}\n");
    appliance::GatewayOptions options;
    options.config.state_dir = state_;
    options.config.listen = "127.0.0.1:0";
    options.config.metrics_listen = "127.0.0.1:0";
    options.config.site = "e2e";
    options.config.worker_stop_ms = 100;  // the worker holds no durable state
    options.config.models.push_back({"stories260K",
                                     std::string(ASSISTANT_SOURCE_DIR) + "/models/stories260K.gguf",
                                     "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d",
                                     {{"origin", "karpathy/tinyllamas"}, {"licence", "MIT"}, {"weights", "open"}}});
    appliance::WorkerConfig w;
    w.name = "local";
    w.spawn = {ASSISTANT_WORKER_BIN};
    options.config.workers.push_back(w);
    if (customize) customize(options);
    auto gateway = appliance::Gateway::Start(std::move(options));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = std::move(*gateway);
    tls_ = appliance::TlsPathsIn(state_ + "/tls");
    for (const char* name : {"alice", "root"}) {
      ASSERT_TRUE(appliance::IssueClientCertificate(tls_, name, state_ + "/tls/" + name + ".pem",
                                                    state_ + "/tls/" + name + ".key")
                      .ok());
    }
  }

  void TearDown() override {
    if (gateway_) gateway_->Shutdown(std::chrono::milliseconds(500));
    gateway_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Client options for one of the certificates in state/tls ("client" = local-admin).
  appliance::ClientOptions As(const std::string& who) const {
    appliance::ClientOptions c;
    c.address = "127.0.0.1:" + std::to_string(gateway_->port());
    c.ca_cert_path = tls_.ca_cert;
    c.client_cert_path = state_ + "/tls/" + who + ".pem";
    c.client_key_path = state_ + "/tls/" + who + ".key";
    return c;
  }

  template <typename Service>
  std::unique_ptr<typename Service::Stub> Stub(const appliance::ClientOptions& c) {
    auto channel = appliance::MakeClientChannel(c);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return Service::NewStub(*channel);
  }

  static void Deadline(grpc::ClientContext* ctx, int seconds = 30) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  }

  static assistant::v1::ErrorDetail DetailOf(const grpc::ClientContext& ctx) {
    assistant::v1::ErrorDetail d;
    auto it = ctx.GetServerTrailingMetadata().find(appliance::kErrorDetailKey);
    if (it != ctx.GetServerTrailingMetadata().end()) {
      d.ParseFromArray(it->second.data(), static_cast<int>(it->second.size()));
    }
    return d;
  }

  // One chat; `on_start` runs when ChatStart arrives (e.g. to kill the worker).
  ChatResult Chat(const appliance::ClientOptions& c, const std::string& message,
                  const std::string& classification = "", uint32_t max_tokens = 16,
                  const std::function<void()>& on_start = {}, const std::string& conversation = "") {
    auto stub = Stub<assistant::v1::ChatService>(c);
    assistant::v1::ChatRequest req;
    req.set_classification(classification);
    req.set_conversation_id(conversation);
    auto* m = req.add_messages();
    m->set_role(assistant::v1::ChatMessage::ROLE_USER);
    m->set_content(message);
    req.mutable_sampling()->set_max_tokens(max_tokens);
    req.mutable_sampling()->set_temperature(0);
    grpc::ClientContext ctx;
    Deadline(&ctx);
    appliance::PrepareContext(c, &ctx);
    auto reader = stub->Chat(&ctx, req);
    ChatResult r;
    assistant::v1::ChatEvent ev;
    while (reader->Read(&ev)) {
      if (ev.has_start()) {
        r.start = ev.start();
        if (on_start) on_start();
      }
      if (ev.has_delta()) {
        r.text += ev.delta().text();
        ++r.deltas;
      }
      if (ev.has_end()) r.end = ev.end();
    }
    r.status = reader->Finish();
    r.detail = appliance::FromGrpcStatus(r.status, ctx);
    r.error = DetailOf(ctx);
    return r;
  }

  std::vector<assistant::v1::AuditRecord> Records(const assistant::v1::AuditFilter& filter = {}) {
    auto stub = Stub<assistant::v1::AuditService>(As("auditor"));
    assistant::v1::QueryRecordsRequest req;
    *req.mutable_filter() = filter;
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto reader = stub->QueryRecords(&ctx, req);
    std::vector<assistant::v1::AuditRecord> out;
    assistant::v1::AuditRecord r;
    while (reader->Read(&r)) out.push_back(r);
    EXPECT_TRUE(reader->Finish().ok());
    return out;
  }

  assistant::v1::AuditRecord RecordAt(uint64_t seq) {
    assistant::v1::AuditFilter f;
    f.set_from_sequence(seq);
    f.set_limit(0);
    for (const auto& r : Records(f)) {
      if (r.sequence() == seq) return r;
    }
    ADD_FAILURE() << "no audit record #" << seq;
    return {};
  }

  std::string dir_;
  std::string state_;
  appliance::TlsPaths tls_;
  std::unique_ptr<appliance::Gateway> gateway_;
};

}  // namespace e2e

#endif  // TESTS_E2E_E2E_FIXTURE_H_
