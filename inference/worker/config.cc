#include "worker/config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "common/json.h"

namespace worker {
namespace {

using common::InvalidArgumentError;
using common::Json;
using common::Status;

std::string Resolve(std::string_view base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  std::string out(base_dir);
  if (out.back() != '/') out += '/';
  return out + path;
}

Status CheckKeys(const Json& obj, std::string_view where, const std::set<std::string>& allowed) {
  for (const auto& [key, value] : obj.as_object()) {
    if (!allowed.count(key)) {
      return InvalidArgumentError(std::string(where) + ": unknown key '" + key + "'");
    }
  }
  return common::OkStatus();
}

Status GetString(const Json& obj, std::string_view where, const char* key, std::string* out) {
  const Json* v = obj.Find(key);
  if (v == nullptr) return common::OkStatus();
  if (!v->is_string()) {
    return InvalidArgumentError(std::string(where) + "." + key + ": expected a string");
  }
  *out = v->as_string();
  return common::OkStatus();
}

Status GetInt(const Json& obj, std::string_view where, const char* key, int64_t min,
              int64_t max, int64_t* out) {
  const Json* v = obj.Find(key);
  if (v == nullptr) return common::OkStatus();
  if (!v->is_int() || v->as_int() < min || v->as_int() > max) {
    return InvalidArgumentError(std::string(where) + "." + key + ": expected an integer in [" +
                                std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  *out = v->as_int();
  return common::OkStatus();
}

Status GetInt32(const Json& obj, std::string_view where, const char* key, int min, int max,
                int* out) {
  int64_t v = *out;
  RETURN_IF_ERROR(GetInt(obj, where, key, min, max, &v));
  *out = static_cast<int>(v);
  return common::OkStatus();
}

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

common::StatusOr<WorkerConfig> ParseWorkerConfig(std::string_view json,
                                                 std::string_view base_dir) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok()) return parsed.status().WithContext("worker config");
  const Json& root = *parsed;
  if (!root.is_object()) return InvalidArgumentError("worker config: expected a JSON object");
  RETURN_IF_ERROR(CheckKeys(root, "config", {"unix_socket", "tcp", "threads", "models"}));

  WorkerConfig config;
  RETURN_IF_ERROR(GetString(root, "config", "unix_socket", &config.unix_socket));
  config.unix_socket = Resolve(base_dir, config.unix_socket);
  RETURN_IF_ERROR(GetInt32(root, "config", "threads", 0, 1024, &config.threads));

  if (const Json* tcp = root.Find("tcp")) {
    if (!tcp->is_object()) return InvalidArgumentError("config.tcp: expected an object");
    RETURN_IF_ERROR(CheckKeys(*tcp, "config.tcp", {"address", "cert", "key", "client_ca"}));
    RETURN_IF_ERROR(GetString(*tcp, "config.tcp", "address", &config.tcp.address));
    RETURN_IF_ERROR(GetString(*tcp, "config.tcp", "cert", &config.tcp.cert_file));
    RETURN_IF_ERROR(GetString(*tcp, "config.tcp", "key", &config.tcp.key_file));
    RETURN_IF_ERROR(GetString(*tcp, "config.tcp", "client_ca", &config.tcp.client_ca_file));
    config.tcp.cert_file = Resolve(base_dir, config.tcp.cert_file);
    config.tcp.key_file = Resolve(base_dir, config.tcp.key_file);
    config.tcp.client_ca_file = Resolve(base_dir, config.tcp.client_ca_file);
    if (!config.tcp.address.empty() &&
        (config.tcp.cert_file.empty() || config.tcp.key_file.empty() ||
         config.tcp.client_ca_file.empty())) {
      return InvalidArgumentError(
          "config.tcp: TCP is served with mutual TLS only; cert, key and client_ca are required");
    }
  }
  if (config.unix_socket.empty() && config.tcp.address.empty()) {
    return InvalidArgumentError("config: set unix_socket or tcp.address (nothing to listen on)");
  }

  const Json* models = root.Find("models");
  if (models == nullptr || !models->is_array() || models->as_array().empty()) {
    return InvalidArgumentError("config.models: expected a non-empty array");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < models->as_array().size(); ++i) {
    const Json& m = models->as_array()[i];
    const std::string where = "config.models[" + std::to_string(i) + "]";
    if (!m.is_object()) return InvalidArgumentError(where + ": expected an object");
    RETURN_IF_ERROR(CheckKeys(m, where,
                              {"name", "path", "sha256", "kv_cache_mb", "block_size",
                               "max_num_seqs", "max_batched_tokens", "max_prefill_chunk",
                               "max_waiting", "max_model_len", "threads", "backend",
                               "tensor_parallel"}));
    ModelEntry e;
    RETURN_IF_ERROR(GetString(m, where, "name", &e.name));
    RETURN_IF_ERROR(GetString(m, where, "path", &e.path));
    RETURN_IF_ERROR(GetString(m, where, "sha256", &e.sha256));
    RETURN_IF_ERROR(GetString(m, where, "backend", &e.backend));
    if (e.name.empty()) return InvalidArgumentError(where + ".name: required");
    if (e.path.empty()) return InvalidArgumentError(where + ".path: required");
    if (!names.insert(e.name).second) {
      return InvalidArgumentError(where + ".name: duplicate model name '" + e.name + "'");
    }
    e.path = Resolve(base_dir, e.path);
    for (char& c : e.sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!e.sha256.empty() && !IsHex64(e.sha256)) {
      return InvalidArgumentError(where + ".sha256: expected 64 hexadecimal digits");
    }
    int64_t kv_mb = static_cast<int64_t>(e.kv_cache_bytes >> 20);
    RETURN_IF_ERROR(GetInt(m, where, "kv_cache_mb", 1, int64_t{1} << 20, &kv_mb));
    e.kv_cache_bytes = static_cast<size_t>(kv_mb) << 20;
    RETURN_IF_ERROR(GetInt32(m, where, "block_size", 1, 1024, &e.block_size));
    RETURN_IF_ERROR(GetInt32(m, where, "max_num_seqs", 1, 4096, &e.max_num_seqs));
    RETURN_IF_ERROR(GetInt32(m, where, "max_batched_tokens", 1, 1 << 20, &e.max_batched_tokens));
    RETURN_IF_ERROR(GetInt32(m, where, "max_prefill_chunk", 1, 1 << 20, &e.max_prefill_chunk));
    RETURN_IF_ERROR(GetInt32(m, where, "max_waiting", 0, 1 << 20, &e.max_waiting));
    RETURN_IF_ERROR(GetInt32(m, where, "max_model_len", 0, 1 << 24, &e.max_model_len));
    RETURN_IF_ERROR(GetInt32(m, where, "threads", 0, 1024, &e.threads));
    RETURN_IF_ERROR(GetInt32(m, where, "tensor_parallel", 1, 64, &e.tensor_parallel));
    if (e.max_batched_tokens < e.max_num_seqs) {
      return InvalidArgumentError(where + ": max_batched_tokens must be >= max_num_seqs");
    }
    config.models.push_back(std::move(e));
  }
  return config;
}

common::StatusOr<WorkerConfig> LoadWorkerConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::NotFoundError("cannot read worker config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  auto config = ParseWorkerConfig(ss.str(), dir);
  if (!config.ok()) return config.status().WithContext(path);
  return config;
}

}  // namespace worker
