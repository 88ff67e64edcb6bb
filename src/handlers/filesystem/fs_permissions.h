// Theater: a WebAssembly actor runtime.
//
// The filesystem handler's permission (src/handlers/filesystem/README.md, "Permissions"): its value, how a
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

inline constexpr std::string_view kFilesystemHandler = "filesystem";

struct FileSystemPermissions {
  bool read = true;
  bool write = true;
  bool execute = true;
  bool new_dir = true;         // may create directories (also needs `write`)
  AllowList allowed_commands;  // commands `execute` may run
  AllowList allowed_paths;     // directory trees (component-wise prefixes) that may be touched
  // Paths (files or trees) under the allowed ones that stay refused, checked on the path a call
  // resolves to, links followed. Empty: none.
  std::vector<std::string> denied_paths;
  // The config keys, in reading order, and how each narrows (handlers/support/permission_fields.h).
  static constexpr auto Fields() {
    using P = FileSystemPermissions;
    return std::tuple{Flag("read", &P::read),
                      Flag("write", &P::write),
                      Flag("execute", &P::execute),
                      Flag("new_dir", &P::new_dir),
                      Allow("allowed_commands", &P::allowed_commands),
                      Allow("allowed_paths", &P::allowed_paths, IntersectPaths),
                      Deny("denied_paths", &P::denied_paths)};
  }
  friend bool operator==(const FileSystemPermissions&, const FileSystemPermissions&) = default;
};

// The rules the handler registers.
const PermissionRules& FileSystemPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckFileRead(const FileSystemPermissions* p, std::string_view path);
Status CheckFileRead(const EffectivePermissions& perms, std::string_view path);
Status CheckFileWrite(const FileSystemPermissions* p, std::string_view path);
Status CheckFileWrite(const EffectivePermissions& perms, std::string_view path);
Status CheckFileCreateDir(const FileSystemPermissions* p, std::string_view path);
Status CheckFileCreateDir(const EffectivePermissions& perms, std::string_view path);
Status CheckFileCommand(const FileSystemPermissions* p, std::string_view command);
Status CheckFileCommand(const EffectivePermissions& perms, std::string_view command);

}  // namespace theater::handlers
