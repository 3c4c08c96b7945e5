#include "audit/cli.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include "audit/ledger.h"
#include "common/json.h"
#include "common/sha256.h"
#include "test_util.h"

namespace audit {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kStart = 1764428685000000;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.File("state");
    fs::create_directories(state_);
    key_file_ = dir_.File("master.key");
    ASSERT_EQ(Run({"keygen", "--master-key", key_file_}), 0) << err_;
    ASSERT_EQ(Run({"keygen", "--signing-key", dir_.File("signing.key"), "--name", "audit.test",
                   "--public-key", dir_.File("audit.pub")}),
              0)
        << err_;
    Append(0, 60);
  }

  void Append(int from, int to) {
    auto master = *MasterKey::FromFile(key_file_);
    LedgerOptions o;
    o.path = state_ + "/ledger.db";
    o.signer = std::shared_ptr<Signer>(std::move(*Signer::FromFile(dir_.File("signing.key"))));
    o.clock = clock_;
    o.head_interval = 8;
    auto l = Ledger::Open(master, o);
    ASSERT_TRUE(l.ok()) << l.status();
    for (int i = from; i < to; ++i) {
      clock_->Advance(1000000);
      ASSERT_TRUE((*l)->Append(testing::MakeRecord(i)).ok());
    }
  }

  int Run(std::vector<std::string> args) {
    std::ostringstream out, err;
    int rc = cli::Main(args, out, err);
    out_ = out.str();
    err_ = err.str();
    return rc;
  }

  std::vector<std::string> Db() { return {"--db", state_, "--key-file", key_file_}; }
  std::vector<std::string> Cmd(std::string c, std::vector<std::string> extra = {}) {
    std::vector<std::string> v{std::move(c)};
    for (auto& s : Db()) v.push_back(s);
    for (auto& s : extra) v.push_back(s);
    return v;
  }

  static void RewriteManifestHash(const std::string& bundle, const std::string& rel) {
    std::string text = testing::ReadAll(bundle + "/manifest.json");
    auto m = *common::Json::Parse(text);
    for (auto& f : m.Find("files")->as_array()) {
      if (f.Find("path")->as_string() == rel) {
        f.Set("sha256", common::HexEncode(common::Sha256::Hash(testing::ReadAll(bundle + "/" + rel))));
      }
    }
    testing::WriteAll(bundle + "/manifest.json", m.Dump());
  }

  testing::TempDir dir_;
  std::string state_, key_file_, out_, err_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kStart);
};

TEST_F(CliTest, VerifyPassesOnAnIntactLedger) {
  EXPECT_EQ(Run(Cmd("verify", {"--public-key", dir_.File("audit.pub")})), 0) << err_;
  EXPECT_NE(out_.find("OK: 60 records verified"), std::string::npos) << out_;
  EXPECT_EQ(Run(Cmd("verify", {"--json"})), 0);
  auto j = common::Json::Parse(out_);
  ASSERT_TRUE(j.ok()) << out_;
  EXPECT_TRUE(j->Find("ok")->as_bool());
  EXPECT_FALSE(j->Find("key_pinned")->as_bool());
}

TEST_F(CliTest, QueryFiltersAndPrintsJsonLines) {
  ASSERT_EQ(Run(Cmd("query", {"--event", "denial", "--since", "2025-11-29T15:05:05Z"})), 0) << err_;
  std::istringstream in(out_);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto j = common::Json::Parse(line);
    ASSERT_TRUE(j.ok()) << line;
    EXPECT_EQ(j->Find("event")->as_string(), "denial");
    EXPECT_GE(j->Find("seq")->as_int(), 19);
    ++n;
  }
  EXPECT_EQ(n, 8);  // seq 20, 25, ..., 55
  EXPECT_EQ(Run(Cmd("query", {"--subject", "user3", "--decision", "allow", "--limit", "2"})), 0);
  EXPECT_EQ(std::count(out_.begin(), out_.end(), '\n'), 2);
  EXPECT_EQ(Run(Cmd("query", {"--event", "nonsense"})), 2);
  EXPECT_NE(err_.find("unknown event type"), std::string::npos);
}

TEST_F(CliTest, ExportedBundleVerifiesOfflineAndDetectsTampering) {
  ASSERT_EQ(Run(Cmd("checkpoint", {"--out", dir_.File("cp-60.txt")})), 0) << err_;
  Append(60, 90);
  const std::string bundle = dir_.File("bundle");
  ASSERT_EQ(Run(Cmd("export", {"--out", bundle})), 0) << err_;
  EXPECT_NE(out_.find("exported 90 records (complete"), std::string::npos) << out_;
  // On "another machine": no master key, only the bundle, the pinned key and
  // the checkpoint the auditor kept.
  EXPECT_EQ(Run({"verify", "--bundle", bundle, "--public-key", dir_.File("audit.pub"),
                 "--checkpoint", dir_.File("cp-60.txt")}),
            0)
      << out_ << err_;
  EXPECT_NE(out_.find("OK: 90 records"), std::string::npos) << out_;

  // A changed file is caught by the manifest...
  std::string records = testing::ReadAll(bundle + "/records.jsonl");
  auto pos = records.find("\"user3\"");
  ASSERT_NE(pos, std::string::npos);
  records[pos + 5] = '4';
  testing::WriteAll(bundle + "/records.jsonl", records);
  EXPECT_EQ(Run({"verify", "--bundle", bundle}), 1);
  EXPECT_NE(out_.find("records.jsonl does not match its manifest hash"), std::string::npos) << out_;
  // ...and with the manifest fixed up, by the signed bytes.
  RewriteManifestHash(bundle, "records.jsonl");
  EXPECT_EQ(Run({"verify", "--bundle", bundle, "--public-key", dir_.File("audit.pub")}), 1);
  EXPECT_NE(out_.find("readable form does not match"), std::string::npos) << out_;
}

TEST_F(CliTest, FilteredBundleVerifiesByInclusionProofs) {
  const std::string bundle = dir_.File("denials");
  ASSERT_EQ(Run(Cmd("export", {"--out", bundle, "--event", "denial"})), 0) << err_;
  EXPECT_NE(out_.find("exported 12 records (filtered"), std::string::npos) << out_;
  EXPECT_EQ(Run({"verify", "--bundle", bundle, "--public-key", dir_.File("audit.pub")}), 0)
      << out_ << err_;
  // Swap in another record's bytes (with matching leaf and view): the
  // inclusion proof for that seq fails.
  std::string records = testing::ReadAll(bundle + "/records.jsonl");
  auto first_end = records.find('\n');
  auto second_end = records.find('\n', first_end + 1);
  std::string l1 = records.substr(0, first_end), l2 = records.substr(first_end + 1, second_end - first_end - 1);
  auto j1 = *common::Json::Parse(l1), j2 = *common::Json::Parse(l2);
  j1.Set("body", *j2.Find("body"));
  j1.Set("leaf", *j2.Find("leaf"));
  j1.Set("record", *j2.Find("record"));
  testing::WriteAll(bundle + "/records.jsonl", j1.Dump() + "\n" + records.substr(first_end + 1));
  RewriteManifestHash(bundle, "records.jsonl");
  EXPECT_EQ(Run({"verify", "--bundle", bundle, "--public-key", dir_.File("audit.pub")}), 1);
  EXPECT_NE(out_.find("at seq 0"), std::string::npos) << out_;
}

TEST_F(CliTest, RestoredOlderDatabaseExitsOneAndNamesTheFirstMissingRecord) {
  fs::copy_file(state_ + "/ledger.db", dir_.File("old.db"));
  Append(60, 70);
  ASSERT_EQ(Run(Cmd("checkpoint", {"--out", dir_.File("cp-70.txt")})), 0) << err_;
  fs::copy_file(dir_.File("old.db"), state_ + "/ledger.db", fs::copy_options::overwrite_existing);
  // The older copy verifies on its own...
  EXPECT_EQ(Run(Cmd("verify")), 0) << out_;
  // ...but not against the checkpoint the auditor kept.
  EXPECT_EQ(Run(Cmd("verify", {"--checkpoint", dir_.File("cp-70.txt")})), 1);
  EXPECT_NE(out_.find("TAMPERED: rolled_back at seq 60"), std::string::npos) << out_;
}

TEST_F(CliTest, BadKeysAndBadInputsAreClearErrors) {
  ASSERT_EQ(Run({"keygen", "--master-key", dir_.File("other.key")}), 0);
  EXPECT_EQ(Run({"verify", "--db", state_, "--key-file", dir_.File("other.key")}), 2);
  EXPECT_NE(err_.find("wrong key"), std::string::npos) << err_;
  ::chmod(key_file_.c_str(), 0644);
  EXPECT_EQ(Run(Cmd("verify")), 2);
  EXPECT_NE(err_.find("chmod 600"), std::string::npos) << err_;
  ::chmod(key_file_.c_str(), 0600);
  testing::WriteAll(dir_.File("junk.db"), "hello");
  EXPECT_EQ(Run({"verify", "--db", dir_.File("junk.db"), "--key-file", key_file_}), 2);
  EXPECT_NE(err_.find("not an encrypted audit database"), std::string::npos) << err_;
  EXPECT_EQ(Run({"frobnicate"}), 2);
  EXPECT_EQ(Run({"query", "--db", state_}), 2);
  EXPECT_NE(err_.find("--key-file"), std::string::npos) << err_;
  EXPECT_EQ(Run({"verify", "--bogus", "1"}), 2);
  EXPECT_EQ(Run({"verify", "--bundle", dir_.File("nothing-here")}), 2);
}

}  // namespace
}  // namespace audit
