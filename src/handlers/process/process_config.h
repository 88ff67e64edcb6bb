// Theater: a WebAssembly actor runtime.
//
// The `[[handler]] type = "process"` config (docs/handlers.md, "process"): the limits and
// allowlists of one actor's process handler. They narrow the actor's `process` permission; they
// never widen it. Parsing is strict — an unknown key or a value of the wrong type is an error
// naming the key — because a misspelt limit would otherwise silently not apply.
//
// Thread-safety: plain values and a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

struct ProcessConfig {
  // Processes alive at once: counted from os-spawn until the process has exited and its pipes
  // have been read to the end (its exit is then queued for the actor).
  uint64_t max_processes = 10;
  // Bytes of one process's output the host holds at once (see ProcessSupervisor): when reached,
  // its pipes are not read until the actor has handled what is pending.
  uint64_t max_output_buffer = 1 << 20;
  // Programs os-spawn may run, compared with `program` exactly as the actor writes it.
  // nullopt: any.
  AllowList allowed_programs;
  // Directories (component-wise, after resolving links) a process may start in. Relative entries
  // are relative to the manifest's directory. nullopt: any.
  AllowList allowed_paths;
  // Run processes without Landlock (docs/handlers.md, "Confinement of child processes"). Without
  // it a host whose kernel lacks Landlock refuses to start processes.
  bool unconfined = false;
  // Let processes bind and connect TCP sockets (denied by Landlock ABI >= 4 otherwise).
  bool allow_network = false;
  // Variables os-spawn's `env` may set: names ("MY_VAR") or prefixes ("APP_*"), each checked by
  // CheckEnvPattern (common/child_env.h). Empty: none — the host's base variables only.
  std::vector<std::string> allowed_env;
  // false: where no mount namespace can be made, run a program with executable grants (and log
  // a warning) instead of refusing to (docs/security.md, "Children of the process and
  // filesystem handlers").
  bool require_noexec = true;
};

// Hard upper bounds, whatever the config or permission says.
inline constexpr uint64_t kMaxProcessesCap = 4096;
inline constexpr uint64_t kMaxOutputBufferCap = 256ull << 20;

// Parses the handler's config object. Errors: kInvalidArgument naming the key
// ("max_processes: must be at least 1", "allowed_programs[0]: must be a string",
// "unknown key 'max_proceses' (expected …)").
Result<ProcessConfig> ParseProcessConfig(const nlohmann::json& config);

}  // namespace theater::handlers
