#include "appliance/client.h"
#include "common/file.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "appliance/grpc_status.h"
#include "appliance/tls_material.h"
#include "assistant/v1/common.pb.h"
#include "common/secret.h"

namespace appliance {

common::StatusOr<std::shared_ptr<grpc::Channel>> MakeClientChannel(const ClientOptions& options) {
  if (options.ca_cert_path.empty()) {
    return common::InvalidArgumentError(
        "no CA certificate given: pass --ca FILE (the appliance's ca.pem) or --state-dir");
  }
  grpc::SslCredentialsOptions ssl;
  ASSIGN_OR_RETURN(ssl.pem_root_certs, common::ReadFile(options.ca_cert_path));
  if (!options.client_cert_path.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_cert_chain, common::ReadFile(options.client_cert_path));
    ASSIGN_OR_RETURN(ssl.pem_private_key, common::ReadFile(options.client_key_path));
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  auto channel = grpc::CreateCustomChannel(options.address, grpc::SslCredentials(ssl), args);
  common::SecureZero(ssl.pem_private_key.data(), ssl.pem_private_key.size());
  return channel;
}

void PrepareContext(const ClientOptions& options, grpc::ClientContext* context) {
  if (!options.bearer_token.empty()) {
    context->AddMetadata("authorization", "Bearer " + options.bearer_token);
  }
}

common::Status FromGrpcStatus(const grpc::Status& status, const grpc::ClientContext& context) {
  if (status.ok()) return common::OkStatus();
  std::string reason;
  std::string message = status.error_message();
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(kErrorDetailKey);
  if (it != trailers.end()) {
    assistant::v1::ErrorDetail detail;
    if (detail.ParseFromArray(it->second.data(), static_cast<int>(it->second.size()))) {
      reason = detail.reason();
      if (!detail.message().empty()) message = detail.message();
      for (const auto& r : detail.policy_reasons()) {
        if (r.denies()) message += "\n  - " + r.rule_id() + ": " + r.message();
      }
      if (!detail.remedy().empty()) message += "\n  What you can do: " + detail.remedy();
    }
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE && reason.empty()) {
    message += " (is assistantd running and is the address right?)";
  }
  return common::Status(static_cast<common::StatusCode>(status.error_code()), message, reason);
}

}  // namespace appliance
