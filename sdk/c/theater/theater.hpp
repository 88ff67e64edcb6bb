// Theater guest SDK for C++: a thin layer over theater.h with standard types.
//
// Needs C++17 (std::optional, std::string_view); works with -fno-exceptions (nothing here
// throws; allocation failure aborts, as the C layer traps). Link the C++ runtime explicitly when
// compiling with `clang-14` rather than `clang++-14`:
//   clang-14 --target=wasm32-wasi -O2 -mexec-model=reactor -std=c++17 -fno-exceptions \
//     -I<theater>/sdk/c -lc-printscan-long-double -lc++ -lc++abi -o actor.wasm actor.cc
//
// Types:   theater::Bytes = std::vector<uint8_t>,  theater::State = std::optional<Bytes>,
//          theater::Result (ok, or an error message).
// Exports: write a function with the C++ signature and register it with a THEATER_CPP_* macro:
//
//   theater::Result init(theater::State& state, std::string_view actor_id) {
//     theater::logf("Hello from %.*s!", (int)actor_id.size(), actor_id.data());
//     state = theater::to_bytes("{}");
//     return theater::Result::ok();
//   }
//   THEATER_CPP_ACTOR_INIT(init)
//
// `state` is in/out exactly as in C (see actor.h): whatever it holds when the function returns
// ok becomes the actor's state (std::nullopt clears it); on error the host keeps the old state.
// Parameters are copied out of guest-ABI buffers before the call, so they can be kept freely.
// Each macro may be used once per actor (it defines the export).
#ifndef THEATER_SDK_THEATER_HPP_
#define THEATER_SDK_THEATER_HPP_

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "theater.hpp needs C++17 or later: compile with -std=c++17 (or newer)"
#endif

#include <cstdarg>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "theater.h"

namespace theater {

using Bytes = std::vector<uint8_t>;
using State = std::optional<Bytes>;

// The outcome of an export handler or of a fallible host call.
class Result {
 public:
  static Result ok() { return Result(); }
  static Result err(std::string message) { return Result(std::move(message)); }
  // printf-style error message.
  __attribute__((format(printf, 1, 2))) static Result errf(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    theater_string_t s = theater_vformat(fmt, ap);
    va_end(ap);
    Result r(std::string(s.ptr != nullptr ? s.ptr : "", s.len));
    theater_string_free(&s);
    return r;
  }

  bool is_ok() const { return !error_; }
  explicit operator bool() const { return is_ok(); }
  // The error message; empty when ok.
  const std::string& error() const {
    static const std::string kNone;
    return error_ ? *error_ : kNone;
  }

 private:
  Result() = default;
  explicit Result(std::string message) : error_(std::move(message)) {}
  std::optional<std::string> error_;
};

inline std::string_view as_string_view(const Bytes& b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}
inline Bytes to_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

// ---- theater:simple/runtime ----

inline void log(std::string_view msg) {
  theater_runtime_log(msg.data(), msg.size());
}

__attribute__((format(printf, 1, 2))) inline void logf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  theater_vlog(fmt, ap);
  va_end(ap);
}

namespace detail {

inline std::string_view view(theater_string_t s) {
  return std::string_view(s.ptr, s.len);
}
inline Bytes copy(theater_bytes_t b) {
  return b.len != 0 ? Bytes(b.ptr, b.ptr + b.len) : Bytes();
}
inline State copy(const theater_option_bytes_t& o) {
  if (!o.is_some) return std::nullopt;
  return copy(o.val);
}
// Replaces a C-side option<list<u8>> (SDK-owned heap memory) with a copy of `s`.
inline void store(const State& s, theater_option_bytes_t* out) {
  if (s) {
    theater_state_set(out, s->data(), s->size());
  } else {
    theater_state_clear(out);
  }
}
// Moves the outcome of a C++ handler into the C handler's state and result.
inline theater_result_t finish(const Result& r, const State& state, theater_state_t* out) {
  if (!r.is_ok()) return theater_err_take(theater_string_dup(r.error().data(), r.error().size()));
  store(state, out);
  return theater_ok();
}
// Takes ownership of a host-written string (e.g. an import's error) as a std::string.
inline std::string take(theater_string_t* s) {
  std::string r(s->ptr != nullptr ? s->ptr : "", s->len);
  theater_string_free(s);
  return r;
}

}  // namespace detail

// The state the host currently holds (inside a handler, use the `state` parameter instead).
inline State get_state() {
  theater_option_bytes_t o = theater_get_state();
  State s = detail::copy(o);
  theater_option_bytes_free(&o);
  return s;
}

// Asks the runtime to stop this actor after the current call; `data` goes to the supervisor.
inline Result shutdown(const State& data = std::nullopt) {
  theater_option_bytes_t o = theater__none();
  if (data) {
    o.is_some = true;
    o.val.ptr = const_cast<uint8_t*>(data->data());
    o.val.len = data->size();
  }
  theater_result_t r = theater_shutdown(&o);  // borrows o; nothing to free on our side
  if (r.is_err) return Result::err(detail::take(&r.err));
  return Result::ok();
}

// ---- extra results of message-server-client and supervisor-handlers exports ----

// handle-channel-open's answer. Starts as accepted with no message.
struct ChannelAccept {
  bool accepted = true;
  std::optional<Bytes> message;
};

// record wit-actor-error, as given to handle-child-error.
struct ActorError {
  theater_error_type_t type;
  std::optional<Bytes> data;
};

}  // namespace theater

// ---- export macros: each adapts a C++ function to the C handler and registers it ----

// theater::Result fn(theater::State& state, std::string_view actor_id)
#define THEATER_CPP_ACTOR_INIT(fn)                                                            \
  static theater_result_t theater_cpp__actor_init(theater_state_t* st, theater_string_t id) { \
    ::theater::State state = ::theater::detail::copy(*st);                                    \
    ::theater::Result r = fn(state, ::theater::detail::view(id));                             \
    return ::theater::detail::finish(r, state, st);                                           \
  }                                                                                           \
  THEATER_EXPORT_ACTOR_INIT(theater_cpp__actor_init)

// theater::Result fn(theater::State& state, const theater::Bytes& msg)
#define THEATER_CPP_HANDLE_SEND(fn)                                                            \
  static theater_result_t theater_cpp__handle_send(theater_state_t* st, theater_bytes_t msg) { \
    ::theater::State state = ::theater::detail::copy(*st);                                     \
    ::theater::Result r = fn(state, ::theater::detail::copy(msg));                             \
    return ::theater::detail::finish(r, state, st);                                            \
  }                                                                                            \
  THEATER_EXPORT_HANDLE_SEND(theater_cpp__handle_send)

// theater::Result fn(theater::State& state, std::string_view request_id,
//                    const theater::Bytes& msg, std::optional<theater::Bytes>& response)
// Leaving `response` empty means "answer later" with message-server-host.respond-to-request.
#define THEATER_CPP_HANDLE_REQUEST(fn)                                                          \
  static theater_result_t theater_cpp__handle_request(theater_state_t* st, theater_string_t id, \
                                                      theater_bytes_t msg,                      \
                                                      theater_option_bytes_t* resp) {           \
    ::theater::State state = ::theater::detail::copy(*st);                                      \
    std::optional<::theater::Bytes> response;                                                   \
    ::theater::Result r =                                                                       \
        fn(state, ::theater::detail::view(id), ::theater::detail::copy(msg), response);         \
    if (r.is_ok()) ::theater::detail::store(response, resp);                                    \
    return ::theater::detail::finish(r, state, st);                                             \
  }                                                                                             \
  THEATER_EXPORT_HANDLE_REQUEST(theater_cpp__handle_request)

// theater::Result fn(theater::State& state, std::string_view channel_id,
//                    const theater::Bytes& msg, theater::ChannelAccept& accept)
#define THEATER_CPP_HANDLE_CHANNEL_OPEN(fn)                                           \
  static theater_result_t theater_cpp__handle_channel_open(                           \
      theater_state_t* st, theater_string_t id, theater_bytes_t msg,                  \
      theater_channel_accept_t* acc) {                                                \
    ::theater::State state = ::theater::detail::copy(*st);                            \
    ::theater::ChannelAccept accept;                                                  \
    ::theater::Result r =                                                             \
        fn(state, ::theater::detail::view(id), ::theater::detail::copy(msg), accept); \
    if (r.is_ok()) {                                                                  \
      acc->accepted = accept.accepted;                                                \
      ::theater::detail::store(accept.message, &acc->message);                        \
    }                                                                                 \
    return ::theater::detail::finish(r, state, st);                                   \
  }                                                                                   \
  THEATER_EXPORT_HANDLE_CHANNEL_OPEN(theater_cpp__handle_channel_open)

// theater::Result fn(theater::State& state, std::string_view channel_id,
//                    const theater::Bytes& msg)
#define THEATER_CPP_HANDLE_CHANNEL_MESSAGE(fn)                                                  \
  static theater_result_t theater_cpp__handle_channel_message(                                  \
      theater_state_t* st, theater_string_t id, theater_bytes_t msg) {                          \
    ::theater::State state = ::theater::detail::copy(*st);                                      \
    ::theater::Result r = fn(state, ::theater::detail::view(id), ::theater::detail::copy(msg)); \
    return ::theater::detail::finish(r, state, st);                                             \
  }                                                                                             \
  THEATER_EXPORT_HANDLE_CHANNEL_MESSAGE(theater_cpp__handle_channel_message)

// theater::Result fn(theater::State& state, std::string_view channel_id)
#define THEATER_CPP_HANDLE_CHANNEL_CLOSE(fn)                                       \
  static theater_result_t theater_cpp__handle_channel_close(theater_state_t* st,   \
                                                            theater_string_t id) { \
    ::theater::State state = ::theater::detail::copy(*st);                         \
    ::theater::Result r = fn(state, ::theater::detail::view(id));                  \
    return ::theater::detail::finish(r, state, st);                                \
  }                                                                                \
  THEATER_EXPORT_HANDLE_CHANNEL_CLOSE(theater_cpp__handle_channel_close)

// theater::Result fn(theater::State& state, std::string_view child_id,
//                    const theater::ActorError& error)
#define THEATER_CPP_HANDLE_CHILD_ERROR(fn)                                      \
  static theater_result_t theater_cpp__handle_child_error(                      \
      theater_state_t* st, theater_string_t id, theater_actor_error_t e) {      \
    ::theater::State state = ::theater::detail::copy(*st);                      \
    ::theater::ActorError error{e.error_type, ::theater::detail::copy(e.data)}; \
    ::theater::Result r = fn(state, ::theater::detail::view(id), error);        \
    return ::theater::detail::finish(r, state, st);                             \
  }                                                                             \
  THEATER_EXPORT_HANDLE_CHILD_ERROR(theater_cpp__handle_child_error)

// theater::Result fn(theater::State& state, std::string_view child_id,
//                    const std::optional<theater::Bytes>& data)
#define THEATER_CPP_HANDLE_CHILD_EXIT(fn)                                                          \
  static theater_result_t theater_cpp__handle_child_exit(theater_state_t* st, theater_string_t id, \
                                                         theater_option_bytes_t data) {            \
    ::theater::State state = ::theater::detail::copy(*st);                                         \
    ::theater::Result r = fn(state, ::theater::detail::view(id), ::theater::detail::copy(data));   \
    return ::theater::detail::finish(r, state, st);                                                \
  }                                                                                                \
  THEATER_EXPORT_HANDLE_CHILD_EXIT(theater_cpp__handle_child_exit)

// theater::Result fn(theater::State& state, std::string_view child_id)
#define THEATER_CPP_HANDLE_CHILD_EXTERNAL_STOP(fn)                                       \
  static theater_result_t theater_cpp__handle_child_external_stop(theater_state_t* st,   \
                                                                  theater_string_t id) { \
    ::theater::State state = ::theater::detail::copy(*st);                               \
    ::theater::Result r = fn(state, ::theater::detail::view(id));                        \
    return ::theater::detail::finish(r, state, st);                                      \
  }                                                                                      \
  THEATER_EXPORT_HANDLE_CHILD_EXTERNAL_STOP(theater_cpp__handle_child_external_stop)

#endif  // THEATER_SDK_THEATER_HPP_
