// Theater: a WebAssembly actor runtime.
//
// The `[[handler]] type = "http-framework"` config (docs/handlers.md, "http-framework"): the
// limits every server of the actor applies. Parsing is strict (an unknown key or a value of the
// wrong type is an error naming the key), so a misspelt limit cannot silently not apply.
//
// Thread-safety: plain values and a pure function.
#pragma once

#include <nlohmann/json.hpp>

#include "handlers/support/http-server/http_server.h"
#include "theater/status.h"

namespace theater::handlers::http {

// Parses the handler's config object into the limits of the actor's servers. Keys:
// request_timeout_ms, max_body_bytes, max_header_bytes, idle_timeout_ms, shutdown_timeout_ms,
// max_connections — all positive integers with caps (see the .cc).
[[nodiscard]] Result<ServerLimits> ParseHttpFrameworkConfig(const nlohmann::json& config);

}  // namespace theater::handlers::http
