// assistantd: the gateway. Serves the public API over mutual TLS, decides
// every request by the policy, audits it, and streams answers from the
// workers it supervises.
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "appliance/config.h"
#include "common/file.h"
#include "appliance/gateway.h"
#include "appliance/tls_material.h"
#include "common/json.h"

namespace {

void Usage(std::ostream& os) {
  os << "usage: assistantd [--config FILE] [--state-dir DIR] [--listen HOST:PORT]\n"
        "                  [--metrics-listen HOST:PORT] [--site NAME] [--policy FILE]\n"
        "\n"
        "Runs the appliance gateway. Without --config it runs the local default setup:\n"
        "TLS material generated under DIR/tls (a private CA, a server certificate for\n"
        "loopback, the operator's client certificate tls/client.pem and an auditor's\n"
        "tls/auditor.pem), a user directory DIR/users.yaml, the policy DIR/policy.yaml,\n"
        "and a local assistant-worker serving models/stories260K.gguf.\n"
        "Options given here override the configuration file.\n"
        "\n"
        "  --config FILE             YAML configuration (docs/operations-config.md)\n"
        "  --state-dir DIR           state directory (default: $STATE_DIRECTORY or ./state)\n"
        "  --listen HOST:PORT        TLS listen address (default 127.0.0.1:8443; port 0 = any)\n"
        "  --metrics-listen H:P      Prometheus metrics on loopback (default: off)\n"
        "  --site NAME               site label (default: local)\n"
        "  --policy FILE             policy file (default: DIR/policy.yaml)\n"
        "  --worker PROGRAM          the worker to spawn (default: assistant-worker next to\n"
        "                            assistantd); --no-worker to spawn none\n"
        "  --model NAME=FILE         a model for the default worker (default: stories260K)\n"
        "\n"
        "Signals: SIGHUP reloads the policy file (an invalid file is refused and the\n"
        "running policy stays); SIGTERM drains streams, flushes the audit ledger and exits.\n";
}

void Log(const std::string& level, const std::string& msg) {
  common::Json j = common::Json::MakeObject();
  j.Set("level", level);
  j.Set("component", "assistantd");
  j.Set("msg", msg);
  std::cerr << j.Dump() << std::endl;
}

std::string ExeDir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : p.parent_path().string();
}

std::string FirstExisting(std::initializer_list<std::string> paths) {
  for (const auto& p : paths) {
    if (::access(p.c_str(), F_OK) == 0) return p;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, state_dir, listen, metrics, site, policy_file, worker;
  std::vector<std::pair<std::string, std::string>> models;
  bool no_worker = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "assistantd: " << flag << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--config") config_path = value("--config");
    else if (a == "--state-dir") state_dir = value("--state-dir");
    else if (a == "--listen") listen = value("--listen");
    else if (a == "--metrics-listen") metrics = value("--metrics-listen");
    else if (a == "--site") site = value("--site");
    else if (a == "--policy") policy_file = value("--policy");
    else if (a == "--worker") worker = value("--worker");
    else if (a == "--no-worker") no_worker = true;
    else if (a == "--model") {
      std::string v = value("--model");
      const size_t eq = v.find('=');
      if (eq == std::string::npos) {
        std::cerr << "assistantd: --model needs NAME=FILE\n";
        return 2;
      }
      models.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (a == "-h" || a == "--help") {
      Usage(std::cout);
      return 0;
    } else {
      std::cerr << "assistantd: unknown option '" << a << "'\n";
      Usage(std::cerr);
      return 2;
    }
  }

  appliance::GatewayConfig config;
  if (!config_path.empty()) {
    auto loaded = appliance::LoadConfig(config_path);
    if (!loaded.ok()) {
      std::cerr << "assistantd: " << loaded.status().message() << "\n";
      return 2;
    }
    config = *loaded;
  } else if (const char* env = std::getenv("STATE_DIRECTORY")) {
    config.state_dir = env;
  }
  if (!state_dir.empty()) config.state_dir = state_dir;
  if (!listen.empty()) config.listen = listen;
  if (!metrics.empty()) config.metrics_listen = metrics;
  if (!site.empty()) config.site = site;
  if (!policy_file.empty()) config.policy_file = policy_file;
  const std::string exe = ExeDir();
  for (const auto& [name, path] : models) config.models.push_back({name, path, "", {}});
  const bool default_model = config.models.empty();
  // Models registered with `assistant models import` (STATE/models.json).
  if (auto text = common::ReadFile(config.state_dir + "/models.json"); text.ok()) {
    auto registry = common::Json::Parse(*text);
    const common::Json* list = registry.ok() ? registry->Find("models") : nullptr;
    if (list == nullptr || !list->is_array()) {
      Log("error", config.state_dir + "/models.json is not a model registry");
      return 1;
    }
    for (const auto& m : list->as_array()) {
      appliance::ModelConfig mc;
      const common::Json* n = m.Find("name");
      const common::Json* p = m.Find("path");
      const common::Json* h = m.Find("sha256");
      if (n == nullptr || p == nullptr || h == nullptr) continue;
      mc.name = n->as_string();
      mc.path = p->as_string();
      mc.sha256 = h->as_string();
      if (const common::Json* l = m.Find("labels"); l != nullptr && l->is_object()) {
        for (const auto& [k, v] : l->as_object()) mc.labels[k] = v.as_string();
      }
      bool known = false;
      for (const auto& c : config.models) known |= c.name == mc.name;
      if (!known) config.models.push_back(mc);
    }
  }
  if (default_model) {
    std::string p = FirstExisting({exe + "/../../models/stories260K.gguf",
                                   exe + "/../share/assistant/models/stories260K.gguf",
                                   "/usr/share/assistant/models/stories260K.gguf"});
    if (!p.empty()) {
      config.models.push_back({"stories260K", std::filesystem::weakly_canonical(p).string(), "",
                               {{"origin", "karpathy/tinyllamas"}, {"licence", "MIT"}, {"weights", "open"}}});
    }
  }
  if (config.workers.empty() && !no_worker) {
    if (worker.empty()) {
      worker = FirstExisting({exe + "/assistant-worker", exe + "/../inference/assistant-worker"});
    }
    if (worker.empty()) {
      Log("error", "no assistant-worker found next to assistantd; pass --worker PROGRAM or --no-worker");
      return 1;
    }
    appliance::WorkerConfig w;
    w.name = "local";
    w.spawn = {std::filesystem::weakly_canonical(worker).string()};
    config.workers.push_back(w);
  }

  if (config.policy_file.empty()) {
    // First run of the local setup: start from the shipped default policy.
    const std::string target = config.state_dir + "/policy.yaml";
    std::string shipped = FirstExisting({exe + "/../../policy/config/default-policy.yaml",
                                         exe + "/../share/assistant/default-policy.yaml",
                                         "/usr/share/assistant/default-policy.yaml"});
    std::error_code ec;
    std::filesystem::create_directories(config.state_dir, ec);
    if (::access(target.c_str(), F_OK) != 0 && !shipped.empty()) {
      std::filesystem::copy_file(shipped, target, ec);
      if (ec) {
        Log("error", "cannot copy the default policy to " + target + ": " + ec.message());
        return 1;
      }
      Log("info", "policy: copied the shipped default policy to " + target);
    }
  }

  // Block the signals we wait for before any thread starts (workers unblock them).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  appliance::GatewayOptions options;
  options.config = config;
  auto gateway = appliance::Gateway::Start(std::move(options));
  if (!gateway.ok()) {
    Log("error", gateway.status().ToString());
    return 1;
  }
  common::Json ready = common::Json::MakeObject();
  ready.Set("level", "info");
  ready.Set("component", "assistantd");
  ready.Set("msg", "listening");
  ready.Set("address", config.listen.substr(0, config.listen.rfind(':')) + ":" +
                           std::to_string((*gateway)->port()));
  ready.Set("port", (*gateway)->port());
  ready.Set("metrics_port", (*gateway)->metrics_port());
  ready.Set("state_dir", config.state_dir);
  std::cerr << ready.Dump() << std::endl;

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      common::Status s = (*gateway)->ReloadPolicy();
      Log(s.ok() ? "info" : "error",
          s.ok() ? "policy reloaded" : "policy reload refused, running policy kept: " + s.message());
      continue;
    }
    Log("info", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", draining");
    (*gateway)->Shutdown(std::chrono::seconds(config.drain_seconds));
    Log("info", "stopped");
    return 0;
  }
}
