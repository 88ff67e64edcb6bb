// Theater: a WebAssembly actor runtime.
#include "handlers/http-client/http_client_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

Status ReadPermissionConfig(PermissionConfigReader& r, HttpClientPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.List("allowed_methods", &p->allowed_methods, Upper));
  THEATER_RETURN_IF_ERROR(
      r.List("allowed_hosts", &p->allowed_hosts, [](std::string s) { return AsciiLower(s); }));
  THEATER_RETURN_IF_ERROR(r.OptU64("max_redirects", &p->max_redirects));
  return r.OptU64("timeout", &p->timeout_ms);
}

HttpClientPermissions NarrowPermission(const HttpClientPermissions& p, const HttpClientPermissions& r) {
  HttpClientPermissions out;
  out.allowed_methods = Intersect(p.allowed_methods, r.allowed_methods);
  out.allowed_hosts = Intersect(p.allowed_hosts, r.allowed_hosts);
  out.max_redirects = MinOpt(p.max_redirects, r.max_redirects);
  out.timeout_ms = MinOpt(p.timeout_ms, r.timeout_ms);
  return out;
}

const PermissionRules& HttpClientPermissionRules() {
  static const PermissionRulesFor<HttpClientPermissions> rules;
  return rules;
}

Status CheckHttp(const HttpClientPermissions* p, std::string_view method,
                 std::string_view host) {
  if (!p) return OperationDenied("http-request", "http-client");
  THEATER_RETURN_IF_ERROR(CheckMethod(p->allowed_methods, method));
  const AllowList& hosts = p->allowed_hosts;
  if (hosts && !Contains(*hosts, AsciiLower(std::string(host)))) {
    return PermissionDenied("Host '" + std::string(host) +
                            "' not in allowed hosts: " + FormatList(*hosts));
  }
  return Status::Ok();
}

Status CheckHttp(const EffectivePermissions& perms, std::string_view method,
                 std::string_view host) {
  return CheckHttp(perms.Get<HttpClientPermissions>(kHttpClientHandler), method, host);
}

}  // namespace theater::handlers
