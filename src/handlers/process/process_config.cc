// Theater: a WebAssembly actor runtime.
#include "handlers/process/process_config.h"

#include "common/child_env.h"
#include "theater/handler.h"

namespace theater::handlers {
namespace {

Result<std::vector<std::string>> Strings(const std::string& key, const nlohmann::json& value) {
  if (!value.is_array()) return InvalidArgument(key + ": must be a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < value.size(); ++i) {
    std::string where = key + "[" + std::to_string(i) + "]";
    if (!value[i].is_string()) return InvalidArgument(where + ": must be a string");
    std::string s = value[i].get<std::string>();
    if (s.empty() || s.find('\0') != std::string::npos) {
      return InvalidArgument(where + ": must be non-empty and contain no NUL byte");
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Result<ProcessConfig> ParseProcessConfig(const nlohmann::json& config) {
  ProcessConfig out;
  if (config.is_null()) return out;
  if (!config.is_object()) return InvalidArgument("config: must be a table");
  for (const auto& [key, value] : config.items()) {
    if (key == "max_processes") {
      THEATER_ASSIGN_OR_RETURN(out.max_processes,
                               ConfigLimit(value, key, 1, kMaxProcessesCap));
    } else if (key == "max_output_buffer") {
      THEATER_ASSIGN_OR_RETURN(out.max_output_buffer,
                               ConfigLimit(value, key, 1, kMaxOutputBufferCap));
    } else if (key == "allowed_programs") {
      THEATER_ASSIGN_OR_RETURN(out.allowed_programs, Strings(key, value));
    } else if (key == "allowed_paths") {
      THEATER_ASSIGN_OR_RETURN(out.allowed_paths, Strings(key, value));
    } else if (key == "allowed_env") {
      THEATER_ASSIGN_OR_RETURN(out.allowed_env, Strings(key, value));
      for (size_t i = 0; i < out.allowed_env.size(); ++i) {
        if (Status bad = CheckEnvPattern(out.allowed_env[i]); !bad.ok()) {
          return InvalidArgument(key + "[" + std::to_string(i) + "]: " + bad.message());
        }
      }
    } else if (key == "unconfined" || key == "allow_network" || key == "require_noexec") {
      if (!value.is_boolean()) return InvalidArgument(key + ": must be a boolean");
      bool& field = key == "unconfined"      ? out.unconfined
                    : key == "allow_network" ? out.allow_network
                                             : out.require_noexec;
      field = value.get<bool>();
    } else {
      return InvalidArgument("unknown key '" + key +
                             "' (expected max_processes, max_output_buffer, allowed_programs, "
                             "allowed_paths, allowed_env, unconfined, allow_network, "
                             "require_noexec)");
    }
  }
  return out;
}

}  // namespace theater::handlers
