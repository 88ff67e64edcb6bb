// Theater: a WebAssembly actor runtime.
//
// The http-framework handler's permission (src/handlers/http-framework/README.md, "Permissions"): its value, how a
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

inline constexpr std::string_view kHttpFrameworkHandler = "http-framework";

struct HttpFrameworkPermissions {
  AllowList allowed_routes;                  // exact route paths
  AllowList allowed_methods;                 // upper-cased when parsed
  std::optional<uint64_t> max_request_size;  // bytes; nullopt: unlimited
  // The config keys, in reading order, and how each narrows (handlers/support/permission_fields.h).
  static constexpr auto Fields() {
    using P = HttpFrameworkPermissions;
    return std::tuple{Allow("allowed_routes", &P::allowed_routes),
                      Allow("allowed_methods", &P::allowed_methods, Intersect, AsciiUpper),
                      OptionalLimit("max_request_size", &P::max_request_size)};
  }
  friend bool operator==(const HttpFrameworkPermissions&,
                         const HttpFrameworkPermissions&) = default;
};

// The rules the handler registers.
const PermissionRules& HttpFrameworkPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckHttpRoute(const HttpFrameworkPermissions* p, std::string_view method,
                      std::string_view route);
Status CheckHttpRoute(const EffectivePermissions& perms, std::string_view method,
                      std::string_view route);

}  // namespace theater::handlers
