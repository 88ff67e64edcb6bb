// Theater: a WebAssembly actor runtime.
//
// A component presented to the runtime as an engine::Module, so that everything that runs
// actors (ActorHost, the scheduler, spawn and update) accepts a component wherever it accepts a
// core module.
//
// The runtime calls an actor through the core-module conventions: exports named
// "<interface>#<function>", their "cabi_post_..." functions, "cabi_realloc" and "memory". A
// component built by the standard tools from such a module keeps it as its main core module and
// lifts its exports from there; the ComponentModule exposes that main module's exports under
// the names of the functions the component exports (whatever the core exports are called), and
// binds every function the component lowers through the ImportResolver it is instantiated with,
// by interface and function name, as if a core module imported it. Host functions therefore see
// one instance — the ComponentActorInstance, whose memory is the main module's — whichever of
// the component's core instances called them, and may suspend it like any actor.
//
// What differs from a core module: `_initialize` is not exported (a component initialises
// itself when instantiated, as the component model defines), every function the component
// imports or exports is checked against its component-level type before it runs, and every canon
// option must use the main module's memory and realloc (true of what `wasm-tools component new`
// makes; other layouts are refused with a message).
//
// Thread-safety: like engine::Module, immutable once loaded except for the export view, which the
// first instantiation fills in under a lock (every instantiation derives the same one).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "component/value_host.h"
#include "theater/abi/component.h"
#include "theater/abi/wit.h"
#include "theater/engine.h"
#include "theater/status.h"

namespace theater::component {

// Implemented by an engine::ImportResolver that serves some of a component's imports with
// abi::Values and resource handles (value_host.h) instead of at the core level: the runtime's,
// for the interfaces handlers serve that way (WASI preview 2, HostFunctions::
// ServeComponentInterfaces). A resolver without it has every import resolved at the core level.
class ValueImportResolver {
 public:
  virtual ~ValueImportResolver() = default;
  // Whether the imports of `interface_name` are served with values.
  virtual bool ServesWithValues(std::string_view interface_name) = 0;
  // The implementation of `import`, whose interface ServesWithValues accepted; an error names it.
  virtual Result<ValueHost::Function> ResolveValueImport(const LoweredImport& import) = 0;
  // What to call when the guest drops its last owned handle of a resource of such an interface
  // (the resolver may be gone by then: the function keeps what it needs); null for a resource of
  // an interface not served with values.
  virtual std::function<void(uint32_t rep)> ResourceDropper(std::string_view interface_name) = 0;
};

// Decodes a component binary and prepares it to be instantiated on `engine`. The core modules
// are compiled (or fetched from the engine's cache) at the first instantiation.
Result<std::shared_ptr<const engine::Module>> LoadComponentModule(engine::Engine& engine,
                                                                  std::span<const uint8_t> bytes,
                                                                  std::string name);

// True when `module` was made by LoadComponentModule.
bool IsComponentModule(const engine::Module& module);

// The decoded component behind a module made by LoadComponentModule, else null.
const Component* ComponentOf(const engine::Module& module);

// For an instance of a module made by LoadComponentModule: the function its root component
// exports as `interface_name#function` (its own type, and the resource types its handles name),
// valid as long as the instance; null for another instance or an unknown export.
const LiftedExport* FindComponentExport(engine::Instance& instance, std::string_view interface_name,
                                        std::string_view function);
// The same instance's handle table takes the host's representations in `args`, the params of
// its export `e` (GiveArgumentsToGuest, value_host.h).
Status GiveArgumentsToGuest(engine::Instance& instance, const LiftedExport& e,
                            std::vector<abi::Value>& args);

// For a module made by LoadComponentModule: CheckAgainstWit (wit_check.h) of its component,
// computed once per package and remembered (every spawn of the actor asks). OK for core modules.
Status CheckModuleAgainstWit(const engine::Module& module, const wit::Package& package);

}  // namespace theater::component
