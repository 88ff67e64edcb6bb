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
#include <vector>

#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

inline constexpr std::string_view kHttpFrameworkHandler = "http-framework";

struct HttpFrameworkPermissions {
  AllowList allowed_routes;                  // exact route paths
  AllowList allowed_methods;                 // upper-cased when parsed
  std::optional<uint64_t> max_request_size;  // bytes; nullopt: unlimited
  friend bool operator==(const HttpFrameworkPermissions&,
                         const HttpFrameworkPermissions&) = default;
};

Status ReadPermissionConfig(PermissionConfigReader& r, HttpFrameworkPermissions* p);
// The intersection of a parent's permission and a restriction (docs/permissions.md).
HttpFrameworkPermissions NarrowPermission(const HttpFrameworkPermissions& parent, const HttpFrameworkPermissions& restriction);
// The rules the handler registers.
const PermissionRules& HttpFrameworkPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckHttpRoute(const HttpFrameworkPermissions* p, std::string_view method,
                      std::string_view route);
Status CheckHttpRoute(const EffectivePermissions& perms, std::string_view method,
                      std::string_view route);

}  // namespace theater::handlers
