// assistant-worker configuration: a small JSON file (yaml-cpp is not
// available to inference/). Unknown keys are errors, so typos do not pass
// silently. Example:
//
//   {
//     "unix_socket": "/run/assistant/worker.sock",
//     "tcp": {"address": "10.0.0.5:7443", "cert": "worker.pem", "key": "worker.key",
//             "client_ca": "gateway-ca.pem"},
//     "threads": 0,
//     "models": [
//       {"name": "stories", "path": "models/stories260K.gguf",
//        "sha256": "<64 hex digits, optional>", "kv_cache_mb": 256,
//        "block_size": 16, "max_num_seqs": 32, "max_batched_tokens": 512,
//        "max_waiting": 64, "max_model_len": 0, "backend": "auto",
//        "tensor_parallel": 1}
//     ]
//   }
//
// Relative paths are resolved against the config file's directory. TCP is
// always mutual TLS: an address without cert, key and client_ca is refused.
#ifndef INFERENCE_WORKER_CONFIG_H_
#define INFERENCE_WORKER_CONFIG_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace worker {

struct ModelEntry {
  std::string name;
  std::string path;
  std::string sha256;           // lowercase hex; empty = not pinned
  size_t kv_cache_bytes = size_t{256} << 20;
  int block_size = 16;
  int max_num_seqs = 32;
  int max_batched_tokens = 512;
  int max_prefill_chunk = 256;
  int max_waiting = 64;
  int max_model_len = 0;        // 0 = min(training context, KV capacity)
  int threads = 0;              // 0 = the worker's setting
  std::string backend = "auto";
  int tensor_parallel = 1;      // GPUs of this host the model is split across (NCCL); 1 = none
};

struct TcpConfig {
  std::string address;          // host:port; empty = no TCP listener
  std::string cert_file;        // PEM server certificate chain
  std::string key_file;         // PEM private key
  std::string client_ca_file;   // PEM CA that signs the gateway's client certificate
};

struct WorkerConfig {
  std::string unix_socket;      // empty = no Unix listener
  TcpConfig tcp;
  int threads = 0;              // compute threads per model; 0 = all cores
  std::vector<ModelEntry> models;
};

// Parses and validates. Errors name the offending key (INVALID_ARGUMENT).
common::StatusOr<WorkerConfig> ParseWorkerConfig(std::string_view json,
                                                 std::string_view base_dir);
// Reads the file, then ParseWorkerConfig (NOT_FOUND if unreadable).
common::StatusOr<WorkerConfig> LoadWorkerConfig(const std::string& path);

}  // namespace worker

#endif  // INFERENCE_WORKER_CONFIG_H_
