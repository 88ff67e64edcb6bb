// Theater: a WebAssembly actor runtime.
#include "handlers/http-client/http_client_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

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
