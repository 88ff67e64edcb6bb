// Theater: a WebAssembly actor runtime.
//
// ActorHost: one actor's sandbox as the runtime sees it — an engine Instance of its module, the
// canonical-ABI plans of the exports it calls and the imports it serves, the state blob the host
// owns and threads through every export call, and the event chain every crossing is recorded in.
//
// It knows the theater:simple conventions:
//   * exports are named `<interface>#<function>` and have the shape
//       f(state: option<list<u8>>, params: tuple<P...>) -> result<tuple<option<list<u8>>, R...>,
//       string>
//     The host passes the current state and replaces it with the returned one. Returning `none`
//     clears the state (it means "no state", not "unchanged"; docs/writing-actors.md).
//   * imports are named by interface (`theater:simple/runtime`) and function (`log`); each is
//     served by a host function registered with AddHostFunction(), typed by the WIT.
//   * `cabi_realloc`, `memory` and (for reactor modules) `_initialize` must be exported.
//
// Every host call becomes a HostCall event, every export call an ExportCall followed by the
// host calls it made and an ExportResult (or an error) — see docs/chain-format.md.
//
// Thread-safety: not thread-safe; an actor runs one call at a time. The chain it writes to is.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/lent_buffer.h"
#include "runtime/rate_limiter.h"
#include "theater/abi/canonical.h"
#include "theater/abi/wit.h"
#include "theater/chain.h"
#include "theater/engine.h"
#include "theater/handler.h"
#include "theater/permissions.h"
#include "theater/status.h"
#include "theater/string_hash.h"

namespace theater::component {
struct LiftedExport;
}  // namespace theater::component

namespace theater::runtime {

class ActorHost;
class HostCallReplay;
class PlanCache;

// An actor's state as the host keeps it: immutable bytes shared between the running call and
// readers of the last committed state; null means "no state" (the WIT's `none`).
using StateBytes = std::shared_ptr<const std::vector<uint8_t>>;

// One of the host's own functions (the runtime interface a standalone host serves itself): like
// a handler's HostFunction, but given the host rather than an actor.
using HostFunctionImpl =
    std::function<Result<std::vector<abi::Value>>(ActorHost& host, std::span<const abi::Value>)>;

// One host function a handler offers an actor: its WIT type, its implementation and the handler
// it belongs to (by `[[handler]]` type name, e.g. "timing"), whose permission every call checks.
struct HostFunctionEntry {
  const abi::FunctionType* type = nullptr;
  HostFunction impl;
  std::string handler;
};
// A core-ABI host function a handler offers (HostFunctions::AddCore): its core signature, its
// implementation and its handler.
struct CoreFunctionEntry {
  engine::FuncSig sig;
  CoreHostFunction impl;
  std::string handler;
};
// What the handlers offer an actor, keyed by "<interface>.<function>", e.g.
// "theater:simple/timing.sleep" (or "<module>.<name>" for core functions).
// A family of component interfaces a handler serves with the component's own types
// (HostFunctions::ServeComponentInterfaces): every interface whose name starts with `prefix`.
struct ComponentInterfacesEntry {
  std::string prefix;
  std::shared_ptr<ComponentInterfaces> interfaces;
  std::string handler;
};
struct HostFunctionTable {
  std::map<std::string, HostFunctionEntry, std::less<>> typed;
  std::map<std::string, CoreFunctionEntry, std::less<>> core;
  std::vector<ComponentInterfacesEntry> component;
};

struct ActorHostOptions {
  std::string actor_id;
  std::string name;  // for messages
  StateBytes initial_state;
  engine::InstanceOptions instance;
  // The actor's permissions: a host call whose handler they do not permit is denied (decided
  // when imports are bound, since permissions are fixed at spawn; enforced on every call).
  // nullptr permits everything (a standalone host, e.g. in tests).
  std::shared_ptr<const EffectivePermissions> permissions;
  // The actor the handlers' host functions (HostFunctionEntry) are given; required when there
  // are any (a standalone host serves only its own runtime interface).
  ActorContext* context = nullptr;
  std::chrono::milliseconds init_deadline{60'000};
  std::chrono::milliseconds call_deadline{300'000};
  // Fiber stack for export calls (0: the engine default, 256 KiB).
  size_t stack_size = 0;
  // Record calls in the chain. Off only to measure what recording costs (bench/runtime_bench):
  // an actor without its chain cannot be verified or replayed.
  bool record_chain = true;
  // Byte lists larger than the spill's threshold are recorded by digest and kept by it
  // (chain::ByteSpill); null: everything is recorded inline.
  std::shared_ptr<const chain::ByteSpill> byte_spill;
  // Receives every runtime.log line (and guest stdout/stderr lines).
  std::function<void(std::string_view line)> log_sink;
  // What the guest may log, and record as custom chain events, in bytes per second (0: no
  // limit); past it lines and events are dropped, with one notice a second in the log and the
  // chain (RuntimeOptions has the defaults).
  uint64_t log_bytes_per_second = 0;
  uint64_t custom_event_bytes_per_second = 0;
  // Replaying the actor from its chain (src/runtime/replay.cc): every host call is answered by
  // `replay` instead of a handler, and `context` is null. Not owned; outlives the host.
  HostCallReplay* replay = nullptr;
  // Where the host takes the plans of its imports and exports (null: it builds its own). Not
  // owned; outlives the host. Only for hosts whose host functions take their types from packages
  // that outlive the cache (runtime/plan_cache.h): the runtime passes its own for actors.
  PlanCache* plans = nullptr;
  // Called with this host just before its module is instantiated and with null right after: a
  // component's start function runs during instantiation and may call host functions, whose
  // handlers then reach the actor (ActorContext) before the host is returned to it.
  std::function<void(ActorHost* host)> instantiating;
};

class ActorHost {
 public:
  // Binds the module's imports (its own runtime interface functions, plus the `extra` host
  // functions, which take precedence) and instantiates it. Fails with a message naming the first import or
  // export that does not match the theater:simple WIT.
  static Result<std::unique_ptr<ActorHost>> Create(std::shared_ptr<const engine::Module> module,
                                                   ActorHostOptions options,
                                                   std::shared_ptr<chain::EventChain> chain,
                                                   HostFunctionTable extra = {});
  ~ActorHost();

  // Runs `_initialize` (when exported) and then theater:simple/actor.init(state, (actor-id,)),
  // which a component may leave out (then nothing more runs).
  Status Init();
  // Runs only `_initialize` (when exported): the start of an actor resumed from a saved state.
  Status InitializeModule();

  // Calls `<interface>#<function>` with the current state and `params` (the elements of the
  // params tuple); on success the state is replaced and the remaining results are returned.
  // An export of a component's that is not a theater:simple interface (a standard component's,
  // such as wasi:http/incoming-handler) is called with its own type and without the state,
  // which it leaves as it was; resource representations in `params` become handles the guest
  // holds (component::GiveArgumentsToGuest), and the chain records the representations.
  Result<std::vector<abi::Value>> CallExport(std::string_view interface_name,
                                             std::string_view function,
                                             std::vector<abi::Value> params);

  // Calls any export by its core name with a WIT type, without state threading or chain
  // records: the building block of the calls above, and what tests of the ABI use. Inside a
  // GuestCall task on this instance the export runs as part of that task (its deadline applies);
  // otherwise on a fiber of its own, bounded by `deadline`.
  Result<std::vector<abi::Value>> CallFunction(const std::string& export_name,
                                               const abi::FunctionType& type,
                                               std::span<const abi::Value> args,
                                               std::chrono::milliseconds deadline);

  // The current state (changes when an export call returns).
  const StateBytes& state() const { return state_; }
  const std::string& actor_id() const { return options_.actor_id; }
  const std::string& name() const { return options_.name; }
  const engine::Module& module() const { return *module_; }
  chain::EventChain& chain() { return *chain_; }
  engine::Instance& instance() { return *instance_; }
  // Changes the deadlines of the export calls from now on (a replay gives each call its own).
  void SetDeadlines(std::chrono::milliseconds init, std::chrono::milliseconds call) {
    options_.init_deadline = init;
    options_.call_deadline = call;
  }
  // The deadline of a call of `export_name` (interface#function): the init deadline for the
  // actor's init, the call deadline for any other.
  std::chrono::milliseconds DeadlineFor(std::string_view export_name) const;
  // Set while the host replays an actor from its chain (ActorHostOptions::replay).
  HostCallReplay* replay() const { return options_.replay; }
  // False while the module is being instantiated (its start function may call host functions).
  bool has_instance() const { return instance_ != nullptr; }
  const engine::Instance& instance() const { return *instance_; }
  // Passes `line` to the log sink unless the actor is over its log rate.
  void Log(std::string_view line);
  // Logs and records a `rate-limited` notice of every log line and custom event dropped since
  // the last notice: the last notices of an actor that stops, so that its notices add up to all
  // it lost. (Notices that are due are also given at the end of each export call.)
  void NoticeAllDrops();
  // Appends a custom event (`custom/<type>`) to the chain unless the actor is over its custom
  // event rate; false (nothing recorded) when it is.
  bool RecordCustomEvent(std::string_view type, std::span<const uint8_t> data);
  // Records a host call in the chain under `event_type` ("<interface>/<function>"), encoding the
  // values where they are (for handlers that record extra events, too).
  void RecordHostCall(std::string_view event_type, std::string_view interface_name,
                      std::string_view function, std::span<const abi::Value> input,
                      const chain::CallOutcomeView& output);

  struct ImportBinding;  // internal

 private:
  ActorHost(std::shared_ptr<const engine::Module> module, ActorHostOptions options,
            std::shared_ptr<chain::EventChain> chain);
  Status Bind(HostFunctionTable offered);
  // " (linear memory: X of its N MiB limit, [limits] memory_limit_mb)" when the instance's
  // memory is within 10 % or 2 MiB of the actor's limit, else "": appended to a failed call's
  // error, since a memory.grow the limit refused shows in the guest only as its own out-of-memory
  // error.
  std::string MemoryLimitNote() const;
  static int DispatchImport(engine::Instance& instance, void* data, const uint64_t* args,
                            uint64_t* results);
  // A handler's core-ABI function (HostFunctions::AddCore).
  static int DispatchCore(engine::Instance& instance, void* data, const uint64_t* args,
                          uint64_t* results);
  // A standalone host's (no ActorContext, so no handlers) own runtime.log, get-state, get-chain
  // and shutdown, so that it can run an actor alone (tests, tools). In a runtime the runtime
  // handler serves these (src/handlers/runtime), and the host binds none of its own.
  static void BindStandaloneRuntime(std::map<std::string, HostFunctionImpl>* impls);

  std::shared_ptr<const engine::Module> module_;
  ActorHostOptions options_;
  std::shared_ptr<chain::EventChain> chain_;
  // The host functions the handlers offered (Create's `extra`): the bindings point at the
  // implementations in it, and the instance's imports at the component interfaces handlers serve
  // with values (WASI preview 2), so it is declared before instance_.
  HostFunctionTable functions_;
  std::unique_ptr<engine::Instance> instance_;
  std::vector<std::unique_ptr<ImportBinding>> bindings_;
  struct CoreBinding;
  std::vector<std::unique_ptr<CoreBinding>> core_bindings_;
  // What calling an export needs, resolved on its first call: its index, its post-return
  // export, its canonical-ABI plan and WIT type.
  struct ExportEntry {
    uint32_t index;
    std::optional<uint32_t> post_return;
    abi::FunctionPlan plan;
    const abi::FunctionType* type;
    // Set for a component's export of its own type, called without the state.
    const component::LiftedExport* lifted = nullptr;
  };
  // Calls such an export: no state in, none out (CallExport).
  Result<std::vector<abi::Value>> CallStatelessExport(const std::string& export_name,
                                                      const ExportEntry& entry,
                                                      std::vector<abi::Value> params);
  // The entry of a component's export that is not a theater:simple interface's.
  Result<ExportEntry*> ResolveComponentExport(const std::string& export_name,
                                              std::string_view interface_name,
                                              std::string_view function);
  Result<ExportEntry*> ResolveExport(const std::string& export_name, const abi::FunctionType& type);
  // The plan of `type`: from options_.plans when the host has one, else built here.
  Result<abi::FunctionPlan> PlanFor(const abi::FunctionType& type, abi::Context context) const;
  Result<std::vector<abi::Value>> RunExport(const std::string& export_name,
                                            const ExportEntry& entry,
                                            std::span<const abi::Value> args,
                                            std::chrono::milliseconds deadline);
  std::map<std::string, ExportEntry, std::less<>> exports_;
  uint32_t realloc_index_ = 0;
  // Buffers for the flat (core) values of calls, reused so that a call allocates none for them
  // (a nested call gets its own: common/lent_buffer.h).
  using FlatBuffer = LentBuffer<uint64_t>;
  using FlatLease = FlatBuffer::Lease;
  FlatBuffer export_args_, export_results_, import_results_;
  // Replaces the state after an export returned (and its digest, when the chain records it by
  // one).
  void SetState(StateBytes state);
  void UpdateStateDigest();
  // How the chain records state_: inline, read in place, or by state_digest_.
  chain::StateRecordView ChainStateRecord() const;

  StateBytes state_;
  // SHA-256 of state_ when the chain records it by digest (over kStateInlineLimit bytes):
  // computed once per state change, so failed calls, which record the state unchanged, reuse it.
  chain::Hash state_digest_{};
  ByteRateLimiter log_rate_;
  ByteRateLimiter event_rate_;
  // Logs and records what `limiter` dropped since its last notice, if one is due (or, with
  // `all`, whenever anything was dropped): one text for the log and the chain.
  void NoticeDrops(ByteRateLimiter& limiter, std::string_view what, int64_t now_ns,
                   bool all = false);
};

// The theater:simple package this host implements, parsed from the WIT embedded at build time.
Result<const wit::Package*> TheaterPackage();

// The "<interface>.<function>" names (interfaces fully qualified) that the imports of a module
// may bind to: each import's own, and for theater:simple imports those of every alternate form
// of the function (wit::Package::alternate_forms). An actor's handlers register only the host
// functions named here: a small actor imports a dozen of the hundred or so they offer.
using ImportNames = std::unordered_set<std::string, StringHash, std::equal_to<>>;
Result<ImportNames> ImportNamesOf(const engine::Module& module);

// Which declaration of theater:simple types an export of `module`: `interface_name`'s own
// function or one of its alternate forms (wit::Package::alternate_forms), told apart by the
// export's core signature. `form` is the qualified name of the declaring interface
// ("theater:simple/message-server-client-simple"). kNotFound when the module does not export
// the function or theater:simple declares no such function; kInvalidArgument naming every form
// when its signature matches none. `plans` (may be null) supplies the plans the forms are told
// apart by, so that telling them apart at every spawn builds none.
struct ExportForm {
  const abi::FunctionType* type = nullptr;
  std::string form;
};
Result<ExportForm> FindExportForm(const engine::Module& module, std::string_view interface_name,
                                  std::string_view function, PlanCache* plans = nullptr);

// A guest memory view over an instance: Bytes() is its exported memory, Realloc calls its
// cabi_realloc export.
class InstanceMemory final : public abi::GuestMemory {
 public:
  InstanceMemory(engine::Instance& instance, uint32_t realloc_index)
      : instance_(instance), realloc_index_(realloc_index) {}
  std::span<uint8_t> Bytes() override { return instance_.memory(); }
  Result<uint32_t> Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                           uint32_t new_size) override;

 private:
  engine::Instance& instance_;
  uint32_t realloc_index_;
};

}  // namespace theater::runtime
