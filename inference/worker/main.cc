// assistant-worker: serves inference.v1 for the models of its config.
//
//   assistant-worker --config worker.json
//   assistant-worker --model models/stories260K.gguf [--name stories] [--sha256 HEX]
//                    --socket /run/assistant/worker.sock [--threads N] [--kv-cache-mb N]
//                    [--max-num-seqs N] [--max-waiting N]
//
// Stops cleanly on SIGINT/SIGTERM (in-flight streams end as cancelled).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "worker/config.h"
#include "worker/models.h"
#include "worker/server.h"
#include "worker/service.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: assistant-worker --config FILE\n"
               "       assistant-worker --model FILE --socket PATH [--name NAME] [--sha256 HEX]\n"
               "                        [--threads N] [--kv-cache-mb N] [--max-num-seqs N]\n"
               "                        [--max-waiting N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  worker::WorkerConfig config;
  worker::ModelEntry model;
  model.name = "default";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--help" || arg == "-h") return Usage(), 0;
    if (!(v = value())) return Usage();
    if (arg == "--config") config_path = v;
    else if (arg == "--model") model.path = v;
    else if (arg == "--name") model.name = v;
    else if (arg == "--sha256") model.sha256 = v;
    else if (arg == "--socket") config.unix_socket = v;
    else if (arg == "--threads") config.threads = std::atoi(v);
    else if (arg == "--kv-cache-mb") model.kv_cache_bytes = std::strtoull(v, nullptr, 10) << 20;
    else if (arg == "--max-num-seqs") model.max_num_seqs = std::atoi(v);
    else if (arg == "--max-waiting") model.max_waiting = std::atoi(v);
    else return Usage();
  }
  if (!config_path.empty()) {
    auto loaded = worker::LoadWorkerConfig(config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "assistant-worker: %s\n", loaded.status().ToString().c_str());
      return 1;
    }
    config = std::move(loaded).value();
  } else {
    if (model.path.empty() || config.unix_socket.empty()) return Usage();
    config.models.push_back(model);
  }

  // Signals are taken synchronously by the main thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto registry = worker::ModelRegistry::Start(config);
  worker::InferenceServiceImpl service(registry.get());
  auto server = worker::StartServer(config, &service);
  if (!server.ok()) {
    std::fprintf(stderr, "assistant-worker: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "assistant-worker: listening on %s%s%s; loading %zu model(s)\n",
               config.unix_socket.empty() ? "" : ("unix:" + config.unix_socket).c_str(),
               config.tcp.address.empty() ? "" : " and mTLS ",
               config.tcp.address.c_str(), config.models.size());
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "assistant-worker: signal %d, shutting down\n", sig);
  server->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->server->Wait();
  return 0;
}
