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
#include <tuple>
#include <vector>

#include "handlers/support/permission_fields.h"
#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

inline constexpr std::string_view kEnvironmentHandler = "environment";

struct EnvironmentPermissions {
  AllowList allowed_vars;
  std::vector<std::string> denied_vars;  // always denied, whatever else says
  AllowList allowed_prefixes;
  bool allow_list_all = true;  // may list every variable
  // The config keys, in reading order, and how each narrows (handlers/support/permission_fields.h).
  static constexpr auto Fields() {
    using P = EnvironmentPermissions;
    return std::tuple{Allow("allowed_vars", &P::allowed_vars), Deny("denied_vars", &P::denied_vars),
                      Allow("allowed_prefixes", &P::allowed_prefixes, IntersectPrefixes),
                      Flag("allow_list_all", &P::allow_list_all)};
  }
  friend bool operator==(const EnvironmentPermissions&, const EnvironmentPermissions&) = default;
};

// The rules the handler registers.
const PermissionRules& EnvironmentPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckEnvVar(const EnvironmentPermissions* p, std::string_view var);
Status CheckEnvVar(const EffectivePermissions& perms, std::string_view var);
Status CheckEnvListAll(const EnvironmentPermissions* p);
Status CheckEnvListAll(const EffectivePermissions& perms);

}  // namespace theater::handlers
