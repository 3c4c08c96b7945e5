// Binds the worker's listeners: a Unix socket (mode 0660) and, when
// configured, TCP with mutual TLS (client certificate required and verified).
#ifndef INFERENCE_WORKER_SERVER_H_
#define INFERENCE_WORKER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "common/status.h"
#include "worker/config.h"

namespace worker {

struct RunningServer {
  std::unique_ptr<grpc::Server> server;
  int tcp_port = 0;  // the bound port when tcp.address ends in ":0"
};

common::StatusOr<RunningServer> StartServer(const WorkerConfig& config, grpc::Service* service);

}  // namespace worker

#endif  // INFERENCE_WORKER_SERVER_H_
