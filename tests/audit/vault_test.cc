#include "audit/vault.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "audit/ledger.h"
#include "audit/retention.h"
#include "crypto.h"
#include "db.h"
#include "test_util.h"

namespace audit {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr int64_t kStart = 1764428685000000;
constexpr int64_t kDay = 86400LL * 1000000;

class VaultTest : public ::testing::Test {
 protected:
  VaultTest()
      : master_(testing::TestMasterKey()),
        signer_(testing::TestSigner()),
        clock_(std::make_shared<ManualClock>(kStart)) {
    fs::create_directories(State());
  }

  std::string State() const { return dir_.File("state"); }

  std::unique_ptr<ContentVault> OpenVault(const std::string& dir, const MasterKey& key) {
    auto v = ContentVault::Open(key, VaultOptions{dir, clock_});
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? std::move(*v) : nullptr;
  }

  std::unique_ptr<Ledger> OpenLedger() {
    LedgerOptions o;
    o.path = State() + "/ledger.db";
    o.signer = signer_;
    o.clock = clock_;
    auto l = Ledger::Open(master_, o);
    EXPECT_TRUE(l.ok()) << l.status();
    return std::move(*l);
  }

  // The unwrapped data key, read the way only a holder of the master key
  // could: to search the files for it.
  std::string DataKeyBytes(const std::string& conversation) {
    auto db = *internal::Db::Open(State() + "/keys.db", *master_.Derive("keystore-db"),
                                  internal::Db::Mode::kReadOnly);
    auto q = *db->Prepare("SELECT wrapped FROM deks WHERE conversation_id = ?");
    q.BindText(1, conversation);
    EXPECT_TRUE(*q.Step());
    auto dek = internal::AesGcmOpen(*master_.Derive("dek-wrap"),
                                    "assistant-vault/v1 dek\n" + conversation, q.Blob(0));
    EXPECT_TRUE(dek.ok());
    return std::string(reinterpret_cast<const char*>(dek->InsecureData()), dek->size());
  }

  // Every regular file under `dir` that contains `needle`.
  static std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
    std::vector<std::string> hits;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      if (testing::ReadAll(e.path()).find(needle) != std::string::npos) hits.push_back(e.path());
    }
    return hits;
  }

  static void CopyFiles(const std::string& from, const std::string& to,
                        std::initializer_list<const char*> names) {
    fs::create_directories(to);
    for (const char* n : names) {
      if (fs::exists(from + "/" + n)) {
        fs::copy_file(from + "/" + n, to + "/" + n, fs::copy_options::overwrite_existing);
      }
    }
  }

  TempDir dir_;
  MasterKey master_;
  std::shared_ptr<Signer> signer_;
  std::shared_ptr<ManualClock> clock_;
};

TEST_F(VaultTest, SealedContentOpensAndIsBoundToItsHeader) {
  auto v = OpenVault(State(), master_);
  ASSERT_TRUE(v->CreateConversation("c1", "internal", kStart + kDay).ok());
  ASSERT_TRUE(v->CreateConversation("c1", "internal", kStart + kDay).ok());  // idempotent
  auto a = v->Seal("c1", "r1", ContentKind::kPrompt, "what is the capital of France?");
  auto b = v->Seal("c1", "r1", ContentKind::kResponse, "Paris.");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->sha256.size(), 64u);
  EXPECT_NE(a->sha256, b->sha256);
  auto pa = v->OpenContent(a->content_id);
  ASSERT_TRUE(pa.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(pa->InsecureData()), pa->size()),
            "what is the capital of France?");
  EXPECT_EQ(v->Seal("nope", "r", ContentKind::kPrompt, "x").status().code(),
            common::StatusCode::kNotFound);
  v.reset();
  // Moving a sealed blob to another row breaks its associated data.
  auto db = *internal::Db::Open(State() + "/vault.db", *master_.Derive("vault-db"),
                                internal::Db::Mode::kReadWrite);
  ASSERT_TRUE(db->Exec("UPDATE content SET sealed = (SELECT sealed FROM content WHERE content_id = '" +
                       b->content_id + "') WHERE content_id = '" + a->content_id + "'").ok());
  db.reset();
  v = OpenVault(State(), master_);
  EXPECT_EQ(v->OpenContent(a->content_id).status().code(), common::StatusCode::kDataLoss);
}

TEST_F(VaultTest, ShreddedContentIsUnrecoverableFromFilesWalAndEarlierBackups) {
  const std::string planted = "PLANTED-PLAINTEXT-7f3a9c: my card is 4111 1111 1111 1111";
  std::string content_id, dek;
  {
    auto ledger = OpenLedger();
    auto v = OpenVault(State(), master_);
    ASSERT_TRUE(v->CreateConversation("doomed", "internal", kStart + kDay).ok());
    ASSERT_TRUE(v->CreateConversation("kept", "internal", kStart + 30 * kDay).ok());
    auto sealed = v->Seal("doomed", "r1", ContentKind::kPrompt, planted);
    ASSERT_TRUE(sealed.ok());
    content_id = sealed->content_id;
    Record r = testing::MakeRecord(1);
    r.conversation_id = "doomed";
    r.content_sha256 = sealed->sha256;
    ASSERT_TRUE(ledger->Append(r).ok());
    ASSERT_TRUE(v->Seal("kept", "r2", ContentKind::kPrompt, "keep me").ok());
    dek = DataKeyBytes("doomed");
    ASSERT_EQ(dek.size(), 32u);

    // Backups taken before the shred, while the databases are live (WAL included).
    CopyFiles(State(), dir_.File("backup-live"),
              {"vault.db", "vault.db-wal", "ledger.db", "ledger.db-wal"});
    // Positive control: before the shred the backup plus the key store
    // does give the content back, so the checks below can fail.
    CopyFiles(State(), dir_.File("control"), {"vault.db", "vault.db-wal", "keys.db", "keys.db-wal"});
    {
      auto control = OpenVault(dir_.File("control"), master_);
      auto p = control->OpenContent(content_id);
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(p->InsecureData()), p->size()), planted);
    }

    clock_->Advance(2 * kDay);
    RetentionSweeper sweeper(ledger.get(), v.get(), RetentionOptions{std::nullopt, clock_});
    auto report = sweeper.RunOnce();
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->shredded, 1u);
    EXPECT_EQ(report->events_recorded, 1u);
    EXPECT_EQ(v->OpenContent(content_id).status().code(), common::StatusCode::kNotFound);
    EXPECT_TRUE(v->GetConversation("doomed")->shredded_us.has_value());
    EXPECT_EQ(v->CreateConversation("doomed", "internal", kStart + 9 * kDay).reason(), "SHREDDED");
    // keys.db's WAL holds no older page image.
    EXPECT_EQ(fs::exists(State() + "/keys.db-wal") ? fs::file_size(State() + "/keys.db-wal") : 0u, 0u);
  }
  CopyFiles(State(), dir_.File("backup-closed"), {"vault.db", "ledger.db"});

  // Raw files: neither the planted plaintext nor the data key appear anywhere.
  for (const std::string& d : {State(), dir_.File("backup-live"), dir_.File("backup-closed")}) {
    EXPECT_TRUE(FilesContaining(d, planted).empty()) << d;
    EXPECT_TRUE(FilesContaining(d, "PLANTED-PLAINTEXT").empty()) << d;
    EXPECT_TRUE(FilesContaining(d, dek).empty()) << d;
  }
  // The pre-shred backup, with the master key and today's key store, cannot
  // give the content back: its data key exists nowhere any more.
  CopyFiles(State(), dir_.File("backup-live"), {"keys.db"});
  {
    auto restored = OpenVault(dir_.File("backup-live"), master_);
    auto p = restored->OpenContent(content_id);
    EXPECT_EQ(p.status().code(), common::StatusCode::kFailedPrecondition);
    EXPECT_EQ(p.status().reason(), "SHREDDED");
  }
  // The ledger still verifies and records the shred.
  auto reader = *LedgerReader::Open(State() + "/ledger.db", master_);
  VerifyOptions o;
  o.trusted_key = signer_->public_key();
  auto verified = reader->Verify(o);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok()) << verified->Summary();
  QueryFilter f;
  f.event = EventType::kShred;
  std::vector<Record> shreds;
  ASSERT_TRUE(reader->Query(f, [&](const Record& r) { shreds.push_back(r); return true; }).ok());
  ASSERT_EQ(shreds.size(), 1u);
  EXPECT_EQ(shreds[0].conversation_id, "doomed");
}

TEST_F(VaultTest, LegalHoldSuspendsShreddingUntilReleased) {
  auto ledger = OpenLedger();
  auto v = OpenVault(State(), master_);
  ASSERT_TRUE(v->CreateConversation("held", "secret", kStart + kDay).ok());
  auto s = v->Seal("held", "r", ContentKind::kPrompt, "evidence");
  ASSERT_TRUE(s.ok());
  RetentionSweeper sweeper(ledger.get(), v.get(), RetentionOptions{std::nullopt, clock_});
  ASSERT_TRUE(sweeper.SetLegalHold("held", true, "auditor-1", "case-42").ok());
  EXPECT_EQ(v->Shred("held").reason(), "LEGAL_HOLD");
  clock_->Advance(3 * kDay);
  auto r1 = sweeper.RunOnce();
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->shredded, 0u);
  EXPECT_TRUE(v->OpenContent(s->content_id).ok());
  ASSERT_TRUE(sweeper.SetLegalHold("held", false, "auditor-1", "case-42 closed").ok());
  auto r2 = sweeper.RunOnce();
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->shredded, 1u);
  EXPECT_EQ(v->OpenContent(s->content_id).status().code(), common::StatusCode::kNotFound);
  EXPECT_EQ(ledger->size(), 3u);  // hold, release, shred
}

TEST_F(VaultTest, ErasureRequestShredsBeforeExpiryAndIsRecorded) {
  auto ledger = OpenLedger();
  auto v = OpenVault(State(), master_);
  ASSERT_TRUE(v->CreateConversation("gdpr", "personal", kStart + 365 * kDay).ok());
  auto s = v->Seal("gdpr", "r", ContentKind::kPrompt, "my address is ...");
  RetentionSweeper sweeper(ledger.get(), v.get(), RetentionOptions{std::nullopt, clock_});
  ASSERT_TRUE(sweeper.Erase("gdpr", "dpo").ok());
  EXPECT_EQ(v->OpenContent(s->content_id).status().code(), common::StatusCode::kNotFound);
  EXPECT_EQ(ledger->size(), 1u);
}

TEST_F(VaultTest, RotationRewrapsKeysAndRekeysBothDatabases) {
  MasterKey next = testing::TestMasterKey(0x99);
  std::string id;
  {
    auto v = OpenVault(State(), master_);
    ASSERT_TRUE(v->CreateConversation("c", "internal", kStart + kDay).ok());
    id = v->Seal("c", "r", ContentKind::kResponse, "rotated content")->content_id;
    ASSERT_TRUE(v->Rotate(next).ok());
    EXPECT_TRUE(v->OpenContent(id).ok());
  }
  auto old = ContentVault::Open(master_, VaultOptions{State(), clock_});
  EXPECT_EQ(old.status().reason(), "WRONG_KEY");
  auto v = OpenVault(State(), next);
  auto p = v->OpenContent(id);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p->InsecureData()), p->size()),
            "rotated content");
}

}  // namespace
}  // namespace audit
