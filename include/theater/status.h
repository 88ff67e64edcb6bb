// Theater: a WebAssembly actor runtime.
//
// Status and Result<T>: the one error idiom of the project.
//
// A Status is either OK or carries a code, a message and an optional cause (another Status), so
// that an error keeps the whole chain of "what was being done" from the outermost operation down
// to the root failure:
//
//   loading manifest examples/hello/manifest.toml: field 'component': file not found: hello.wasm
//
// Result<T> holds either a T or a non-OK Status. Both are [[nodiscard]]; nothing in the project
// throws across an API boundary, and nothing ever throws across the wasm boundary.
//
// Thread-safety: Status and Result are values. A Status is immutable after construction and its
// cause chain is shared (reference counted), so copies are cheap and may be read from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace theater {

// What kind of failure a Status describes. Callers branch on the code; people read the message.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller passed something malformed (bad manifest, bad value)
  kNotFound,            // a named thing does not exist (file, export, actor)
  kAlreadyExists,       // a named thing exists and must not
  kParseError,          // text or binary input could not be parsed (WIT, TOML, wasm)
  kValidationError,     // input parsed but breaks a rule (invalid wasm, type mismatch)
  kTrap,                // the guest trapped (out of bounds, unreachable, ...)
  kDeadlineExceeded,    // a call ran past its deadline and was interrupted
  kCancelled,           // an operation was cancelled before it completed
  kResourceExhausted,   // a limit was hit (memory cap, list length, stack)
  kPermissionDenied,    // the caller is not allowed to do this
  kFailedPrecondition,  // the object is not in a state that allows this
  kUnavailable,         // a dependency (compiler, server) is missing or not reachable
  kIOError,             // the operating system reported an error
  kGuestError,          // the guest broke the ABI contract (bad pointer, invalid UTF-8)
  kInternal,            // a bug in Theater itself
};

// Returns a stable lower-case name for a code, e.g. "not-found".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status. Costs one null pointer.
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // The message of this level only (empty for OK).
  const std::string& message() const;
  bool has_cause() const { return rep_ && rep_->cause; }
  // The status this one was caused by (OK when there is none).
  Status cause() const { return Status(has_cause() ? rep_->cause : nullptr); }
  // The innermost cause (this status if it has none).
  Status root() const;

  // Returns a new status that says what was being done when this one happened. The code is kept
  // (a trap stays a trap however many layers report it); this status becomes the cause.
  Status WithContext(std::string context) const;

  // "message: cause message: root message", or "ok".
  std::string ToString() const;

  // Explicitly ignores a status where dropping it is correct (documents intent).
  void IgnoreError() const {}

 private:
  struct Rep {
    StatusCode code;
    std::string message;
    std::shared_ptr<const Rep> cause;
  };
  explicit Status(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}
  std::shared_ptr<const Rep> rep_;
};

// Convenience constructors, one per code, for readable call sites.
inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status AlreadyExists(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status ParseError(std::string m) {
  return {StatusCode::kParseError, std::move(m)};
}
inline Status ValidationError(std::string m) {
  return {StatusCode::kValidationError, std::move(m)};
}
inline Status TrapError(std::string m) {
  return {StatusCode::kTrap, std::move(m)};
}
inline Status DeadlineExceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status Cancelled(std::string m) {
  return {StatusCode::kCancelled, std::move(m)};
}
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Unavailable(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
inline Status IOError(std::string m) {
  return {StatusCode::kIOError, std::move(m)};
}
inline Status GuestError(std::string m) {
  return {StatusCode::kGuestError, std::move(m)};
}
inline Status InternalError(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}

// An IOError whose message ends with strerror(errnum).
Status ErrnoError(std::string what, int errnum);

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "use Status, not Result<Status>");

 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    if (std::get<1>(v_).ok())
      v_.template emplace<1>(InternalError("Result built from an OK Status"));
  }

  bool ok() const { return v_.index() == 0; }
  // The error; an OK status when the result holds a value.
  Status status() const { return ok() ? Status() : std::get<1>(v_); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace theater

#define THEATER_CONCAT_INNER_(a, b) a##b
#define THEATER_CONCAT_(a, b) THEATER_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` (a Status) is not OK.
#define THEATER_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::theater::Status theater_status_ = (expr);        \
    if (!theater_status_.ok()) return theater_status_; \
  } while (0)

// As THEATER_RETURN_IF_ERROR, the status given `context` (an expression, evaluated only on
// failure: a hot path pays nothing for the words of an error it does not have).
#define THEATER_RETURN_IF_ERROR_WITH_CONTEXT(expr, context)                    \
  do {                                                                         \
    ::theater::Status theater_status_ = (expr);                                \
    if (!theater_status_.ok()) return theater_status_.WithContext(context);   \
  } while (0)

// `lhs = value of expr` (a Result<T>), or returns its status from the enclosing function.
#define THEATER_ASSIGN_OR_RETURN(lhs, expr) \
  THEATER_ASSIGN_OR_RETURN_IMPL_(THEATER_CONCAT_(theater_result_, __LINE__), lhs, expr)
#define THEATER_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
