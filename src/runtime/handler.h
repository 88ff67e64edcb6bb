// Theater: a WebAssembly actor runtime.
//
// Handlers: the host capabilities an actor reaches through WIT interfaces (runtime, timing,
// supervisor, ...). docs/handlers.md describes each one.
//
// A Handler registered with the HandlerRegistry is a prototype. For every actor the registry
// activates the handlers the actor needs — those its manifest lists in `[[handler]]` (with their
// config) and those whose interface the actor imports or exports — and creates a fresh instance
// of each with CreateInstance(), so no handler state is ever shared between actors by accident.
// The actor then drives its instances through:
//   SetupHostFunctions()  before instantiation: add the host functions of its imports
//   AddExportFunctions()  after instantiation: learn which callbacks the actor exports
//   Start()               once the actor is registered (before `init`): start background work
//   Stop()                when the actor stops: release everything, promptly
//
// Thread-safety: a handler instance belongs to one actor. Its host functions run on that actor's
// fiber, one at a time; Start and Stop run on runtime threads, never concurrently with each other;
// anything the handler runs on other threads (timers, I/O) must synchronise with its host
// functions itself.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "component/wasi_preview2.h"
#include "runtime/actor_host.h"
#include "theater/manifest.h"
#include "theater/status.h"

namespace theater::runtime {

class Actor;

enum class StopKind { kGraceful, kForce };

class Handler {
 public:
  virtual ~Handler() = default;

  // The `[[handler]]` type name, e.g. "timing"; also the permission it needs.
  virtual std::string_view name() const = 0;
  // The interface whose imports it serves (e.g. "theater:simple/timing"), if any.
  virtual std::optional<std::string> imports() const = 0;
  // The interface whose exports it calls (e.g. "theater:simple/supervisor-handlers"), if any.
  virtual std::optional<std::string> exports() const = 0;

  // A new instance for one actor, configured by its `[[handler]]` table (an empty object when
  // the handler was activated by an import or export). Errors name the config field.
  virtual Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const = 0;

  // Adds the host functions of imports() to `table` (see AddHostFunction).
  virtual Status SetupHostFunctions(Actor& actor, HostFunctionTable& table) = 0;
  virtual Status AddExportFunctions(Actor& actor) {
    (void)actor;
    return Status();
  }
  virtual Status Start(Actor& actor) {
    (void)actor;
    return Status();
  }
  virtual void Stop(StopKind kind) { (void)kind; }
  // Directories this handler grants the actor through wasi:filesystem; asked, after
  // SetupHostFunctions, only when the actor is a component. The descriptors stay this handler's.
  virtual std::vector<component::WasiPreview2::Preopen> WasiPreopens() { return {}; }
};

// Adds `theater:simple/<interface_name>.<function>` to `table`, typed by the embedded WIT, as a
// function of `handler`. Fails when the WIT has no such function.
Status AddHostFunction(HostFunctionTable& table, std::string_view interface_name,
                       std::string_view function, std::string_view handler, HostFunctionImpl impl);

// A non-negative integer from a handler's config (TOML integers arrive as signed JSON numbers).
// Errors name `key`.
Result<uint64_t> ConfigUnsigned(const nlohmann::json& value, std::string_view key);
// A limit from a handler's config: an integer between `min` and `cap`; errors name `key`.
Result<uint64_t> ConfigLimit(const nlohmann::json& value, std::string_view key, uint64_t min,
                             uint64_t cap);

class HandlerRegistry {
 public:
  // Registers a prototype; a later registration with the same name replaces the earlier one.
  void Register(std::unique_ptr<Handler> prototype);
  const Handler* Find(std::string_view name) const;

  // The handler instances for an actor with `manifest` and `module`: one per `[[handler]]`
  // table, then one per registered handler whose imports()/exports() interface the module
  // imports or exports and that is not already active. Errors: an unknown `[[handler]]` type, a
  // handler listed twice, or a handler's own config error (with the table's location).
  Result<std::vector<std::unique_ptr<Handler>>> Activate(const Manifest& manifest,
                                                         const engine::Module& module) const;

  // The registry with every built-in handler (runtime, supervisor, timing, random, environment).
  static HandlerRegistry WithBuiltins();

 private:
  std::vector<std::unique_ptr<Handler>> prototypes_;
};

}  // namespace theater::runtime
