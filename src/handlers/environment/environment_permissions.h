// Theater: a WebAssembly actor runtime.
//
// The environment handler's permission (src/handlers/environment/README.md, "Permissions"): its value, how a
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

inline constexpr std::string_view kEnvironmentHandler = "environment";

struct EnvironmentPermissions {
  AllowList allowed_vars;
  std::vector<std::string> denied_vars;  // always denied, whatever else says
  AllowList allowed_prefixes;
  bool allow_list_all = true;  // may list every variable
  friend bool operator==(const EnvironmentPermissions&, const EnvironmentPermissions&) = default;
};

Status ReadPermissionConfig(PermissionConfigReader& r, EnvironmentPermissions* p);
// The intersection of a parent's permission and a restriction (docs/permissions.md).
EnvironmentPermissions NarrowPermission(const EnvironmentPermissions& parent, const EnvironmentPermissions& restriction);
// The rules the handler registers.
const PermissionRules& EnvironmentPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckEnvVar(const EnvironmentPermissions* p, std::string_view var);
Status CheckEnvVar(const EffectivePermissions& perms, std::string_view var);
Status CheckEnvListAll(const EnvironmentPermissions* p);
Status CheckEnvListAll(const EffectivePermissions& perms);

}  // namespace theater::handlers
