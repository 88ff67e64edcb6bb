// Theater: a WebAssembly actor runtime.
//
// Actor: one running actor as the runtime schedules it — its ActorHost (instance, state, chain),
// its handler instances, a bounded mailbox of operations and the phase machine of
// docs/runtime.md:
//
//   Starting ──init ok──▶ Idle ◀──▶ Processing        any ──stop──▶ ShuttingDown ──▶ Stopped
//                           │  ▲                                  (current operation finishes,
//                     pause ▼  │ resume                            or is interrupted by terminate)
//                          Paused
//
// Each operation runs as one GuestCall task on the runtime's executor, so a host function that
// waits suspends the actor without holding a worker. One operation at a time; the next starts
// when the previous one's task has finished. Info (phase, state, metrics, chain) is answered
// from a snapshot taken after each operation, never by waiting for the running one.
//
// Thread-safety: every public method may be called from any thread. Internally one mutex guards
// the phase, the mailbox and the snapshots; it is never held while calling out (replies,
// handlers, the runtime). The ActorHost is touched only by the running operation's task and, once
// the actor is stopped, by the stop sequence.
//
// Ownership: the runtime's registry holds Actors by shared_ptr; a running task holds one too, so
// an actor outlives its last operation even after it left the registry.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ring_queue.h"
#include "runtime/actor_host.h"
#include "runtime/failed_children.h"
#include "runtime/handler.h"
#include "runtime/local_read_scope.h"
#include "theater/host_api.h"
#include "theater/manifest.h"
#include "theater/mutex.h"
#include "theater/runtime.h"

namespace theater::runtime {

class RuntimeImpl;
class TimerService;

// Receives the outcome of a call into the actor: its results, or why it failed. (A message's
// reply is theater::ReplyFn, router.h.)
using CallReplyFn = std::function<void(Result<std::vector<abi::Value>>)>;

// A unit of work for the actor's mailbox.
struct Operation {
  enum class Kind {
    kCall,    // call <interface>#<function> with the state threaded through
    kInit,    // _initialize, then actor.init
    kStart,   // _initialize only (an actor resumed from a saved state)
    kUpdate,  // replace the component by `module`, keeping the state (its _initialize runs)
  };
  Kind kind = Kind::kCall;
  std::string interface_name;
  std::string function;
  std::vector<abi::Value> params;
  // kUpdate: the new component, and the host built for it when the operation starts.
  std::shared_ptr<const engine::Module> module;
  std::unique_ptr<ActorHost> new_host;
  CallReplyFn reply;  // may be empty (callbacks nobody waits for)
};

// Why a host function may not suspend while its actor's module is instantiated: the start
// function runs outside any fiber call, before the instance exists.
Status WaitWhileInstantiating();

// What a restoring handler of a recovered actor gets (Handler::Restore): the calls of its
// interface the chain recorded, or why they could not be read.
struct HandlerHistory {
  std::vector<chain::HostCall> calls;
  Status problem;
};
using HandlerHistories = std::map<std::string, HandlerHistory, std::less<>>;

// The actor is the ActorContext its handlers are given (include/theater/host_api.h): the
// overrides below are what handlers may reach; the rest is the runtime's.
class Actor final : public ActorContext, public std::enable_shared_from_this<Actor> {
 public:
  struct Config {
    std::string id;
    SpawnRequest origin;  // what it was spawned from (for restarts)
    std::shared_ptr<const Manifest> manifest;  // shared by the actors spawned from one text
    std::optional<std::string> parent_id;
    std::shared_ptr<const EffectivePermissions> permissions;
    std::shared_ptr<chain::EventChain> chain;
    uint64_t sequence = 0;   // spawn order, runtime-wide (the runtime stops newest first)
    bool persisted = false;  // the chain is saved in the runtime's database
    // A recovered actor's: by handler name, what each restoring handler re-creates its
    // resources from (Handler::Restore), handed over once, in Begin().
    HandlerHistories handler_history;
  };

  Actor(RuntimeImpl& runtime, Config config);
  ~Actor();
  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;

  // Setup, before the actor is registered: activates handlers, binds their host functions and
  // instantiates the module with `initial_state`.
  Status Setup(std::shared_ptr<const engine::Module> module, StateBytes initial_state,
               std::vector<std::unique_ptr<Handler>> handlers);
  // Queues the replacement of the actor's component by `module` behind the operations already
  // queued: when it runs, the new module is instantiated with the then-current state and its
  // _initialize runs (init does not); the actor keeps its id, chain, handlers, children and
  // state. `done` gets OK, or why the old component stays (e.g. an import no handler serves).
  Status UpdateComponent(std::shared_ptr<const engine::Module> module,
                         std::function<void(Status)> done);
  // After registration: starts the handlers (and, for a recovered actor, restores what they held
  // from Config::handler_history) and queues init (or start, for a resumed actor).
  // `ready` receives OK once init succeeded, or its error (the actor then stops on its own).
  // Registered, the actor can be stopped before or during Begin (its parent stopping its
  // children, a Stop of its id): until Begin has queued init it counts as running, so such a stop
  // only begins, and Begin finishes it (`ready` then gets kCancelled) instead of starting init.
  void Begin(bool resume, std::function<void(Status)> ready);

  // Queues an operation. Refused (without calling op.reply) with kFailedPrecondition while
  // shutting down or stopped and kResourceExhausted when the mailbox is full.
  Status Enqueue(Operation op);
  // Queues a call of an export nobody waits for, if the actor exports it. Returns false when it
  // does not export it or the operation was refused.
  bool Notify(std::string_view interface_name, std::string_view function,
              std::vector<abi::Value> params) override;
  // Whether the actor's component exports `export_name` ("<interface>#<function>"). Safe from
  // any thread, also while the actor stops.
  bool HasExport(std::string_view export_name) const override;
  std::string ExportForm(std::string_view interface_name,
                         std::string_view function) const override;

  // Pauses now when idle; during an operation, defers the pause to its end when `when_idle`,
  // else refuses ("cannot pause during operation").
  Status Pause(bool when_idle);
  Status Resume();
  // Starts stopping: graceful lets the running operation finish, force interrupts it. `report`
  // is what the parent (or the top-level listener) hears once stopped; nullopt: nothing.
  // `done` runs once the actor is stopped (immediately if it already is). `termination`, for a
  // force stop that interrupts an operation: why, recorded by the actor-stopped event instead of
  // the report's reason and given to whoever waits for the operation as its error's context
  // (the runtime's shutdown grace ran out).
  void BeginStop(StopKind kind, std::optional<ChildEvent> report, std::function<void()> done,
                 std::string termination = {});
  // Stops gracefully (reporting nothing) when the actor is idle with an empty mailbox, and
  // returns true (`done` runs once stopped); else changes nothing and returns false. How a move
  // lets the actor finish what it was sent before it leaves (runtime/move.cc).
  bool StopIfDrained(std::function<void()> done);
  // At the end of the runtime's shutdown grace (RuntimeOptions::shutdown_grace): when the actor
  // is running an operation, stops it by force with `why` as the termination (beginning its
  // stop, or escalating the one in progress, whose report stays). Returns whether an operation
  // was running; an actor that runs none is left to the stop it gets in turn.
  bool TerminateRunningOperation(std::string why);

  // Asked by the runtime's hibernation sweep (RuntimeOptions::hibernate_after), once a period:
  // an actor that is idle and has finished no operation since the last sweep hibernates its
  // instance (engine::Instance::Hibernate). Meanwhile it counts as running, so operations sent
  // to it queue, and a stop waits; they proceed as after any operation.
  void TryHibernate();

  // ActorContext's output gate: `output` runs at once, or, in strict durability, is held until
  // the operation ends and its events are durable (ReleaseHeldOutputs).
  void ReleaseOutput(std::function<void()> output) override;
  bool GatesOutputs() const override { return DeliveryWaitsForDurability(); }

  // --- Info: answered from the last committed snapshot. ---
  const std::string& id() const override { return config_.id; }
  const std::string& name() const override { return config_.manifest->name; }
  const Manifest& manifest() const override { return *config_.manifest; }
  const SpawnRequest& origin() const { return config_.origin; }
  const std::optional<std::string>& parent_id() const { return config_.parent_id; }
  const EffectivePermissions& permissions() const override { return *config_.permissions; }
  const std::shared_ptr<chain::EventChain>& chain() const { return config_.chain; }
  uint64_t sequence() const { return config_.sequence; }
  bool persisted() const { return config_.persisted; }
  ActorPhase phase() const;
  // True from the moment a stop begins (graceful or forced), through to Stopped.
  bool stopping() const;
  StateBytes committed_state() const;
  // The SHA-256 (hex) of the module it runs now.
  std::string module_sha256() const;
  ActorMetrics metrics() const;
  ActorSummary summary() const;

  // --- Children (newest last). ---
  // False once this actor has begun to stop: its stop has taken (or is about to take) the list
  // of children to stop first, so a child added now would outlive it.
  [[nodiscard]] bool AddChild(const std::string& child_id);
  void RemoveChild(const std::string& child_id);
  std::vector<std::string> children() const;
  // Its children that failed with no restart strategy, still among children() until it restarts
  // or stops them.
  FailedChildren& failed_children() { return failed_children_; }
  // A failed child its restart strategy is restarting: a restart-child of it meanwhile (from
  // handle-child-error, say) joins that restart instead of finding no actor (for a child on
  // another host, it restarts it again once that restart is over: RestartChild). End tells
  // those waiting how it went.
  void BeginChildRestart(const std::string& child_id);
  void EndChildRestart(const std::string& child_id, const Status& outcome);
  // Adds `done` to the waiters of `child_id`'s restart; false when none is under way.
  bool JoinChildRestart(const std::string& child_id, std::function<void(Status)>& done);

  // --- ActorContext: what handlers reach (include/theater/host_api.h documents each). ---
  HostServices& services() override;
  std::weak_ptr<ActorContext> WeakSelf() override { return weak_from_this(); }
  void Log(std::string_view line) override;
  bool RecordCustomEvent(std::string_view type, std::span<const uint8_t> data) override;
  std::shared_ptr<const std::vector<uint8_t>> CallState() const override;
  std::vector<chain::Event> HeldEvents() const override;
  void RecordHostCall(std::string_view interface_name, std::string_view function,
                      std::span<const abi::Value> input,
                      std::span<const abi::Value> output) override;
  void RecordFailedHostCall(std::string_view interface_name, std::string_view function,
                            std::span<const abi::Value> input, std::string_view error) override;
  void SetCustomMetric(const std::string& name, double value) override;
  std::vector<WasiPreopen> WasiPreopens() override;
  // What a spawn of a child by this actor may read (runtime/local_read_scope.h): the
  // directories its handlers grant it with read access (its filesystem grant, as WASI sees it),
  // the directory of its own manifest when that is a local file (its package), and its origin's
  // read_roots. Made on first use and kept; null once its handlers have stopped.
  std::shared_ptr<const LocalReadScope> ChildReadScope();
  // The same directories by path, for a child spawned on another host of the lattice, which
  // reads its manifest and component there under them (the host's spawn roots are that host's).
  LocalReadRoots ChildReadRoots();
  // The directories both of those share, by path: its package (the directory of its manifest
  // file) and its origin's read_roots.
  std::vector<std::filesystem::path> OwnReadDirectories() const;
  // Whether its manifest was read from a local file (base_dir is then that file's directory).
  bool OwnManifestIsAFile() const;
  Status Post(ExportInvocation call) override;
  uint64_t WaitForRoom(std::function<void()> room) override;
  void CancelRoomWait(uint64_t ticket) override;
  // Called by runtime.shutdown: the actor stops (reporting kExit with `data` to its supervisor)
  // once the current operation has finished. False when it is already stopping.
  bool RequestShutdown(std::optional<std::vector<uint8_t>> data) override;
  bool CanSuspend() const override;
  Result<uint64_t> Suspend(const std::function<void(Waker)>& arm) override;
  Status SleepFor(std::chrono::nanoseconds wait) override;
  std::vector<std::string> Children() const override { return children(); }
  void SpawnChild(SpawnRequest request, Callback<std::string> done) override;
  void StopChild(std::string_view child_id, std::function<void(bool found)> done) override;
  void RestartChild(std::string_view child_id, std::function<void(Status)> done) override;
  Result<std::optional<std::vector<uint8_t>>> ChildState(std::string_view child_id) override;
  Result<std::vector<chain::Event>> ChildEvents(std::string_view child_id,
                                                size_t max_bytes) override;
  // Receives the notifications about this actor's children (set by the supervisor handler).
  void SetChildListener(std::function<void(const ChildEvent&)> listener) override;
  void SetSupervisionPolicy(SupervisionPolicy policy) override;

  // --- The runtime's. ---
  TimerService& timers();
  // Suspends the guest call `host` is running for `wait`, on the timers, holding no worker
  // thread (SleepFor above).
  Status SleepOn(ActorHost& host, std::chrono::nanoseconds wait);
  SupervisionPolicy supervision_policy() const;
  // Delivers a child's notification to the listener (and returns whether there was one).
  bool DeliverChildEvent(const ChildEvent& event);
  // Timestamps of recent child restarts, for the restart-intensity check (guarded by the actor).
  // Returns false when one more restart now would exceed the policy's budget.
  bool AdmitRestart();

 private:
  // A recovered actor's restoring handlers re-create what they held (Handler::Restore), each
  // recorded in the chain as a handler-restored event; failures are recorded and logged.
  void RestoreHandlers();
  // The next operation to run, moving the phase to Processing; nullopt when nothing may run now.
  std::optional<Operation> TakeNextLocked() THEATER_REQUIRES(mu_);
  // Whether an operation of `kind` may start now (nothing running, and the actor idle, or
  // starting and `kind` its init or start).
  bool CanStartLocked(Operation::Kind kind) const THEATER_REQUIRES(mu_);
  // Marks the actor busy with an operation it has taken.
  void MarkRunningLocked() THEATER_REQUIRES(mu_);
  // `op`, to run now when nothing is queued before it and it can start; else queued (at the
  // front for init or start) and whatever can run next instead. The mailbox then holds nothing
  // for an operation that starts at once.
  std::optional<Operation> AdmitLocked(Operation op, bool at_front) THEATER_REQUIRES(mu_);
  // mailbox_overflow = "drop-oldest": removes the oldest queued call (nullopt when only init,
  // start or updates are queued).
  std::optional<Operation> TakeOldestCallLocked() THEATER_REQUIRES(mu_);
  // A drop policy let `dropped` go: an actor-chain event says so, and its reply, if any, hears it.
  void RecordDrop(MailboxOverflow policy, Operation dropped) THEATER_EXCLUDES(mu_);
  // An operation left the mailbox (or the actor stops: `all`): wakes the senders waiting for
  // room, on the timers' thread.
  void WakeRoomWaitersLocked(bool all) THEATER_REQUIRES(mu_);
  void StartTask(Operation op);
  // Runs the operation (its params are consumed).
  Result<std::vector<abi::Value>> Execute(Operation& op);
  // After the operation that ends a task (a lone one, the last of a batch, a failure, an init,
  // an update): records it, decides whether the actor stops, moves its phase on, delivers the
  // outcome, then starts the next operation or the stop sequence.
  void OnTaskDone(Operation op, Result<std::vector<abi::Value>> result, uint64_t elapsed_ns);
  // Inside a task, after a successful call: when the next operation may run in the same task,
  // records and delivers this one and returns the next; otherwise returns nullopt and leaves
  // `op` and `result` to OnTaskDone.
  std::optional<Operation> ContinueInTask(Operation& op, Result<std::vector<abi::Value>>& result,
                                          uint64_t elapsed_ns, uint32_t batch_ops,
                                          uint64_t batch_ns);
  // The running task's call has finished and is about to be freed: a force stop must no longer
  // reach it through current_.
  void ForgetFinishedCall(const engine::GuestCall* call);
  // The task is over: the actor becomes idle (taking the next operation), paused, or stopping.
  void EndTaskLocked(std::optional<Operation>* next, bool* finish_stop) THEATER_REQUIRES(mu_);
  void RecordOutcomeLocked(bool ok, uint64_t elapsed_ns) THEATER_REQUIRES(mu_);
  void StopAfterLocked(std::optional<ChildEvent> report) THEATER_REQUIRES(mu_);
  // Hands an operation's outcome to whoever waits for it (see RunWhenDurable). The caller has
  // counted a reply in replies_owed_ while the actor still looked busy; this uncounts it once
  // the reply has run.
  void DeliverOutcome(std::function<void(Status)> ready, CallReplyFn reply,
                      Result<std::vector<abi::Value>> result);
  // Runs `deliver` — what lets an operation's outcome leave the actor (a reply, a spawn's
  // id) — at once, or, for a chain saved with strict durability, once the actor's events so far
  // are committed (on the timer thread, never on the store's writer).
  void RunWhenDurable(std::function<void(Status durable)> deliver);
  // True for a chain saved with strict durability (then RunWhenDurable defers).
  bool DeliveryWaitsForDurability() const;
  // Hands the outputs held for the operation that is ending to RunWhenDurable.
  void ReleaseHeldOutputs();
  // After an operation (before the next can start), for a saved chain with a retention limit:
  // records a state snapshot once the limit is passed and prunes the stored events before the
  // previous snapshot.
  void ApplyRetention();
  // Answers every queued operation with kFailedPrecondition ("actor … is shutting down"): once
  // the stop has begun nothing more is queued, and what was queued will never run.
  void RefuseQueued();
  // Begins the stop (under mu_): ShuttingDown, with its kind and report.
  void MarkStoppingLocked(StopKind kind, std::optional<ChildEvent> report) THEATER_REQUIRES(mu_);
  // Runs the stop sequence once no operation is running.
  void FinishStop();
  void StopChildren(std::vector<std::string> newest_first, size_t next, std::function<void()> then);

  RuntimeImpl& runtime_;
  Config config_;
  // The component: replaced (under mu_) only by an update, which keeps the old one alive until
  // its host is gone.
  std::shared_ptr<const engine::Module> module_ THEATER_GUARDED_BY(mu_);
  // ExportForm's answers for module_ (cleared when an update replaces it).
  mutable std::map<std::string, std::string, std::less<>> export_forms_ THEATER_GUARDED_BY(mu_);
  // An ActorHost for `module` with `state`, its imports served by this actor's handlers.
  Result<std::unique_ptr<ActorHost>> NewHost(std::shared_ptr<const engine::Module> module,
                                             StateBytes state);
  std::unique_ptr<ActorHost> host_;
  // The host whose guest code is running host functions: host_, except while a host is being
  // instantiated (a component's start function runs then) and while an update initialises the
  // new component (then that host). Touched only by the running operation, or by Setup before
  // anything runs.
  ActorHost* calling_host_ = nullptr;
  ActorHost& CallingHost() { return calling_host_ ? *calling_host_ : *host_; }
  const ActorHost& CallingHost() const { return calling_host_ ? *calling_host_ : *host_; }
  std::vector<std::unique_ptr<Handler>> handlers_;
  // Serialises asking the handlers for their grants (WasiPreopens, ChildReadScope: a child's
  // restart asks from a loader thread) with their stop.
  Mutex grants_mu_;
  bool handlers_stopped_ THEATER_GUARDED_BY(grants_mu_) = false;
  std::shared_ptr<const LocalReadScope> child_read_scope_ THEATER_GUARDED_BY(grants_mu_);
  const std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();

  mutable Mutex mu_;
  ActorPhase phase_ THEATER_GUARDED_BY(mu_) = ActorPhase::kStarting;
  // An operation (or a hibernation) holds the instance; also true from construction until Begin
  // lets the actor run, so that a stop arriving meanwhile waits for Begin.
  bool running_ THEATER_GUARDED_BY(mu_) = true;
  bool pause_requested_ THEATER_GUARDED_BY(mu_) = false;
  // While kStarting, what the actor is doing (summary()): a step, and the handler it concerns
  // if any (views of static text and of a handler's name, so that spawning composes no string).
  std::string_view starting_step_ THEATER_GUARDED_BY(mu_) = "setting up handlers";
  std::string_view starting_handler_ THEATER_GUARDED_BY(mu_);
  // The names of handlers_, for summary() on other threads.
  std::vector<std::string> handler_names_ THEATER_GUARDED_BY(mu_);
  bool began_stop_ THEATER_GUARDED_BY(mu_) = false;
  // The running task's call: set when it starts, cleared before it is freed (ForgetFinishedCall).
  engine::GuestCall* current_ THEATER_GUARDED_BY(mu_) = nullptr;
  // Holds no memory while empty (most actors, most of the time).
  RingQueue<Operation> mailbox_ THEATER_GUARDED_BY(mu_);
  // Messages the running operation sent while outputs are gated (ReleaseOutput).
  std::vector<std::function<void()>> held_outputs_ THEATER_GUARDED_BY(mu_);
  size_t mailbox_capacity_ THEATER_GUARDED_BY(mu_);
  // Senders waiting for room under mailbox_overflow = "block" (WaitForRoom), oldest first, by
  // ticket.
  std::deque<std::pair<uint64_t, std::function<void()>>> room_waiters_ THEATER_GUARDED_BY(mu_);
  uint64_t next_room_ticket_ THEATER_GUARDED_BY(mu_) = 0;
  StateBytes committed_state_ THEATER_GUARDED_BY(mu_);
  std::function<void(Status)> ready_ THEATER_GUARDED_BY(mu_);
  // Why init failed (reported to the spawner once stopped).
  Status init_error_ THEATER_GUARDED_BY(mu_);
  StopKind stop_kind_ THEATER_GUARDED_BY(mu_) = StopKind::kGraceful;
  std::optional<ChildEvent> stop_report_ THEATER_GUARDED_BY(mu_);
  // Why the running operation was terminated (TerminateRunningOperation); when set, what the
  // actor-stopped event records instead of the report's reason.
  std::string termination_ THEATER_GUARDED_BY(mu_);
  std::vector<std::function<void()>> stop_waiters_ THEATER_GUARDED_BY(mu_);
  // Replies of finished operations not yet handed over. The actor turns idle before its caller
  // hears the outcome (so that the caller sees it idle), so a stop that waits for the actor to
  // drain (StopIfDrained, a move) must wait for these too: a request's answer given just before
  // the stop would otherwise be failed as "stopped before answering". Raised while the actor
  // still counts as running, lowered after the reply ran.
  std::atomic<uint32_t> replies_owed_{0};
  std::optional<std::optional<std::vector<uint8_t>>> shutdown_request_ THEATER_GUARDED_BY(mu_);
  std::vector<std::string> children_ THEATER_GUARDED_BY(mu_);
  FailedChildren failed_children_;  // thread-safe on its own
  // Children its strategy is restarting, with the restart-child calls waiting on each.
  std::map<std::string, std::vector<std::function<void(Status)>>> child_restarts_
      THEATER_GUARDED_BY(mu_);
  std::function<void(const ChildEvent&)> child_listener_ THEATER_GUARDED_BY(mu_);
  SupervisionPolicy supervision_ THEATER_GUARDED_BY(mu_);
  // Oldest first.
  std::vector<std::chrono::steady_clock::time_point> restarts_ THEATER_GUARDED_BY(mu_);

  // Metrics.
  uint64_t calls_ THEATER_GUARDED_BY(mu_) = 0;
  uint64_t failures_ THEATER_GUARDED_BY(mu_) = 0;
  uint64_t latency_sum_ns_ THEATER_GUARDED_BY(mu_) = 0;
  uint64_t latency_min_ns_ THEATER_GUARDED_BY(mu_) = 0;
  uint64_t latency_max_ns_ THEATER_GUARDED_BY(mu_) = 0;
  uint64_t mailbox_peak_ THEATER_GUARDED_BY(mu_) = 0;
  uint64_t mailbox_dropped_ THEATER_GUARDED_BY(mu_) = 0;
  uint64_t memory_bytes_ THEATER_GUARDED_BY(mu_) = 0;
  uint64_t memory_peak_ THEATER_GUARDED_BY(mu_) = 0;
  // Hibernation: calls_ when the last sweep looked, and the state the sweep left.
  uint64_t calls_at_last_sweep_ THEATER_GUARDED_BY(mu_) = 0;
  bool hibernated_ THEATER_GUARDED_BY(mu_) = false;
  uint64_t hibernated_bytes_ THEATER_GUARDED_BY(mu_) = 0;
  uint64_t hibernations_ THEATER_GUARDED_BY(mu_) = 0;
  std::map<std::string, double> custom_metrics_ THEATER_GUARDED_BY(mu_);

  // Retention. Touched only by OnTaskDone while its operation still counts as running.
  uint64_t snapshot_index_ = 0;     // chain index of the last snapshot (0: none yet)
  uint64_t previous_snapshot_ = 0;  // the one before it: where the stored chain starts
  uint64_t snapshot_bytes_ = 0;     // chain payload bytes at the last snapshot
};

}  // namespace theater::runtime
