// Theater: a WebAssembly actor runtime.
#include "theater/status.h"

#include <cstring>

namespace theater {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid-argument";
    case StatusCode::kNotFound:
      return "not-found";
    case StatusCode::kAlreadyExists:
      return "already-exists";
    case StatusCode::kParseError:
      return "parse-error";
    case StatusCode::kValidationError:
      return "validation-error";
    case StatusCode::kTrap:
      return "trap";
    case StatusCode::kDeadlineExceeded:
      return "deadline-exceeded";
    case StatusCode::kCancelled:
      return "cancelled";
    case StatusCode::kResourceExhausted:
      return "resource-exhausted";
    case StatusCode::kPermissionDenied:
      return "permission-denied";
    case StatusCode::kFailedPrecondition:
      return "failed-precondition";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kIOError:
      return "io-error";
    case StatusCode::kGuestError:
      return "guest-error";
    case StatusCode::kInternal:
      return "internal";
  }
  return "unknown";
}

Status::Status(StatusCode code, std::string message) {
  if (code == StatusCode::kOk) return;
  rep_ = std::make_shared<const Rep>(Rep{code, std::move(message), nullptr});
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

Status Status::root() const {
  auto rep = rep_;
  while (rep && rep->cause) rep = rep->cause;
  return Status(rep);
}

Status Status::WithContext(std::string context) const {
  if (ok()) return *this;
  return Status(std::make_shared<const Rep>(Rep{rep_->code, std::move(context), rep_}));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out;
  for (auto rep = rep_; rep; rep = rep->cause) {
    if (!out.empty()) out += ": ";
    out += rep->message;
  }
  return out;
}

Status ErrnoError(std::string what, int errnum) {
  what += ": ";
  what += std::strerror(errnum);
  return IOError(std::move(what));
}

}  // namespace theater
