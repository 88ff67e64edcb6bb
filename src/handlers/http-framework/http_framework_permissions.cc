// Theater: a WebAssembly actor runtime.
#include "handlers/http-framework/http_framework_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

Status ReadPermissionConfig(PermissionConfigReader& r, HttpFrameworkPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.List("allowed_routes", &p->allowed_routes));
  THEATER_RETURN_IF_ERROR(r.List("allowed_methods", &p->allowed_methods, Upper));
  return r.OptU64("max_request_size", &p->max_request_size);
}

HttpFrameworkPermissions NarrowPermission(const HttpFrameworkPermissions& p, const HttpFrameworkPermissions& r) {
  HttpFrameworkPermissions out;
  out.allowed_routes = Intersect(p.allowed_routes, r.allowed_routes);
  out.allowed_methods = Intersect(p.allowed_methods, r.allowed_methods);
  out.max_request_size = MinOpt(p.max_request_size, r.max_request_size);
  return out;
}

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
