// The one place where common::Status becomes grpc::Status (CONVENTIONS.md §2).
#ifndef APPLIANCE_GRPC_STATUS_H_
#define APPLIANCE_GRPC_STATUS_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "assistant/v1/common.pb.h"
#include "common/status.h"

namespace appliance {

// Trailing metadata key carrying a serialized assistant.v1.ErrorDetail.
inline constexpr char kErrorDetailKey[] = "assistant-error-bin";

// Converts `status`; attaches `detail` (reason and message filled from the
// status when empty) to the call's trailing metadata.
grpc::Status ToGrpcStatus(const common::Status& status, grpc::ServerContext* context,
                          assistant::v1::ErrorDetail detail = {});

}  // namespace appliance

#endif  // APPLIANCE_GRPC_STATUS_H_
