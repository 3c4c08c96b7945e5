// Health over real TLS on loopback, with generated certificates.
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "appliance/client.h"
#include "common/file.h"
#include "appliance/server.h"
#include "appliance/tls_material.h"
#include "assistant/v1/health.grpc.pb.h"

namespace appliance {
namespace {

class HealthTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/assistant-health-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto tls = EnsureLocalTls(dir_ + "/tls");
    ASSERT_TRUE(tls.ok()) << tls.status();
    tls_ = *tls;
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.tls = tls_;
    options.site = "test-site";
    auto server = GatewayServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown(std::chrono::milliseconds(100));
      server_->Wait();
    }
    std::filesystem::remove_all(dir_);
  }

  ClientOptions Client() const {
    ClientOptions c;
    c.address = "127.0.0.1:" + std::to_string(server_->port());
    c.ca_cert_path = tls_.ca_cert;
    c.client_cert_path = tls_.client_cert;
    c.client_key_path = tls_.client_key;
    return c;
  }

  grpc::Status Check(const ClientOptions& c, assistant::v1::HealthCheckResponse* response) {
    auto channel = MakeClientChannel(c);
    EXPECT_TRUE(channel.ok()) << channel.status();
    auto stub = assistant::v1::HealthService::NewStub(*channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub->Check(&ctx, {}, response);
  }

  std::string dir_;
  TlsPaths tls_;
  std::unique_ptr<GatewayServer> server_;
};

TEST_F(HealthTlsTest, MutualTlsHealthCheckRoundTripsAndNamesTheCaller) {
  assistant::v1::HealthCheckResponse response;
  grpc::Status s = Check(Client(), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.status(), assistant::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(response.site(), "test-site");
  EXPECT_EQ(response.caller(), "local-admin");
}

TEST_F(HealthTlsTest, ClientThatDoesNotTrustTheServerCaCannotConnect) {
  // A second, unrelated CA: the client must refuse the server's certificate.
  auto other = EnsureLocalTls(dir_ + "/other");
  ASSERT_TRUE(other.ok());
  ClientOptions c = Client();
  c.ca_cert_path = other->ca_cert;
  assistant::v1::HealthCheckResponse response;
  grpc::Status s = Check(c, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(HealthTlsTest, ClientCertificateFromAnotherCaIsRejected) {
  auto other = EnsureLocalTls(dir_ + "/other");
  ASSERT_TRUE(other.ok());
  ClientOptions c = Client();
  c.client_cert_path = other->client_cert;
  c.client_key_path = other->client_key;
  assistant::v1::HealthCheckResponse response;
  grpc::Status s = Check(c, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(TlsMaterialTest, KeysAreOwnerOnlyAndExistingFilesAreKept) {
  char tmpl[] = "/tmp/assistant-tls-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = std::string(tmpl) + "/tls";
  auto first = EnsureLocalTls(dir);
  ASSERT_TRUE(first.ok()) << first.status();
  struct stat st;
  ASSERT_EQ(stat(first->server_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(first->ca_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto before = common::ReadFile(first->ca_cert);
  auto second = EnsureLocalTls(dir);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*common::ReadFile(second->ca_cert), *before);
  std::filesystem::remove_all(tmpl);
}

TEST(ClientTest, MissingCaIsAClearError) {
  ClientOptions c;
  auto channel = MakeClientChannel(c);
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(channel.status().message().find("--ca"), std::string::npos);
}

}  // namespace
}  // namespace appliance
