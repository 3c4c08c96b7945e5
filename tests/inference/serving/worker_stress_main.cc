// worker-stress: the soak test of assistant-worker. Starts the worker in
// process on a Unix socket with the stories260K model, then runs N
// concurrent client streams of random lengths with random cancellations and
// deadlines for the given time. Exit status 0 only if every stream ended
// cleanly and the engine is empty afterwards. Build with
// -DASSISTANT_SANITIZE=ON so ASan/LSan check memory at exit.
//
//   worker-stress [--seconds 300] [--streams 64] [--model FILE]
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "worker/models.h"
#include "worker/server.h"
#include "worker/service.h"
#include "worker_stress.h"

int main(int argc, char** argv) {
  int seconds = 300, streams = 64;
  std::string model = std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/tinyllamas/stories260K.gguf";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--seconds") seconds = std::atoi(argv[i + 1]);
    else if (a == "--streams") streams = std::atoi(argv[i + 1]);
    else if (a == "--model") model = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: worker-stress [--seconds N] [--streams N] [--model FILE]\n");
      return 2;
    }
  }
  char tmpl[] = "/tmp/worker-stress-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;
  int rc = 0;
  {
    worker::WorkerConfig config;
    config.unix_socket = dir + "/worker.sock";
    config.threads = 1;
    worker::ModelEntry e;
    e.name = "stories";
    e.path = model;
    e.kv_cache_bytes = size_t{16} << 20;
    e.max_num_seqs = 32;
    e.max_waiting = streams / 4;
    config.models.push_back(e);
    auto registry = worker::ModelRegistry::Start(config);
    registry->WaitUntilLoaded();
    auto slot = registry->Find("stories");
    if (slot->state() != worker::ModelState::kReady) {
      std::fprintf(stderr, "model failed: %s\n", slot->Snapshot().error.c_str());
      return 1;
    }
    worker::InferenceServiceImpl service(registry.get());
    auto server = worker::StartServer(config, &service);
    if (!server.ok()) {
      std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
      return 1;
    }
    const auto r = inference::testing::RunStress("unix:" + config.unix_socket, "stories",
                                                 streams, std::chrono::seconds(seconds),
                                                 slot->Snapshot().context_length > 0 ? 512 : 512,
                                                 static_cast<uint64_t>(getpid()));
    const auto stats = slot->engine()->Stats();
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("streams %lld: finished %lld, cancelled %lld, refused %lld, failures %lld; "
                "tokens %lld; engine steps %lld, preemptions %lld; left running %d waiting %d, "
                "KV free %d/%d; peak RSS %.1f MiB\n",
                static_cast<long long>(r.streams), static_cast<long long>(r.finished),
                static_cast<long long>(r.cancelled), static_cast<long long>(r.refused),
                static_cast<long long>(r.failures), static_cast<long long>(r.tokens),
                static_cast<long long>(stats.steps), static_cast<long long>(stats.preemptions),
                stats.running, stats.waiting, stats.kv_blocks_free, stats.kv_blocks_total,
                ru.ru_maxrss / 1024.0);
    for (const auto& f : r.failure_samples) std::printf("failure: %s\n", f.c_str());
    if (r.failures != 0 || stats.running + stats.waiting != 0 ||
        stats.kv_blocks_free != stats.kv_blocks_total || r.finished == 0) {
      rc = 1;
    }
    server->server->Shutdown(std::chrono::system_clock::now());
    server->server->Wait();
  }
  std::filesystem::remove_all(dir);
  return rc;
}
