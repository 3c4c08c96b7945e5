// Hot reload: the running policy, swapped atomically.
//
// Requests call Current() once and keep the shared_ptr for their whole life,
// so a request that started on one policy finishes on it even if a new one is
// installed meanwhile. Reload*() validates first and swaps only on success;
// an invalid file leaves the running policy in place.
#ifndef POLICY_HOLDER_H_
#define POLICY_HOLDER_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "policy/policy.h"

namespace policy {

class PolicyHolder {
 public:
  // Loads the initial policy; fails if it is invalid.
  static common::StatusOr<std::unique_ptr<PolicyHolder>> FromFile(const std::string& path);
  explicit PolicyHolder(std::shared_ptr<const Policy> initial);

  // The running policy; never null. Lock-free for readers.
  std::shared_ptr<const Policy> Current() const { return current_.load(); }

  // Validates and installs a new policy; on error the running one stays and
  // the error (with file:line:col) is returned.
  common::Status ReloadFromFile(const std::string& path);
  common::Status ReloadFromYaml(std::string_view yaml, std::string_view source_name);
  // Installs an already validated policy.
  void Install(std::shared_ptr<const Policy> policy);

  // How many policies were installed after the initial one.
  int generation() const { return generation_.load(); }

 private:
  std::atomic<std::shared_ptr<const Policy>> current_;
  std::atomic<int> generation_{0};
};

}  // namespace policy

#endif  // POLICY_HOLDER_H_
