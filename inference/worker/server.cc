#include "worker/server.h"
#include "common/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace worker {
namespace {


}  // namespace

common::StatusOr<RunningServer> StartServer(const WorkerConfig& config, grpc::Service* service) {
  grpc::ServerBuilder builder;
  RunningServer running;
  if (!config.unix_socket.empty()) {
    struct stat st {};
    if (lstat(config.unix_socket.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return common::FailedPreconditionError("unix_socket " + config.unix_socket +
                                               " exists and is not a socket");
      }
      unlink(config.unix_socket.c_str());  // stale socket of a previous run
    }
    builder.AddListeningPort("unix:" + config.unix_socket, grpc::InsecureServerCredentials());
  }
  if (!config.tcp.address.empty()) {
    ASSIGN_OR_RETURN(std::string cert, common::ReadFile(config.tcp.cert_file));
    ASSIGN_OR_RETURN(std::string key, common::ReadFile(config.tcp.key_file));
    ASSIGN_OR_RETURN(std::string ca, common::ReadFile(config.tcp.client_ca_file));
    grpc::SslServerCredentialsOptions ssl(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = ca;
    ssl.pem_key_cert_pairs.push_back({key, cert});
    builder.AddListeningPort(config.tcp.address, grpc::SslServerCredentials(ssl),
                             &running.tcp_port);
  }
  builder.RegisterService(service);
  // The synchronous server runs each stream on a thread of its pool. gRPC's default keeps at most
  // 2 idle polling threads, so under load it ends a thread after nearly every call and starts
  // another for the next: thread creation on every request's path. Keep as many idle threads as
  // streams can be admitted (running + waiting of every model, plus probes); idle ones only wait.
  int streams = 8;
  for (const ModelEntry& m : config.models) streams += m.max_num_seqs + m.max_waiting;
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              std::min(streams, 1024));
  // Only the owner and its group (the gateway) may connect to the socket.
  const mode_t old_mask = umask(0117);
  running.server = builder.BuildAndStart();
  umask(old_mask);
  if (running.server == nullptr) {
    return common::UnavailableError("could not bind the worker's listeners (unix_socket '" +
                                    config.unix_socket + "', tcp '" + config.tcp.address + "')");
  }
  return running;
}

}  // namespace worker
