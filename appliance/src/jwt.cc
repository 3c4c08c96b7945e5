// JWT (RS256 / ES256) verification against local issuer keys: no network.
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "appliance/identity.h"
#include "common/file.h"
#include "appliance/tls_material.h"
#include "common/json.h"

namespace appliance {

using common::Status;
using common::StatusOr;

namespace {

Status Invalid(const std::string& why) {
  return Status(common::StatusCode::kUnauthenticated, "access token rejected: " + why,
                "TOKEN_INVALID");
}

StatusOr<std::string> Base64UrlDecode(std::string_view in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else if (c == '=') break;
    else return Invalid("bad base64url");
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return out;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

StatusOr<PkeyPtr> KeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  bool ok = ctx != nullptr && params != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!ok) return common::InvalidArgumentError(std::string("cannot build ") + type + " key");
  return PkeyPtr(key);
}

StatusOr<PkeyPtr> KeyFromJwk(const common::Json& jwk) {
  auto field = [&](const char* k) -> StatusOr<std::string> {
    const common::Json* v = jwk.Find(k);
    if (v == nullptr || !v->is_string()) return common::InvalidArgumentError(std::string("JWK lacks ") + k);
    return Base64UrlDecode(v->as_string());
  };
  const common::Json* kty = jwk.Find("kty");
  if (kty == nullptr || !kty->is_string()) return common::InvalidArgumentError("JWK lacks kty");
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  StatusOr<PkeyPtr> result = common::InvalidArgumentError("unsupported kty " + kty->as_string());
  if (kty->as_string() == "RSA") {
    auto n = field("n");
    auto e = field("e");
    if (!n.ok() || !e.ok()) {
      OSSL_PARAM_BLD_free(bld);
      return n.ok() ? e.status() : n.status();
    }
    BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr);
    BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
    result = KeyFromParams("RSA", bld);
    BN_free(bn_n);
    BN_free(bn_e);
  } else if (kty->as_string() == "EC") {
    auto x = field("x");
    auto y = field("y");
    if (!x.ok() || !y.ok() || x->size() != 32 || y->size() != 32) {
      OSSL_PARAM_BLD_free(bld);
      return common::InvalidArgumentError("EC JWK needs 32-byte x and y (P-256)");
    }
    std::string point = "\x04" + *x + *y;
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    result = KeyFromParams("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  return result;
}

}  // namespace

struct JwtVerifier::Key {
  std::string kid;
  PkeyPtr key;
};

struct JwtVerifier::IssuerKeys {
  Issuer issuer;
  std::vector<Key> keys;
};

JwtVerifier::JwtVerifier(Clock clock) : clock_(std::move(clock)) {}
JwtVerifier::~JwtVerifier() = default;

StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(const std::vector<Issuer>& issuers,
                                                           Clock clock) {
  auto v = std::unique_ptr<JwtVerifier>(new JwtVerifier(std::move(clock)));
  for (const auto& issuer : issuers) {
    auto ik = std::make_unique<IssuerKeys>();
    ik->issuer = issuer;
    ASSIGN_OR_RETURN(std::string text, common::ReadFile(issuer.keys_file));
    if (text.find("-----BEGIN") != std::string::npos) {
      BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
      while (EVP_PKEY* k = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr)) {
        ik->keys.push_back({"", PkeyPtr(k)});
      }
      BIO_free(bio);
    } else {
      auto json = common::Json::Parse(text);
      if (!json.ok()) return json.status().WithContext(issuer.keys_file);
      const common::Json* keys = json->Find("keys");
      if (keys == nullptr || !keys->is_array()) {
        return common::InvalidArgumentError(issuer.keys_file + ": a JWKS needs a \"keys\" array");
      }
      for (const auto& jwk : keys->as_array()) {
        auto key = KeyFromJwk(jwk);
        if (!key.ok()) return key.status().WithContext(issuer.keys_file);
        const common::Json* kid = jwk.Find("kid");
        ik->keys.push_back({kid != nullptr && kid->is_string() ? kid->as_string() : "",
                            std::move(*key)});
      }
    }
    if (ik->keys.empty()) {
      return common::InvalidArgumentError(issuer.keys_file + ": no public keys found");
    }
    v->issuers_.push_back(std::move(ik));
  }
  return v;
}

StatusOr<Identity> JwtVerifier::Verify(std::string_view jwt) const {
  const size_t d1 = jwt.find('.');
  const size_t d2 = d1 == jwt.npos ? jwt.npos : jwt.find('.', d1 + 1);
  if (d2 == jwt.npos) return Invalid("not a JWT");
  ASSIGN_OR_RETURN(std::string header_text, Base64UrlDecode(jwt.substr(0, d1)));
  ASSIGN_OR_RETURN(std::string payload_text, Base64UrlDecode(jwt.substr(d1 + 1, d2 - d1 - 1)));
  ASSIGN_OR_RETURN(std::string signature, Base64UrlDecode(jwt.substr(d2 + 1)));
  auto header = common::Json::Parse(header_text);
  auto payload = common::Json::Parse(payload_text);
  if (!header.ok() || !payload.ok() || !header->is_object() || !payload->is_object()) {
    return Invalid("malformed header or payload");
  }
  auto str = [](const common::Json& j, const char* k) {
    const common::Json* v = j.Find(k);
    return v != nullptr && v->is_string() ? v->as_string() : std::string();
  };
  const std::string alg = str(*header, "alg");
  if (alg != "RS256" && alg != "ES256") return Invalid("algorithm '" + alg + "' not accepted");
  const std::string iss = str(*payload, "iss");
  const IssuerKeys* issuer = nullptr;
  for (const auto& ik : issuers_) {
    if (ik->issuer.issuer == iss) issuer = ik.get();
  }
  if (issuer == nullptr) return Invalid("unknown issuer");

  std::string sig_der = signature;
  if (alg == "ES256") {
    if (signature.size() != 64) return Invalid("bad ES256 signature length");
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if (len <= 0) return Invalid("bad ES256 signature");
    sig_der.assign(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
  }
  const std::string kid = str(*header, "kid");
  const std::string_view signed_part = jwt.substr(0, d2);
  bool verified = false;
  for (const auto& key : issuer->keys) {
    if (!kid.empty() && !key.kid.empty() && key.kid != kid) continue;
    const bool is_rsa = EVP_PKEY_is_a(key.key.get(), "RSA");
    if (is_rsa != (alg == "RS256")) continue;
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    if (EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key.key.get()) == 1 &&
        EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig_der.data()), sig_der.size(),
                         reinterpret_cast<const unsigned char*>(signed_part.data()),
                         signed_part.size()) == 1) {
      verified = true;
    }
    EVP_MD_CTX_free(md);
    if (verified) break;
  }
  if (!verified) return Invalid("signature does not verify with the issuer's keys");

  bool audience_ok = false;
  if (const common::Json* aud = payload->Find("aud")) {
    if (aud->is_string()) audience_ok = aud->as_string() == issuer->issuer.audience;
    if (aud->is_array()) {
      for (const auto& a : aud->as_array()) audience_ok |= a.is_string() && a.as_string() == issuer->issuer.audience;
    }
  }
  if (!audience_ok) return Invalid("token is for another audience");
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch()).count();
  const common::Json* exp = payload->Find("exp");
  if (exp == nullptr || !exp->is_number()) return Invalid("token has no expiry");
  if (now >= exp->as_int() + 30) {
    return Status(common::StatusCode::kUnauthenticated, "access token has expired", "TOKEN_EXPIRED");
  }
  if (const common::Json* nbf = payload->Find("nbf"); nbf != nullptr && nbf->is_number() &&
                                                      now + 30 < nbf->as_int()) {
    return Invalid("token not yet valid");
  }
  Identity identity;
  identity.method = "jwt";
  identity.user_id = str(*payload, issuer->issuer.user_claim.c_str());
  if (identity.user_id.empty()) return Invalid("token names no user");
  if (const common::Json* roles = payload->Find(issuer->issuer.roles_claim)) {
    if (roles->is_array()) {
      for (const auto& r : roles->as_array()) {
        if (r.is_string() && (r.as_string() == kRoleUser || r.as_string() == kRoleAuditor ||
                              r.as_string() == kRoleAdmin)) {
          identity.roles.push_back(r.as_string());
        }
      }
    }
  }
  return identity;
}

}  // namespace appliance
