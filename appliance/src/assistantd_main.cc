// assistantd: the gateway. Foundation version: serves HealthService over TLS
// with locally generated certificates.
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <cerrno>
#include <pthread.h>

#include "appliance/server.h"
#include "appliance/tls_material.h"

namespace {

void Usage(std::ostream& os) {
  os << "usage: assistantd [--state-dir DIR] [--listen HOST:PORT] [--site NAME]\n"
        "\n"
        "Runs the appliance gateway. On first run it creates DIR/tls with a private CA,\n"
        "a server certificate for loopback and a client certificate for the local\n"
        "operator (DIR/tls/client.pem, client.key); existing files are never replaced.\n"
        "\n"
        "  --state-dir DIR     state directory (default: $STATE_DIRECTORY or ./state)\n"
        "  --listen HOST:PORT  TLS listen address (default 127.0.0.1:8443; port 0 = any)\n"
        "  --site NAME         site label reported by health (default: local)\n";
}

void LogJson(const std::string& level, const std::string& msg) {
  std::cerr << "{\"level\":\"" << level << "\",\"component\":\"assistantd\",\"msg\":\"" << msg
            << "\"}" << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  std::string state_dir = std::getenv("STATE_DIRECTORY") ? std::getenv("STATE_DIRECTORY") : "state";
  appliance::ServerOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "assistantd: " << flag << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--state-dir") state_dir = value("--state-dir");
    else if (a == "--listen") options.listen_address = value("--listen");
    else if (a == "--site") options.site = value("--site");
    else if (a == "-h" || a == "--help") { Usage(std::cout); return 0; }
    else { std::cerr << "assistantd: unknown option '" << a << "'\n"; Usage(std::cerr); return 2; }
  }

  // Block the signals we wait for before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    LogJson("error", "cannot create state directory " + state_dir + ": " + std::strerror(errno));
    return 1;
  }
  auto tls = appliance::EnsureLocalTls(state_dir + "/tls");
  if (!tls.ok()) {
    LogJson("error", "TLS material: " + tls.status().ToString());
    return 1;
  }
  options.tls = *tls;
  auto server = appliance::GatewayServer::Start(options);
  if (!server.ok()) {
    LogJson("error", server.status().ToString());
    return 1;
  }
  LogJson("info", "listening on " + options.listen_address.substr(0, options.listen_address.rfind(':')) +
                      ":" + std::to_string((*server)->port()) + " (TLS)");

  int sig = 0;
  sigwait(&signals, &sig);
  LogJson("info", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", draining");
  (*server)->Shutdown(std::chrono::seconds(10));
  (*server)->Wait();
  LogJson("info", "stopped");
  return 0;
}
