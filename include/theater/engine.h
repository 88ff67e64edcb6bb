// Theater: a WebAssembly actor runtime.
//
// The engine: loads WebAssembly core modules, instantiates them with host imports, and runs their
// exports — directly on the calling thread, or on a fiber that a host import can suspend and that
// any thread may later resume.
//
//   Engine        compiles modules (wasm2c → C → .so, cached by content hash) and loads them.
//   Module        compiled code plus its import/export lists; immutable, shared by instances.
//   Instance      one sandbox: linear memory, tables, globals and the host bindings of its
//                 imports. After any trap, interrupt or cancellation it is poisoned and must be
//                 discarded (the guest's heap and shadow stack may be inconsistent).
//   GuestCall     one export call running on its own fiber (pooled, guard-paged stack). A host
//                 import may suspend it; Resume() continues it on whichever thread calls it.
//
// Core values cross the boundary as uint64_t: i32 zero-extended, i64 as is, f32/f64 as their bit
// patterns. Signatures are strings over i (i32), I (i64), f (f32), F (f64).
//
// Thread-safety: Engine and Module are thread-safe. An Instance runs one call at a time; between
// calls (and between a GuestCall's suspensions) it may be used from any thread, but never from
// two at once. Host functions reach per-call state through the Instance they are given, never
// through thread-local storage, because a suspended call may resume on another thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "theater/compile_progress.h"
#include "theater/status.h"

namespace theater::engine {

enum class MemoryMode {
  kGuardPages,    // 8 GiB reservation per memory, no bounds checks (fastest; ~16k instances max)
  kBoundsChecks,  // explicit checks on every access (~1.2x slower; reservation = memory cap)
  // Chosen per module (docs/engine.md, "Memory"): guard pages for a module whose own memory
  // starts larger than kSmallMemoryBytes, bounds checks for the rest. Small actors then spawn
  // about 1.6x faster and are not limited to ~16k per process; their calls cost 2-5% more.
  kAuto,
};

// Under MemoryMode::kAuto, a module whose memory starts at most this large is a small actor.
inline constexpr uint64_t kSmallMemoryBytes = 1 << 20;

// The default time slice of a guest call (EngineOptions::preempt_slice).
inline constexpr std::chrono::microseconds kDefaultPreemptSlice{2000};

// Which compile of a module an instance runs (docs/compile-cache.md, "Tiers").
enum class CodeTier {
  kFast,       // tcc's object: compiled in seconds, runs a few times slower
  kOptimized,  // the C compiler's at its -O level
};

// How an engine compiles modules.
enum class TierPolicy {
  // A module with at least EngineOptions::fast_tier_min_code_bytes of code whose optimized
  // object is not cached yet runs from the fast tier at once (the JavaScript engine: seconds,
  // not minutes) while its optimized object compiles in the background at the lowest CPU
  // priority; instances made after that run the optimized code. Smaller modules, and every module
  // when tcc is not installed, are compiled optimized at once.
  kTiered,
  kOptimized,  // every module waits for its optimized object
  kFast,       // every module from the fast tier, nothing in the background (tests, dev loops)
};

struct EngineOptions {
  // Where compiled modules are cached. Empty: $THEATER_HOME/cache (default ~/.theater/cache).
  std::filesystem::path cache_dir;
  MemoryMode memory_mode = MemoryMode::kAuto;
  // C compiler optimisation level for generated code, 0..3; -1: $THEATER_OPT_LEVEL when set,
  // else 2. (-O1 compiles the JavaScript engine in about a third of the time, for slower code.)
  int opt_level = -1;
  // A module with at least this many bytes of code whose data can be kept apart (such as a
  // JavaScript engine with an actor's heap snapshot) is compiled without its data, so modules that
  // share their code share one compiled object, and each instance is given its module's data as
  // it is instantiated (docs/compile-cache.md, "Modules that share their code"). SIZE_MAX: never.
  size_t data_split_min_code_bytes = size_t{1} << 20;
  // About this many bytes of generated C per translation unit: a larger module is compiled as
  // runs of consecutive functions in parallel, and each run's object is kept, so a module that
  // shares a run with one compiled before (the JavaScript engine of another world) compiles only
  // the rest (docs/compile-cache.md, "Unit objects"). Zero: every module is compiled whole.
  size_t compile_unit_bytes = 256 * 1024;
  // What a compile prints on stderr. kAuto: a line rewritten in place, only on a terminal and
  // only for a compile longer than a second. kOn (the `theater` command): from the start, that
  // line on a terminal and whole lines elsewhere, ending with the time each stage took. kOff:
  // nothing.
  enum class Progress { kAuto, kOn, kOff } progress = Progress::kAuto;
  // Time slice of a guest call on a shared worker (docs/engine.md, "Time slices"): a call that
  // runs this long without a break yields its worker at its next loop iteration or function
  // entry, and continues after the calls waiting for a worker. Zero compiles modules without
  // the checks, so nothing yields (a guest then holds its worker until it returns, suspends or
  // reaches its deadline). The embedder passes the same value to the executor.
  std::chrono::microseconds preempt_slice = kDefaultPreemptSlice;
  // Unset: $THEATER_TIER ("tiered", "optimized" or "fast") when set, else kTiered.
  std::optional<TierPolicy> tier;
  // Under kTiered, smaller modules are compiled optimized at once: gcc takes a few seconds at
  // most for them, and the fast tier would only add a second compile.
  size_t fast_tier_min_code_bytes = 256 * 1024;
  // Told one line for every module compiled (which tier, how long) and for the end of every
  // background compile; `warning` for what went wrong (a background compile that failed). Called
  // from loading threads and the background compile thread. A server logs them.
  std::function<void(std::string_view line, bool warning)> compile_log;
};

struct FuncSig {
  std::string params;   // e.g. "iiI"
  std::string results;  // "" or one letter (multi-value results are not used by wasm32 clang)
  bool operator==(const FuncSig&) const = default;
};

// What an import or export is. Actors import only functions; the core modules of a component
// also share memories, tables and globals (the values are the wasm binary's external kinds).
enum class ExternKind : uint8_t { kFunction = 0, kTable = 1, kMemory = 2, kGlobal = 3 };

struct ImportInfo {
  std::string module;  // e.g. "theater:simple/runtime"
  std::string name;    // e.g. "log"
  FuncSig sig;         // functions; for a global, sig.params is its value type letter
  ExternKind kind = ExternKind::kFunction;
};

struct ExportInfo {
  std::string name;  // e.g. "theater:simple/actor#init"
  FuncSig sig;
};

// An exported memory, (funcref) table or global.
struct ExternExportInfo {
  std::string name;
  ExternKind kind = ExternKind::kMemory;
  char global_type = 0;  // a global's value type letter (i, I, f, F)
};

class Instance;
class GuestCall;

// A host function bound to one import of one instance. Returns 0 to let the guest continue, or
// the value of Instance::Fail(...) to trap the guest with a host error.
using HostFunction = int (*)(Instance& caller, void* data, const uint64_t* args, uint64_t* results);

// How one import of one instance is satisfied. A function import needs `fn`; a memory, table or
// global import needs `external`: the object another instance exports (Instance::ExternExport),
// which must outlive this instance.
struct HostBinding {
  HostFunction fn = nullptr;
  void* data = nullptr;  // passed back to fn; owned by whoever resolved the import
  void* external = nullptr;
};

// Resolves the imports of a module for one instance.
class ImportResolver {
 public:
  virtual ~ImportResolver() = default;
  // Returns the binding for `import`, or an error naming why it cannot be satisfied (unknown
  // import, wrong signature). Called once per import during instantiation.
  virtual Result<HostBinding> Resolve(const ImportInfo& import) = 0;
};

struct InstanceOptions {
  // Cap on linear memory; memory.grow past it fails (returns -1) as wasm specifies.
  uint64_t max_memory_bytes = 256ull << 20;
  // Opaque pointer for host functions (e.g. the actor that owns the instance).
  void* user_data = nullptr;
  // Bounds the guest code instantiation runs: the module's start function (for a component, the
  // start functions of all its core instances, such as the one that runs `_initialize`). Zero:
  // no bound.
  std::chrono::nanoseconds start_timeout{0};
  // Where Instance::Fail() leaves the error until the failed call reports it. Instances linked
  // into one component share one, because a host function of one instance may fail inside a call
  // that another instance is running. Null: the instance has its own.
  std::shared_ptr<Status> host_error_slot;
};

struct CallOptions {
  // The call is interrupted if it runs past this; zero means no deadline.
  std::chrono::nanoseconds timeout{0};
  // Usable stack of a GuestCall's fiber (rounded up to pages); zero means 256 KiB. Costs address
  // space, not memory: only touched pages become resident.
  size_t stack_size = 0;
};

class Module {
 public:
  virtual ~Module() = default;
  virtual const std::string& name() const = 0;
  // SHA-256 (hex) of the wasm bytes.
  virtual const std::string& wasm_sha256() const = 0;
  virtual const std::vector<ImportInfo>& imports() const = 0;
  virtual const std::vector<ExportInfo>& exports() const = 0;
  virtual std::optional<uint32_t> FindExport(std::string_view name) const = 0;
  // Exported memories, tables and globals (the memory exported as "memory" included).
  virtual const std::vector<ExternExportInfo>& extern_exports() const = 0;
  // The mode its code was compiled for; a component reports the engine's option (under kAuto
  // its core modules may differ).
  virtual MemoryMode memory_mode() const = 0;
  virtual bool exports_memory() const = 0;
  // The code the next instance runs: kFast until a tiered module's optimized object is ready.
  virtual CodeTier code_tier() const { return CodeTier::kOptimized; }

  // Creates an instance; binds every import through `resolver` and runs the module's data and
  // element initialisers. Does not call any export (not even `_initialize`).
  virtual Result<std::unique_ptr<Instance>> Instantiate(ImportResolver& resolver,
                                                        const InstanceOptions& options) const = 0;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Create(EngineOptions options = {});
  virtual ~Engine() = default;

  // Stops every module compile running in this process, and every one that starts later: their
  // LoadModule calls fail with kCancelled. For a process that is shutting down, which should not
  // wait minutes for a compiler (a JavaScript engine's compile takes that long). Irreversible.
  static void CancelCompiles();

  // Compiles (or fetches from the cache) and loads a module. `name` is used in messages.
  virtual Result<std::shared_ptr<const Module>> LoadModule(std::span<const uint8_t> wasm,
                                                           std::string_view name) = 0;
  Result<std::shared_ptr<const Module>> LoadModuleFile(const std::filesystem::path& path);

  virtual const EngineOptions& options() const = 0;

  // Tells `observer` the progress of every module compile this engine runs from now on, until
  // the returned watch is destroyed: the line a terminal would show, when each stage begins and
  // every second, then how it ended (compile_progress.h). Background compiles are not told. An
  // engine that compiles nothing never calls it.
  virtual CompileWatch WatchCompiles(CompileObserver observer) {
    (void)observer;
    return {};
  }

  // Tiered compilation (TierPolicy::kTiered): the optimized compiles queued or running in the
  // background. Waits until there are none, or until `timeout` passes (false then).
  virtual bool WaitForBackgroundCompiles(std::chrono::milliseconds timeout) {
    (void)timeout;
    return true;
  }
};

class Instance {
 public:
  virtual ~Instance() = default;

  virtual const Module& module() const = 0;
  void* user_data() const { return user_data_; }
  // The code this instance runs, for its whole life (a module's later optimized object is for
  // instances made after it).
  virtual CodeTier code_tier() const { return CodeTier::kOptimized; }

  // Runs an export on the calling thread, without a fiber. A host import that tries to suspend
  // during such a call fails. Nested use from inside a host import of the same instance (e.g.
  // calling cabi_realloc while serving an import) is allowed and runs as part of the outer call.
  virtual Status Call(uint32_t export_index, std::span<const uint64_t> args,
                      std::span<uint64_t> results, const CallOptions& options = {}) = 0;
  Status Call(std::string_view export_name, std::span<const uint64_t> args,
              std::span<uint64_t> results, const CallOptions& options = {});

  // The exported linear memory (empty when the module exports none). The span is invalidated by
  // any call into the guest (memory.grow), but the base address never moves.
  virtual std::span<uint8_t> memory() = 0;

  // The object behind module().extern_exports()[index], to bind to another instance's import
  // (HostBinding::external). Lives as long as this instance.
  virtual void* ExternExport(uint32_t index) = 0;

  // True after a trap, interrupt or cancellation: the instance must be discarded.
  bool poisoned() const { return poisoned_; }

  // For an instance that sits idle: gives the pages of its own linear memory back to the kernel,
  // keeping what they hold (the runs of bytes that are not zero) in a compact copy on the heap.
  // The next Call, memory() or ExternExport puts them back first, so nothing else changes.
  // Returns the bytes the copy takes (0 when there was nothing to give back). Not concurrently
  // with anything else on the instance, like a call.
  virtual Result<uint64_t> Hibernate() { return uint64_t{0}; }

  // Bytes of linear memory currently in use (pages × 64 KiB).
  uint64_t memory_size() { return memory().size(); }

  // --- For host functions, while serving an import of this instance. ---

  // Records `status` as the reason the guest must trap and returns the code a HostFunction
  // returns to make it so. The call then fails with this status (as its cause).
  int Fail(Status status);

  // The GuestCall currently running on this instance, or nullptr for a direct Call().
  GuestCall* active_call() const { return active_call_; }

 protected:
  friend class GuestCall;
  // Runs export `index` as guest code under the current thread's call state, returning
  // WASM_RT_TRAP_NONE or a trap code. Used by Call() and GuestCall.
  virtual int RunExport(uint32_t index, const uint64_t* args, uint64_t* results) = 0;
  // RunExport of another instance: for an instance that presents others as one (a component's
  // core instances as the actor they make up).
  static int RunExportOf(Instance& other, uint32_t index, const uint64_t* args, uint64_t* results) {
    return other.RunExport(index, args, results);
  }
  // Turns a trap code from RunExport into the call's Status (and poisons the instance).
  Status TrapStatus(int code, std::string_view export_name);

  void* user_data_ = nullptr;
  bool poisoned_ = false;
  GuestCall* active_call_ = nullptr;
  // Where Fail() leaves the error until TrapStatus() reports it: the slot of
  // InstanceOptions::host_error_slot when one was given, else the instance's own (no allocation
  // for the common case).
  Status& host_error() { return shared_host_error_ ? *shared_host_error_ : own_host_error_; }
  Status own_host_error_;
  std::shared_ptr<Status> shared_host_error_;
};

// The bytes of a memory an instance exports (Instance::ExternExport of a kMemory export). The
// span is invalidated by any call into the guest (memory.grow), but the base address never moves.
std::span<uint8_t> MemoryBytes(void* memory);

// One export call on its own fiber.
//
// Lifecycle: Create() → Resume() (runs until the call suspends or finishes) → [the host import
// that suspended it arranges a Wake()] → Resume() on any thread → ... → finished.
// Resume() must only be called by one thread at a time and never from inside a fiber; Wake() and
// Cancel() may be called from any thread.
class GuestCall {
 public:
  enum class State { kReady, kRunning, kSuspending, kSuspended, kRunnable, kFinished };

  // Called after the fiber has switched away, on the scheduler's stack: the suspending import's
  // chance to register this call with whatever will wake it. (Registering before the switch
  // would let another thread resume a fiber whose context is not saved yet.)
  using PublishFn = void (*)(GuestCall& call, void* arg);
  // Called by Wake()/Cancel() when the call becomes runnable; the owner schedules Resume().
  using RunnableFn = std::function<void(GuestCall&)>;

  static Result<std::unique_ptr<GuestCall>> Create(Instance& instance, uint32_t export_index,
                                                   std::vector<uint64_t> args,
                                                   const CallOptions& options = {});

  // A call whose fiber runs host code, `body`, instead of one export: the body may make any
  // number of Instance::Call()s on `instance` (they run as part of this call, under its deadline
  // and trap handling) and the host imports they reach may Suspend() it. This is how the runtime
  // runs one whole actor operation — lowering, the export, lifting, post-return, chain records —
  // as one suspendable unit. The call's status() is what `body` returns (a trap inside it is
  // reported by the Instance::Call that ran into it). `body` must not throw.
  using TaskBody = std::function<Status()>;
  static Result<std::unique_ptr<GuestCall>> CreateTask(Instance& instance, TaskBody body,
                                                       const CallOptions& options = {});
  ~GuestCall();
  GuestCall(const GuestCall&) = delete;
  GuestCall& operator=(const GuestCall&) = delete;

  // Runs the call on the calling thread until it suspends or finishes. Returns kFinished,
  // kSuspended, or kRunnable when it was woken while suspending (the runnable callback has then
  // been invoked). After kSuspended or kRunnable the caller must not touch the call unless it
  // owns its scheduling.
  State Resume();

  // kSuspended → kRunnable with `value` as the suspending import's result. Returns false if the
  // call was not suspended (already woken or cancelled).
  bool Wake(uint64_t value);

  // Stops the call: a running call is interrupted, a suspended one is woken with a cancellation
  // that its import turns into a trap. The call then finishes with kCancelled.
  void Cancel();

  void set_on_runnable(RunnableFn fn) { on_runnable_ = std::move(fn); }

  // Gives the call a time slice (zero: none, the default). A call that runs longer than `slice`
  // without suspending yields at its next check (modules compiled with the checks only): it is
  // suspended and woken at once, so Resume() returns kRunnable and the runnable callback runs;
  // the owner queues it behind the other calls waiting. Set before the first Resume().
  void set_preempt_slice(std::chrono::nanoseconds slice);
  // True while the call is runnable because it yielded its slice (in the runnable callback and
  // until it is resumed), as opposed to woken by whatever it waited for: a scheduler may serve
  // such calls after the ones that have been waiting.
  bool yielded() const { return yielded_.load(std::memory_order_relaxed); }

  State state() const { return state_.load(std::memory_order_acquire); }
  bool finished() const { return state() == State::kFinished; }
  // Valid once finished.
  const Status& status() const { return status_; }
  std::span<const uint64_t> results() const { return results_; }
  Instance& instance() { return instance_; }

  // --- For host functions, from inside the fiber. ---

  // Suspends this call. `publish(call, arg)` runs after the switch; the call continues when
  // somebody Wake()s it and the owner Resume()s it. Returns the wake value, or a Cancelled
  // status if the call was cancelled while suspended (the import should then return
  // Instance::Fail(status) or WASM trap code for cancellation).
  Result<uint64_t> Suspend(PublishFn publish, void* arg);

  // For a task that runs several operations one after another, each under its own deadline:
  // from inside the task (on its fiber), replaces the call's deadline by `timeout` from now (zero:
  // none).
  void RestartDeadline(std::chrono::milliseconds timeout);

  struct Impl;

 private:
  GuestCall(Instance& instance, uint32_t export_index, std::vector<uint64_t> args,
            const CallOptions& options);
  static Result<std::unique_ptr<GuestCall>> Prepare(std::unique_ptr<GuestCall> call,
                                                    const CallOptions& options);
  // Takes a stack and makes the fiber, when the call first runs; false (status_ says why) when
  // no stack can be mapped.
  bool StartFiber();
  void Run();  // the fiber body
  // The runtime's yield hook for a call with a slice (rt::CallState::yield), on the fiber.
  static void YieldSlice(void* self);

  Instance& instance_;
  uint32_t export_index_;
  std::vector<uint64_t> args_;
  std::vector<uint64_t> results_;
  TaskBody body_;  // set for CreateTask() calls
  Status status_;
  std::atomic<State> state_{State::kReady};
  std::atomic<bool> yielded_{false};
  RunnableFn on_runnable_;
  // Lives in the same allocation, right after this object (see operator new): one allocation
  // per call instead of two on the fresh-fiber path.
  Impl* impl_;

 public:
  static void* operator new(size_t size);
  static void operator delete(void* p);
};

// Runs export `index` of `instance` on a fresh fiber on the calling thread and returns when it
// finishes. While the call is suspended the thread blocks; a host import's waker may Wake() it
// from any thread and the call then continues here. Copies the call's results into `results`.
Status CallOnFiber(Instance& instance, uint32_t index, std::span<const uint64_t> args,
                   std::span<uint64_t> results, const CallOptions& options = {});

// Runs `body` as a task of `instance` (GuestCall::CreateTask) on a fresh fiber on the calling
// thread, as CallOnFiber runs an export: the Instance::Call()s it makes run as part of the task,
// and the thread blocks while the task is suspended. Returns what `body` returned.
Status RunTaskOnFiber(Instance& instance, GuestCall::TaskBody body,
                      const CallOptions& options = {});

}  // namespace theater::engine
