#ifndef APPLIANCE_SRC_HEALTH_SERVICE_H_
#define APPLIANCE_SRC_HEALTH_SERVICE_H_

#include <chrono>
#include <functional>
#include <string>

#include "assistant/v1/health.grpc.pb.h"

namespace appliance {

class HealthServiceImpl final : public assistant::v1::HealthService::Service {
 public:
  // `components` (optional) adds the state of the parts behind the gateway
  // (workers, ledger, policy) and may lower the status.
  using ComponentProbe = std::function<void(assistant::v1::HealthCheckResponse*)>;
  HealthServiceImpl(std::string version, std::string site, ComponentProbe components = {});

  grpc::Status Check(grpc::ServerContext* context, const assistant::v1::HealthCheckRequest* request,
                     assistant::v1::HealthCheckResponse* response) override;

 private:
  // Constant after construction.
  const std::string version_;
  const std::string site_;
  const std::chrono::system_clock::time_point started_;
  const ComponentProbe components_;
};

}  // namespace appliance

#endif  // APPLIANCE_SRC_HEALTH_SERVICE_H_
