#include "common/status.h"

namespace common {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "CANCELLED";
    case StatusCode::kUnknown: return "UNKNOWN";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kAborted: return "ABORTED";
    case StatusCode::kOutOfRange: return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDataLoss: return "DATA_LOSS";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN_CODE";
}

Status::Status(StatusCode code, std::string message, std::string reason) {
  if (code != StatusCode::kOk) {
    rep_ = std::make_unique<Rep>(Rep{code, std::move(message), std::move(reason)});
  }
}

Status::Status(const Status& other)
    : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  return *this;
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

const std::string& Status::reason() const {
  static const std::string kEmpty;
  return rep_ ? rep_->reason : kEmpty;
}

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return *this;
  return Status(rep_->code, std::string(prefix) + ": " + rep_->message, rep_->reason);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(StatusCodeName(rep_->code));
  s += ": ";
  s += rep_->message;
  if (!rep_->reason.empty()) {
    s += " [";
    s += rep_->reason;
    s += "]";
  }
  return s;
}

bool operator==(const Status& a, const Status& b) {
  return a.code() == b.code() && a.message() == b.message() && a.reason() == b.reason();
}

std::ostream& operator<<(std::ostream& os, const Status& status) {
  return os << status.ToString();
}

#define COMMON_DEFINE_ERROR_(Name, Code) \
  Status Name(std::string message) { return Status(StatusCode::Code, std::move(message)); }
COMMON_DEFINE_ERROR_(CancelledError, kCancelled)
COMMON_DEFINE_ERROR_(UnknownError, kUnknown)
COMMON_DEFINE_ERROR_(InvalidArgumentError, kInvalidArgument)
COMMON_DEFINE_ERROR_(DeadlineExceededError, kDeadlineExceeded)
COMMON_DEFINE_ERROR_(NotFoundError, kNotFound)
COMMON_DEFINE_ERROR_(AlreadyExistsError, kAlreadyExists)
COMMON_DEFINE_ERROR_(PermissionDeniedError, kPermissionDenied)
COMMON_DEFINE_ERROR_(ResourceExhaustedError, kResourceExhausted)
COMMON_DEFINE_ERROR_(FailedPreconditionError, kFailedPrecondition)
COMMON_DEFINE_ERROR_(AbortedError, kAborted)
COMMON_DEFINE_ERROR_(OutOfRangeError, kOutOfRange)
COMMON_DEFINE_ERROR_(UnimplementedError, kUnimplemented)
COMMON_DEFINE_ERROR_(InternalError, kInternal)
COMMON_DEFINE_ERROR_(UnavailableError, kUnavailable)
COMMON_DEFINE_ERROR_(DataLossError, kDataLoss)
COMMON_DEFINE_ERROR_(UnauthenticatedError, kUnauthenticated)
#undef COMMON_DEFINE_ERROR_

}  // namespace common
