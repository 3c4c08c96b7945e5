#ifndef APPLIANCE_SRC_HEALTH_SERVICE_H_
#define APPLIANCE_SRC_HEALTH_SERVICE_H_

#include <chrono>
#include <string>

#include "assistant/v1/health.grpc.pb.h"

namespace appliance {

class HealthServiceImpl final : public assistant::v1::HealthService::Service {
 public:
  HealthServiceImpl(std::string version, std::string site);

  grpc::Status Check(grpc::ServerContext* context, const assistant::v1::HealthCheckRequest* request,
                     assistant::v1::HealthCheckResponse* response) override;

 private:
  // Constant after construction.
  const std::string version_;
  const std::string site_;
  const std::chrono::system_clock::time_point started_;
};

}  // namespace appliance

#endif  // APPLIANCE_SRC_HEALTH_SERVICE_H_
