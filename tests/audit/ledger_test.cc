#include "audit/ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "db.h"
#include "fault_vfs.h"
#include "ledger_store.h"
#include "test_util.h"

namespace audit {
namespace {

using testing::TempDir;

constexpr int64_t kStart = 1764428685000000;  // 2025-11-29T15:04:45Z

class LedgerTest : public ::testing::Test {
 protected:
  LedgerTest()
      : master_(testing::TestMasterKey()),
        signer_(testing::TestSigner()),
        clock_(std::make_shared<ManualClock>(kStart)) {}

  std::unique_ptr<Ledger> OpenLedger() {
    LedgerOptions o;
    o.path = dir_.File("ledger.db");
    o.signer = signer_;
    o.clock = clock_;
    o.head_interval = 16;
    auto l = Ledger::Open(master_, o);
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? std::move(*l) : nullptr;
  }

  void AppendN(Ledger& l, int from, int to) {
    for (int i = from; i < to; ++i) {
      clock_->Advance(1000);
      auto seq = l.Append(testing::MakeRecord(i));
      ASSERT_TRUE(seq.ok()) << seq.status();
      ASSERT_EQ(*seq, static_cast<uint64_t>(i));
    }
  }

  // Raw SQLCipher access with the key, as an attacker holding it would have.
  std::unique_ptr<internal::Db> Raw() {
    auto key = *master_.Derive("ledger-db");
    auto db = internal::Db::Open(dir_.File("ledger.db"), key, internal::Db::Mode::kReadWrite);
    EXPECT_TRUE(db.ok()) << db.status();
    return std::move(*db);
  }

  VerifyReport Verify(VerifyOptions options = {}) {
    auto reader = LedgerReader::Open(dir_.File("ledger.db"), master_);
    EXPECT_TRUE(reader.ok()) << reader.status();
    auto report = (*reader)->Verify(options);
    EXPECT_TRUE(report.ok()) << report.status();
    return *report;
  }

  VerifyOptions Trusted() {
    VerifyOptions o;
    o.trusted_key = signer_->public_key();
    return o;
  }

  // A ledger of 200 records, closed.
  SignedCheckpoint Build200() {
    auto l = OpenLedger();
    AppendN(*l, 0, 200);
    return *l->LatestHead();
  }

  std::string Body(internal::Db& db, int seq) {
    auto st = *db.Prepare("SELECT body FROM records WHERE seq = ?");
    st.Bind(1, seq);
    EXPECT_TRUE(*st.Step());
    return std::string(st.Blob(0));
  }

  void SetRow(internal::Db& db, int seq, const std::string& body, bool fix_leaf) {
    auto st = *db.Prepare(fix_leaf ? "UPDATE records SET body = ?, leaf = ? WHERE seq = ?"
                                   : "UPDATE records SET body = ? WHERE seq = ?");
    st.Bind(1, body);
    if (fix_leaf) {
      Hash leaf = LeafHash(body);
      st.Bind(2, std::string_view(reinterpret_cast<const char*>(leaf.data()), 32)).Bind(3, seq);
    } else {
      st.Bind(2, seq);
    }
    ASSERT_TRUE(st.Run().ok());
  }

  TempDir dir_;
  MasterKey master_;
  std::shared_ptr<Signer> signer_;
  std::shared_ptr<ManualClock> clock_;
};

TEST_F(LedgerTest, AppendedRecordsVerifyAndQueryBack) {
  auto head = Build200();
  EXPECT_EQ(head.checkpoint.tree_size, 200u);
  VerifyReport r = Verify(Trusted());
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.records_checked, 200u);
  EXPECT_EQ(r.root, head.checkpoint.root);
  EXPECT_TRUE(r.key_pinned);
  EXPECT_GE(r.heads_checked, 200u / 16);

  auto reader = *LedgerReader::Open(dir_.File("ledger.db"), master_);
  QueryFilter f;
  f.event = EventType::kDenial;
  f.since_us = kStart + 50 * 1000;
  int n = 0;
  ASSERT_TRUE(reader->Query(f, [&](const Record& rec) {
    EXPECT_EQ(rec.event, EventType::kDenial);
    EXPECT_GE(rec.time_us, kStart + 50 * 1000);
    ++n;
    return true;
  }).ok());
  EXPECT_EQ(n, 30);  // denials are every 5th record; seq 50..199 -> 30
  auto rec = reader->Get(7);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->request_id, "req-7");
  EXPECT_EQ(rec->time_us, kStart + 8 * 1000);
}

TEST_F(LedgerTest, ProofsFromTheDatabaseVerifyAgainstSignedHeads) {
  auto l = OpenLedger();
  AppendN(*l, 0, 37);
  auto old_head = *l->LatestHead();
  AppendN(*l, 37, 100);
  auto new_head = *l->LatestHead();
  l.reset();
  auto reader = *LedgerReader::Open(dir_.File("ledger.db"), master_);
  auto proof = reader->InclusionProof(20, 100);
  ASSERT_TRUE(proof.ok());
  auto body = *EncodeRecord(*reader->Get(20));
  EXPECT_TRUE(VerifyInclusion(20, 100, LeafHash(body), *proof, new_head.checkpoint.root).ok());
  auto cons = reader->ConsistencyProof(37, 100);
  ASSERT_TRUE(cons.ok());
  EXPECT_TRUE(VerifyConsistency(37, 100, old_head.checkpoint.root, new_head.checkpoint.root, *cons)
                  .ok());
}

TEST_F(LedgerTest, ConcurrentAppendsShareCommitsAndAllArePresent) {
  auto l = OpenLedger();
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> seqs(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto s = l->Append(testing::MakeRecord(t * 1000 + i));
        ASSERT_TRUE(s.ok());
        seqs[t].push_back(*s);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(l->size(), 400u);
  std::vector<bool> seen(400);
  for (auto& v : seqs) for (uint64_t s : v) seen[s] = true;
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 400);
  l.reset();
  EXPECT_TRUE(Verify(Trusted()).ok());
}

// ---- Tampering, each detected and pinpointed ----

TEST_F(LedgerTest, EditedByteInARecordIsPinpointed) {
  Build200();
  auto db = Raw();
  std::string body = Body(*db, 57);
  body[body.find("user") + 4] ^= 1;  // one byte of the subject
  SetRow(*db, 57, body, false);
  db.reset();
  VerifyReport r = Verify(Trusted());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kModified);
  EXPECT_EQ(r.findings[0].seq, 57u);
}

TEST_F(LedgerTest, RewrittenRecordWithRecomputedLeafIsCaughtByTheSignedHead) {
  Build200();
  auto db = Raw();
  std::string body = Body(*db, 100);
  body[body.find("allow")] = 'A';
  SetRow(*db, 100, body, true);  // the attacker fixes the stored leaf too
  db.reset();
  VerifyReport r = Verify(Trusted());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kModified);
  EXPECT_LE(r.findings[0].seq, 100u);
  EXPECT_GE(r.findings[0].seq_end, 100u);
  EXPECT_LT(r.findings[0].seq_end - r.findings[0].seq, 16u);  // within one head interval
}

TEST_F(LedgerTest, DeletedRecordIsPinpointed) {
  Build200();
  auto db = Raw();
  ASSERT_TRUE(db->Exec("DELETE FROM records WHERE seq = 80").ok());
  db.reset();
  VerifyReport r = Verify(Trusted());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kMissing);
  EXPECT_EQ(r.findings[0].seq, 80u);
}

TEST_F(LedgerTest, SwappedRecordsArePinpointed) {
  Build200();
  auto db = Raw();
  std::string a = Body(*db, 30), b = Body(*db, 31);
  SetRow(*db, 30, b, true);
  SetRow(*db, 31, a, true);
  db.reset();
  VerifyReport r = Verify(Trusted());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kReordered);
  EXPECT_EQ(r.findings[0].seq, 30u);
}

TEST_F(LedgerTest, TruncatedTailIsDetected) {
  Build200();
  auto db = Raw();
  ASSERT_TRUE(db->Exec("DELETE FROM records WHERE seq >= 190").ok());
  db.reset();
  VerifyReport r = Verify(Trusted());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kTruncated);
  EXPECT_EQ(r.findings[0].seq, 190u);
}

TEST_F(LedgerTest, TruncatedTailWithHeadsRemovedIsCaughtByAnExternalCheckpoint) {
  auto head = Build200();
  auto db = Raw();
  ASSERT_TRUE(db->Exec("DELETE FROM records WHERE seq >= 175").ok());
  ASSERT_TRUE(db->Exec("DELETE FROM heads WHERE tree_size > 175").ok());
  db.reset();
  VerifyOptions o = Trusted();
  o.checkpoints.push_back(head);
  VerifyReport r = Verify(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].seq, 175u);
  EXPECT_EQ(r.findings[0].kind, FindingKind::kRolledBack);
}

TEST_F(LedgerTest, ForgedRecordInsertedWithoutTheSigningKeyIsPinpointed) {
  Build200();
  Record forged = testing::MakeRecord(999);
  forged.seq = 200;
  forged.time_us = kStart + 10'000'000;
  std::string body = *EncodeRecord(forged);
  Hash leaf = LeafHash(body);
  auto db = Raw();
  auto st = *db->Prepare("INSERT INTO records(seq, body, leaf) VALUES(?, ?, ?)");
  st.Bind(1, 200).Bind(2, body).Bind(3, std::string_view(reinterpret_cast<const char*>(leaf.data()), 32));
  ASSERT_TRUE(st.Run().ok());
  db.reset();
  VerifyReport r = Verify(Trusted());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kInserted);
  EXPECT_EQ(r.findings[0].seq, 200u);
}

TEST_F(LedgerTest, RestoredOlderCopyIsDetectedAgainstALaterCheckpoint) {
  {
    auto l = OpenLedger();
    AppendN(*l, 0, 120);
  }
  std::filesystem::copy_file(dir_.File("ledger.db"), dir_.File("old.db"));
  SignedCheckpoint later;
  {
    auto l = OpenLedger();
    AppendN(*l, 120, 200);
    later = *l->LatestHead();
  }
  std::filesystem::copy_file(dir_.File("old.db"), dir_.File("ledger.db"),
                             std::filesystem::copy_options::overwrite_existing);
  // Internally valid on its own...
  EXPECT_TRUE(Verify(Trusted()).ok());
  // ...but not against the checkpoint the auditor kept.
  VerifyOptions o = Trusted();
  o.checkpoints.push_back(later);
  VerifyReport r = Verify(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kRolledBack);
  EXPECT_EQ(r.findings[0].seq, 120u);
}

TEST_F(LedgerTest, ReplacedSigningKeyIsDetected) {
  auto head = Build200();
  // The attacker re-signs every head with a key of their own and stores it.
  auto mallory = testing::TestSigner("audit.test");
  auto db = Raw();
  auto meta = *internal::ReadLedgerMeta(*db);
  auto heads = *internal::ReadHeads(*db, meta);
  for (auto& h : heads) {
    auto resigned = *SignCheckpoint(h.checkpoint, *mallory);
    ASSERT_TRUE(internal::InsertHead(*db, resigned, false).ok());
  }
  ASSERT_TRUE(internal::SetMeta(*db, "public_key", mallory->public_key().ToVkey()).ok());
  db.reset();
  VerifyReport with_key = Verify(Trusted());
  ASSERT_FALSE(with_key.ok());
  EXPECT_EQ(with_key.findings[0].kind, FindingKind::kKeyReplaced);

  VerifyOptions with_cp;
  with_cp.checkpoints.push_back(head);
  VerifyReport r = Verify(with_cp);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.findings[0].kind, FindingKind::kKeyReplaced);

  // Without any trust anchor the swap is invisible, and the report says so.
  VerifyReport tofu = Verify();
  EXPECT_FALSE(tofu.key_pinned);
  ASSERT_FALSE(tofu.notes.empty());
}

// ---- Opening the wrong thing ----

TEST_F(LedgerTest, WrongKeyIsAClearError) {
  Build200();
  auto r = LedgerReader::Open(dir_.File("ledger.db"), testing::TestMasterKey(0x11));
  EXPECT_EQ(r.status().code(), common::StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().reason(), "WRONG_KEY");
}

TEST_F(LedgerTest, FileThatIsNotADatabaseIsAClearError) {
  testing::WriteAll(dir_.File("notes.txt"), "this is not a database\n");
  auto r = LedgerReader::Open(dir_.File("notes.txt"), master_);
  EXPECT_EQ(r.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "NOT_A_DATABASE");
  testing::WriteAll(dir_.File("zeros.db"), std::string(8192, '\0'));
  auto z = LedgerReader::Open(dir_.File("zeros.db"), master_);
  EXPECT_EQ(z.status().code(), common::StatusCode::kPermissionDenied);
  EXPECT_EQ(LedgerReader::Open(dir_.File("absent.db"), master_).status().code(),
            common::StatusCode::kNotFound);
}

TEST_F(LedgerTest, CorruptedPageIsAClearError) {
  Build200();
  std::string bytes = testing::ReadAll(dir_.File("ledger.db"));
  ASSERT_GT(bytes.size(), 4096u * 6);
  bytes[4096 * 5 + 200] ^= 0x5a;
  testing::WriteAll(dir_.File("ledger.db"), bytes);
  auto reader = LedgerReader::Open(dir_.File("ledger.db"), master_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto report = (*reader)->Verify(Trusted());
  EXPECT_EQ(report.status().code(), common::StatusCode::kDataLoss);
  EXPECT_EQ(report.status().reason(), "CORRUPTED_PAGE");
}

TEST_F(LedgerTest, ReopenContinuesTheTreeAndRefusesAForeignSigner) {
  Build200();
  {
    auto l = OpenLedger();
    EXPECT_EQ(l->size(), 200u);
    AppendN(*l, 200, 210);
  }
  EXPECT_TRUE(Verify(Trusted()).ok());
  LedgerOptions o;
  o.path = dir_.File("ledger.db");
  o.signer = testing::TestSigner("other");
  EXPECT_EQ(Ledger::Open(master_, o).status().code(), common::StatusCode::kFailedPrecondition);
}

TEST_F(LedgerTest, PruningKeepsTheLedgerVerifiableAndRecordsAPurge) {
  auto head_before = Build200();
  {
    auto l = OpenLedger();
    auto removed = l->PruneBefore(kStart + 101 * 1000);  // records 0..99 have time < cutoff
    ASSERT_TRUE(removed.ok()) << removed.status();
    EXPECT_EQ(*removed, 100u);
    EXPECT_EQ(l->size(), 201u);  // plus the purge event
  }
  auto reader = *LedgerReader::Open(dir_.File("ledger.db"), master_);
  EXPECT_EQ(reader->pruned_size(), 100u);
  EXPECT_EQ(reader->Get(50).status().code(), common::StatusCode::kNotFound);
  auto purge = reader->Get(200);
  ASSERT_TRUE(purge.ok());
  EXPECT_EQ(purge->event, EventType::kPurge);
  VerifyOptions o = Trusted();
  o.checkpoints.push_back(head_before);  // the tree before pruning still matches
  VerifyReport r = Verify(o);
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.first_seq, 100u);
  EXPECT_EQ(r.records_checked, 101u);
}

TEST_F(LedgerTest, RekeyedLedgerOpensOnlyWithTheNewKey) {
  Build200();
  MasterKey next = testing::TestMasterKey(0x77);
  {
    auto l = OpenLedger();
    ASSERT_TRUE(l->Rekey(next).ok());
  }
  EXPECT_EQ(LedgerReader::Open(dir_.File("ledger.db"), master_).status().reason(), "WRONG_KEY");
  auto reader = LedgerReader::Open(dir_.File("ledger.db"), next);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto report = (*reader)->Verify(Trusted());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->Summary();
}

// The WAL is copied into the database file by the ledger's own background
// connection (no append runs the checkpoint): the file grows while appends
// go on, and again after a rekey (which reopens that connection).
TEST_F(LedgerTest, WalIsCheckpointedInTheBackgroundAlsoAfterARekey) {
  auto l = OpenLedger();
  ASSERT_NE(l, nullptr);
  const std::string path = dir_.File("ledger.db");
  auto grows_past = [&](uintmax_t size) {
    for (int i = 0; i < 500; ++i) {
      if (std::filesystem::file_size(path) > size) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  const uintmax_t initial = std::filesystem::file_size(path);
  AppendN(*l, 0, 1500);
  EXPECT_TRUE(grows_past(initial)) << "no checkpoint after 1500 appends";
  MasterKey next = testing::TestMasterKey(0x77);
  ASSERT_TRUE(l->Rekey(next).ok());
  const uintmax_t rekeyed = std::filesystem::file_size(path);
  AppendN(*l, 1500, 3000);
  EXPECT_TRUE(grows_past(rekeyed)) << "no checkpoint after the rekey";
  l.reset();
  auto reader = LedgerReader::Open(path, next);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto report = (*reader)->Verify(Trusted());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->Summary();
  EXPECT_EQ(report->tree_size, 3000u);
}

}  // namespace
}  // namespace audit

namespace audit {
namespace {

internal::FaultInjector& Injector() {
  static internal::FaultInjector* injector = [] {
    auto* i = new internal::FaultInjector;
    auto st = internal::RegisterFaultVfs("audit-fault", i);
    EXPECT_TRUE(st.ok()) << st;
    return i;
  }();
  return *injector;
}

class LedgerFaultTest : public LedgerTest {
 protected:
  std::unique_ptr<Ledger> OpenFaulty() {
    Injector().Set(internal::FaultInjector::Fault::kNone);
    LedgerOptions o;
    o.path = dir_.File("ledger.db");
    o.signer = signer_;
    o.clock = clock_;
    o.sqlite_vfs = "audit-fault";
    o.on_failure = [this](const common::Status& st) {
      ++failures_;
      last_failure_ = st;
    };
    o.on_recovered = [this](uint64_t refused) { recovered_.push_back(refused); };
    auto l = Ledger::Open(master_, o);
    EXPECT_TRUE(l.ok()) << l.status();
    return std::move(*l);
  }
  void TearDown() override { Injector().Set(internal::FaultInjector::Fault::kNone); }

  int failures_ = 0;
  common::Status last_failure_;
  std::vector<uint64_t> recovered_;
};

TEST_F(LedgerFaultTest, DiskFullRefusesAppendsAndReportsOnceWhenItClears) {
  auto l = OpenFaulty();
  AppendN(*l, 0, 5);
  Injector().Set(internal::FaultInjector::Fault::kDiskFull);
  for (int i = 0; i < 3; ++i) {
    auto seq = l->Append(testing::MakeRecord(100 + i));
    EXPECT_EQ(seq.status().code(), common::StatusCode::kResourceExhausted);
    EXPECT_EQ(seq.status().reason(), "DISK_FULL");
  }
  EXPECT_EQ(failures_, 1);  // reported once per outage, not per append
  EXPECT_EQ(l->size(), 5u);
  Injector().Set(internal::FaultInjector::Fault::kNone);
  auto seq = l->Append(testing::MakeRecord(200));
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(*seq, 6u);  // seq 5 is the outage record
  ASSERT_EQ(recovered_.size(), 1u);
  EXPECT_EQ(recovered_[0], 3u);
  l.reset();
  auto reader = *LedgerReader::Open(dir_.File("ledger.db"), master_);
  auto outage = reader->Get(5);
  ASSERT_TRUE(outage.ok());
  EXPECT_EQ(outage->event, EventType::kAuditFailure);
  EXPECT_NE(outage->details.find("appends refused: 3"), std::string::npos) << outage->details;
  EXPECT_EQ(outage->reasons, std::vector<std::string>{"DISK_FULL"});
  EXPECT_TRUE(Verify(Trusted()).ok());
}

TEST_F(LedgerFaultTest, FailedFsyncRefusesTheAppendAndTheLedgerStaysConsistent) {
  auto l = OpenFaulty();
  AppendN(*l, 0, 3);
  Injector().Set(internal::FaultInjector::Fault::kSyncError);
  auto seq = l->Append(testing::MakeRecord(50));
  EXPECT_EQ(seq.status().code(), common::StatusCode::kUnavailable);
  EXPECT_EQ(seq.status().reason(), "IO_ERROR");
  Injector().Set(internal::FaultInjector::Fault::kWriteError);
  EXPECT_EQ(l->Append(testing::MakeRecord(51)).status().code(), common::StatusCode::kUnavailable);
  EXPECT_EQ(failures_, 1);
  Injector().Set(internal::FaultInjector::Fault::kNone);
  ASSERT_TRUE(l->Append(testing::MakeRecord(52)).ok());
  EXPECT_EQ(recovered_.size(), 1u);
  l.reset();
  VerifyReport r = Verify(Trusted());
  EXPECT_TRUE(r.ok()) << r.Summary();
  // Reopening continues from whatever reached the file.
  auto again = OpenLedger();
  AppendN(*again, static_cast<int>(again->size()), static_cast<int>(again->size()) + 2);
  again.reset();
  EXPECT_TRUE(Verify(Trusted()).ok());
}

}  // namespace
}  // namespace audit

namespace audit {
namespace {

TEST_F(LedgerTest, VerifyAndExportWhileAWriterAppendsSeeOneSnapshot) {
  auto l = OpenLedger();
  AppendN(*l, 0, 20);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 20; !stop; ++i) ASSERT_TRUE(l->Append(testing::MakeRecord(i)).ok());
  });
  auto reader = *LedgerReader::Open(dir_.File("ledger.db"), master_);
  for (int round = 0; round < 5; ++round) {
    auto r = reader->Verify(Trusted());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->ok()) << r->Summary();
  }
  stop = true;
  writer.join();
}

}  // namespace
}  // namespace audit
