// Theater: a WebAssembly actor runtime.
//
// The process handler's permission (src/handlers/process/README.md, "Permissions"): its value, how a
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

inline constexpr std::string_view kProcessHandler = "process";

// allowed_env narrowed for a child: the parent's entries and the child's, each kept where the
// other allows all it names ("APP_*" and "APP_DEBUG" give "APP_DEBUG").
AllowList IntersectEnvPatterns(const AllowList& parent, const AllowList& child);

struct ProcessPermissions {
  uint64_t max_processes = kUnlimited;
  uint64_t max_output_buffer = kUnlimited;  // bytes
  AllowList allowed_programs;
  AllowList allowed_paths;  // working directories (component-wise prefixes)
  // Variables os-spawn's `env` may set, names or "PREFIX*" (common/child_env.h); a ceiling on
  // the handler config's allowed_env, which must name a variable too.
  AllowList allowed_env;
  // The config keys, in reading order, and how each narrows (handlers/support/permission_fields.h).
  static constexpr auto Fields() {
    using P = ProcessPermissions;
    return std::tuple{Limit("max_processes", &P::max_processes),
                      Limit("max_output_buffer", &P::max_output_buffer),
                      Allow("allowed_programs", &P::allowed_programs),
                      Allow("allowed_paths", &P::allowed_paths, IntersectPaths),
                      Allow("allowed_env", &P::allowed_env, IntersectEnvPatterns)};
  }
  friend bool operator==(const ProcessPermissions&, const ProcessPermissions&) = default;
};

// The rules the handler registers.
const PermissionRules& ProcessPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
// Spawning a process while `running` processes are alive: count below max_processes, program in
// allowed_programs when set, and the working directory (when not empty) within allowed_paths.
Status CheckProgram(const ProcessPermissions* p, std::string_view program, uint64_t running,
                    std::string_view cwd = {});
Status CheckProgram(const EffectivePermissions& perms, std::string_view program, uint64_t running,
                    std::string_view cwd = {});
Status CheckProcessOutputBuffer(const ProcessPermissions* p, uint64_t bytes);
Status CheckProcessOutputBuffer(const EffectivePermissions& perms, uint64_t bytes);

}  // namespace theater::handlers
