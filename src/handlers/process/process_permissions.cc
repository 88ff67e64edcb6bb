// Theater: a WebAssembly actor runtime.
#include "handlers/process/process_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "common/child_env.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

AllowList IntersectEnvPatterns(const AllowList& parent, const AllowList& child) {
  return IntersectWithinBy(parent, child, EnvPatternWithin);
}

const PermissionRules& ProcessPermissionRules() {
  static const PermissionRulesFor<ProcessPermissions> rules;
  return rules;
}

Status CheckProgram(const ProcessPermissions* granted, std::string_view program, uint64_t running,
                    std::string_view cwd) {
  if (!granted) return OperationDenied("spawn", "process");
  const ProcessPermissions& p = *granted;
  if (running >= p.max_processes) {
    return LimitExceeded("process_count", running == kUnlimited ? running : running + 1, ">",
                         p.max_processes);
  }
  THEATER_RETURN_IF_ERROR(CheckCommand(p.allowed_programs, program));
  if (!cwd.empty()) THEATER_RETURN_IF_ERROR(CheckPath(p.allowed_paths, cwd));
  return Status::Ok();
}

Status CheckProgram(const EffectivePermissions& perms, std::string_view program, uint64_t running,
                    std::string_view cwd) {
  return CheckProgram(perms.Get<ProcessPermissions>(kProcessHandler), program, running, cwd);
}

Status CheckProcessOutputBuffer(const ProcessPermissions* p, uint64_t bytes) {
  if (!p) return OperationDenied("spawn", "process");
  if (bytes > p->max_output_buffer) {
    return LimitExceeded("output_buffer", bytes, ">", p->max_output_buffer);
  }
  return Status::Ok();
}

Status CheckProcessOutputBuffer(const EffectivePermissions& perms, uint64_t bytes) {
  return CheckProcessOutputBuffer(perms.Get<ProcessPermissions>(kProcessHandler), bytes);
}

}  // namespace theater::handlers
