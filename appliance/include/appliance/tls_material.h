// TLS material for the local default setup: a private CA, a server
// certificate for loopback, and a client certificate, generated on first run
// into the state directory (never committed, never overwritten).
#ifndef APPLIANCE_TLS_MATERIAL_H_
#define APPLIANCE_TLS_MATERIAL_H_

#include <string>
#include <vector>

#include "common/status.h"

namespace appliance {

struct TlsPaths {
  std::string ca_cert;      // PEM
  std::string ca_key;       // PEM, 0600; only needed to issue more certificates
  std::string server_cert;
  std::string server_key;
  std::string client_cert;  // the local operator's certificate
  std::string client_key;
};

// The paths under `dir` (dir/ca.pem, dir/ca.key, ...).
TlsPaths TlsPathsIn(const std::string& dir);

struct TlsGenerationOptions {
  // Subject CN of the client certificate created for the local operator.
  std::string client_common_name = "local-admin";
  // Extra SANs for the server certificate besides localhost, 127.0.0.1, ::1.
  std::vector<std::string> server_dns_names;
  int validity_days = 825;
};

// Creates dir (0700) and any missing file of the set; files that exist are
// left untouched. Private keys are written 0600. Returns the paths.
common::StatusOr<TlsPaths> EnsureLocalTls(const std::string& dir,
                                          const TlsGenerationOptions& options = {});

// Issues a new client certificate signed by the CA in `ca` (for tests and
// `assistant admin`); writes cert_path/key_path (key 0600).
common::Status IssueClientCertificate(const TlsPaths& ca, const std::string& common_name,
                                      const std::string& cert_path, const std::string& key_path,
                                      int validity_days = 825);

}  // namespace appliance

#endif  // APPLIANCE_TLS_MATERIAL_H_
