// Theater: a WebAssembly actor runtime.
//
// The pure parts of the environment handler (theater:simple/environment), kept apart from the
// handler so they can be tested without a runtime: parsing the `[[handler]] type = "environment"`
// config and the rule deciding which of the host process's variables an actor sees.
//
// The rule: a variable is exposed when the actor's environment permission allows it AND the
// handler's own config (an EnvironmentPermissions checked with the same CheckEnvVar) allows it.
// Listing needs allow_list_all in both. Names that are empty or contain '=' or NUL are never
// exposed: getenv() would read a different variable than the one the rule was checked on.
//
// Thread-safety: the functions read the process environment (getenv, environ) and are safe as
// long as nothing modifies it concurrently (Theater never does after start-up).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "handlers/environment/environment_permissions.h"
#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

// Parses the config object. Keys: `allowed_vars`, `denied_vars`, `allowed_prefixes` (arrays of
// strings) and `allow_list_all` (boolean, default false: listing every variable is opt-in).
// Absent lists do not restrict. Errors: kInvalidArgument naming the key.
Result<EnvironmentPermissions> ParseEnvironmentConfig(const nlohmann::json& config);

// Whether `name` is exposed to an actor with permissions `actor` by a handler configured `own`.
bool EnvVarExposed(const EffectivePermissions& actor, const EnvironmentPermissions& own,
                   std::string_view name);

// The variable's value when it is set and exposed; nullopt otherwise.
std::optional<std::string> ReadEnvVar(const EffectivePermissions& actor,
                                      const EnvironmentPermissions& own, std::string_view name);

// Every exposed variable of `env` (a NULL-terminated array of "NAME=value" strings, such as
// `environ`), in its order; empty unless both `actor` and `own` allow listing everything.
std::vector<std::pair<std::string, std::string>> ListEnvVars(const EffectivePermissions& actor,
                                                             const EnvironmentPermissions& own,
                                                             char* const* env);

}  // namespace theater::handlers
