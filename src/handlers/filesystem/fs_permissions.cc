// Theater: a WebAssembly actor runtime.
#include "handlers/filesystem/fs_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

Status ReadPermissionConfig(PermissionConfigReader& r, FileSystemPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.Bool("read", &p->read));
  THEATER_RETURN_IF_ERROR(r.Bool("write", &p->write));
  THEATER_RETURN_IF_ERROR(r.Bool("execute", &p->execute));
  THEATER_RETURN_IF_ERROR(r.Bool("new_dir", &p->new_dir));
  THEATER_RETURN_IF_ERROR(r.List("allowed_commands", &p->allowed_commands));
  THEATER_RETURN_IF_ERROR(r.List("allowed_paths", &p->allowed_paths));
  return r.Strings("denied_paths", &p->denied_paths);
}

FileSystemPermissions NarrowPermission(const FileSystemPermissions& p, const FileSystemPermissions& r) {
  FileSystemPermissions out;
  out.read = p.read && r.read;
  out.write = p.write && r.write;
  out.execute = p.execute && r.execute;
  out.new_dir = p.new_dir && r.new_dir;
  out.allowed_commands = Intersect(p.allowed_commands, r.allowed_commands);
  out.allowed_paths = IntersectPaths(p.allowed_paths, r.allowed_paths);
  out.denied_paths = Unite(p.denied_paths, r.denied_paths);
  return out;
}

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
