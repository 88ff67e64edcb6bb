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
#include <tuple>
#include <vector>

#include "handlers/support/permission_fields.h"
#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

inline constexpr std::string_view kSupervisorHandler = "supervisor";

// What a supervising actor may spawn; a default value allows everything.
struct SupervisorPermissions {
  std::optional<uint64_t> max_children;  // nullopt: unlimited
  AllowList allowed_manifests;           // manifest references a child may be spawned from
  // The config keys, in reading order, and how each narrows (handlers/support/permission_fields.h).
  static constexpr auto Fields() {
    using P = SupervisorPermissions;
    return std::tuple{OptionalLimit("max_children", &P::max_children),
                      Allow("allowed_manifests", &P::allowed_manifests)};
  }
  friend bool operator==(const SupervisorPermissions&, const SupervisorPermissions&) = default;
};

// The rules the handler registers.
const PermissionRules& SupervisorPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckSpawnChild(const SupervisorPermissions* p, std::string_view manifest,
                       uint64_t children);
Status CheckSpawnChild(const EffectivePermissions& perms, std::string_view manifest,
                       uint64_t children);

}  // namespace theater::handlers
