// Theater: a WebAssembly actor runtime.
#include "handlers/environment/environment_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

Status ReadPermissionConfig(PermissionConfigReader& r, EnvironmentPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.List("allowed_vars", &p->allowed_vars));
  THEATER_RETURN_IF_ERROR(r.Strings("denied_vars", &p->denied_vars));
  THEATER_RETURN_IF_ERROR(r.List("allowed_prefixes", &p->allowed_prefixes));
  return r.Bool("allow_list_all", &p->allow_list_all);
}

EnvironmentPermissions NarrowPermission(const EnvironmentPermissions& p, const EnvironmentPermissions& r) {
  EnvironmentPermissions out;
  out.allowed_vars = Intersect(p.allowed_vars, r.allowed_vars);
  out.denied_vars = Unite(p.denied_vars, r.denied_vars);
  out.allowed_prefixes = IntersectPrefixes(p.allowed_prefixes, r.allowed_prefixes);
  out.allow_list_all = p.allow_list_all && r.allow_list_all;
  return out;
}

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
