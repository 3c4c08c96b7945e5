// Who is calling: client certificates mapped through the user directory,
// bearer tokens (stored hashed), and the roles user / auditor / admin.
//
// Separation of duties: `auditor` reads the audit ledger and nothing else of
// the configuration; `admin` changes configuration but never audit records
// (there is no API that alters or deletes them at all).
#ifndef APPLIANCE_IDENTITY_H_
#define APPLIANCE_IDENTITY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace appliance {

inline constexpr char kRoleUser[] = "user";
inline constexpr char kRoleAuditor[] = "auditor";
inline constexpr char kRoleAdmin[] = "admin";

struct Identity {
  std::string user_id;
  std::vector<std::string> roles;
  std::string method;            // "mtls", "token", "jwt"
  std::string cert_fingerprint;  // SHA-256 of the client certificate (DER), hex
  std::string token_id;          // for "token"
  bool HasRole(std::string_view role) const;
};

// The clock, injected so tests control expiry and rate windows.
using Clock = std::function<std::chrono::system_clock::time_point()>;
Clock SystemClock();

// users.yaml:
//   users:
//     - id: alice
//       certificate: alice            # subject CN or a SAN (DNS/e-mail/URI) of her certificate
//       roles: [user]
//     - id: carol
//       certificate: carol@example.org
//       roles: [auditor]
class UserDirectory {
 public:
  struct Entry {
    std::string id;
    std::vector<std::string> names;  // certificate CN/SAN values that map to this user
    std::vector<std::string> roles;
  };
  // Errors: INVALID_ARGUMENT "source:line:col: ..." (unknown role, duplicate
  // certificate name, unknown key).
  static common::StatusOr<std::unique_ptr<UserDirectory>> FromYaml(std::string_view yaml,
                                                                   std::string_view source);
  static common::StatusOr<std::unique_ptr<UserDirectory>> FromFile(const std::string& path);

  // The entry one of `names` (CN first, then SANs) maps to; nullptr if none.
  const Entry* Find(const std::vector<std::string>& names) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// Bearer tokens for integrations. The secret ("ast_<id>_<64 hex>") is shown
// once; the store keeps SHA-256(secret) only, in a JSON file written 0600
// atomically. Thread-safe.
class TokenStore {
 public:
  struct Info {
    std::string id;
    std::string name;
    std::string user_id;
    std::vector<std::string> roles;
    int64_t created_s = 0;
    int64_t expires_s = 0;
    bool revoked = false;
  };
  struct Created {
    Info info;
    std::string secret;
  };
  static common::StatusOr<std::unique_ptr<TokenStore>> Open(const std::string& path, Clock clock);

  // lifetime: 1 s .. 366 days. Roles must be known roles.
  common::StatusOr<Created> Create(const std::string& name, const std::string& user_id,
                                   const std::vector<std::string>& roles,
                                   std::chrono::seconds lifetime);
  std::vector<Info> List() const;
  // NOT_FOUND for an unknown id.
  common::Status Revoke(const std::string& id);
  // UNAUTHENTICATED with reason TOKEN_INVALID / TOKEN_EXPIRED / TOKEN_REVOKED.
  common::StatusOr<Identity> Verify(std::string_view secret) const;

 private:
  TokenStore(std::string path, Clock clock) : path_(std::move(path)), clock_(std::move(clock)) {}
  common::Status SaveLocked() const;

  const std::string path_;
  const Clock clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<Info, std::string>> tokens_;  // id -> (info, hash hex); by mu_
};

// Verifies JWT access tokens of the organisation's identity provider (RS256,
// ES256) against public keys from a local file: a JWKS document or PEM keys.
// No network access, ever.
class JwtVerifier {
 public:
  struct Issuer {
    std::string issuer;
    std::string audience;
    std::string keys_file;
    std::string user_claim = "sub";
    std::string roles_claim = "roles";
  };
  static common::StatusOr<std::unique_ptr<JwtVerifier>> Create(const std::vector<Issuer>& issuers,
                                                               Clock clock);
  ~JwtVerifier();
  // UNAUTHENTICATED (reason TOKEN_INVALID / TOKEN_EXPIRED) when the token is
  // malformed, signed by an unknown key, for another audience, or expired.
  common::StatusOr<Identity> Verify(std::string_view jwt) const;

 private:
  struct Key;
  struct IssuerKeys;
  explicit JwtVerifier(Clock clock);
  const Clock clock_;
  std::vector<std::unique_ptr<IssuerKeys>> issuers_;
};

// Limits failed authentications per source address: after `per_minute`
// failures within a minute, further attempts are refused before checking.
class AuthFailureLimiter {
 public:
  AuthFailureLimiter(uint32_t per_minute, Clock clock)
      : per_minute_(per_minute), clock_(std::move(clock)) {}
  bool Blocked(const std::string& source);
  void RecordFailure(const std::string& source);

 private:
  const uint32_t per_minute_;
  const Clock clock_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::chrono::system_clock::time_point>> failures_;  // by mu_
};

// The source address of a gRPC peer without the port ("ipv4:1.2.3.4:5" ->
// "1.2.3.4", "ipv6:[::1]:5" -> "::1", "unix:..." -> "unix").
std::string PeerHost(std::string_view peer);

// SHA-256 fingerprint (hex) of a PEM certificate's DER; names from it.
struct CertificateNames {
  std::string fingerprint;
  std::string common_name;
  std::vector<std::string> sans;
  std::vector<std::string> organizational_units;  // "role:admin" entries grant roles
};
common::StatusOr<CertificateNames> ReadCertificateNames(std::string_view pem);

}  // namespace appliance

#endif  // APPLIANCE_IDENTITY_H_
