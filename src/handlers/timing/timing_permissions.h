// Theater: a WebAssembly actor runtime.
//
// The timing handler's permission (src/handlers/timing/README.md, "Permissions"): its value, how a
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

inline constexpr std::string_view kTimingHandler = "timing";

struct TimingPermissions {
  uint64_t max_sleep_duration = kUnlimited;  // ms
  uint64_t min_sleep_duration = 0;           // ms
  friend bool operator==(const TimingPermissions&, const TimingPermissions&) = default;
};

Status ReadPermissionConfig(PermissionConfigReader& r, TimingPermissions* p);
// The intersection of a parent's permission and a restriction (docs/permissions.md).
TimingPermissions NarrowPermission(const TimingPermissions& parent, const TimingPermissions& restriction);
// The rules the handler registers.
const PermissionRules& TimingPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckSleep(const TimingPermissions* p, uint64_t duration_ms);
Status CheckSleep(const EffectivePermissions& perms, uint64_t duration_ms);

}  // namespace theater::handlers
