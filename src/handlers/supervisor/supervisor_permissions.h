// Theater: a WebAssembly actor runtime.
//
// The supervisor handler's permission (src/handlers/supervisor/README.md, "Permissions"): its value, how a
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

inline constexpr std::string_view kSupervisorHandler = "supervisor";

// What a supervising actor may spawn; a default value allows everything.
struct SupervisorPermissions {
  std::optional<uint64_t> max_children;  // nullopt: unlimited
  AllowList allowed_manifests;           // manifest references a child may be spawned from
  friend bool operator==(const SupervisorPermissions&, const SupervisorPermissions&) = default;
};

Status ReadPermissionConfig(PermissionConfigReader& r, SupervisorPermissions* p);
// The intersection of a parent's permission and a restriction (docs/permissions.md).
SupervisorPermissions NarrowPermission(const SupervisorPermissions& parent, const SupervisorPermissions& restriction);
// The rules the handler registers.
const PermissionRules& SupervisorPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckSpawnChild(const SupervisorPermissions* p, std::string_view manifest,
                       uint64_t children);
Status CheckSpawnChild(const EffectivePermissions& perms, std::string_view manifest,
                       uint64_t children);

}  // namespace theater::handlers
