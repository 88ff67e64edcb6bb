// Theater: a WebAssembly actor runtime.
#include "handlers/timing/timing_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

const PermissionRules& TimingPermissionRules() {
  static const PermissionRulesFor<TimingPermissions> rules;
  return rules;
}

Status CheckSleep(const TimingPermissions* p, uint64_t duration_ms) {
  if (!p) return OperationDenied("sleep", "timing");
  if (duration_ms > p->max_sleep_duration) {
    return LimitExceeded("sleep_duration", duration_ms, ">", p->max_sleep_duration);
  }
  if (duration_ms < p->min_sleep_duration) {
    return LimitExceeded("min_sleep_duration", duration_ms, "<", p->min_sleep_duration);
  }
  return Status::Ok();
}

Status CheckSleep(const EffectivePermissions& perms, uint64_t duration_ms) {
  return CheckSleep(perms.Get<TimingPermissions>(kTimingHandler), duration_ms);
}

}  // namespace theater::handlers
