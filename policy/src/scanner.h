// Sensitive-data detectors compiled into one RE2 program and run in one pass.
//
// Every detector is `prefix (inner) suffix`, where prefix and suffix are
// Unicode-aware boundaries (start/end of text, or a character that is not a
// letter, digit, mark or '_' -- ideographic scripts, written without spaces,
// count as boundaries). All detectors are joined into one alternation with one
// capture group each; Scan() repeatedly asks RE2 for the leftmost match from
// the current position, so the text is read once (RE2 guarantees time linear
// in the input for each search, and searches continue after each candidate).
// A candidate then goes through its detector's validator (Luhn, mod-97, SSN
// rules, octets, inet_pton...), which may also narrow the span. If it fails,
// the other detectors are tried anchored at the same position.
#ifndef POLICY_SRC_SCANNER_H_
#define POLICY_SRC_SCANNER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace re2 {
class RE2;
}

namespace policy::internal {

enum class Validator { kNone, kEmail, kPhone, kSsn, kCard, kIban, kIpv4, kIpv6, kPrivateKey };

struct DetectorSpec {
  std::string name;     // "email", or a custom detector's name
  std::string type;     // placeholder type: "EMAIL" -> [EMAIL_1]
  std::string pattern;  // RE2 syntax, without boundaries
  Validator validator = Validator::kNone;
};

struct Hit {
  int detector = 0;  // index into specs()
  size_t begin = 0;
  size_t end = 0;
};

// The built-in detectors in priority order (earlier wins at the same position).
std::vector<DetectorSpec> BuiltinDetectorSpecs();

class Scanner {
 public:
  static common::StatusOr<std::unique_ptr<Scanner>> Create(std::vector<DetectorSpec> specs);
  ~Scanner();

  const std::vector<DetectorSpec>& specs() const { return specs_; }
  int Find(std::string_view name) const;  // -1 if absent

  // Non-overlapping hits, sorted by begin. `enabled[i]` turns detector i on.
  std::vector<Hit> Scan(std::string_view text, const std::vector<bool>& enabled) const;

 private:
  Scanner() = default;
  bool Accept(int detector, std::string_view text, size_t* begin, size_t* end) const;

  std::vector<DetectorSpec> specs_;
  std::unique_ptr<re2::RE2> combined_;
  std::vector<std::unique_ptr<re2::RE2>> single_;  // each detector alone, with boundaries
  std::vector<int> group_;                         // capture group of detector i in combined_
  int groups_ = 0;
};

// Validators, exposed for tests. Inputs are the candidate's characters.
bool LuhnValid(std::string_view digits);
bool CardNumberValid(std::string_view digits);  // length, known issuer prefix, Luhn
bool IbanValid(std::string_view iban);          // spaces ignored; country length + mod 97
int IbanLength(std::string_view country);       // 0 if the country has no IBAN
bool SsnValid(std::string_view ssn);            // "123-45-6789" or "123 45 6789"
bool Ipv4Valid(std::string_view text);
bool Ipv6Valid(std::string_view text);
bool ValidUtf8(std::string_view text);

}  // namespace policy::internal

#endif  // POLICY_SRC_SCANNER_H_
