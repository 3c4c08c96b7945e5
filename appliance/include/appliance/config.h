// The one configuration file of assistantd (YAML). See docs/operations-config.md.
//
//   auto config = appliance::LoadConfig("/etc/assistant/assistantd.yaml");
//
// Every error names the file, line and column ("assistantd.yaml:7:3: ...").
// Relative paths are resolved against the directory of the file (or, for
// ParseConfig, against `base_dir`).
#ifndef APPLIANCE_CONFIG_H_
#define APPLIANCE_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace appliance {

struct WorkerConfig {
  std::string name;  // "local", "gpu-host-1"
  // Local worker: the command assistantd spawns and supervises. "{socket}"
  // in an argument is replaced by the Unix socket path, "{model}" by each
  // model's path (the argument is then repeated once per model).
  std::vector<std::string> spawn;
  // Unix socket of a local worker (default STATE/run/worker-NAME.sock), or
  // host:port of a remote worker reached over mTLS.
  std::string socket;
  std::string address;
  std::string tls_ca;    // remote: CA that signed the worker's certificate
  std::string tls_cert;  // remote: our client certificate
  std::string tls_key;
  uint32_t capacity = 64;  // concurrent streams routed to this worker
  bool remote() const { return !address.empty(); }
};

struct ModelConfig {
  std::string name;
  std::string path;    // GGUF file
  std::string sha256;  // pinned hash (lowercase hex); empty: computed at start
  std::map<std::string, std::string> labels;
};

struct JwtIssuerConfig {
  std::string issuer;     // "iss" that must match
  std::string audience;   // "aud" that must be present
  std::string keys_file;  // JWKS (JSON) or PEM public keys
  std::string user_claim = "sub";
  std::string roles_claim = "roles";
};

struct GatewayConfig {
  std::string source;  // file name, for messages
  std::string listen = "127.0.0.1:8443";
  std::string metrics_listen;  // empty: no metrics endpoint; must be loopback
  std::string state_dir = "state";
  std::string site = "local";
  // TLS material; empty paths: generated under STATE/tls on first run.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string policy_file;  // empty: the shipped default policy
  std::string users_file;   // user directory; empty: certificate CN = user, attributes = roles
  std::vector<JwtIssuerConfig> jwt_issuers;
  std::vector<WorkerConfig> workers;
  std::vector<ModelConfig> models;
  // Bounds.
  uint32_t max_streams = 256;          // concurrent chat streams, all users
  uint32_t drain_seconds = 10;         // SIGTERM: time in-flight streams get
  uint32_t auth_failures_per_minute = 10;  // per source address, then refused
  uint32_t message_bytes_limit = 1 << 20;
};

// Parses YAML text; `source` names it in errors; relative paths resolve
// against `base_dir`. INVALID_ARGUMENT "source:line:col: ..." on any error,
// including unknown keys.
common::StatusOr<GatewayConfig> ParseConfig(std::string_view yaml, std::string_view source,
                                            const std::string& base_dir);
// Reads and parses a file. NOT_FOUND when missing.
common::StatusOr<GatewayConfig> LoadConfig(const std::string& path);

}  // namespace appliance

#endif  // APPLIANCE_CONFIG_H_
