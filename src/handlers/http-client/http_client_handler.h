// Theater: a WebAssembly actor runtime.
//
// The http-client handler's pure parts, exposed for tests: turning the guest's `http-request`
// value into a checked TransferSpec (method, URL, headers, permission, limits) and a response
// into the `http-response` value. The handler itself is NewHttpClientHandler() (builtins.h);
// docs/handlers.md, "http-client", is the reference.
//
// Thread-safety: pure functions.
#pragma once

#include "common/curl_engine.h"
#include "handlers/http-client/http_client_permissions.h"
#include "handlers/http-client/http_config.h"
#include "theater/abi/value.h"
#include "theater/handler.h"
#include "theater/permissions.h"

namespace theater::handlers {

// The http-client handler's prototype (theater:simple/http-client); src/handlers/http-client/README.md describes it.
std::unique_ptr<Handler> NewHttpClientHandler();

// Input limits on what an actor may ask for; beyond them the request is invalid-argument.
inline constexpr size_t kMaxUrlBytes = 64 * 1024;
inline constexpr size_t kMaxRequestHeaders = 256;
inline constexpr size_t kMaxHeaderLineBytes = 64 * 1024;

// Checks `request` (a theater:simple/http-types.http-request record) and the actor's
// http_client permission for its method and host, and builds the transfer with `config`'s
// limits narrowed by the permission's (max_redirects, timeout). Redirects are checked against
// the same permission. Errors: kInvalidArgument (method, URL, header), kPermissionDenied (with
// the permission checks' wording, e.g. "Host 'evil.com' not in allowed hosts: [...]").
Result<TransferSpec> BuildTransferSpec(const abi::Value& request, const HttpClientConfig& config,
                                       const EffectivePermissions& perms);

// The `http-response` record for `response`; header names and values that are not UTF-8 get
// U+FFFD (WIT strings must be UTF-8). `body` is always `some`.
abi::Value ResponseValue(HttpResponseData response);

}  // namespace theater::handlers
