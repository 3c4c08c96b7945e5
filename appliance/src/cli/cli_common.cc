#include "cli_common.h"

#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

namespace appliance::cli {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

const char* GlobalOptionsHelp() {
  return "  --server HOST:PORT  appliance address (default $ASSISTANT_SERVER or 127.0.0.1:8443)\n"
         "  --state-dir DIR     use DIR/tls/{ca,client}.pem of a local appliance\n"
         "                      (default $ASSISTANT_STATE_DIR, else ./state when it exists)\n"
         "  --ca FILE           CA certificate of the appliance (PEM)\n"
         "  --cert FILE         client certificate (PEM), with --key FILE\n"
         "  --token TOKEN       bearer token (default $ASSISTANT_TOKEN)\n"
         "  --json              machine-readable output\n";
}

bool ParseGlobalOptions(int argc, char** argv, int* i, GlobalOptions* options, std::string* error) {
  std::string state_dir;
  if (const char* env = std::getenv("ASSISTANT_STATE_DIR")) state_dir = env;
  if (const char* env = std::getenv("ASSISTANT_SERVER")) options->client.address = env;
  if (const char* env = std::getenv("ASSISTANT_TOKEN")) options->client.bearer_token = env;
  std::string ca, cert, key;
  for (; *i < argc; ++*i) {
    std::string a = argv[*i];
    if (a.rfind("--", 0) != 0 || a == "--help") break;
    auto value = [&](std::string* out) {
      if (*i + 1 >= argc) {
        *error = a + " needs a value";
        return false;
      }
      *out = argv[++*i];
      return true;
    };
    bool ok = true;
    if (a == "--server") ok = value(&options->client.address);
    else if (a == "--state-dir") ok = value(&state_dir);
    else if (a == "--ca") ok = value(&ca);
    else if (a == "--cert") ok = value(&cert);
    else if (a == "--key") ok = value(&key);
    else if (a == "--token") ok = value(&options->client.bearer_token);
    else if (a == "--json") options->json = true;
    else break;  // a command's own option
    if (!ok) return false;
  }
  if (state_dir.empty() && Exists("state/tls/ca.pem")) state_dir = "state";
  if (!state_dir.empty()) {
    options->client.ca_cert_path = state_dir + "/tls/ca.pem";
    if (Exists(state_dir + "/tls/client.pem") && options->client.bearer_token.empty()) {
      options->client.client_cert_path = state_dir + "/tls/client.pem";
      options->client.client_key_path = state_dir + "/tls/client.key";
    }
  }
  if (!ca.empty()) options->client.ca_cert_path = ca;
  if (!cert.empty() || !key.empty()) {
    if (cert.empty() || key.empty()) {
      *error = "--cert and --key go together";
      return false;
    }
    options->client.client_cert_path = cert;
    options->client.client_key_path = key;
  }
  return true;
}

}  // namespace appliance::cli
