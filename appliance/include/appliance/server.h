// The gateway's gRPC server: the public API over TLS.
#ifndef APPLIANCE_SERVER_H_
#define APPLIANCE_SERVER_H_

#include <chrono>
#include <memory>
#include <string>

#include "appliance/tls_material.h"
#include "common/status.h"

namespace appliance {

struct ServerOptions {
  // host:port; port 0 picks a free port (see GatewayServer::port()).
  std::string listen_address = "127.0.0.1:8443";
  TlsPaths tls;
  std::string site = "local";
  std::string version = "0.1.0";
};

class GatewayServer {
 public:
  virtual ~GatewayServer() = default;
  // Binds and starts serving; fails if the address cannot be bound or the TLS
  // material cannot be read.
  static common::StatusOr<std::unique_ptr<GatewayServer>> Start(const ServerOptions& options);

  virtual int port() const = 0;
  // Stops accepting calls; in-flight calls get until `deadline` to finish.
  virtual void Shutdown(std::chrono::milliseconds grace) = 0;
  // Blocks until the server has shut down.
  virtual void Wait() = 0;
};

}  // namespace appliance

#endif  // APPLIANCE_SERVER_H_
