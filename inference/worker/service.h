// inference.v1.InferenceService over the worker's models. The one place
// where common::Status becomes grpc::Status.
#ifndef INFERENCE_WORKER_SERVICE_H_
#define INFERENCE_WORKER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "common/status.h"
#include "inference/v1/inference.grpc.pb.h"
#include "worker/models.h"

namespace worker {

grpc::Status ToGrpcStatus(const common::Status& status);

struct ServiceOptions {
  // How often a waiting stream checks whether its client went away.
  std::chrono::milliseconds cancel_poll{10};
  // Most tokens coalesced into one Token event.
  int max_tokens_per_event = 16;
  // A stream's token events go out at most this often: the first token and
  // the finish at once, the tokens between them gathered meanwhile. A fast
  // model's 16 tokens are then a few messages instead of 16 (fewer thread
  // switches here and in the gateway, which relays per message); a model
  // slower than one token per interval streams token by token, unchanged.
  std::chrono::microseconds min_event_interval{250};
};

class InferenceServiceImpl final : public inference::v1::InferenceService::Service {
 public:
  InferenceServiceImpl(ModelRegistry* registry, ServiceOptions options = {});

  grpc::Status Generate(grpc::ServerContext* context,
                        const inference::v1::GenerateRequest* request,
                        grpc::ServerWriter<inference::v1::GenerateEvent>* writer) override;
  grpc::Status RenderChat(grpc::ServerContext* context,
                          const inference::v1::RenderChatRequest* request,
                          inference::v1::RenderChatResponse* response) override;
  grpc::Status ListModels(grpc::ServerContext* context,
                          const inference::v1::ListModelsRequest* request,
                          inference::v1::ListModelsResponse* response) override;
  grpc::Status Status(grpc::ServerContext* context, const inference::v1::StatusRequest* request,
                      inference::v1::StatusResponse* response) override;

 private:
  ModelRegistry* const registry_;
  const ServiceOptions options_;
  std::atomic<uint64_t> seed_counter_;
};

}  // namespace worker

#endif  // INFERENCE_WORKER_SERVICE_H_
