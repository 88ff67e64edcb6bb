// Theater: a WebAssembly actor runtime.
//
// The http-client handler's permission (src/handlers/http-client/README.md, "Permissions"): its value, how a
// `[permission_policy]` config restricts it, how it narrows for a child, and the checks the
// handler makes before acting. Registered with the handler (Handler::permission_rules()).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/ascii.h"
#include "handlers/support/permission_fields.h"
#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

inline constexpr std::string_view kHttpClientHandler = "http-client";

struct HttpClientPermissions {
  AllowList allowed_methods;              // upper-cased when parsed; compared case-insensitively
  AllowList allowed_hosts;                // lower-cased when parsed; exact host match
  std::optional<uint64_t> max_redirects;  // nullopt: unlimited
  std::optional<uint64_t> timeout_ms;     // JSON key `timeout`; nullopt: unlimited
  // The config keys, in reading order, and how each narrows (handlers/support/permission_fields.h).
  static constexpr auto Fields() {
    using P = HttpClientPermissions;
    return std::tuple{Allow("allowed_methods", &P::allowed_methods, Intersect, AsciiUpper),
                      Allow("allowed_hosts", &P::allowed_hosts, Intersect, AsciiLower),
                      OptionalLimit("max_redirects", &P::max_redirects),
                      OptionalLimit("timeout", &P::timeout_ms)};
  }
  friend bool operator==(const HttpClientPermissions&, const HttpClientPermissions&) = default;
};

// The rules the handler registers.
const PermissionRules& HttpClientPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckHttp(const HttpClientPermissions* p, std::string_view method,
                 std::string_view host);
Status CheckHttp(const EffectivePermissions& perms, std::string_view method,
                 std::string_view host);

}  // namespace theater::handlers
