// Theater: a WebAssembly actor runtime.
//
// The environment handler's config parsing and variable rule (env_rules.h).
#include "handlers/environment/env_rules.h"

#include <cstdlib>
#include <cstring>

namespace theater::handlers {
namespace {

Result<std::vector<std::string>> StringArray(const std::string& key, const nlohmann::json& value) {
  if (!value.is_array()) return InvalidArgument(key + ": must be an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      return InvalidArgument(key + "[" + std::to_string(i) + "]: must be a string");
    }
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

bool ValidName(std::string_view name) {
  return !name.empty() && name.find('=') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

}  // namespace

Result<EnvironmentPermissions> ParseEnvironmentConfig(const nlohmann::json& config) {
  EnvironmentPermissions out;
  out.allow_list_all = false;
  if (!config.is_object()) return InvalidArgument("config: must be a table");
  for (const auto& [key, value] : config.items()) {
    if (key == "allowed_vars") {
      THEATER_ASSIGN_OR_RETURN(out.allowed_vars, StringArray(key, value));
    } else if (key == "denied_vars") {
      THEATER_ASSIGN_OR_RETURN(out.denied_vars, StringArray(key, value));
    } else if (key == "allowed_prefixes") {
      THEATER_ASSIGN_OR_RETURN(out.allowed_prefixes, StringArray(key, value));
    } else if (key == "allow_list_all") {
      if (!value.is_boolean()) return InvalidArgument(key + ": must be a boolean");
      out.allow_list_all = value.get<bool>();
    } else {
      return InvalidArgument("unknown key '" + key + "'");
    }
  }
  return out;
}

bool EnvVarExposed(const EffectivePermissions& actor, const EnvironmentPermissions& own,
                   std::string_view name) {
  if (!ValidName(name)) return false;
  return CheckEnvVar(actor, name).ok() && CheckEnvVar(&own, name).ok();
}

std::optional<std::string> ReadEnvVar(const EffectivePermissions& actor,
                                      const EnvironmentPermissions& own, std::string_view name) {
  if (!EnvVarExposed(actor, own, name)) return std::nullopt;
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::vector<std::pair<std::string, std::string>> ListEnvVars(const EffectivePermissions& actor,
                                                             const EnvironmentPermissions& own,
                                                             char* const* env) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!CheckEnvListAll(actor).ok() || !own.allow_list_all || env == nullptr) return out;
  for (char* const* entry = env; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;  // malformed entry: no name=value split
    std::string_view name = text.substr(0, eq);
    if (!EnvVarExposed(actor, own, name)) continue;
    out.emplace_back(std::string(name), std::string(text.substr(eq + 1)));
  }
  return out;
}

}  // namespace theater::handlers
