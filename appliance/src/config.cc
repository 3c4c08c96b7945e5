#include "appliance/config.h"
#include "common/file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "appliance/tls_material.h"

namespace appliance {
namespace {

using common::Status;
using common::StatusOr;

class Parser {
 public:
  Parser(std::string_view source, std::string base_dir)
      : source_(source), base_dir_(std::move(base_dir)) {}

  Status Error(const YAML::Node& node, const std::string& message) const {
    const YAML::Mark mark = node.Mark();
    std::string where = source_;
    if (mark.line >= 0) {
      where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    return common::InvalidArgumentError(where + ": " + message);
  }

  Status CheckKeys(const YAML::Node& map, const std::set<std::string>& allowed,
                   const std::string& what) const {
    if (!map.IsMap()) return Error(map, what + " must be a mapping");
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      if (!allowed.contains(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        return Error(kv.first, "unknown key '" + key + "' in " + what + " (known: " + list + ")");
      }
    }
    return common::OkStatus();
  }

  Status String(const YAML::Node& node, const std::string& key, std::string* out) const {
    if (!node.IsScalar()) return Error(node, key + " must be a string");
    *out = node.as<std::string>();
    return common::OkStatus();
  }

  Status Path(const YAML::Node& node, const std::string& key, std::string* out) const {
    RETURN_IF_ERROR(String(node, key, out));
    if (out->empty()) return Error(node, key + " must not be empty");
    if ((*out)[0] != '/' && !base_dir_.empty()) *out = base_dir_ + "/" + *out;
    return common::OkStatus();
  }

  Status Uint(const YAML::Node& node, const std::string& key, uint32_t min, uint32_t max,
              uint32_t* out) const {
    if (!node.IsScalar()) return Error(node, key + " must be a number");
    const std::string text = node.as<std::string>();
    if (text.empty() || !std::all_of(text.begin(), text.end(), ::isdigit) || text.size() > 10) {
      return Error(node, key + " must be a whole number, not '" + text + "'");
    }
    const uint64_t v = std::stoull(text);
    if (v < min || v > max) {
      return Error(node, key + " must be between " + std::to_string(min) + " and " +
                             std::to_string(max));
    }
    *out = static_cast<uint32_t>(v);
    return common::OkStatus();
  }

  Status HostPort(const YAML::Node& node, const std::string& key, std::string* out) const {
    RETURN_IF_ERROR(String(node, key, out));
    const size_t colon = out->rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == out->size()) {
      return Error(node, key + " must be HOST:PORT, e.g. 127.0.0.1:8443");
    }
    const std::string port = out->substr(colon + 1);
    if (!std::all_of(port.begin(), port.end(), ::isdigit) || port.size() > 5 ||
        std::stoul(port) > 65535) {
      return Error(node, key + ": port '" + port + "' is not a port number");
    }
    return common::OkStatus();
  }

  Status Worker(const YAML::Node& node, WorkerConfig* w) const {
    RETURN_IF_ERROR(CheckKeys(node, {"name", "spawn", "socket", "address", "tls", "capacity"},
                              "a worker"));
    if (!node["name"]) return Error(node, "a worker needs a name");
    RETURN_IF_ERROR(String(node["name"], "name", &w->name));
    if (const auto spawn = node["spawn"]) {
      if (!spawn.IsSequence() || spawn.size() == 0) {
        return Error(spawn, "spawn must be a list: [program, arguments...]");
      }
      for (const auto& a : spawn) {
        std::string arg;
        RETURN_IF_ERROR(String(a, "spawn argument", &arg));
        w->spawn.push_back(arg);
      }
      if (w->spawn[0].find('/') != std::string::npos && w->spawn[0][0] != '/' &&
          !base_dir_.empty()) {
        w->spawn[0] = base_dir_ + "/" + w->spawn[0];
      }
    }
    if (node["socket"]) RETURN_IF_ERROR(Path(node["socket"], "socket", &w->socket));
    if (node["address"]) RETURN_IF_ERROR(HostPort(node["address"], "address", &w->address));
    if (node["capacity"]) {
      RETURN_IF_ERROR(Uint(node["capacity"], "capacity", 1, 100000, &w->capacity));
    }
    if (w->remote() && !w->spawn.empty()) {
      return Error(node, "worker '" + w->name + "': spawn and address exclude each other");
    }
    if (w->remote() && !w->socket.empty()) {
      return Error(node, "worker '" + w->name + "': socket and address exclude each other");
    }
    if (!w->remote() && w->spawn.empty() && w->socket.empty()) {
      return Error(node, "worker '" + w->name + "' needs spawn, socket or address");
    }
    if (const auto tls = node["tls"]) {
      if (!w->remote()) return Error(tls, "tls is for remote workers (with address)");
      RETURN_IF_ERROR(CheckKeys(tls, {"ca", "cert", "key"}, "worker tls"));
      for (const char* k : {"ca", "cert", "key"}) {
        if (!tls[k]) return Error(tls, std::string("worker tls needs ") + k);
      }
      RETURN_IF_ERROR(Path(tls["ca"], "ca", &w->tls_ca));
      RETURN_IF_ERROR(Path(tls["cert"], "cert", &w->tls_cert));
      RETURN_IF_ERROR(Path(tls["key"], "key", &w->tls_key));
    } else if (w->remote()) {
      return Error(node, "remote worker '" + w->name + "' needs tls: {ca, cert, key} (mTLS)");
    }
    return common::OkStatus();
  }

  Status Model(const YAML::Node& node, ModelConfig* m) const {
    RETURN_IF_ERROR(CheckKeys(node, {"name", "path", "sha256", "labels"}, "a model"));
    if (!node["name"]) return Error(node, "a model needs a name");
    if (!node["path"]) return Error(node, "a model needs a path");
    RETURN_IF_ERROR(String(node["name"], "name", &m->name));
    RETURN_IF_ERROR(Path(node["path"], "path", &m->path));
    if (node["sha256"]) {
      RETURN_IF_ERROR(String(node["sha256"], "sha256", &m->sha256));
      std::transform(m->sha256.begin(), m->sha256.end(), m->sha256.begin(), ::tolower);
      if (m->sha256.size() != 64 ||
          m->sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return Error(node["sha256"], "sha256 must be 64 hexadecimal digits");
      }
    }
    if (const auto labels = node["labels"]) {
      if (!labels.IsMap()) return Error(labels, "labels must be a mapping of key: value");
      for (const auto& kv : labels) {
        std::string v;
        RETURN_IF_ERROR(String(kv.second, "label value", &v));
        m->labels[kv.first.as<std::string>()] = v;
      }
    }
    return common::OkStatus();
  }

  Status Jwt(const YAML::Node& node, JwtIssuerConfig* j) const {
    RETURN_IF_ERROR(CheckKeys(node, {"issuer", "audience", "keys", "user_claim", "roles_claim"},
                              "a jwt issuer"));
    for (const char* k : {"issuer", "audience", "keys"}) {
      if (!node[k]) return Error(node, std::string("a jwt issuer needs ") + k);
    }
    RETURN_IF_ERROR(String(node["issuer"], "issuer", &j->issuer));
    RETURN_IF_ERROR(String(node["audience"], "audience", &j->audience));
    RETURN_IF_ERROR(Path(node["keys"], "keys", &j->keys_file));
    if (node["user_claim"]) RETURN_IF_ERROR(String(node["user_claim"], "user_claim", &j->user_claim));
    if (node["roles_claim"]) {
      RETURN_IF_ERROR(String(node["roles_claim"], "roles_claim", &j->roles_claim));
    }
    return common::OkStatus();
  }

  StatusOr<GatewayConfig> Parse(const YAML::Node& root) const {
    GatewayConfig c;
    c.source = source_;
    if (!root || root.IsNull()) return c;  // an empty file: all defaults
    RETURN_IF_ERROR(CheckKeys(root,
                              {"listen", "metrics_listen", "state_dir", "site", "tls", "policy",
                               "users", "jwt", "workers", "models", "limits"},
                              "the configuration"));
    if (root["listen"]) RETURN_IF_ERROR(HostPort(root["listen"], "listen", &c.listen));
    if (const auto m = root["metrics_listen"]) {
      RETURN_IF_ERROR(HostPort(m, "metrics_listen", &c.metrics_listen));
      const std::string host = c.metrics_listen.substr(0, c.metrics_listen.rfind(':'));
      if (host != "127.0.0.1" && host != "localhost" && host != "[::1]") {
        return Error(m, "metrics_listen must be a loopback address (127.0.0.1, [::1])");
      }
    }
    if (root["state_dir"]) RETURN_IF_ERROR(Path(root["state_dir"], "state_dir", &c.state_dir));
    if (root["site"]) RETURN_IF_ERROR(String(root["site"], "site", &c.site));
    if (const auto tls = root["tls"]) {
      RETURN_IF_ERROR(CheckKeys(tls, {"ca", "cert", "key"}, "tls"));
      if (tls["ca"]) RETURN_IF_ERROR(Path(tls["ca"], "ca", &c.tls_ca));
      if (tls["cert"]) RETURN_IF_ERROR(Path(tls["cert"], "cert", &c.tls_cert));
      if (tls["key"]) RETURN_IF_ERROR(Path(tls["key"], "key", &c.tls_key));
      if (c.tls_ca.empty() || c.tls_cert.empty() || c.tls_key.empty()) {
        return Error(tls, "tls needs all of ca, cert and key (or omit tls to generate them)");
      }
    }
    if (root["policy"]) RETURN_IF_ERROR(Path(root["policy"], "policy", &c.policy_file));
    if (root["users"]) RETURN_IF_ERROR(Path(root["users"], "users", &c.users_file));
    if (const auto jwt = root["jwt"]) {
      if (!jwt.IsSequence()) return Error(jwt, "jwt must be a list of issuers");
      for (const auto& j : jwt) {
        JwtIssuerConfig issuer;
        RETURN_IF_ERROR(Jwt(j, &issuer));
        c.jwt_issuers.push_back(std::move(issuer));
      }
    }
    if (const auto workers = root["workers"]) {
      if (!workers.IsSequence()) return Error(workers, "workers must be a list");
      std::set<std::string> names;
      for (const auto& w : workers) {
        WorkerConfig worker;
        RETURN_IF_ERROR(Worker(w, &worker));
        if (!names.insert(worker.name).second) {
          return Error(w, "duplicate worker name '" + worker.name + "'");
        }
        c.workers.push_back(std::move(worker));
      }
    }
    if (const auto models = root["models"]) {
      if (!models.IsSequence()) return Error(models, "models must be a list");
      std::set<std::string> names;
      for (const auto& m : models) {
        ModelConfig model;
        RETURN_IF_ERROR(Model(m, &model));
        if (!names.insert(model.name).second) {
          return Error(m, "duplicate model name '" + model.name + "'");
        }
        c.models.push_back(std::move(model));
      }
    }
    if (const auto limits = root["limits"]) {
      RETURN_IF_ERROR(CheckKeys(limits,
                                {"max_streams", "drain_seconds", "auth_failures_per_minute",
                                 "message_bytes", "worker_stop_ms"},
                                "limits"));
      if (limits["max_streams"]) {
        RETURN_IF_ERROR(Uint(limits["max_streams"], "max_streams", 1, 1000000, &c.max_streams));
      }
      if (limits["drain_seconds"]) {
        RETURN_IF_ERROR(Uint(limits["drain_seconds"], "drain_seconds", 0, 3600, &c.drain_seconds));
      }
      if (limits["auth_failures_per_minute"]) {
        RETURN_IF_ERROR(Uint(limits["auth_failures_per_minute"], "auth_failures_per_minute", 1,
                             100000, &c.auth_failures_per_minute));
      }
      if (limits["worker_stop_ms"]) {
        RETURN_IF_ERROR(Uint(limits["worker_stop_ms"], "worker_stop_ms", 0, 600000, &c.worker_stop_ms));
      }
      if (limits["message_bytes"]) {
        RETURN_IF_ERROR(Uint(limits["message_bytes"], "message_bytes", 1024, 64u << 20,
                             &c.message_bytes_limit));
      }
    }
    return c;
  }

 private:
  std::string source_;
  std::string base_dir_;
};

}  // namespace

StatusOr<GatewayConfig> ParseConfig(std::string_view yaml, std::string_view source,
                                    const std::string& base_dir) {
  Parser parser(source, base_dir);
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    return parser.Parse(root);
  } catch (const YAML::Exception& e) {
    std::string where(source);
    if (e.mark.line >= 0) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return common::InvalidArgumentError(where + ": " + e.msg);
  }
}

StatusOr<GatewayConfig> LoadConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, common::ReadFile(path));
  std::filesystem::path p(path);
  std::string base = p.has_parent_path() ? p.parent_path().string() : ".";
  return ParseConfig(text, path, base);
}

}  // namespace appliance
