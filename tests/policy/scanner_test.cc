// Detectors alone: validators, the one-pass scanner, adversarial inputs.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "scanner.h"

namespace policy::internal {
namespace {

std::vector<bool> All(const Scanner& s) { return std::vector<bool>(s.specs().size(), true); }

std::unique_ptr<Scanner> Builtins() {
  auto s = Scanner::Create(BuiltinDetectorSpecs());
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(s).value();
}

std::vector<std::string> Types(const Scanner& s, std::string_view text) {
  std::vector<std::string> out;
  for (const Hit& h : s.Scan(text, All(s))) {
    out.push_back(s.specs()[h.detector].name + "=" + std::string(text.substr(h.begin, h.end - h.begin)));
  }
  return out;
}

TEST(ValidatorTest, Luhn) {
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_FALSE(LuhnValid("4111111111111112"));
  EXPECT_FALSE(LuhnValid(""));
  EXPECT_FALSE(LuhnValid("41x1"));
}

TEST(ValidatorTest, CardNeedsIssuerLengthAndLuhn) {
  EXPECT_TRUE(CardNumberValid("378282246310005"));   // Amex, 15
  EXPECT_FALSE(CardNumberValid("3782822463100050"));  // Amex cannot be 16
  EXPECT_TRUE(CardNumberValid("5500000000000004"));
  EXPECT_TRUE(CardNumberValid("6011111111111117"));
  EXPECT_FALSE(CardNumberValid("1234567812345670"));  // Luhn-valid, no issuer
}

TEST(ValidatorTest, Iban) {
  EXPECT_TRUE(IbanValid("DE89 3704 0044 0532 0130 00"));
  EXPECT_TRUE(IbanValid("GB82WEST12345698765432"));
  EXPECT_FALSE(IbanValid("DE89 3704 0044 0532 0130 01"));  // checksum
  EXPECT_FALSE(IbanValid("DE89370400440532013000 1"));     // length
  EXPECT_FALSE(IbanValid("XX89370400440532013000"));       // country
  EXPECT_EQ(IbanLength("NO"), 15);
  EXPECT_EQ(IbanLength("US"), 0);
}

TEST(ValidatorTest, Ssn) {
  EXPECT_TRUE(SsnValid("123-45-6789"));
  EXPECT_TRUE(SsnValid("123 45 6789"));
  EXPECT_FALSE(SsnValid("123-45 6789"));  // mixed separators
  EXPECT_FALSE(SsnValid("000-45-6789"));
  EXPECT_FALSE(SsnValid("666-45-6789"));
  EXPECT_FALSE(SsnValid("900-45-6789"));
  EXPECT_FALSE(SsnValid("123-00-6789"));
  EXPECT_FALSE(SsnValid("123-45-0000"));
}

TEST(ValidatorTest, IpAddresses) {
  EXPECT_TRUE(Ipv4Valid("0.0.0.0"));
  EXPECT_TRUE(Ipv4Valid("255.255.255.255"));
  EXPECT_FALSE(Ipv4Valid("256.1.1.1"));
  EXPECT_FALSE(Ipv4Valid("01.2.3.4"));
  EXPECT_FALSE(Ipv4Valid("1.2.3"));
  EXPECT_TRUE(Ipv6Valid("2001:db8::1"));
  EXPECT_TRUE(Ipv6Valid("::ffff:10.1.2.3"));
  EXPECT_FALSE(Ipv6Valid("12:30:45"));
  EXPECT_FALSE(Ipv6Valid("2001:db8:::1"));
}

TEST(ValidatorTest, Utf8) {
  EXPECT_TRUE(ValidUtf8("plain"));
  EXPECT_TRUE(ValidUtf8("日本語 é 📧"));
  EXPECT_FALSE(ValidUtf8("\xff"));
  EXPECT_FALSE(ValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(ValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(ValidUtf8("abc\xe6\x97"));       // truncated
}

TEST(ScannerTest, FindsEveryTypeInOnePassInOrder) {
  auto s = Builtins();
  EXPECT_EQ(Types(*s, "a@example.com 123-45-6789 4111111111111111 10.0.0.1 ::1"),
            (std::vector<std::string>{"email=a@example.com", "ssn=123-45-6789",
                                      "card=4111111111111111", "ipv4=10.0.0.1", "ipv6=::1"}));
}

TEST(ScannerTest, AdjacentFindingsSeparatedByOneCharacter) {
  auto s = Builtins();
  EXPECT_EQ(Types(*s, "a@example.com,b@example.com"),
            (std::vector<std::string>{"email=a@example.com", "email=b@example.com"}));
}

TEST(ScannerTest, DisabledDetectorsAreSkippedButOthersStillMatchThere) {
  auto s = Builtins();
  std::vector<bool> enabled = All(*s);
  enabled[s->Find("card")] = false;
  // The text is a card candidate first; with cards off, the phone detector
  // still gets its chance at the same place.
  std::string text = "202-555-0143";
  auto hits = s->Scan(text, enabled);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(s->specs()[hits[0].detector].name, "phone");
}

TEST(ScannerTest, CustomPatternsWithCaptureGroupsKeepLaterDetectorsApart) {
  std::vector<DetectorSpec> specs = {{"custom", "CUSTOM", "(A)(B)+C", Validator::kNone},
                                     {"ssn", "SSN", "[0-9]{3}-[0-9]{2}-[0-9]{4}", Validator::kSsn}};
  auto s = Scanner::Create(specs);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(Types(**s, "ABBC then 123-45-6789"),
            (std::vector<std::string>{"custom=ABBC", "ssn=123-45-6789"}));
}

TEST(ScannerTest, InvalidCustomPatternIsRefused) {
  auto s = Scanner::Create({{"bad", "BAD", "(unclosed", Validator::kNone}});
  EXPECT_EQ(s.status().code(), common::StatusCode::kInvalidArgument);
  auto e = Scanner::Create({{"empty", "EMPTY", "x?", Validator::kNone}});
  EXPECT_EQ(e.status().code(), common::StatusCode::kInvalidArgument);
}

TEST(ScannerTest, PrivateKeyBlockSpansToItsEndLine) {
  auto s = Builtins();
  std::string text =
      "x -----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY----- y 10.0.0.1";
  auto t = Types(*s, text);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0], "private_key=-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----");
  EXPECT_EQ(t[1], "ipv4=10.0.0.1");
}

// Inputs that make backtracking engines or naive rescans quadratic. These
// must finish (CTest's timeout is the guard; the benchmark prints timings).
TEST(ScannerTest, AdversarialMegabyteInputsFinish) {
  auto s = Builtins();
  const size_t n = 1 << 20;
  std::string dots;
  while (dots.size() < n) dots += "a.";
  EXPECT_TRUE(s->Scan(dots, All(*s)).empty());
  std::string digits(n, '1');
  EXPECT_TRUE(s->Scan(digits, All(*s)).empty());
  std::string headers;
  while (headers.size() < n) headers += "-----BEGIN PRIVATE KEY-----";
  auto hits = s->Scan(headers, All(*s));
  ASSERT_EQ(hits.size(), 1u);  // one block, running to the end of the text
  EXPECT_EQ(hits[0].end, headers.size());
  std::string ats;
  while (ats.size() < n) ats += "a@";
  EXPECT_TRUE(s->Scan(ats, All(*s)).empty());
  std::string groups;
  while (groups.size() < n) groups += "1 ";
  EXPECT_TRUE(s->Scan(groups, All(*s)).empty());
}

}  // namespace
}  // namespace policy::internal
