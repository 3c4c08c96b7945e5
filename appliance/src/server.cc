#include "appliance/server.h"
#include "common/file.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "common/secret.h"
#include "health_service.h"

namespace appliance {
namespace {

class GatewayServerImpl final : public GatewayServer {
 public:
  common::Status Init(const ServerOptions& options) {
    grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    ASSIGN_OR_RETURN(ssl.pem_root_certs, common::ReadFile(options.tls.ca_cert));
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    ASSIGN_OR_RETURN(pair.private_key, common::ReadFile(options.tls.server_key));
    ASSIGN_OR_RETURN(pair.cert_chain, common::ReadFile(options.tls.server_cert));
    ssl.pem_key_cert_pairs.push_back(pair);
    common::SecureZero(pair.private_key.data(), pair.private_key.size());

    health_ = std::make_unique<HealthServiceImpl>(options.version, options.site);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options.listen_address, grpc::SslServerCredentials(ssl), &port_);
    builder.RegisterService(health_.get());
    server_ = builder.BuildAndStart();
    auto& key = ssl.pem_key_cert_pairs.front().private_key;
    common::SecureZero(key.data(), key.size());
    if (!server_ || port_ == 0) {
      return common::UnavailableError("cannot listen on " + options.listen_address +
                                      " (address in use or not permitted?)");
    }
    return common::OkStatus();
  }

  int port() const override { return port_; }
  void Shutdown(std::chrono::milliseconds grace) override {
    server_->Shutdown(std::chrono::system_clock::now() + grace);
  }
  void Wait() override { server_->Wait(); }

 private:
  std::unique_ptr<HealthServiceImpl> health_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace

common::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(const ServerOptions& options) {
  auto server = std::make_unique<GatewayServerImpl>();
  RETURN_IF_ERROR(server->Init(options));
  return std::unique_ptr<GatewayServer>(std::move(server));
}

}  // namespace appliance
