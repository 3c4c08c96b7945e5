#include "appliance/identity.h"
#include "common/file.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "appliance/tls_material.h"
#include "common/json.h"
#include "common/secret.h"
#include "common/sha256.h"

namespace appliance {

using common::Status;
using common::StatusOr;

bool Identity::HasRole(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

Clock SystemClock() {
  return [] { return std::chrono::system_clock::now(); };
}

namespace {

bool KnownRole(std::string_view role) {
  return role == kRoleUser || role == kRoleAuditor || role == kRoleAdmin;
}

std::string Where(std::string_view source, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  std::string w(source);
  if (m.line >= 0) w += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  return w;
}

}  // namespace

// ---------------------------------------------------------------- users

StatusOr<std::unique_ptr<UserDirectory>> UserDirectory::FromYaml(std::string_view yaml,
                                                                 std::string_view source) {
  auto dir = std::unique_ptr<UserDirectory>(new UserDirectory());
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root || root.IsNull()) return dir;
    if (!root.IsMap()) return common::InvalidArgumentError(Where(source, root) + ": expected users:");
    for (const auto& kv : root) {
      if (kv.first.as<std::string>() != "users") {
        return common::InvalidArgumentError(Where(source, kv.first) + ": unknown key '" +
                                            kv.first.as<std::string>() + "' (known: users)");
      }
    }
    const YAML::Node users = root["users"];
    if (!users.IsSequence()) {
      return common::InvalidArgumentError(Where(source, users) + ": users must be a list");
    }
    std::set<std::string> ids, names;
    for (const auto& u : users) {
      if (!u.IsMap()) {
        return common::InvalidArgumentError(Where(source, u) + ": a user must be a mapping");
      }
      Entry e;
      for (const auto& kv : u) {
        const std::string key = kv.first.as<std::string>();
        if (key == "id") {
          e.id = kv.second.as<std::string>();
        } else if (key == "certificate") {
          if (kv.second.IsSequence()) {
            for (const auto& n : kv.second) e.names.push_back(n.as<std::string>());
          } else {
            e.names.push_back(kv.second.as<std::string>());
          }
        } else if (key == "roles") {
          if (!kv.second.IsSequence()) {
            return common::InvalidArgumentError(Where(source, kv.second) +
                                                ": roles must be a list, e.g. [user]");
          }
          for (const auto& r : kv.second) {
            std::string role = r.as<std::string>();
            if (!KnownRole(role)) {
              return common::InvalidArgumentError(Where(source, r) + ": unknown role '" + role +
                                                  "' (roles: user, auditor, admin)");
            }
            e.roles.push_back(role);
          }
        } else {
          return common::InvalidArgumentError(Where(source, kv.first) + ": unknown key '" + key +
                                              "' in a user (known: id, certificate, roles)");
        }
      }
      if (e.id.empty()) return common::InvalidArgumentError(Where(source, u) + ": a user needs an id");
      if (!ids.insert(e.id).second) {
        return common::InvalidArgumentError(Where(source, u) + ": duplicate user id '" + e.id + "'");
      }
      if (e.names.empty()) e.names.push_back(e.id);
      for (const auto& n : e.names) {
        if (!names.insert(n).second) {
          return common::InvalidArgumentError(Where(source, u) + ": certificate name '" + n +
                                              "' maps to two users");
        }
      }
      dir->entries_.push_back(std::move(e));
    }
  } catch (const YAML::Exception& e) {
    std::string w(source);
    if (e.mark.line >= 0) {
      w += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return common::InvalidArgumentError(w + ": " + e.msg);
  }
  return dir;
}

StatusOr<std::unique_ptr<UserDirectory>> UserDirectory::FromFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, common::ReadFile(path));
  return FromYaml(text, path);
}

const UserDirectory::Entry* UserDirectory::Find(const std::vector<std::string>& names) const {
  for (const auto& name : names) {
    for (const auto& e : entries_) {
      if (std::find(e.names.begin(), e.names.end(), name) != e.names.end()) return &e;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------- tokens

StatusOr<std::unique_ptr<TokenStore>> TokenStore::Open(const std::string& path, Clock clock) {
  auto store = std::unique_ptr<TokenStore>(new TokenStore(path, std::move(clock)));
  if (::access(path.c_str(), F_OK) != 0) return store;
  ASSIGN_OR_RETURN(std::string text, common::ReadFile(path));
  auto json = common::Json::Parse(text);
  if (!json.ok()) return json.status().WithContext(path);
  const common::Json* tokens = json->Find("tokens");
  if (tokens == nullptr || !tokens->is_array()) {
    return common::DataLossError(path + ": no \"tokens\" array");
  }
  for (const auto& t : tokens->as_array()) {
    Info info;
    auto str = [&](const char* k) {
      const common::Json* v = t.Find(k);
      return v != nullptr && v->is_string() ? v->as_string() : std::string();
    };
    auto num = [&](const char* k) {
      const common::Json* v = t.Find(k);
      return v != nullptr && v->is_number() ? v->as_int() : int64_t{0};
    };
    info.id = str("id");
    info.name = str("name");
    info.user_id = str("user_id");
    info.created_s = num("created");
    info.expires_s = num("expires");
    const common::Json* revoked = t.Find("revoked");
    info.revoked = revoked != nullptr && revoked->as_bool();
    if (const common::Json* roles = t.Find("roles"); roles != nullptr && roles->is_array()) {
      for (const auto& r : roles->as_array()) info.roles.push_back(r.as_string());
    }
    const std::string hash = str("sha256");
    if (info.id.empty() || hash.size() != 64) {
      return common::DataLossError(path + ": a token entry lacks id or sha256");
    }
    const std::string id = info.id;  // (the pair below is built before the key is read)
    store->tokens_[id] = {std::move(info), hash};
  }
  return store;
}

Status TokenStore::SaveLocked() const {
  common::Json arr = common::Json::MakeArray();
  for (const auto& [id, entry] : tokens_) {
    const Info& info = entry.first;
    common::Json t = common::Json::MakeObject();
    t.Set("id", info.id);
    t.Set("name", info.name);
    t.Set("user_id", info.user_id);
    common::Json roles = common::Json::MakeArray();
    for (const auto& r : info.roles) roles.Push(r);
    t.Set("roles", std::move(roles));
    t.Set("created", info.created_s);
    t.Set("expires", info.expires_s);
    t.Set("revoked", info.revoked);
    t.Set("sha256", entry.second);
    arr.Push(std::move(t));
  }
  common::Json root = common::Json::MakeObject();
  root.Set("tokens", std::move(arr));
  return common::WriteFileAtomic(path_, root.Dump() + "\n", 0600);
}

StatusOr<TokenStore::Created> TokenStore::Create(const std::string& name,
                                                 const std::string& user_id,
                                                 const std::vector<std::string>& roles,
                                                 std::chrono::seconds lifetime) {
  if (user_id.empty()) return common::InvalidArgumentError("a token needs the user it acts as");
  if (roles.empty()) return common::InvalidArgumentError("a token needs at least one role");
  for (const auto& r : roles) {
    if (!KnownRole(r)) {
      return common::InvalidArgumentError("unknown role '" + r + "' (roles: user, auditor, admin)");
    }
  }
  if (lifetime.count() < 1 || lifetime > std::chrono::hours(24 * 366)) {
    return common::InvalidArgumentError("token lifetime must be between 1 second and 1 year");
  }
  unsigned char id_bytes[8];
  common::SecretBytes secret_bytes(32);
  if (RAND_bytes(id_bytes, sizeof id_bytes) != 1 ||
      RAND_bytes(secret_bytes.InsecureMutableData(), static_cast<int>(secret_bytes.size())) != 1) {
    return common::InternalError("no randomness for a token");
  }
  Created created;
  created.info.id = common::HexEncode(id_bytes, sizeof id_bytes);
  created.info.name = name;
  created.info.user_id = user_id;
  created.info.roles = roles;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch()).count();
  created.info.created_s = now;
  created.info.expires_s = now + lifetime.count();
  created.secret = "ast_" + created.info.id + "_" +
                   common::HexEncode(secret_bytes.InsecureMutableData(), secret_bytes.size());
  const std::string hash = common::HexEncode(common::Sha256::Hash(created.secret));
  std::lock_guard lock(mu_);
  tokens_[created.info.id] = {created.info, hash};
  Status s = SaveLocked();
  if (!s.ok()) {
    tokens_.erase(created.info.id);
    return s;
  }
  return created;
}

std::vector<TokenStore::Info> TokenStore::List() const {
  std::lock_guard lock(mu_);
  std::vector<Info> out;
  for (const auto& [id, entry] : tokens_) out.push_back(entry.first);
  return out;
}

Status TokenStore::Revoke(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(id);
  if (it == tokens_.end()) return common::NotFoundError("no token with id " + id);
  if (it->second.first.revoked) return common::OkStatus();
  it->second.first.revoked = true;
  Status s = SaveLocked();
  if (!s.ok()) it->second.first.revoked = false;
  return s;
}

StatusOr<Identity> TokenStore::Verify(std::string_view secret) const {
  auto invalid = [] {
    return Status(common::StatusCode::kUnauthenticated, "bearer token not recognised",
                  "TOKEN_INVALID");
  };
  if (secret.size() != 4 + 16 + 1 + 64 || secret.substr(0, 4) != "ast_" || secret[20] != '_') {
    return invalid();
  }
  const std::string id(secret.substr(4, 16));
  const std::string hash = common::HexEncode(common::Sha256::Hash(secret));
  std::lock_guard lock(mu_);
  auto it = tokens_.find(id);
  if (it == tokens_.end()) return invalid();
  // Constant-time comparison of the hashes.
  unsigned char diff = 0;
  for (size_t i = 0; i < 64; ++i) diff |= static_cast<unsigned char>(hash[i] ^ it->second.second[i]);
  if (diff != 0) return invalid();
  const Info& info = it->second.first;
  if (info.revoked) {
    return Status(common::StatusCode::kUnauthenticated, "bearer token " + id + " was revoked",
                  "TOKEN_REVOKED");
  }
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch()).count();
  if (now >= info.expires_s) {
    return Status(common::StatusCode::kUnauthenticated, "bearer token " + id + " has expired",
                  "TOKEN_EXPIRED");
  }
  Identity identity;
  identity.user_id = info.user_id;
  identity.roles = info.roles;
  identity.method = "token";
  identity.token_id = id;
  return identity;
}

// ---------------------------------------------------------------- limiter

bool AuthFailureLimiter::Blocked(const std::string& source) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(source);
  if (it == failures_.end()) return false;
  const auto cutoff = clock_() - std::chrono::minutes(1);
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(), [&](auto t) { return t < cutoff; }), v.end());
  if (v.empty()) {
    failures_.erase(it);
    return false;
  }
  return v.size() >= per_minute_;
}

void AuthFailureLimiter::RecordFailure(const std::string& source) {
  std::lock_guard lock(mu_);
  if (failures_.size() > 100000) failures_.clear();  // bounded memory under a flood
  failures_[source].push_back(clock_());
}

// ---------------------------------------------------------------- peers, certificates

std::string PeerHost(std::string_view peer) {
  if (peer.rfind("unix:", 0) == 0 || peer == "unix") return "unix";
  if (peer.rfind("ipv4:", 0) == 0) {
    peer.remove_prefix(5);
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  if (peer.rfind("ipv6:", 0) == 0) {
    peer.remove_prefix(5);
    if (!peer.empty() && peer[0] == '[') {
      const size_t close = peer.find(']');
      return std::string(peer.substr(1, close == std::string_view::npos ? peer.npos : close - 1));
    }
  }
  return std::string(peer);
}

StatusOr<CertificateNames> ReadCertificateNames(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return common::InvalidArgumentError("not a PEM certificate");
  CertificateNames names;
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len > 0) {
    names.fingerprint = common::HexEncode(
        common::Sha256::Hash(std::string_view(reinterpret_cast<char*>(der), len)));
    OPENSSL_free(der);
  }
  X509_NAME* subject = X509_get_subject_name(cert);
  auto entries = [&](int nid, std::vector<std::string>* out) {
    int idx = -1;
    while ((idx = X509_NAME_get_index_by_NID(subject, nid, idx)) >= 0) {
      ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
      unsigned char* utf8 = nullptr;
      int n = ASN1_STRING_to_UTF8(&utf8, s);
      if (n >= 0) {
        out->emplace_back(reinterpret_cast<char*>(utf8), n);
        OPENSSL_free(utf8);
      }
    }
  };
  std::vector<std::string> cns;
  entries(NID_commonName, &cns);
  if (!cns.empty()) names.common_name = cns.front();
  entries(NID_organizationalUnitName, &names.organizational_units);
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type == GEN_DNS || gn->type == GEN_EMAIL || gn->type == GEN_URI) {
        const ASN1_IA5STRING* s = gn->d.ia5;
        names.sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                ASN1_STRING_length(s));
      }
    }
    GENERAL_NAMES_free(sans);
  }
  X509_free(cert);
  return names;
}

}  // namespace appliance
