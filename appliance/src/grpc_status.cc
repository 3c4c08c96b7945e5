#include "appliance/grpc_status.h"

namespace appliance {

grpc::Status ToGrpcStatus(const common::Status& status, grpc::ServerContext* context,
                          assistant::v1::ErrorDetail detail) {
  if (status.ok()) return grpc::Status::OK;
  if (detail.reason().empty()) {
    detail.set_reason(status.reason().empty() ? std::string(common::StatusCodeName(status.code()))
                                              : status.reason());
  }
  if (detail.message().empty()) detail.set_message(status.message());
  if (context != nullptr) context->AddTrailingMetadata(kErrorDetailKey, detail.SerializeAsString());
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message(),
                      detail.SerializeAsString());
}

}  // namespace appliance
