#include "policy/holder.h"

#include <utility>

namespace policy {

common::StatusOr<std::unique_ptr<PolicyHolder>> PolicyHolder::FromFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Policy> p, Policy::FromFile(path));
  return std::make_unique<PolicyHolder>(std::move(p));
}

PolicyHolder::PolicyHolder(std::shared_ptr<const Policy> initial) : current_(std::move(initial)) {}

common::Status PolicyHolder::ReloadFromFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Policy> p, Policy::FromFile(path));
  Install(std::move(p));
  return common::OkStatus();
}

common::Status PolicyHolder::ReloadFromYaml(std::string_view yaml, std::string_view source_name) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Policy> p, Policy::FromYaml(yaml, source_name));
  Install(std::move(p));
  return common::OkStatus();
}

void PolicyHolder::Install(std::shared_ptr<const Policy> policy) {
  if (!policy) return;
  current_.store(std::move(policy));
  generation_.fetch_add(1);
}

}  // namespace policy
