// The decision chain: small filters, each looking at one concern and
// returning an explicit verdict. Decide() runs all of them in order so that
// every reason is reported; deny wins when the verdicts are combined.
#ifndef POLICY_SRC_FILTERS_H_
#define POLICY_SRC_FILTERS_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "policy/decision.h"
#include "policy/policy.h"

namespace policy::internal {

enum class Verdict { kContinue, kAllow, kDeny, kRedact };

// What the filters share while deciding one request.
struct DecisionState {
  const Policy& policy;
  const RequestContext& request;
  PseudonymTable* pseudonyms;  // never null inside the chain
  Decision& decision;
  const Classification* classification = nullptr;  // set by ClassificationFilter

  void Add(std::string rule_id, Effect effect, std::string message) {
    decision.reasons.push_back({std::move(rule_id), effect, std::move(message)});
  }
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual std::string_view name() const = 0;
  virtual Verdict Apply(DecisionState& state) const = 0;
};

std::unique_ptr<Filter> MakeIdentityFilter();
std::unique_ptr<Filter> MakeNetworkFilter();
std::unique_ptr<Filter> MakeClassificationFilter();
std::unique_ptr<Filter> MakeModelFilter();
std::unique_ptr<Filter> MakeLimitsFilter();
std::unique_ptr<Filter> MakeSensitiveDataFilter();
std::unique_ptr<Filter> MakeRetentionFilter();

// The chain in order; built once, shared, immutable.
const std::vector<std::unique_ptr<Filter>>& DefaultChain();

}  // namespace policy::internal

#endif  // POLICY_SRC_FILTERS_H_
