// Theater: a WebAssembly actor runtime.
//
// The config keys of ServerLimits, read the same way by every handler that runs the shared
// server (http-framework, wasi-http), so that a limit has one spelling, one range and one
// error. Strict: a value of the wrong type or out of range is an error naming the key.
//
// Thread-safety: a pure function.
#pragma once

#include <chrono>
#include <string_view>

#include <nlohmann/json.hpp>

#include "handlers/support/http-server/http_server.h"
#include "theater/handler.h"
#include "theater/status.h"

namespace theater::handlers::http {

// The keys ReadServerLimit knows, for an "unknown key" message.
inline constexpr std::string_view kServerLimitKeys =
    "request_timeout_ms, max_body_bytes, max_header_bytes, idle_timeout_ms, shutdown_timeout_ms "
    "or max_connections";

// Sets the limit `key` names from `value`: true when `key` is a ServerLimits key, false (nothing
// read) when it is not; an error for a bad value.
[[nodiscard]] inline Result<bool> ReadServerLimit(std::string_view key, const nlohmann::json& value,
                                                  ServerLimits& limits) {
  using ms = std::chrono::milliseconds;
  if (key == "request_timeout_ms") {
    THEATER_ASSIGN_OR_RETURN(uint64_t n, ConfigLimit(value, key, 1, 3'600'000));
    limits.request_timeout = ms(n);
  } else if (key == "max_body_bytes") {
    THEATER_ASSIGN_OR_RETURN(limits.max_body_bytes, ConfigLimit(value, key, 1, 256ull << 20));
  } else if (key == "max_header_bytes") {
    THEATER_ASSIGN_OR_RETURN(uint64_t n, ConfigLimit(value, key, 1, 1 << 20));
    limits.max_header_bytes = static_cast<uint32_t>(n);
  } else if (key == "idle_timeout_ms") {
    THEATER_ASSIGN_OR_RETURN(uint64_t n, ConfigLimit(value, key, 1, 3'600'000));
    limits.idle_timeout = ms(n);
  } else if (key == "shutdown_timeout_ms") {
    THEATER_ASSIGN_OR_RETURN(uint64_t n, ConfigLimit(value, key, 1, 600'000));
    limits.shutdown_timeout = ms(n);
  } else if (key == "max_connections") {
    THEATER_ASSIGN_OR_RETURN(limits.max_connections, ConfigLimit(value, key, 1, 100'000));
  } else {
    return false;
  }
  return true;
}

}  // namespace theater::handlers::http
