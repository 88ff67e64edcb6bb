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
#include <tuple>
#include <vector>

#include "handlers/support/permission_fields.h"
#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

inline constexpr std::string_view kTimingHandler = "timing";

struct TimingPermissions {
  uint64_t max_sleep_duration = kUnlimited;  // ms
  uint64_t min_sleep_duration = 0;           // ms
  // The config keys, in reading order, and how each narrows (handlers/support/permission_fields.h).
  static constexpr auto Fields() {
    using P = TimingPermissions;
    return std::tuple{Limit("max_sleep_duration", &P::max_sleep_duration),
                      Floor("min_sleep_duration", &P::min_sleep_duration)};
  }
  friend bool operator==(const TimingPermissions&, const TimingPermissions&) = default;
};

// The rules the handler registers.
const PermissionRules& TimingPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckSleep(const TimingPermissions* p, uint64_t duration_ms);
Status CheckSleep(const EffectivePermissions& perms, uint64_t duration_ms);

}  // namespace theater::handlers
