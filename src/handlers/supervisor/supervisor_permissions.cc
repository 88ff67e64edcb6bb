// Theater: a WebAssembly actor runtime.
#include "handlers/supervisor/supervisor_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

const PermissionRules& SupervisorPermissionRules() {
  static const PermissionRulesFor<SupervisorPermissions> rules;
  return rules;
}

Status CheckSpawnChild(const SupervisorPermissions* p, std::string_view manifest,
                       uint64_t children) {
  if (!p) return OperationDenied("spawn", "supervisor");
  const SupervisorPermissions& s = *p;
  if (s.max_children && children >= *s.max_children) {
    return LimitExceeded("child_count", children == kUnlimited ? children : children + 1, ">",
                         *s.max_children);
  }
  if (s.allowed_manifests && !Contains(*s.allowed_manifests, manifest)) {
    return PermissionDenied("Manifest '" + std::string(manifest) +
                            "' not in allowed manifests: " + FormatList(*s.allowed_manifests));
  }
  return Status::Ok();
}

Status CheckSpawnChild(const EffectivePermissions& perms, std::string_view manifest,
                       uint64_t children) {
  return CheckSpawnChild(perms.Get<SupervisorPermissions>(kSupervisorHandler), manifest, children);
}

}  // namespace theater::handlers
