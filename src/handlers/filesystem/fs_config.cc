// Theater: a WebAssembly actor runtime.
#include "handlers/filesystem/fs_config.h"

#include "theater/handler.h"

namespace theater::handlers {
namespace {

Result<bool> Bool(const std::string& key, const nlohmann::json& value) {
  if (!value.is_boolean()) return InvalidArgument(key + ": must be a boolean");
  return value.get<bool>();
}

Result<std::vector<std::string>> Commands(const std::string& key, const nlohmann::json& value) {
  if (!value.is_array()) return InvalidArgument(key + ": must be a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < value.size(); ++i) {
    std::string where = key + "[" + std::to_string(i) + "]";
    if (!value[i].is_string()) return InvalidArgument(where + ": must be a string");
    std::string command = value[i].get<std::string>();
    // A relative path with a '/' would be looked up against whatever directory the command runs
    // in, i.e. a file the actor itself may have written: only bare names and absolute paths.
    if (command.empty() || command.find('\0') != std::string::npos) {
      return InvalidArgument(where + ": must be a non-empty program name");
    }
    if (command.find('/') != std::string::npos && command.front() != '/') {
      return InvalidArgument(where + ": '" + command +
                             "' must be a bare program name (looked up on PATH) or an absolute "
                             "path");
    }
    out.push_back(std::move(command));
  }
  return out;
}

}  // namespace

Result<FilesystemConfig> ParseFilesystemConfig(const nlohmann::json& config) {
  FilesystemConfig out;
  if (!config.is_object()) return InvalidArgument("config: must be a table");
  bool keep_dir_set = false;
  for (const auto& [key, value] : config.items()) {
    if (key == "path") {
      if (!value.is_string()) return InvalidArgument("path: must be a string");
      std::string path = value.get<std::string>();
      if (path.empty()) return InvalidArgument("path: must not be empty");
      if (path.find('\0') != std::string::npos) {
        return InvalidArgument("path: must not contain a NUL byte");
      }
      out.path = std::move(path);
    } else if (key == "new_dir") {
      THEATER_ASSIGN_OR_RETURN(out.new_dir, Bool(key, value));
    } else if (key == "temp_dir") {
      THEATER_ASSIGN_OR_RETURN(out.temp_dir, Bool(key, value));
    } else if (key == "keep_dir") {
      THEATER_ASSIGN_OR_RETURN(out.keep_dir, Bool(key, value));
      keep_dir_set = true;
    } else if (key == "allowed_commands") {
      THEATER_ASSIGN_OR_RETURN(out.allowed_commands, Commands(key, value));
    } else if (key == "command_timeout_ms") {
      THEATER_ASSIGN_OR_RETURN(out.command_timeout_ms,
                               ConfigLimit(value, key, 1, kMaxCommandTimeoutMs));
    } else if (key == "max_output_bytes") {
      THEATER_ASSIGN_OR_RETURN(out.max_output_bytes,
                               ConfigLimit(value, key, 1, kMaxOutputBytesCap));
    } else if (key == "max_file_bytes") {
      THEATER_ASSIGN_OR_RETURN(out.max_file_bytes,
                               ConfigLimit(value, key, 1, kMaxFileBytesCap));
    } else if (key == "unconfined") {
      THEATER_ASSIGN_OR_RETURN(out.unconfined, Bool(key, value));
    } else if (key == "allow_network") {
      THEATER_ASSIGN_OR_RETURN(out.allow_network, Bool(key, value));
    } else if (key == "require_noexec") {
      THEATER_ASSIGN_OR_RETURN(out.require_noexec, Bool(key, value));
    } else {
      return InvalidArgument("unknown key '" + key +
                             "' (expected path, new_dir, temp_dir, keep_dir, allowed_commands, "
                             "command_timeout_ms, max_output_bytes, max_file_bytes, unconfined, "
                             "allow_network, require_noexec)");
    }
  }
  // `new_dir = true` alone asks for a private directory, as `temp_dir = true` does.
  if (out.new_dir && !out.path) {
    out.new_dir = false;
    out.temp_dir = true;
  }
  if (out.path && out.temp_dir) {
    return InvalidArgument(
        "path and temp_dir = true are exclusive: give one of them (new_dir = true with path "
        "creates that directory when it is missing)");
  }
  if (!out.path && !out.temp_dir) {
    return InvalidArgument("one of 'path' or 'temp_dir = true' is required");
  }
  if (keep_dir_set && !out.temp_dir) {
    return InvalidArgument("keep_dir: only allowed with temp_dir (a private directory)");
  }
  return out;
}

}  // namespace theater::handlers
