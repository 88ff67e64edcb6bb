// Theater: a WebAssembly actor runtime.
//
// The `[[handler]] type = "filesystem"` config (docs/handlers.md, "filesystem"): which directory
// an actor's theater:simple/filesystem calls are confined to, which programs execute-command may
// run, and the handler's limits. Parsing is strict — an unknown key or a value of the wrong type
// is an error naming the key — because a misspelt limit would otherwise silently not apply.
//
// Thread-safety: plain values and a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "theater/status.h"

namespace theater::handlers {

struct FilesystemConfig {
  // `path`: the base directory as written (relative paths resolve against the manifest's
  // directory when the handler is set up). Exactly one of `path` and `temp_dir` is given.
  std::optional<std::string> path;
  // `new_dir = true` with `path` (the design documents' spelling): create `path`, and its
  // missing parents, when it does not exist. Without `path` it is the older spelling of
  // `temp_dir = true`, and ParseFilesystemConfig sets temp_dir instead.
  bool new_dir = false;
  // `temp_dir = true`: a fresh private directory per actor, created when its handler instance
  // is set up; removed when the actor stops unless `keep_dir = true`.
  bool temp_dir = false;
  bool keep_dir = false;
  // Programs execute-command may run (names looked up on PATH, or absolute paths), in addition
  // to the permission's `allowed_commands`. Absent or empty: no command may run.
  std::vector<std::string> allowed_commands;
  uint64_t command_timeout_ms = 10'000;   // a command running longer is killed
  uint64_t max_output_bytes = 1 << 20;    // per stream (stdout, stderr); the rest is dropped
  uint64_t max_file_bytes = 16ull << 20;  // largest file read-file returns / write-file writes
  // Run commands without Landlock (docs/handlers.md, "Confinement of child processes"). Without
  // it a host whose kernel lacks Landlock refuses to run commands.
  bool unconfined = false;
  // Let commands bind and connect TCP sockets (denied by Landlock ABI >= 4 otherwise).
  bool allow_network = false;
  // false: where no mount namespace can be made, run a command with executable grants (and log
  // a warning) instead of refusing to (docs/security.md, "Children of the process and
  // filesystem handlers").
  bool require_noexec = true;
};

// Hard upper bounds on the limits above: whatever the config says, one call must not make the
// host buffer more than this (the WIT returns whole files and outputs in one value).
inline constexpr uint64_t kMaxFileBytesCap = 256ull << 20;
inline constexpr uint64_t kMaxOutputBytesCap = 64ull << 20;
inline constexpr uint64_t kMaxCommandTimeoutMs = 3'600'000;

// Parses the handler's config object. Errors: kInvalidArgument naming the key
// ("allowed_commands[1]: must be a string", "unknown key 'pathh'", "one of 'path' or
// 'temp_dir = true' is required", ...).
Result<FilesystemConfig> ParseFilesystemConfig(const nlohmann::json& config);

}  // namespace theater::handlers
