// The verification pass shared by the database verifier and the evidence
// bundle verifier: records arrive in storage order, heads and checkpoints are
// known up front.
#ifndef AUDIT_SRC_VERIFIER_H_
#define AUDIT_SRC_VERIFIER_H_

#include <chrono>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "audit/ledger.h"

namespace audit::internal {

struct VerifyInput {
  std::string origin;
  std::optional<PublicKey> stored_key;     // the key the ledger claims
  Frontier pruned;                          // frontier of pruned records
  std::vector<SignedCheckpoint> heads;      // stored signed heads, any order
  bool heads_authoritative = true;          // stored heads must cover every record
};

class StreamVerifier {
 public:
  StreamVerifier(VerifyInput input, const VerifyOptions& options);
  // Returns false once a finding makes further records meaningless.
  bool Add(uint64_t row_seq, std::string_view body, const Hash* stored_leaf);
  VerifyReport Finish();

 private:
  void AddFinding(FindingKind kind, uint64_t seq, std::string message, uint64_t seq_end = 0);
  void CheckSizesAt(uint64_t size);

  VerifyInput in_;
  const VerifyOptions& options_;
  std::optional<PublicKey> key_;            // the key signatures are checked against
  Frontier frontier_;
  int64_t last_time_ = 0;
  bool stopped_ = false;
  uint64_t last_good_head_ = 0;
  // tree size -> heads and checkpoints at that size that still need a root.
  std::map<uint64_t, std::vector<const SignedCheckpoint*>> heads_at_;
  std::map<uint64_t, std::vector<const SignedCheckpoint*>> checkpoints_at_;
  VerifyReport report_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace audit::internal

#endif  // AUDIT_SRC_VERIFIER_H_
