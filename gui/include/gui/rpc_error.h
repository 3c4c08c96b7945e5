// The client's view of a failed call: the gRPC code plus the appliance's
// ErrorDetail (trailing metadata "assistant-error-bin", see proto/README.md),
// and the plain-language state the UI shows for it.
#ifndef GUI_RPC_ERROR_H_
#define GUI_RPC_ERROR_H_

#include <QString>
#include <QStringList>

#include <grpcpp/grpcpp.h>

#include "assistant/v1/common.pb.h"

namespace gui {

struct RpcError {
  enum class Kind {
    None,           // the call succeeded
    Offline,        // the appliance cannot be reached (UNAVAILABLE without detail)
    Credentials,    // UNAUTHENTICATED: certificate rejected, token expired or revoked
    Denied,         // PERMISSION_DENIED: policy or role
    Invalid,        // INVALID_ARGUMENT
    NotFound,
    Precondition,   // e.g. legal hold
    Limited,        // RESOURCE_EXHAUSTED
    Cancelled,
    Unavailable,    // worker down, audit not writable (fail closed)
    Unimplemented,  // capability not landed on this server yet
    Other,
  };

  grpc::StatusCode code = grpc::StatusCode::OK;
  QString message;  // the status message (never request content)
  bool hasDetail = false;
  assistant::v1::ErrorDetail detail;

  bool ok() const { return code == grpc::StatusCode::OK; }
  Kind kind() const;
  // Stable machine-readable reason: detail.reason, else the code's name.
  QString reason() const;
  // One line for the user, e.g. "Denied by policy: model 'x' may not process CUI data".
  QString headline() const;
  // What the user can do (ErrorDetail.remedy, or a default per kind).
  QString remedy() const;
  // The rules that denied, "rule_id: message" each.
  QStringList deniedBy() const;

  // Builds the error from a finished call. `trailers` come from
  // ClientContext::GetServerTrailingMetadata().
  static RpcError fromCall(const grpc::Status& status,
                           const std::multimap<grpc::string_ref, grpc::string_ref>& trailers);
  static RpcError fromStatus(const grpc::Status& status);
  // A local failure (e.g. unreadable certificate file).
  static RpcError local(grpc::StatusCode code, const QString& message);
};

QString statusCodeName(grpc::StatusCode code);

}  // namespace gui

#endif  // GUI_RPC_ERROR_H_
