// Configuration parsing and identity (users, tokens, JWT, auth limiter).
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>

#include "appliance/config.h"
#include "appliance/identity.h"

namespace appliance {
namespace {

using std::chrono::seconds;

TEST(ConfigTest, FullConfigurationParsesWithPathsResolvedAgainstTheFile) {
  auto c = ParseConfig(R"(
listen: 0.0.0.0:9443
metrics_listen: 127.0.0.1:9464
state_dir: state
site: hq
policy: policy.yaml
users: users.yaml
workers:
  - name: local
    spawn: [bin/assistant-worker]
  - name: gpu1
    address: 10.0.0.5:7443
    tls: {ca: ca.pem, cert: gw.pem, key: gw.key}
    capacity: 128
models:
  - name: stories260K
    path: models/stories260K.gguf
    sha256: 270CBA1BD5109F42D03350F60406024560464DB173C0E387D91F0426D3BD256D
    labels: {origin: karpathy, licence: MIT}
limits: {max_streams: 64, drain_seconds: 5}
)", "a.yaml", "/etc/assistant");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "0.0.0.0:9443");
  EXPECT_EQ(c->state_dir, "/etc/assistant/state");
  EXPECT_EQ(c->workers.size(), 2u);
  EXPECT_EQ(c->workers[0].spawn[0], "/etc/assistant/bin/assistant-worker");
  EXPECT_TRUE(c->workers[1].remote());
  EXPECT_EQ(c->workers[1].capacity, 128u);
  EXPECT_EQ(c->models[0].sha256, "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
  EXPECT_EQ(c->models[0].labels.at("licence"), "MIT");
  EXPECT_EQ(c->max_streams, 64u);
}

TEST(ConfigTest, UnknownKeyIsRefusedWithLineAndColumn) {
  auto c = ParseConfig("listen: 127.0.0.1:1\nlisen: 127.0.0.1:2\n", "x.yaml", "");
  ASSERT_EQ(c.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message().rfind("x.yaml:2:1: unknown key 'lisen'", 0), 0u) << c.status();
}

TEST(ConfigTest, MetricsOnANonLoopbackAddressIsRefused) {
  auto c = ParseConfig("metrics_listen: 0.0.0.0:9464\n", "x.yaml", "");
  ASSERT_EQ(c.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("x.yaml:1:17: metrics_listen must be a loopback"), std::string::npos)
      << c.status();
}

TEST(ConfigTest, RemoteWorkerWithoutMutualTlsIsRefused) {
  auto c = ParseConfig("workers:\n  - name: w\n    address: 10.0.0.1:7443\n", "x.yaml", "");
  ASSERT_EQ(c.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("x.yaml:2:5: remote worker 'w' needs tls"), std::string::npos)
      << c.status();
}

TEST(ConfigTest, BadPortAndBadHashAreRefused) {
  EXPECT_EQ(ParseConfig("listen: localhost:99999\n", "x", "").status().code(),
            common::StatusCode::kInvalidArgument);
  auto c = ParseConfig("models:\n  - {name: m, path: m.gguf, sha256: abc}\n", "x", "");
  EXPECT_NE(c.status().message().find("sha256 must be 64 hexadecimal digits"), std::string::npos);
}

TEST(ConfigTest, MalformedYamlNamesTheLine) {
  auto c = ParseConfig("listen: [\n", "x.yaml", "");
  ASSERT_EQ(c.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message().rfind("x.yaml:2:", 0), 0u) << c.status();
}

TEST(UserDirectoryTest, MapsCertificateNamesToUsersAndRoles) {
  auto d = UserDirectory::FromYaml(
      "users:\n  - {id: alice, certificate: [alice, alice@example.org], roles: [user]}\n"
      "  - {id: carol, roles: [auditor]}\n",
      "users.yaml");
  ASSERT_TRUE(d.ok()) << d.status();
  const auto* e = (*d)->Find({"unknown-cn", "alice@example.org"});
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->id, "alice");
  ASSERT_NE((*d)->Find({"carol"}), nullptr);
  EXPECT_EQ((*d)->Find({"mallory"}), nullptr);
}

TEST(UserDirectoryTest, UnknownRoleIsRefusedWithItsPosition) {
  auto d = UserDirectory::FromYaml("users:\n  - id: bob\n    roles: [user, root]\n", "users.yaml");
  ASSERT_EQ(d.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.status().message().rfind("users.yaml:3:19: unknown role 'root'", 0), 0u) << d.status();
}

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/assistant-tokens-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Clock FakeClock() {
    return [this] { return std::chrono::system_clock::time_point(seconds(now_)); };
  }
  std::string dir_;
  int64_t now_ = 1'800'000'000;
};

TEST_F(TokenStoreTest, TokenVerifiesUntilExpiryAndSurvivesReopening) {
  auto store = TokenStore::Open(dir_ + "/tokens.json", FakeClock());
  ASSERT_TRUE(store.ok());
  auto created = (*store)->Create("ci", "bot", {"user"}, seconds(60));
  ASSERT_TRUE(created.ok()) << created.status();
  auto id = (*store)->Verify(created->secret);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->user_id, "bot");
  EXPECT_EQ(id->roles, std::vector<std::string>{"user"});
  // Stored hashed only.
  std::ifstream in(dir_ + "/tokens.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.find(created->secret), std::string::npos);
  EXPECT_EQ(std::filesystem::status(dir_ + "/tokens.json").permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  auto reopened = TokenStore::Open(dir_ + "/tokens.json", FakeClock());
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->Verify(created->secret).ok());
  now_ += 61;
  auto expired = (*reopened)->Verify(created->secret);
  EXPECT_EQ(expired.status().code(), common::StatusCode::kUnauthenticated);
  EXPECT_EQ(expired.status().reason(), "TOKEN_EXPIRED");
}

TEST_F(TokenStoreTest, RevokedAndForgedTokensAreRefused) {
  auto store = TokenStore::Open(dir_ + "/tokens.json", FakeClock());
  ASSERT_TRUE(store.ok());
  auto created = (*store)->Create("ci", "bot", {"user"}, seconds(3600));
  ASSERT_TRUE(created.ok());
  std::string forged = created->secret;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ((*store)->Verify(forged).status().reason(), "TOKEN_INVALID");
  EXPECT_EQ((*store)->Verify("Bearer nonsense").status().reason(), "TOKEN_INVALID");
  ASSERT_TRUE((*store)->Revoke(created->info.id).ok());
  EXPECT_EQ((*store)->Verify(created->secret).status().reason(), "TOKEN_REVOKED");
  EXPECT_EQ((*store)->Revoke("0000000000000000").code(), common::StatusCode::kNotFound);
}

TEST_F(TokenStoreTest, UnknownRoleAndOverlongLifetimeAreRefused) {
  auto store = TokenStore::Open(dir_ + "/tokens.json", FakeClock());
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->Create("x", "bot", {"superuser"}, seconds(60)).status().code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_EQ((*store)->Create("x", "bot", {"user"}, std::chrono::hours(24 * 400)).status().code(),
            common::StatusCode::kInvalidArgument);
}

TEST(AuthFailureLimiterTest, BlocksASourceAfterTheLimitForAMinute) {
  int64_t now = 1000;
  AuthFailureLimiter limiter(3, [&] { return std::chrono::system_clock::time_point(seconds(now)); });
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.Blocked("10.0.0.1"));
    limiter.RecordFailure("10.0.0.1");
  }
  EXPECT_TRUE(limiter.Blocked("10.0.0.1"));
  EXPECT_FALSE(limiter.Blocked("10.0.0.2"));
  now += 61;
  EXPECT_FALSE(limiter.Blocked("10.0.0.1"));
}

TEST(PeerHostTest, StripsSchemeAndPort) {
  EXPECT_EQ(PeerHost("ipv4:127.0.0.1:5555"), "127.0.0.1");
  EXPECT_EQ(PeerHost("ipv6:[::1]:5555"), "::1");
  EXPECT_EQ(PeerHost("unix:/run/x.sock"), "unix");
}

// ---- JWT: ES256 tokens signed here with a fresh key, verified from a PEM file.

std::string B64Url(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(t[(buf >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(t[(buf << (6 - bits)) & 63]);
  return out;
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/assistant-jwt-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    key_ = EVP_EC_gen("P-256");
    ASSERT_NE(key_, nullptr);
    FILE* f = std::fopen((dir_ + "/idp.pem").c_str(), "w");
    PEM_write_PUBKEY(f, key_);
    std::fclose(f);
    auto v = JwtVerifier::Create({{"https://idp.example", "assistant", dir_ + "/idp.pem", "sub", "roles"}},
                                 [this] { return std::chrono::system_clock::time_point(seconds(now_)); });
    ASSERT_TRUE(v.ok()) << v.status();
    verifier_ = std::move(*v);
  }
  void TearDown() override {
    EVP_PKEY_free(key_);
    std::filesystem::remove_all(dir_);
  }
  std::string Sign(const std::string& payload) {
    const std::string input = B64Url(R"({"alg":"ES256","typ":"JWT"})") + "." + B64Url(payload);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key_);
    EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string der(len, '\0');
    EVP_DigestSign(md, reinterpret_cast<unsigned char*>(der.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(md);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(sig);
    return input + "." + B64Url(raw);
  }
  std::string dir_;
  EVP_PKEY* key_ = nullptr;
  int64_t now_ = 1'800'000'000;
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(JwtTest, TokenOfTheConfiguredIssuerMapsToUserAndRoles) {
  auto id = verifier_->Verify(Sign(R"({"iss":"https://idp.example","aud":"assistant","sub":"dana","exp":1800000600,"roles":["user","auditor","root"]})"));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->user_id, "dana");
  EXPECT_EQ(id->method, "jwt");
  EXPECT_EQ(id->roles, (std::vector<std::string>{"user", "auditor"}));
}

TEST_F(JwtTest, ExpiredWrongAudienceAndTamperedTokensAreRefused) {
  auto expired = verifier_->Verify(Sign(R"({"iss":"https://idp.example","aud":"assistant","sub":"d","exp":1700000000})"));
  EXPECT_EQ(expired.status().reason(), "TOKEN_EXPIRED");
  auto audience = verifier_->Verify(Sign(R"({"iss":"https://idp.example","aud":"other","sub":"d","exp":1800000600})"));
  EXPECT_EQ(audience.status().code(), common::StatusCode::kUnauthenticated);
  EXPECT_EQ(audience.status().reason(), "TOKEN_INVALID");
  std::string good = Sign(R"({"iss":"https://idp.example","aud":"assistant","sub":"d","exp":1800000600})");
  std::string tampered = good;
  tampered[tampered.find('.') + 2] ^= 1;
  EXPECT_EQ(verifier_->Verify(tampered).status().reason(), "TOKEN_INVALID");
  auto issuer = verifier_->Verify(Sign(R"({"iss":"https://evil.example","aud":"assistant","sub":"d","exp":1800000600})"));
  EXPECT_EQ(issuer.status().reason(), "TOKEN_INVALID");
}

}  // namespace
}  // namespace appliance
