// Theater: a WebAssembly actor runtime.
//
// The host API: everything a handler (include/theater/handler.h) may see of the runtime. A
// handler reaches its actor only through an ActorContext and the host's shared services only
// through HostServices; it never sees the runtime's actor object, its scheduler or its fibers.
// docs/handlers.md, "Writing a handler", walks through an example (examples/custom-handler).
//
//   ActorContext   one actor as its handlers see it: identity, manifest and permissions, its
//                  chain and log, its exports and mailbox, suspending the calling fiber, its
//                  children (for supervision) and the shared services.
//   HostServices   what the host shares between actors: the message router, the content store,
//                  the clock, the timers and the I/O loop (include/theater/io_loop.h).
//   Waker          resumes a host function suspended by ActorContext::Suspend.
//   AwaitCallback  suspends a host function until an asynchronous callback reports its result.
//
// Thread-safety: stated per method. In short, the identity accessors, Post/Notify, the children
// operations and everything in HostServices may be called from any thread; Log and
// RecordCustomEvent from a host function (or Start/Stop); Suspend, SleepFor and CanSuspend only
// from a host function, on the actor's fiber.
//
// Ownership: the runtime owns every ActorContext and keeps it alive while any of the actor's
// handler instances exists (a handler may keep a reference for its lifetime). Work that may
// outlive the actor (a callback on another thread) holds WeakSelf() instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "theater/abi/value.h"
#include "theater/chain.h"
#include "theater/io_loop.h"
#include "theater/manifest.h"
#include "theater/permissions.h"
#include "theater/runtime.h"
#include "theater/status.h"
#include "theater/timers.h"
#include "theater/wasi_preopen.h"

namespace theater {

namespace messaging {
class Router;
}
namespace store {
class ContentStore;
}

// Resumes a host function that ActorContext::Suspend suspended. A Waker may outlive the wait it
// ends (a timer that fires after the call was cancelled): waking then does nothing, and so does
// waking a second time.
//
// Thread-safety: Wake may be called from any thread, any number of times. Copyable.
class Waker {
 public:
  struct Slot;  // the runtime's record of the suspended call
  Waker() = default;
  explicit Waker(std::shared_ptr<Slot> slot) : slot_(std::move(slot)) {}
  // Makes the suspended call runnable, with `value` as Suspend's result. Returns false when the
  // call is already awake, cancelled or finished.
  bool Wake(uint64_t value = 0) const;
  explicit operator bool() const { return slot_ != nullptr; }

 private:
  std::shared_ptr<Slot> slot_;
};

// The time an actor sees. Handlers read the clock through it, never the system clock, so that a
// replay can answer from the chain.
//
// Thread-safety: every method may be called from any thread.
class HostClock {
 public:
  virtual ~HostClock() = default;
  // Milliseconds and nanoseconds since the Unix epoch.
  virtual uint64_t WallMs() = 0;
  virtual uint64_t WallNs() = 0;
};

// The host's shared services. Owned by the runtime; valid as long as any actor is.
//
// Thread-safety: every method may be called from any thread.
class HostServices {
 public:
  virtual ~HostServices() = default;
  // The router that carries messages, requests and channels (include/theater/router.h).
  virtual messaging::Router& router() = 0;
  // The content stores (include/theater/content_store.h), opened on first use; the error of a
  // failed open is returned every time.
  virtual Result<store::ContentStore*> content_store() = 0;
  virtual Timers& timers() = 0;
  virtual HostClock& clock() = 0;
  // The I/O loop every handler waits on (sockets, pipes, libcurl): include/theater/io_loop.h.
  virtual IoLoop& io() = 0;
};

// A call of one of the actor's exports, queued in its mailbox behind the operations already
// there (ActorContext::Post).
struct ExportInvocation {
  std::string interface_name;  // e.g. "theater:simple/message-server-client"
  std::string function;        // e.g. "handle-send"
  std::vector<abi::Value> params;  // the params tuple's elements (the state is threaded by the host)
  // Gets the results after the state, or why the call failed; may be empty. Runs on a runtime
  // thread once the call finished (and, for a chain saved with strict durability, is durable).
  std::function<void(Result<std::vector<abi::Value>>)> reply;
};

// How a supervisor restarts failed children (docs/runtime.md, "Supervision"): the supervisor
// handler reads it from its config and hands it to ActorContext::SetSupervisionPolicy.
struct SupervisionPolicy {
  enum class Strategy { kNone, kOneForOne, kOneForAll, kRestForOne };
  Strategy strategy = Strategy::kNone;     // kNone: report failures only, never restart
  uint64_t max_restarts = 3;               // restarts allowed within `period`...
  std::chrono::milliseconds period{5000};  // ...before the supervisor itself fails
};

class ActorContext {
 public:
  template <typename T>
  using Callback = std::function<void(Result<T>)>;

  virtual ~ActorContext() = default;

  // --- Identity and configuration (any thread; fixed for the actor's life). ---
  virtual const std::string& id() const = 0;
  virtual const std::string& name() const = 0;
  virtual const Manifest& manifest() const = 0;
  // What the actor may do (docs/permissions.md). Handlers check their own permission with it.
  virtual const EffectivePermissions& permissions() const = 0;
  virtual HostServices& services() = 0;
  // A handle for work that may outlive the actor: lock() fails once it is gone.
  virtual std::weak_ptr<ActorContext> WeakSelf() = 0;

  // --- Chain, log and metrics. ---
  // Passes a line to the actor's log (rate-limited per actor). From a host function, Start or
  // Stop (never concurrently with the actor's calls).
  virtual void Log(std::string_view line) = 0;
  // Appends a custom event `custom/<type>` to the actor's chain unless the actor is over its
  // custom-event rate; false (nothing recorded) when it is. From a host function only.
  virtual bool RecordCustomEvent(std::string_view type, std::span<const uint8_t> data) = 0;
  // Records a host call of a core-ABI or component-typed function (HostFunctions::AddCore,
  // ServeComponentInterfaces) in the chain, as the runtime records the others: an event "<interface>/<function>" with `input` and `output`.
  // From a host function only.
  virtual void RecordHostCall(std::string_view interface_name, std::string_view function,
                              std::span<const abi::Value> input,
                              std::span<const abi::Value> output) = 0;
  // The same for a call that failed (and traps the guest) with `error`.
  virtual void RecordFailedHostCall(std::string_view interface_name, std::string_view function,
                                    std::span<const abi::Value> input, std::string_view error) = 0;

  // --- The output gate (docs/persistence.md, "Durability after a recovery"). ---
  // Whether messages leaving the actor wait for the events that produced them to be durable:
  // true when its chain is saved with strict durability. Then a host function that sends checks
  // what it can at once (the target exists, the channel is open), answers the guest, and hands
  // the sending itself to ReleaseOutput: a failure found later is logged, not returned.
  virtual bool GatesOutputs() const = 0;
  // Runs `output` (the sending of a message) at once, or, when GatesOutputs(), once the running
  // operation has ended and its events are durable; held outputs run in the order they were
  // given, and are dropped (logged) if those events cannot be made durable. From a host function
  // only.
  virtual void ReleaseOutput(std::function<void()> output) = 0;
  // Sets a value the actor's metrics report under `name`. Any thread.
  virtual void SetCustomMetric(const std::string& name, double value) = 0;
  // The state the running call was given (what the guest's runtime.get-state sees; null: no
  // state). Shared, not copied. From a host function only.
  virtual std::shared_ptr<const std::vector<uint8_t>> CallState() const = 0;
  // The events of the actor's chain held in memory (its retained tail), oldest first. Any thread.
  virtual std::vector<chain::Event> HeldEvents() const = 0;

  // The directories the actor's handlers grant it through wasi:filesystem (each one's
  // Handler::WasiPreopens), for the handler that serves WASI to components. Complete once every
  // handler is set up, i.e. while the actor's instance is created and afterwards. The descriptors
  // stay their handlers': duplicate what you keep.
  virtual std::vector<WasiPreopen> WasiPreopens() = 0;

  // --- Exports and mailbox (any thread). ---
  // Whether the actor's component exports "<interface>#<function>". Safe also while it stops.
  virtual bool HasExport(std::string_view export_name) const = 0;
  // Which declaration the actor's export `<interface>#<function>` follows, told by its type:
  // the interface's own ("theater:simple/message-server-client") or an alternate form of it
  // ("theater:simple/message-server-client-simple"; docs/wit.md, "Two forms of one name"). A
  // handler that calls an export with alternate forms builds its params for the form named
  // here. Empty when the actor does not export the function or its type matches no form.
  virtual std::string ExportForm(std::string_view interface_name,
                                 std::string_view function) const = 0;
  // Queues a call of one of the actor's exports. Refused (without calling call.reply) with
  // kFailedPrecondition while the actor stops and kResourceExhausted when its mailbox is full.
  virtual Status Post(ExportInvocation call) = 0;
  // For a sender Post refused because the mailbox is full: when the actor's manifest says
  // `[limits] mailbox_overflow = "block"`, registers `room`, which runs once (on a timer thread)
  // when an operation has left the mailbox, the actor begins to stop, or at once if either
  // happened already, and returns a ticket; the sender then tries again. 0 (nothing registered)
  // under any other policy: the refusal stands. A sender that stops waiting cancels its ticket.
  virtual uint64_t WaitForRoom(std::function<void()> room) {
    (void)room;
    return 0;
  }
  virtual void CancelRoomWait(uint64_t ticket) { (void)ticket; }
  // Queues a call nobody waits for, if the actor exports it; false when it does not or the call
  // was refused.
  virtual bool Notify(std::string_view interface_name, std::string_view function,
                      std::vector<abi::Value> params) = 0;
  // Asks the actor to stop once the current operation has finished (reporting an exit with
  // `data` to its supervisor). False when it is already stopping.
  virtual bool RequestShutdown(std::optional<std::vector<uint8_t>> data) = 0;

  // --- Suspending the calling host function (on the actor's fiber only). ---
  // Whether the running host function may suspend: false inside a direct call that is not a
  // scheduled operation (then a handler does its work synchronously), and while the actor's
  // module is instantiated (a component's start function runs then).
  virtual bool CanSuspend() const = 0;
  // Suspends the guest call and calls `arm(waker)` once it has switched away (so a wake from
  // `arm` itself is safe); the worker thread runs other actors meanwhile. Returns the wake value,
  // kCancelled when the call was stopped while waiting (the host function must then end the call
  // with that status), or kFailedPrecondition when !CanSuspend().
  virtual Result<uint64_t> Suspend(const std::function<void(Waker)>& arm) = 0;
  // Suspends for `wait` on the timers. kFailedPrecondition at once when the wait would outlast
  // the call's deadline or the module is being instantiated; kCancelled when the call is stopped
  // meanwhile.
  virtual Status SleepFor(std::chrono::nanoseconds wait) = 0;

  // --- Children (the supervisor handler; any thread). ---
  virtual std::vector<std::string> Children() const = 0;
  // Spawns a child of this actor; `done` gets its id once its init succeeded, or the error.
  virtual void SpawnChild(SpawnRequest request, Callback<std::string> done) = 0;
  // Stops a child gracefully (no external-stop notification back to this actor); `done(false)`
  // when it was not running.
  virtual void StopChild(std::string_view child_id, std::function<void(bool found)> done) = 0;
  // Restarts a child in place (same id, fresh state, the chain continues).
  virtual void RestartChild(std::string_view child_id, std::function<void(Status)> done) = 0;
  virtual Result<std::optional<std::vector<uint8_t>>> ChildState(std::string_view child_id) = 0;
  // The child's chain, read only while it stays within `max_bytes` (kResourceExhausted past it).
  virtual Result<std::vector<chain::Event>> ChildEvents(std::string_view child_id,
                                                        size_t max_bytes) = 0;
  // Receives the notifications about this actor's children (exit, error, external stop), on
  // runtime threads. Set once, before the actor starts.
  virtual void SetChildListener(std::function<void(const ChildEvent&)> listener) = 0;
  virtual void SetSupervisionPolicy(SupervisionPolicy policy) = 0;
};

// Suspends the calling host function (on the actor's fiber) until `start` calls the callback it
// is handed, and returns what that callback was given: how a host function waits on work that
// reports asynchronously (another host of the lattice, a child's restart) without holding a
// worker. The callback may be called from any thread, at most once; it may outlive the wait
// (a call cancelled meanwhile returns kCancelled, and the late result is dropped).
template <typename T>
Result<T> AwaitCallback(ActorContext& actor,
                        const std::function<void(std::function<void(Result<T>)>)>& start) {
  struct Shared {
    std::mutex mu;
    std::optional<Result<T>> result;
  };
  auto shared = std::make_shared<Shared>();
  Result<uint64_t> woken = actor.Suspend([&](Waker waker) {
    start([shared, waker](Result<T> result) {
      {
        std::lock_guard<std::mutex> lock(shared->mu);
        shared->result = std::move(result);
      }
      waker.Wake();
    });
  });
  if (!woken.ok()) return woken.status();
  std::lock_guard<std::mutex> lock(shared->mu);
  if (!shared->result) return InternalError("woken without a result");
  return std::move(*shared->result);
}

}  // namespace theater
