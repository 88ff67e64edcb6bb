// Theater: a WebAssembly actor runtime.
#include "handlers/filesystem/fs_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

const PermissionRules& FileSystemPermissionRules() {
  static const PermissionRulesFor<FileSystemPermissions> rules;
  return rules;
}

Status CheckFileRead(const FileSystemPermissions* p, std::string_view path) {
  if (!p || !p->read) return OperationDenied("read", "filesystem");
  return CheckPath(p->allowed_paths, path);
}

Status CheckFileRead(const EffectivePermissions& perms, std::string_view path) {
  return CheckFileRead(perms.Get<FileSystemPermissions>(kFilesystemHandler), path);
}

Status CheckFileWrite(const FileSystemPermissions* p, std::string_view path) {
  if (!p || !p->write) {
    return OperationDenied("write", "filesystem");
  }
  return CheckPath(p->allowed_paths, path);
}

Status CheckFileWrite(const EffectivePermissions& perms, std::string_view path) {
  return CheckFileWrite(perms.Get<FileSystemPermissions>(kFilesystemHandler), path);
}

Status CheckFileCreateDir(const FileSystemPermissions* p, std::string_view path) {
  if (!p || !p->write || !p->new_dir) {
    return OperationDenied("create-dir", "filesystem");
  }
  return CheckPath(p->allowed_paths, path);
}

Status CheckFileCreateDir(const EffectivePermissions& perms, std::string_view path) {
  return CheckFileCreateDir(perms.Get<FileSystemPermissions>(kFilesystemHandler), path);
}

Status CheckFileCommand(const FileSystemPermissions* p, std::string_view command) {
  if (!p || !p->execute) {
    return OperationDenied("execute", "filesystem");
  }
  return CheckCommand(p->allowed_commands, command);
}

Status CheckFileCommand(const EffectivePermissions& perms, std::string_view command) {
  return CheckFileCommand(perms.Get<FileSystemPermissions>(kFilesystemHandler), command);
}

}  // namespace theater::handlers
