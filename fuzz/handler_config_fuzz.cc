// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the built-in handlers' config parsers: every `[[handler]]` table of a
// manifest reaches its handler's CreateInstance (every handler BuiltinHandlers() registers),
// which must accept it or refuse it with an error, never crash or throw.
//
// The first input byte chooses the form of the rest:
//   - even: a manifest's TOML (after a fixed name/version/component header), parsed by
//     ParseManifest exactly as a spawn does, every [[handler]] table then handed to its handler;
//   - odd: a JSON object handed to the handler whose index (in registration order) is that
//     byte / 2 (mod the count), the way a config arrives from any other JSON-carrying path.
// The environment handler's config is also applied: a variable it exposes is allowed by both the
// actor's permission and the config (EnvVarExposed is an intersection).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "handlers/environment/env_rules.h"
#include "theater/builtins.h"
#include "theater/manifest.h"
#include "testing/builtin_permissions_view.h"
#include "theater/permissions.h"

namespace {

using namespace theater;
using namespace theater::handlers;
using namespace theater::handlers::permissions_view;

const HandlerRegistry& Registry() {
  static const HandlerRegistry* registry = new HandlerRegistry(BuiltinHandlers());
  return *registry;
}

// Every registered handler type, so that a handler added to the built-in set is fuzzed too.
const std::vector<std::string_view>& Types() {
  static const std::vector<std::string_view>* types =
      new std::vector<std::string_view>(Registry().Names());
  return *types;
}

void Apply(const HandlerConfig& config) {
  const Handler* prototype = Registry().Find(config.type);
  if (prototype == nullptr) return;
  Result<std::unique_ptr<Handler>> instance = prototype->CreateInstance(config);
  if (instance.ok() && (*instance)->name() != config.type) __builtin_trap();
  if (config.type == "environment") {
    Result<EnvironmentPermissions> own = handlers::ParseEnvironmentConfig(config.config);
    if (instance.ok() != own.ok()) __builtin_trap();
    if (!own.ok()) return;
    Perms actor = RootPermissions();
    for (const char* name : {"HOME", "PATH", "THEATER_X", "", "A=B", "LD_PRELOAD"}) {
      bool exposed = handlers::EnvVarExposed(actor, *own, name);
      Perms narrowed;
      narrowed.environment = *own;
      if (exposed && !CheckEnvVar(narrowed, name).ok()) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    std::string text = "name = \"fuzz\"\nversion = \"0.1.0\"\ncomponent = \"a.wasm\"\n";
    text.append(rest);
    Result<Manifest> manifest = ParseManifest(text, "/nonexistent", "fuzz.toml");
    if (!manifest.ok()) return 0;
    for (const HandlerConfig& config : manifest->handlers) Apply(config);
    return 0;
  }
  nlohmann::json config = nlohmann::json::parse(rest, nullptr, false);
  if (config.is_discarded() || !config.is_object()) return 0;
  HandlerConfig handler;
  handler.type = std::string(Types()[(data[0] / 2) % Types().size()]);
  handler.config = std::move(config);
  handler.location = "fuzz.json";
  Apply(handler);
  return 0;
}
