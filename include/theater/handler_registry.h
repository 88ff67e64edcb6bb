// Theater: a WebAssembly actor runtime.
//
// HandlerRegistry: the handlers a runtime offers its actors, registered by the embedder before
// the runtime starts (TheaterRuntime::Create takes it). theater/builtins.h gives the standard set;
// an embedder adds its own beside them (examples/custom-handler):
//
//   HandlerRegistry handlers = BuiltinHandlers();
//   THEATER_RETURN_IF_ERROR(handlers.Register(std::make_unique<CounterHandler>()));
//   auto runtime = TheaterRuntime::Create(options, std::move(handlers));
//
// There is no global registry: each runtime has the one it was given, so tests can offer any set.
//
// Thread-safety: Register only before the registry is handed to a runtime; after that the
// runtime reads it from any thread (everything it calls is const). Ownership: owns its prototypes
// and their parsed WIT; move-only.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "theater/engine.h"
#include "theater/handler.h"
#include "theater/manifest.h"
#include "theater/permissions.h"
#include "theater/status.h"

namespace theater {

namespace wit {
struct Package;
}

class HandlerRegistry {
 public:
  HandlerRegistry();
  ~HandlerRegistry();
  HandlerRegistry(HandlerRegistry&&) noexcept;
  HandlerRegistry& operator=(HandlerRegistry&&) noexcept;

  // Registers a prototype; a later registration with the same name replaces the earlier one.
  // Fails (registering nothing) when its wit() does not parse, naming the handler.
  [[nodiscard]] Status Register(std::unique_ptr<Handler> prototype);
  const Handler* Find(std::string_view name) const;
  // The parsed wit() of a registered handler; null when it has none.
  const wit::Package* WitOf(std::string_view name) const;
  // The names of the registered handlers, in registration order.
  std::vector<std::string_view> Names() const;
  // The error for a `[[handler]]` table whose type is none of them: "<location>: unknown handler
  // type 'timming' (did you mean 'timing'?)", or the known types when none is near.
  Status UnknownHandlerType(const HandlerConfig& config) const;

  // --- Permissions (theater/permissions.h), over the registered handlers. ---
  // A top-level actor's: every handler's Root() (or its yes/no permission).
  EffectivePermissions RootPermissions() const;
  // The handlers `[permission_policy]` may name, with their keys and rules.
  std::vector<PolicyHandler> PolicyHandlers() const;
  // The rules of a registered handler (null: none, or no such handler).
  const PermissionRules* PermissionRulesOf(std::string_view name) const;

  // The handler instances for an actor with `manifest` and `module`: one per `[[handler]]`
  // table, then one per registered handler whose imports()/exports() interface the module
  // imports or exports and that is not already active. Such a handler must be implicit() unless
  // `auto_handlers` (or the manifest's auto_handlers) is set. Errors: an unknown `[[handler]]`
  // type, a handler listed twice, a handler's own config error (with the table's location), or
  // a handler the module uses without declaring it (naming it and the table to add).
  Result<std::vector<std::unique_ptr<Handler>>> Activate(const Manifest& manifest,
                                                         const engine::Module& module,
                                                         bool auto_handlers = false) const;

 private:
  struct Entry;
  std::vector<Entry> entries_;
};

}  // namespace theater
