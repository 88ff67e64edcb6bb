// Theater: a WebAssembly actor runtime.
//
// Handlers: the host capabilities an actor reaches through WIT interfaces (runtime, timing,
// supervisor, ... and any an embedder adds). docs/handlers.md describes the built-in ones and how
// to write one; examples/custom-handler is a complete third-party handler.
//
// A Handler registered with a HandlerRegistry (theater/handler_registry.h) is a prototype. For
// every actor the runtime activates the handlers the actor needs — those its manifest lists in
// `[[handler]]` (with their config), and the implicit() ones (or, with auto_handlers, any) whose
// interface the actor imports or exports — and
// creates a fresh instance of each with CreateInstance(), so no handler state is ever shared
// between actors by accident. The actor then drives its instances through:
//   SetupHostFunctions()  before instantiation: add the host functions of its imports
//   AddExportFunctions()  after instantiation: learn which callbacks the actor exports
//   Start()               once the actor is registered (before `init`): start background work
//   Restore()             for an actor a restarted host brought back, after Start(): re-create
//                         what its earlier instances made with this handler (if restores())
//   Stop()                when the actor stops: release everything, promptly
//
// Thread-safety: a handler instance belongs to one actor. Its host functions run on that actor's
// fiber, one at a time; Start and Stop run on runtime threads, never concurrently with each other;
// anything the handler runs on other threads (timers, I/O) must synchronise with its host
// functions itself. A prototype is used only for CreateInstance, from any thread, concurrently:
// it must be immutable.
//
// Ownership: the runtime owns prototypes (in its registry) and instances (with their actor); the
// ActorContext passed to an instance outlives it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "theater/abi/value.h"
#include "theater/host_api.h"
#include "theater/manifest.h"
#include "theater/permissions.h"
#include "theater/status.h"
#include "theater/wasi_preopen.h"

namespace theater {

enum class StopKind { kGraceful, kForce };

// Implements one imported WIT function for one actor. Receives the lifted arguments, returns the
// results to lower (as many as the WIT function has). A non-OK status traps the guest: use it for
// host failures, not for errors the WIT lets the function return (those are `result` values; see
// ErrValue). Every call, with its arguments and results, is recorded in the actor's chain by the
// runtime.
using HostArgs = std::span<const abi::Value>;
using HostResults = Result<std::vector<abi::Value>>;
using HostFunction = std::function<HostResults(ActorContext& actor, HostArgs args)>;

// One call of a core-ABI host function (HostFunctions::AddCore): the raw core arguments, where
// its core results go, and the guest's linear memory, valid for this call only. Every pointer
// the guest passes must be bounds-checked against `memory` before use.
struct CoreCall {
  std::span<uint8_t> memory;
  std::span<const uint64_t> args;
  std::span<uint64_t> results;
};
// A host function of an interface that predates the component model (WASI preview 1): it works
// on core values and guest memory itself, with no WIT type. A non-OK status traps the guest. The
// runtime records nothing for it: the handler records what crossed with
// ActorContext::RecordHostCall (or RecordFailedHostCall), every call, and says how a recorded
// call replays (Handler::ReplayCore).
using CoreHostFunction = std::function<Status(ActorContext& actor, CoreCall& call)>;

// A function of an interface a component imports that the host serves with the component's own
// types rather than a WIT it knows beforehand (WASI preview 2: every component made with the
// preview-1 adapter imports its own version of it). Owned, so a function may keep it.
struct ComponentImport {
  std::string interface_name;  // as imported, version included: "wasi:io/streams@0.2.3"
  std::string function;        // "get-stdout", "[method]output-stream.write"
  abi::FunctionType type;      // the component's type of it
};

// Serves one ComponentImport: `params` are the lifted arguments, resource handles replaced by
// their representations (an own<T> moved to the host, a borrow<T> lent for the call); handles in
// the results are representations of resources the host implements, which the guest then owns.
// A non-OK status traps the guest. The runtime records nothing: the handler records what crossed
// with ActorContext::RecordHostCall.
using ComponentHostFunction = std::function<Result<std::vector<abi::Value>>(
    const ComponentImport& import, std::vector<abi::Value>& params)>;

// The functions of a family of component interfaces (HostFunctions::ServeComponentInterfaces),
// with the resources they hand out. Asked while the component is instantiated; its functions
// and drops then run on the actor's fiber, one at a time.
class ComponentInterfaces {
 public:
  virtual ~ComponentInterfaces() = default;
  // The implementation of `import`, or kNotFound naming it (the actor then fails to spawn).
  virtual Result<ComponentHostFunction> Resolve(const ComponentImport& import) = 0;
  // The guest dropped its last owned handle of a resource these interfaces implement.
  virtual void DropResource(uint32_t rep) = 0;
};

// Where a handler adds its host functions (SetupHostFunctions). Each is typed by the WIT: the
// interfaces of theater:simple (by short name, "timing", or in full, "theater:simple/timing"), or
// an interface of the handler's own WIT (Handler::wit(), by its full name,
// "example:counter/counter"). Every call is checked against the handler's permission (its
// name()) first.
//
// Thread-safety: used by one thread, during SetupHostFunctions only.
class HostFunctions {
 public:
  virtual ~HostFunctions() = default;
  // kInternal when the WIT has no such function; adding one twice replaces the first.
  virtual Status Add(std::string_view interface_name, std::string_view function,
                     HostFunction impl) = 0;
  // Adds a member function of `handler` (which outlives the actor's calls: the handler instance
  // does), e.g. AddMethod("store", "new", this, &StoreHandler::New).
  template <typename H>
  Status AddMethod(std::string_view interface_name, std::string_view function, H* handler,
                   HostResults (H::*method)(ActorContext&, HostArgs)) {
    return Add(interface_name, function, [handler, method](ActorContext& actor, HostArgs args) {
      return (handler->*method)(actor, args);
    });
  }
  // Adds core function `module`.`name` with core signature `params` -> `results`, in the
  // engine's letters (i: i32, I: i64, f: f32, F: f64; theater/engine.h). An import of it with
  // another signature fails the actor's instantiation. Denied calls (the handler not permitted)
  // trap.
  virtual Status AddCore(std::string_view module, std::string_view name, std::string_view params,
                         std::string_view results, CoreHostFunction impl) = 0;
  // Serves every function a component imports from an interface whose name starts with
  // `prefix` ("wasi:") with `interfaces`, which the actor's instance keeps alive (a fresh one per
  // instance: an update instantiates anew). For components only; core modules never ask it.
  // When the handler is not permitted, every call traps.
  virtual Status ServeComponentInterfaces(std::string_view prefix,
                                          std::shared_ptr<ComponentInterfaces> interfaces) = 0;
};

class Handler {
 public:
  virtual ~Handler() = default;

  // The `[[handler]]` type name, e.g. "timing"; also the permission it needs.
  virtual std::string_view name() const = 0;
  // The interface whose imports it serves (e.g. "theater:simple/timing"), if any: an actor
  // importing it activates the handler. A name ending in '*' stands for every interface it is a
  // prefix of ("wasi:*": each WASI interface a component imports).
  virtual std::optional<std::string> imports() const = 0;
  // Whether it serves `function` of the imported interface `interface_name` (one imports()
  // covers, named as the module or component imports it, with its version), told without an
  // actor: what `theater validate` asks of each import before anything runs. nullopt (the
  // default): it cannot tell before an actor sets it up, and the spawn decides. A handler whose
  // imports() is a pattern ("wasi:*") should answer, so that an interface it does not implement
  // is named before the spawn fails on it.
  virtual std::optional<bool> ServesImport(std::string_view interface_name,
                                           std::string_view function) const {
    (void)interface_name;
    (void)function;
    return std::nullopt;
  }
  // The interface whose exports it calls (e.g. "theater:simple/supervisor-handlers"), if any.
  virtual std::optional<std::string> exports() const = 0;
  // WIT source (a `package ...;` with its interfaces) declaring the interfaces this handler
  // serves that are not theater:simple's. Empty for the built-in handlers.
  virtual std::string_view wit() const { return {}; }
  // Whether an actor may use this handler without a `[[handler]]` table. False (the default):
  // an actor whose module imports or exports its interface must declare it (the design's
  // security model: actors declare the handlers they use), unless auto_handlers is on
  // (Manifest::auto_handlers, RuntimeOptions::auto_handlers). True only for handlers that give an
  // actor nothing of the world beyond itself and what every toolchain links in: the runtime
  // handler (its own id, log and state) and the WASI handlers.
  virtual bool implicit() const { return false; }

  // How this handler's permission is granted, restricted by `[permission_policy]` and narrowed
  // for children (theater/permissions.h). Null: a yes/no permission (inherit or disallow). The
  // rules must outlive the prototype (typically a static).
  virtual const PermissionRules* permission_rules() const { return nullptr; }

  // A new instance for one actor, configured by its `[[handler]]` table (an empty object when
  // the handler was activated by an import or export). Errors name the config field.
  virtual Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const = 0;

  // Adds the host functions of imports() to `functions`.
  virtual Status SetupHostFunctions(ActorContext& actor, HostFunctions& functions) = 0;
  virtual Status AddExportFunctions(ActorContext& actor) {
    (void)actor;
    return Status();
  }
  virtual Status Start(ActorContext& actor) {
    (void)actor;
    return Status();
  }
  virtual void Stop(StopKind kind) { (void)kind; }
  // Replays one call of a core-ABI function this handler serves (HostFunctions::AddCore) from the
  // chain (theater/replay.h): does for the guest what the live call did, with every answer that
  // came from the world (a time, random bytes) taken from `recorded`, the outcome the live call
  // recorded, and touches nothing outside the guest. Returns the call as the live call records
  // it, which the replay compares with the recording. Called on the prototype, from any thread:
  // it may use nothing of an instance. The default refuses, so that a handler with core
  // functions says how they replay (typed and component functions replay without the handler:
  // the recorded results are served).
  virtual Result<chain::HostCall> ReplayCore(std::string_view function, CoreCall& call,
                                             const chain::CallOutcome& recorded) const;

  // --- Recovery (docs/persistence.md, "Recovery") ---
  // Whether this handler re-creates, for an actor brought back after its host restarted, what
  // the actor's earlier instances made with this handler's host calls (Restore). False (the
  // default): a recovered actor gets the handler fresh from its config, as a spawn does. Asked
  // of the prototype.
  virtual bool restores() const { return false; }
  // Whether Restore needs the recorded calls of `function` (a function of imports()): those it
  // does not need are not read back (a query an actor makes on every request would otherwise
  // fill the history). Asked of the prototype.
  virtual bool RestoreReads(std::string_view function) const {
    (void)function;
    return true;
  }
  // Called once on a recovered actor's instance, after Start() and before the actor runs
  // anything. `history` holds the calls of imports() that the actor made since it last started
  // fresh (its spawn, or a restart by its supervisor), through earlier recoveries, oldest first,
  // up to the event the actor resumes after: each as the chain recorded it (inputs, outputs),
  // the failed ones included (a handler skips what did not succeed). Re-create what outlasts a
  // call (a server listening, its routes) under the ids the guest was given, so that the
  // recovered guest's state still names them. Returns a line saying what was restored, which
  // the runtime records in the actor's chain (a `handler-restored` event); an error is recorded
  // and logged, and the actor runs on without what could not be restored.
  virtual Result<std::string> Restore(ActorContext& actor,
                                      std::span<const chain::HostCall> history) {
    (void)actor;
    (void)history;
    return std::string("nothing to restore");
  }

  // Directories this handler grants the actor through wasi:filesystem; asked (through
  // ActorContext::WasiPreopens) while a component is instantiated, after every handler's
  // SetupHostFunctions. The descriptors stay this handler's.
  virtual std::vector<WasiPreopen> WasiPreopens() { return {}; }
};

// --- Helpers for handler code. ---

// A non-negative integer from a handler's config (TOML integers arrive as signed JSON numbers).
// Errors name `key`.
Result<uint64_t> ConfigUnsigned(const nlohmann::json& value, std::string_view key);
// For a handler that takes no config: refuses any key of `config`, naming it.
Status RequireNoConfig(const HandlerConfig& config);
// A limit from a handler's config: an integer between `min` and `cap`; errors name `key`.
Result<uint64_t> ConfigLimit(const nlohmann::json& value, std::string_view key, uint64_t min,
                             uint64_t cap);

// The single result `err(message)` of a WIT function returning result<_, string>.
inline std::vector<abi::Value> ErrValue(const std::string& message) {
  return {abi::Value::Err(abi::Value::String(message))};
}
// The same for a failed Status, prefixed by its code's name ("not-found: actor ... not found"),
// so that an actor can tell kinds of failure apart.
inline std::vector<abi::Value> ErrValue(const Status& status) {
  return ErrValue(std::string(StatusCodeName(status.code())) + ": " + status.ToString());
}
// The single result `ok(v)` (or `ok` without a value) of a WIT function returning a result.
inline std::vector<abi::Value> OkValue(std::optional<abi::Value> v = std::nullopt) {
  std::vector<abi::Value> out;
  out.push_back(abi::Value::Ok(std::move(v)));
  return out;
}

}  // namespace theater
