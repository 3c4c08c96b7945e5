#include "audit/record.h"

#include <gtest/gtest.h>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "test_util.h"

namespace audit {
namespace {

TEST(RecordTest, EncodeDecodeRoundTripIsCanonical) {
  Record r = testing::MakeRecord(5);
  r.seq = 123456789;
  r.time_us = 1764428685123456;
  r.reasons = {"a", "", "b"};
  r.details = std::string("\0\xff", 2);
  auto bytes = EncodeRecord(r);
  ASSERT_TRUE(bytes.ok());
  auto back = DecodeRecord(*bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
  EXPECT_EQ(*EncodeRecord(*back), *bytes);
}

TEST(RecordTest, EncodingIsVersionedAndBigEndian) {
  Record r;
  r.seq = 1;
  r.time_us = 2;
  r.event = EventType::kShred;
  auto bytes = *EncodeRecord(r);
  EXPECT_EQ(bytes.substr(0, 3), std::string("AR\x01", 3));
  EXPECT_EQ(bytes.substr(3, 8), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_EQ(static_cast<uint8_t>(bytes[19]), 9);
  // 3 + 8 + 8 + 1 + 8 empty strings + reason count + 5 strings + 4 + 4 + 8
  EXPECT_EQ(bytes.size(), 3u + 8 + 8 + 1 + 8 * 4 + 4 + 5 * 4 + 4 + 4 + 8);
}

TEST(RecordTest, DecodeRejectsTruncationTrailingBytesAndBadFields) {
  auto bytes = *EncodeRecord(testing::MakeRecord(3));
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_EQ(DecodeRecord(bytes.substr(0, cut)).status().code(), common::StatusCode::kDataLoss);
  }
  EXPECT_EQ(DecodeRecord(bytes + "x").status().code(), common::StatusCode::kDataLoss);
  std::string bad_version = bytes;
  bad_version[2] = 2;
  EXPECT_EQ(DecodeRecord(bad_version).status().code(), common::StatusCode::kDataLoss);
  std::string bad_event = bytes;
  bad_event[19] = 99;
  EXPECT_EQ(DecodeRecord(bad_event).status().code(), common::StatusCode::kDataLoss);
  std::string huge_len = bytes;
  huge_len[20] = '\x7f';  // length prefix of the subject
  EXPECT_EQ(DecodeRecord(huge_len).status().code(), common::StatusCode::kDataLoss);
}

TEST(RecordTest, EncodeRefusesOversizedFields) {
  Record r;
  r.details = std::string(kMaxFieldBytes + 1, 'x');
  EXPECT_EQ(EncodeRecord(r).status().code(), common::StatusCode::kInvalidArgument);
  Record many;
  many.reasons.assign(kMaxReasons + 1, "r");
  EXPECT_EQ(EncodeRecord(many).status().code(), common::StatusCode::kInvalidArgument);
}

TEST(RecordTest, TimesFormatAndParse) {
  EXPECT_EQ(FormatTime(1764428685123456), "2025-11-29T15:04:45.123456Z");
  EXPECT_EQ(*ParseTime("2025-11-29T15:04:45.123456Z"), 1764428685123456);
  EXPECT_EQ(*ParseTime("2025-11-29T15:04:45Z"), 1764428685000000);
  EXPECT_EQ(*ParseTime("2025-11-29"), 1764374400000000);
  EXPECT_EQ(*ParseTime("1764428685"), 1764428685000000);
  EXPECT_EQ(ParseTime("yesterday").status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseTime("2025-11-29T15:04:45+01:00").status().code(),
            common::StatusCode::kInvalidArgument);
}

TEST(RecordTest, JsonHasNamesNotCodes) {
  Record r = testing::MakeRecord(0);
  r.time_us = 1764428685000000;
  std::string j = RecordToJson(r).Dump();
  EXPECT_NE(j.find("\"event\":\"denial\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"time\":\"2025-11-29T15:04:45.000000Z\""), std::string::npos) << j;
}

TEST(CheckpointTest, SignedTextRoundTripsAndVerifies) {
  auto signer = testing::TestSigner("audit.example");
  Checkpoint cp{"assistant-audit/test", 42, LeafHash("x"), 1764428685000000};
  auto sc = SignCheckpoint(cp, *signer);
  ASSERT_TRUE(sc.ok());
  std::string text = sc->ToText();
  EXPECT_EQ(text.substr(0, text.find('\n')), "assistant-audit/test");
  auto parsed = SignedCheckpoint::Parse(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->checkpoint, cp);
  EXPECT_TRUE(parsed->Verify(signer->public_key()).ok());

  std::string altered = text;
  altered.replace(altered.find("\n42\n"), 4, "\n43\n");
  auto p2 = SignedCheckpoint::Parse(altered);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(p2->Verify(signer->public_key()).reason(), "BAD_SIGNATURE");

  auto other = testing::TestSigner("audit.example");
  EXPECT_EQ(parsed->Verify(other->public_key()).reason(), "KEY_MISMATCH");
}

TEST(CheckpointTest, ParseRejectsMalformedText) {
  EXPECT_EQ(SignedCheckpoint::Parse("origin\n12\n").status().code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignedCheckpoint::Parse("").status().code(), common::StatusCode::kInvalidArgument);
  auto signer = testing::TestSigner();
  auto sc = *SignCheckpoint(Checkpoint{"o", 1, Hash{}, 0}, *signer);
  std::string t = sc.ToText();
  EXPECT_TRUE(SignedCheckpoint::Parse(t).ok());
  EXPECT_FALSE(SignedCheckpoint::Parse(t + "\n").ok());
  std::string lead_zero = t;
  lead_zero.replace(lead_zero.find("\n1\n"), 3, "\n01\n");
  EXPECT_FALSE(SignedCheckpoint::Parse(lead_zero).ok());
}

TEST(KeysTest, PublicKeyVkeyRoundTripAndSignerFile) {
  testing::TempDir dir;
  auto signer = testing::TestSigner("audit.example");
  std::string vkey = signer->public_key().ToVkey();
  auto pk = PublicKey::FromVkey(vkey);
  ASSERT_TRUE(pk.ok()) << pk.status();
  EXPECT_EQ(*pk, signer->public_key());
  ASSERT_TRUE(signer->WriteFile(dir.File("signing.key")).ok());
  auto loaded = Signer::FromFile(dir.File("signing.key"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->public_key(), signer->public_key());
  EXPECT_EQ(signer->WriteFile(dir.File("signing.key")).code(), common::StatusCode::kAlreadyExists);
}

TEST(KeysTest, MasterKeyFileMustNotBeGroupOrWorldReadable) {
  testing::TempDir dir;
  std::string path = dir.File("master.key");
  ASSERT_TRUE(MasterKey::GenerateFile(path).ok());
  auto ok = MasterKey::FromFile(path);
  ASSERT_TRUE(ok.ok()) << ok.status();
  ::chmod(path.c_str(), 0640);
  auto refused = MasterKey::FromFile(path);
  EXPECT_EQ(refused.status().code(), common::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().reason(), "KEY_FILE_PERMISSIONS");
  ::chmod(path.c_str(), 0604);
  EXPECT_EQ(MasterKey::FromFile(path).status().reason(), "KEY_FILE_PERMISSIONS");
  ::chmod(path.c_str(), 0400);
  EXPECT_TRUE(MasterKey::FromFile(path).ok());
  EXPECT_EQ(MasterKey::FromFile(dir.File("absent")).status().code(),
            common::StatusCode::kNotFound);
}

TEST(KeysTest, MasterKeyFromSystemdCredential) {
  testing::TempDir dir;
  ASSERT_TRUE(MasterKey::GenerateFile(dir.File("audit-master")).ok());
  auto direct = MasterKey::FromFile(dir.File("audit-master"));
  ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  auto cred = MasterKey::FromCredential("audit-master");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(cred.ok()) << cred.status();
  EXPECT_EQ(cred->id(), direct->id());
  EXPECT_EQ(MasterKey::FromCredential("audit-master").status().code(),
            common::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace audit
