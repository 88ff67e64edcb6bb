// Theater: a WebAssembly actor runtime.
#include "handlers/environment/environment_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

const PermissionRules& EnvironmentPermissionRules() {
  static const PermissionRulesFor<EnvironmentPermissions> rules;
  return rules;
}

Status CheckEnvVar(const EnvironmentPermissions* p, std::string_view var) {
  if (!p) return OperationDenied("get-var", "environment");
  const EnvironmentPermissions& env = *p;
  Status denied = PermissionDenied("Environment variable '" + std::string(var) + "' access denied");
  if (Contains(env.denied_vars, var)) return denied;
  if (env.allowed_vars && !Contains(*env.allowed_vars, var)) return denied;
  if (env.allowed_prefixes) {
    bool match = std::any_of(env.allowed_prefixes->begin(), env.allowed_prefixes->end(),
                             [var](const std::string& p) { return var.starts_with(p); });
    if (!match) return denied;
  }
  return Status::Ok();
}

Status CheckEnvVar(const EffectivePermissions& perms, std::string_view var) {
  return CheckEnvVar(perms.Get<EnvironmentPermissions>(kEnvironmentHandler), var);
}

Status CheckEnvListAll(const EnvironmentPermissions* p) {
  if (!p || !p->allow_list_all) {
    return OperationDenied("list-vars", "environment");
  }
  return Status::Ok();
}

Status CheckEnvListAll(const EffectivePermissions& perms) {
  return CheckEnvListAll(perms.Get<EnvironmentPermissions>(kEnvironmentHandler));
}

}  // namespace theater::handlers
