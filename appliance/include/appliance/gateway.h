// The assembled gateway: identity, policy, audit ledger, content vault,
// workers and every public service of assistant.v1, on one TLS listener.
//
//   auto config = appliance::LoadConfig(path);
//   auto gateway = appliance::Gateway::Start({*config});
//   ... SIGHUP: gateway->ReloadPolicy();  SIGTERM: gateway->Shutdown(grace);
#ifndef APPLIANCE_GATEWAY_H_
#define APPLIANCE_GATEWAY_H_

#include <chrono>
#include <memory>
#include <string>

#include "appliance/config.h"
#include "appliance/identity.h"
#include "common/status.h"

namespace appliance {

struct GatewayOptions {
  GatewayConfig config;
  std::string version = "0.1.0";
  Clock clock;  // default: system clock
  // How long Start() waits for the workers to load their models.
  std::chrono::milliseconds worker_ready_timeout{60000};
  // Name of a registered SQLite VFS for the audit ledger: fault-injection
  // tests of the fail-closed path. Empty (always, in production): the default.
  std::string ledger_sqlite_vfs;
};

class Gateway {
 public:
  // Creates STATE (0700) with tls/, keys/, audit/ on first run, opens the
  // ledger and vault, loads the policy, spawns the workers and starts
  // serving. Fails on invalid policy, users file, keys, or an unbindable
  // address.
  static common::StatusOr<std::unique_ptr<Gateway>> Start(GatewayOptions options);
  virtual ~Gateway() = default;

  virtual int port() const = 0;
  virtual int metrics_port() const = 0;  // 0 when disabled
  // SIGHUP: re-reads the policy file; an invalid file is refused (the
  // running policy stays) and the refusal is returned and audited.
  virtual common::Status ReloadPolicy() = 0;
  // SIGTERM: refuses new calls, lets streams finish within `grace`, then
  // cancels the rest (audited as cancelled) and flushes the ledger.
  virtual void Shutdown(std::chrono::milliseconds grace) = 0;
};

}  // namespace appliance

#endif  // APPLIANCE_GATEWAY_H_
