#include "health_service.h"

#include <grpcpp/server_context.h>

namespace appliance {

HealthServiceImpl::HealthServiceImpl(std::string version, std::string site)
    : version_(std::move(version)), site_(std::move(site)),
      started_(std::chrono::system_clock::now()) {}

grpc::Status HealthServiceImpl::Check(grpc::ServerContext* context,
                                      const assistant::v1::HealthCheckRequest* /*request*/,
                                      assistant::v1::HealthCheckResponse* response) {
  response->set_status(assistant::v1::HealthCheckResponse::SERVING);
  response->set_version(version_);
  response->set_site(site_);
  auto since = std::chrono::duration_cast<std::chrono::seconds>(started_.time_since_epoch());
  response->mutable_started()->set_seconds(since.count());
  auto* gateway = response->add_components();
  gateway->set_name("gateway");
  gateway->set_ok(true);
  gateway->set_detail("TLS " + std::string(context->auth_context()->IsPeerAuthenticated()
                                               ? "with client certificate"
                                               : "without client certificate"));
  for (const auto& cn : context->auth_context()->FindPropertyValues("x509_common_name")) {
    response->set_caller(std::string(cn.data(), cn.size()));
  }
  return grpc::Status::OK;
}

}  // namespace appliance
