// Theater: a WebAssembly actor runtime.
//
// The environment handler: theater:simple/environment (get-var, list-vars, exists), read-only
// access to the host process's environment variables. What an actor sees is decided by
// env_rules.h: its environment permission and this handler's config must both allow a
// variable. A hidden variable looks exactly like an unset one (none / false / left out of the
// list), so an actor cannot probe which variables exist. Every call and its result are recorded
// in the actor's chain by the actor host, like any host call — values included.
//
// Config (`[[handler]] type = "environment"`): `allowed_vars`, `denied_vars`,
// `allowed_prefixes`, `allow_list_all` (docs/handlers.md).
//
// Thread-safety: one instance per actor; the config is immutable after CreateInstance and the
// host functions only read the process environment.
#include <unistd.h>

#include "handlers/environment/environment_handler.h"
#include "handlers/environment/environment_permissions.h"
#include "handlers/environment/env_rules.h"

namespace theater::handlers {
namespace {

using abi::Value;

const EffectivePermissions& PermissionsOf(ActorContext& actor) {
  return actor.permissions();
}

class EnvironmentHandler final : public Handler {
 public:
  EnvironmentHandler() = default;
  explicit EnvironmentHandler(EnvironmentPermissions config) : config_(std::move(config)) {}

  std::string_view name() const override { return "environment"; }
  std::optional<std::string> imports() const override { return "theater:simple/environment"; }
  std::optional<std::string> exports() const override { return std::nullopt; }
  const PermissionRules* permission_rules() const override { return &EnvironmentPermissionRules(); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_ASSIGN_OR_RETURN(EnvironmentPermissions parsed, ParseEnvironmentConfig(config.config));
    return std::unique_ptr<Handler>(new EnvironmentHandler(std::move(parsed)));
  }

  Status SetupHostFunctions(ActorContext&, HostFunctions& functions) override {
    THEATER_RETURN_IF_ERROR(functions.Add(
        "environment", "get-var", [this](ActorContext& actor, HostArgs args) -> HostResults {
          std::optional<std::string> value =
              ReadEnvVar(PermissionsOf(actor), config_, args[0].as_string());
          return std::vector<Value>{value ? Value::Some(Value::String(std::move(*value)))
                                          : Value::None()};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        "environment", "list-vars", [this](ActorContext& actor, HostArgs) -> HostResults {
          std::vector<Value> pairs;
          for (auto& [name, value] : ListEnvVars(PermissionsOf(actor), config_, environ)) {
            pairs.push_back(
                Value::Tuple({Value::String(std::move(name)), Value::String(std::move(value))}));
          }
          return std::vector<Value>{Value::List(std::move(pairs))};
        }));
    return functions.Add(
        "environment", "exists", [this](ActorContext& actor, HostArgs args) -> HostResults {
          bool set = ReadEnvVar(PermissionsOf(actor), config_, args[0].as_string()).has_value();
          return std::vector<Value>{Value::Bool(set)};
        });
  }

 private:
  EnvironmentPermissions config_;
};

}  // namespace

std::unique_ptr<Handler> NewEnvironmentHandler() {
  return std::make_unique<EnvironmentHandler>();
}

}  // namespace theater::handlers
