// The files the packages ship, checked with the components that read them:
// the default gateway and worker configurations load and agree with each
// other and with the shipped model; the postinst key generator writes keys
// the audit component accepts.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "common/status.h"

#if defined(ASSISTANT_HAVE_GATEWAY_CONFIG)
#include "appliance/config.h"
#endif
#if defined(ASSISTANT_HAVE_WORKER_CONFIG)
#include "worker/config.h"
#endif
#if defined(ASSISTANT_HAVE_AUDIT)
#include "audit/keys.h"
#endif

namespace {

const std::string kSource = ASSISTANT_SOURCE_DIR;
const std::string kGatewayConfig = kSource + "/packaging/config/assistantd.yaml";
const std::string kWorkerConfig = kSource + "/packaging/config/worker.json";
const std::string kKeygen = kSource + "/packaging/bin/keygen";
// Where the package installs the default model, and the file it comes from.
const std::string kInstalledModel = "/usr/share/assistant/models/stories260K.gguf";
const std::string kModel = kSource + "/models/stories260K.gguf";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A scratch directory, removed with its contents.
class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/packaging-test.XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~ScratchDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs the key generator; stdout goes to `out` (created 0600, as postinst's
// credential is). Returns the exit status.
int RunKeygen(const std::string& args, const std::string& out) {
  const std::string cmd = "umask 077; sh '" + kKeygen + "' " + args + " > '" + out + "'";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#if defined(ASSISTANT_HAVE_GATEWAY_CONFIG)
TEST(ShippedConfigTest, GatewayConfigLoadsWithSecureDefaults) {
  auto config = appliance::LoadConfig(kGatewayConfig);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->listen, "127.0.0.1:8443");  // loopback until the site opens it
  EXPECT_EQ(config->state_dir, "/var/lib/assistant");
  EXPECT_EQ(config->policy_file, "/var/lib/assistant/policy.yaml");
  EXPECT_TRUE(config->metrics_listen.empty());
  ASSERT_EQ(config->workers.size(), 1u);
  EXPECT_TRUE(config->workers[0].spawn.empty()) << "the worker is its own hardened unit";
  EXPECT_EQ(config->workers[0].socket, "/run/assistant-worker/worker.sock");
  ASSERT_EQ(config->models.size(), 1u);
  EXPECT_EQ(config->models[0].path, kInstalledModel);
}

TEST(ShippedConfigTest, GatewayConfigPinsTheShippedModelHash) {
  auto config = appliance::LoadConfig(kGatewayConfig);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto hash = common::Sha256File(kModel);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  ASSERT_EQ(config->models.size(), 1u);
  EXPECT_EQ(config->models[0].sha256, *hash);
}
#endif

#if defined(ASSISTANT_HAVE_WORKER_CONFIG)
TEST(ShippedConfigTest, WorkerConfigLoadsAndPinsTheShippedModelHash) {
  auto config = worker::LoadWorkerConfig(kWorkerConfig);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->unix_socket, "/run/assistant-worker/worker.sock");
  EXPECT_TRUE(config->tcp.address.empty()) << "the packaged worker has no network";
  ASSERT_EQ(config->models.size(), 1u);
  EXPECT_EQ(config->models[0].name, "stories260K");
  EXPECT_EQ(config->models[0].path, kInstalledModel);
  auto hash = common::Sha256File(kModel);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(config->models[0].sha256, *hash);
}
#endif

#if defined(ASSISTANT_HAVE_GATEWAY_CONFIG) && defined(ASSISTANT_HAVE_WORKER_CONFIG)
TEST(ShippedConfigTest, GatewayAndWorkerAgreeOnSocketAndModels) {
  auto gateway = appliance::LoadConfig(kGatewayConfig);
  auto work = worker::LoadWorkerConfig(kWorkerConfig);
  ASSERT_TRUE(gateway.ok() && work.ok());
  EXPECT_EQ(gateway->workers[0].socket, work->unix_socket);
  std::set<std::string> a, b;
  for (const auto& m : gateway->models) a.insert(m.name + " " + m.path + " " + m.sha256);
  for (const auto& m : work->models) b.insert(m.name + " " + m.path + " " + m.sha256);
  EXPECT_EQ(a, b);
}
#endif

TEST(KeygenTest, MasterKeyIsSixtyFourHexDigitsAndFreshEachTime) {
  ScratchDir dir;
  ASSERT_EQ(RunKeygen("master-key", dir.path() + "/a"), 0);
  ASSERT_EQ(RunKeygen("master-key", dir.path() + "/b"), 0);
  const std::string a = ReadAll(dir.path() + "/a");
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, ReadAll(dir.path() + "/b"));
}

TEST(KeygenTest, RefusesASigningKeyNameWithAPlus) {
  ScratchDir dir;
  EXPECT_NE(RunKeygen("signing-key 'a+b' '" + dir.path() + "/pub'", dir.path() + "/key"), 0);
  struct stat st;
  EXPECT_NE(::stat((dir.path() + "/pub").c_str(), &st), 0);
}

#if defined(ASSISTANT_HAVE_AUDIT)
TEST(KeygenTest, MasterKeyIsAcceptedByTheAuditComponent) {
  ScratchDir dir;
  ASSERT_EQ(RunKeygen("master-key", dir.path() + "/master-key"), 0);
  auto key = audit::MasterKey::FromFile(dir.path() + "/master-key");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->id().size(), 16u);
}

TEST(KeygenTest, SigningKeyIsAcceptedByTheAuditComponentAndMatchesItsPublicFile) {
  ScratchDir dir;
  const std::string pub = dir.path() + "/audit-signing.pub";
  ASSERT_EQ(RunKeygen("signing-key assistant-audit.example.org '" + pub + "'",
                      dir.path() + "/audit-signing-key"),
            0);
  auto signer = audit::Signer::FromFile(dir.path() + "/audit-signing-key");
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  EXPECT_EQ((*signer)->public_key().name(), "assistant-audit.example.org");

  // The public file is the signer's own vkey, so the key id was computed the
  // way audit/ computes it.
  std::string vkey = ReadAll(pub);
  ASSERT_FALSE(vkey.empty());
  if (vkey.back() == '\n') vkey.pop_back();
  EXPECT_EQ(vkey, (*signer)->public_key().ToVkey());
  auto from_file = audit::PublicKey::FromFile(pub);
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_TRUE(*from_file == (*signer)->public_key());

  auto sig = (*signer)->Sign("tree head");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(from_file->Verify("tree head", *sig).ok());
  EXPECT_EQ(from_file->Verify("another tree head", *sig).code(), common::StatusCode::kDataLoss);
}
#endif

}  // namespace
