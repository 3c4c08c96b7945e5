// Client side of the public API: a TLS channel to assistantd with a client
// certificate or a bearer token. Used by the `assistant` CLI and the tests.
#ifndef APPLIANCE_CLIENT_H_
#define APPLIANCE_CLIENT_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "common/status.h"

namespace appliance {

struct ClientOptions {
  std::string address = "127.0.0.1:8443";
  std::string ca_cert_path;      // PEM of the appliance's CA
  std::string client_cert_path;  // optional: mutual TLS
  std::string client_key_path;
  std::string bearer_token;      // optional: sent as "authorization: Bearer ..."
};

common::StatusOr<std::shared_ptr<grpc::Channel>> MakeClientChannel(const ClientOptions& options);

// Adds the bearer token (if any) to a call's metadata.
void PrepareContext(const ClientOptions& options, grpc::ClientContext* context);

// Turns a failed call's status (and its ErrorDetail trailer, when present)
// into a common::Status whose message a person can act on.
common::Status FromGrpcStatus(const grpc::Status& status, const grpc::ClientContext& context);

}  // namespace appliance

#endif  // APPLIANCE_CLIENT_H_
