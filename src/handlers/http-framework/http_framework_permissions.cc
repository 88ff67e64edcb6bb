// Theater: a WebAssembly actor runtime.
#include "handlers/http-framework/http_framework_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

const PermissionRules& HttpFrameworkPermissionRules() {
  static const PermissionRulesFor<HttpFrameworkPermissions> rules;
  return rules;
}

Status CheckHttpRoute(const HttpFrameworkPermissions* p, std::string_view method,
                      std::string_view route) {
  if (!p) return OperationDenied("add-route", "http-framework");
  THEATER_RETURN_IF_ERROR(CheckMethod(p->allowed_methods, method));
  const AllowList& routes = p->allowed_routes;
  if (routes && !Contains(*routes, route)) {
    return PermissionDenied("Route '" + std::string(route) +
                            "' not in allowed routes: " + FormatList(*routes));
  }
  return Status::Ok();
}

Status CheckHttpRoute(const EffectivePermissions& perms, std::string_view method,
                      std::string_view route) {
  return CheckHttpRoute(perms.Get<HttpFrameworkPermissions>(kHttpFrameworkHandler), method, route);
}

}  // namespace theater::handlers
