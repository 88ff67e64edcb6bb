// Theater: a WebAssembly actor runtime.
//
// The `[[handler]] type = "http-client"` config (docs/handlers.md, "http-client"): the limits
// every send-http call of an actor runs under (redirects, timeouts, response size) and how TLS
// peers are verified. Every key is optional, so an actor that merely imports the interface gets
// safe defaults. Parsing is strict — an unknown key or a value of the wrong type is an error
// naming the key — because a misspelt limit would otherwise silently not apply.
//
// Thread-safety: plain values and a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "theater/status.h"

namespace theater::handlers {

struct HttpClientConfig {
  uint64_t max_redirects = 10;                // redirects followed; one more is refused
  uint64_t connect_timeout_ms = 10'000;       // per connection attempt (each redirect hop)
  uint64_t timeout_ms = 30'000;               // the whole call, redirects included
  uint64_t max_response_bytes = 16ull << 20;  // response body; the transfer is aborted beyond it
  // TLS: peers are verified against the system's CA store, or against `ca_file` (PEM) when set.
  // Verification is only off when the config says `tls_verify = false`.
  std::optional<std::string> ca_file;
  bool tls_verify = true;
};

// Hard upper bounds: whatever the config says, one call must not hold a transfer or buffer more
// than this (the WIT returns the whole body in one value).
inline constexpr uint64_t kMaxRedirectsCap = 50;
inline constexpr uint64_t kMaxHttpTimeoutMs = 3'600'000;
inline constexpr uint64_t kMaxResponseBytesCap = 256ull << 20;

// Parses the handler's config object (an empty object gives the defaults). Errors:
// kInvalidArgument naming the key ("timeout_ms: must be at least 1", "unknown key 'timeout'").
Result<HttpClientConfig> ParseHttpClientConfig(const nlohmann::json& config);

}  // namespace theater::handlers
