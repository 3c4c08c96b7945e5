#include "gui/rpc_error.h"

namespace gui {

QString statusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return QStringLiteral("OK");
    case grpc::StatusCode::CANCELLED: return QStringLiteral("CANCELLED");
    case grpc::StatusCode::UNKNOWN: return QStringLiteral("UNKNOWN");
    case grpc::StatusCode::INVALID_ARGUMENT: return QStringLiteral("INVALID_ARGUMENT");
    case grpc::StatusCode::DEADLINE_EXCEEDED: return QStringLiteral("DEADLINE_EXCEEDED");
    case grpc::StatusCode::NOT_FOUND: return QStringLiteral("NOT_FOUND");
    case grpc::StatusCode::ALREADY_EXISTS: return QStringLiteral("ALREADY_EXISTS");
    case grpc::StatusCode::PERMISSION_DENIED: return QStringLiteral("PERMISSION_DENIED");
    case grpc::StatusCode::UNAUTHENTICATED: return QStringLiteral("UNAUTHENTICATED");
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return QStringLiteral("RESOURCE_EXHAUSTED");
    case grpc::StatusCode::FAILED_PRECONDITION: return QStringLiteral("FAILED_PRECONDITION");
    case grpc::StatusCode::ABORTED: return QStringLiteral("ABORTED");
    case grpc::StatusCode::OUT_OF_RANGE: return QStringLiteral("OUT_OF_RANGE");
    case grpc::StatusCode::UNIMPLEMENTED: return QStringLiteral("UNIMPLEMENTED");
    case grpc::StatusCode::INTERNAL: return QStringLiteral("INTERNAL");
    case grpc::StatusCode::UNAVAILABLE: return QStringLiteral("UNAVAILABLE");
    case grpc::StatusCode::DATA_LOSS: return QStringLiteral("DATA_LOSS");
    default: return QStringLiteral("CODE_%1").arg(static_cast<int>(code));
  }
}

RpcError::Kind RpcError::kind() const {
  switch (code) {
    case grpc::StatusCode::OK: return Kind::None;
    case grpc::StatusCode::UNAVAILABLE:
      return hasDetail ? Kind::Unavailable : Kind::Offline;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return hasDetail ? Kind::Cancelled : Kind::Offline;
    case grpc::StatusCode::UNAUTHENTICATED: return Kind::Credentials;
    case grpc::StatusCode::PERMISSION_DENIED: return Kind::Denied;
    case grpc::StatusCode::INVALID_ARGUMENT: return Kind::Invalid;
    case grpc::StatusCode::NOT_FOUND: return Kind::NotFound;
    case grpc::StatusCode::FAILED_PRECONDITION: return Kind::Precondition;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return Kind::Limited;
    case grpc::StatusCode::CANCELLED: return Kind::Cancelled;
    case grpc::StatusCode::UNIMPLEMENTED: return Kind::Unimplemented;
    default: return Kind::Other;
  }
}

QString RpcError::reason() const {
  if (hasDetail && !detail.reason().empty()) return QString::fromStdString(detail.reason());
  return statusCodeName(code);
}

QString RpcError::headline() const {
  const QString text = hasDetail && !detail.message().empty()
                           ? QString::fromStdString(detail.message())
                           : message;
  switch (kind()) {
    case Kind::None: return {};
    case Kind::Offline: return QStringLiteral("The appliance cannot be reached.");
    case Kind::Credentials:
      return QStringLiteral("Your credentials were not accepted") +
             (text.isEmpty() ? QStringLiteral(".") : QStringLiteral(": ") + text);
    case Kind::Denied: return QStringLiteral("Denied by policy: ") + text;
    case Kind::Limited: return QStringLiteral("Limit reached: ") + text;
    case Kind::Unimplemented:
      return QStringLiteral("This appliance does not offer this feature yet.");
    default: return text.isEmpty() ? statusCodeName(code) : text;
  }
}

QString RpcError::remedy() const {
  if (hasDetail && !detail.remedy().empty()) return QString::fromStdString(detail.remedy());
  switch (kind()) {
    case Kind::Offline:
      return QStringLiteral("Check the address and your network, then try again.");
    case Kind::Credentials:
      return QStringLiteral("Open Connection settings and choose a valid certificate or token.");
    case Kind::Denied:
      return QStringLiteral("Ask your administrator if you need access.");
    case Kind::Limited: {
      if (hasDetail && detail.has_retry_after()) {
        return QStringLiteral("Try again in %1 s.").arg(detail.retry_after().seconds());
      }
      return QStringLiteral("Try again shortly.");
    }
    case Kind::Unavailable:
      return QStringLiteral("The appliance is refusing requests for now; try again later.");
    default: return {};
  }
}

QStringList RpcError::deniedBy() const {
  QStringList out;
  if (!hasDetail) return out;
  for (const auto& r : detail.policy_reasons()) {
    if (!r.denies()) continue;
    out << QStringLiteral("%1: %2").arg(QString::fromStdString(r.rule_id()),
                                        QString::fromStdString(r.message()));
  }
  return out;
}

RpcError RpcError::fromCall(const grpc::Status& status,
                            const std::multimap<grpc::string_ref, grpc::string_ref>& trailers) {
  RpcError e = fromStatus(status);
  if (status.ok()) return e;
  auto it = trailers.find("assistant-error-bin");
  if (it != trailers.end()) {
    assistant::v1::ErrorDetail d;
    if (d.ParseFromArray(it->second.data(), static_cast<int>(it->second.size()))) {
      e.detail = std::move(d);
      e.hasDetail = true;
    }
  }
  return e;
}

RpcError RpcError::fromStatus(const grpc::Status& status) {
  RpcError e;
  e.code = status.error_code();
  e.message = QString::fromStdString(status.error_message());
  return e;
}

RpcError RpcError::local(grpc::StatusCode code, const QString& message) {
  RpcError e;
  e.code = code;
  e.message = message;
  return e;
}

}  // namespace gui
