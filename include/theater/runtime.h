// Theater: a WebAssembly actor runtime.
//
// TheaterRuntime: the embedding API. It spawns actors from manifests, runs them on a worker pool
// (one thread per core by default), supervises them, records their event chains into an SQLite
// database under $THEATER_HOME and answers questions about them. docs/runtime.md describes the
// lifecycle, the scheduler and the supervision rules.
//
// Actors are named by UUID strings. Every operation comes in two forms: a blocking one for
// threads that may wait (the CLI, tests, the management server's worker), and an asynchronous one
// that calls back on a runtime thread, used by host functions running inside actors (a host
// function must never block its worker; it suspends its actor instead).
//
// Errors: kNotFound for an unknown actor id, kFailedPrecondition for an operation the actor's
// phase does not allow (e.g. resume when not paused), kResourceExhausted for a full mailbox, and
// the setup or call error (with its cause chain) otherwise.
//
// Thread-safety: every method may be called from any thread, concurrently. The blocking forms
// must not be called from inside an actor's host function.
//
// Ownership: the runtime owns its actors, its workers and its database. The destructor stops
// every actor (gracefully, children before parents) and syncs the database.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theater/abi/value.h"
#include "theater/chain.h"
#include "theater/chain_store.h"
#include "theater/content_store.h"
#include "theater/engine.h"
#include "theater/local_read_roots.h"
#include "theater/manifest.h"
#include "theater/message_client.h"
#include "theater/permissions.h"
#include "theater/recovery.h"
#include "theater/replay.h"
#include "theater/status.h"
#include "theater/subscription.h"

namespace theater {

class HandlerRegistry;
class LatticeLink;

// Where an actor is in its life (docs/runtime.md, "Lifecycle").
enum class ActorPhase {
  kStarting,      // instantiated; `init` queued or running
  kIdle,          // ready, mailbox empty
  kProcessing,    // running an operation
  kPaused,        // operations queue up but do not run until resumed
  kShuttingDown,  // refusing new operations; finishing the current one, stopping children
  kStopped,       // gone; only its stored chain remains
};
std::string_view ActorPhaseName(ActorPhase phase);

// Per-actor figures (docs/runtime.md, "Metrics"). Latencies cover whole operations (the export
// call with its lowering and lifting, including time suspended in host functions).
struct ActorMetrics {
  uint64_t calls = 0;     // operations finished (successfully or not)
  uint64_t failures = 0;  // operations that failed
  uint64_t latency_min_ns = 0;
  uint64_t latency_avg_ns = 0;
  uint64_t latency_max_ns = 0;
  uint64_t mailbox_depth = 0;  // operations queued now
  uint64_t mailbox_peak = 0;   // most operations ever queued at once
  uint64_t mailbox_dropped = 0;  // calls a drop policy let go (limits.mailbox_overflow)
  uint64_t memory_bytes = 0;   // linear memory now
  uint64_t memory_peak_bytes = 0;
  uint64_t uptime_ms = 0;
  uint64_t events = 0;  // events in the chain
  // Whether the actor is hibernating (RuntimeOptions::hibernate_after): its linear memory's
  // pages are given back, what they held kept in `hibernated_bytes` of heap until its next call.
  bool hibernated = false;
  uint64_t hibernated_bytes = 0;
  uint64_t hibernations = 0;  // times it has hibernated
  // Values the actor reported through theater:simple/runtime-ext `metric`.
  std::map<std::string, double> custom;
};

// One row of List().
struct ActorSummary {
  std::string id;
  std::string name;
  ActorPhase phase = ActorPhase::kStarting;
  // While kStarting, the setup step it is at: "starting handler 'http-framework'", "running
  // init" (or "resuming (start)"). Empty in every other phase.
  std::string starting_step;
  std::optional<std::string> parent_id;
  std::string manifest_source;  // the manifest reference the actor was spawned from
  // The handlers it runs with (declared or, with auto_handlers, activated by its imports), by
  // type name; empty until its setup has chosen them.
  std::vector<std::string> handlers;
};

// What a supervisor hears about a child.
struct ChildEvent {
  enum class Kind {
    kExit,          // the child asked to stop (runtime.shutdown(data)); `data` is its payload
    kError,         // an operation failed and the child failed with it; `error` is the cause
    kExternalStop,  // the child was stopped from outside (management API or stop-child)
  };
  Kind kind = Kind::kExit;
  std::string child_id;
  std::optional<std::vector<uint8_t>> data;
  Status error;
  // kExternalStop: who stopped it and why, in words ("stopped by theater run after 200 ms
  // idle"); empty when the stopper gave none. Recorded in the chain's actor-stopped event.
  std::string reason;
};

// The parent of a child spawned on another host of a lattice (docs/distribution.md,
// "Supervision across hosts"): what the child's host needs to bound the child as the parent's
// host would, since permissions have no wire form — the `[permission_policy]` of each ancestor,
// from the top-level actor down to the parent, through which this host computes the parent's
// permissions from its own root permissions, and the parent's limits, which cap the child's.
struct RemoteParent {
  std::string id;
  std::string host;
  std::vector<nlohmann::json> ancestry_policies;
  ManifestLimits limits;
};

struct SpawnRequest {
  // A manifest: a file path, a store:// reference, an http(s):// URL, or the TOML text itself
  // (anything containing a newline or starting with '[' or a `key =` line; its relative paths
  // resolve against the working directory the runtime was created in).
  std::string manifest;
  // Spawn: JSON merged over the manifest's init_state (docs/manifest.md). Resume: the state
  // itself, used as is.
  std::optional<std::vector<uint8_t>> state;
  // Resume instead of spawn: the actor starts from `state` and its `init` is not called.
  bool resume = false;
  // The supervising actor, if any. Its permissions bound the child's.
  std::optional<std::string> parent_id;
  // Use this id instead of a fresh UUID (it must be a UUID not in use).
  std::optional<std::string> actor_id;
  // The local files the spawn may read on its requester's behalf (the manifest, its init_state
  // and its component): only those under these directories. The actor keeps them: they bind its
  // restarts and recoveries, and every descendant's spawn may read under them too. Unset: the
  // host's operator (an embedding program, `theater run`, a client on loopback), who may have it
  // read any file the host's user can. Either way an actor's own spawn of a child (parent_id) is
  // bound to what that actor may read: its filesystem grant, the directory of its own manifest,
  // and these (docs/security.md, "What a spawn may read").
  std::optional<LocalReadRoots> read_roots;
  // Who asked, when it is a client of the host (the management server names the connection): at
  // most RuntimeOptions::max_spawn_fetches_per_client of its spawns fetch http(s) references at
  // once. Empty: the embedder itself, bound only by max_spawn_fetches.
  std::string client;
  // The management server has placed it (docs/distribution.md, "Placement"): the manifest's
  // `placement` is not checked again. Otherwise a placement on another host is refused, since
  // the runtime alone starts actors where it runs.
  bool placed = false;
  // Set on the child's host when the parent runs on another host of the lattice (parent_id is
  // then unset: the parent is not among this host's actors). Shared: restarts copy the request.
  std::shared_ptr<const RemoteParent> remote_parent;
};

// Receives actor log lines (runtime.log, stdout and stderr of the guest).
using ActorLogSink =
    std::function<void(std::string_view actor_id, std::string_view name, std::string_view line)>;

// RuntimeOptions::shutdown_grace: the default, and the most it may be (a grace beyond an hour is
// a stop that never comes, as far as a service manager can tell).
inline constexpr std::chrono::milliseconds kDefaultShutdownGrace{10'000};
inline constexpr std::chrono::milliseconds kMaxShutdownGrace{3'600'000};

struct RuntimeOptions {
  // Root for the database and the compile cache; empty: $THEATER_HOME, else ~/.theater.
  std::filesystem::path home;
  // Keep chains and the actor registry in <home>/theater.db. Off: chains live in memory only.
  bool persist = true;
  chain::Durability durability = chain::Durability::kBatched;
  // Worker threads; 0 = one per core.
  int workers = 0;
  // Threads of the I/O loop handlers share (HostServices::io(), include/theater/io_loop.h).
  int io_threads = 1;
  engine::EngineOptions engine;
  ActorLogSink log_sink;
  // Whether an actor whose manifest does not say `save_chain` keeps its chain in the database
  // (with persist): a chain that is gone cannot be inspected, verified or replayed.
  bool save_chains_by_default = true;
  // Whether an actor whose manifest does not say `auto_handlers` may use handlers it does not
  // declare (the runtime adds each one its module imports or exports). Off by default: actors
  // declare the handlers they use (HandlerRegistry::Activate); on is a development convenience
  // (`theater server --auto-handlers`, `theater run --auto-handlers`).
  bool auto_handlers = false;
  // Directories every actor's spawn of a child may read, besides its own filesystem grant and
  // the directory of its own manifest: where the operator keeps components that any actor may
  // start (`theater server --spawn-root DIR`; docs/security.md, "What a spawn may read").
  std::vector<std::filesystem::path> spawn_roots;
  // Record every actor's chain in the database, also those whose manifest says
  // `save_chain = false`.
  bool save_all_chains = false;
  // Events of each actor's chain held in memory (beyond it the oldest is dropped; a saved chain
  // keeps its full history in the database, where Events() and VerifyChain() read it).
  size_t chain_memory_events = 1024;
  // Record host and export calls in chains at all. Only for measuring the recording's cost
  // (bench/runtime_bench.cc): without it nothing can be verified or replayed.
  bool record_calls = true;
  // Byte lists (list<u8> inputs, outputs, params, results) longer than this are recorded in
  // chains by SHA-256 and size, the bytes kept in the content store kChainBytesStoreId, where
  // ContentStore::Get finds them by that hash (docs/chain-format.md, "Large byte lists").
  // 0: always inline. Only with persist (a runtime without a database keeps them inline).
  size_t chain_bytes_inline_max = 64 * 1024;
  // What one actor may log (runtime log lines, stdout and stderr), and record as custom chain
  // events, in bytes per second; past it lines and events are dropped, with one notice a second
  // in the log and the actor's chain (a "rate-limited" event). 0: no limit.
  uint64_t log_bytes_per_second = 256 * 1024;
  uint64_t custom_event_bytes_per_second = 1024 * 1024;
  // Hold an exclusive lock on the home directory (and <home>/lock, which records the pid) while
  // the runtime lives: a second runtime that asks for it on the same home fails to start, naming
  // the holder's pid, even if <home>/lock was deleted (`theater server` asks).
  bool exclusive_home = false;
  // Admission control: a spawn is refused, with an error that says why, while the machine's
  // available memory (MemAvailable) is below this, instead of starting an actor that would fail
  // for lack of it. 0: no floor. (Address space is always checked: see Capacity().)
  uint64_t min_free_memory_bytes = 64u << 20;
  // Durable actors (theater/recovery.h): record, for every actor whose chain is saved, what it
  // takes to start it again, and leave the actors still running at Shutdown() recorded as
  // running, so that Recover() on the next start brings them back. `theater server` sets it.
  // Off: shutdown records every actor as stopped and nothing is recovered.
  bool durable_actors = false;
  // Hibernation: an actor that has run nothing for between one and two of these periods gives
  // its linear memory's pages back to the kernel, keeping what they held (its bytes that are not
  // zero) compactly on the heap; its next operation puts them back first, which the guest cannot
  // tell (docs/runtime.md, "Hibernation"). An idle small actor then costs a few hundred bytes of
  // guest memory instead of a few pages. Zero: never.
  std::chrono::milliseconds hibernate_after{10'000};
  // Shutdown(): how long the operations running when it begins may go on (docs/runtime.md,
  // "Shutdown"). Those still running at its end are terminated, each such actor's chain saying
  // why; with durable_actors they come back from their last committed state like the rest.
  // Zero: terminate at once. Must not be negative (Create fails) nor above kMaxShutdownGrace.
  // `theater server --shutdown-grace`.
  std::chrono::milliseconds shutdown_grace{kDefaultShutdownGrace};
  // Spawns fetch the http(s) references they name (manifest, component, init_state) on the I/O
  // loop, never holding a loader thread (docs/runtime.md, "Spawning from URLs"). These cap how
  // many such fetches are in flight at once: in all, for the spawns of one client
  // (SpawnRequest::client), and for the spawns of one actor (its supervisor.spawn, and the
  // restarts of its children). A spawn whose fetch would pass a cap fails at once with
  // kResourceExhausted naming it. Each fetch holds at most its size limit (docs/security.md).
  // Must be at least 1 (Create fails).
  size_t max_spawn_fetches = 64;
  size_t max_spawn_fetches_per_client = 16;
  size_t max_spawn_fetches_per_actor = 8;
};

// How many more actors fit, and what bounds it (TheaterRuntime::Capacity, `theater info`).
struct RuntimeCapacity {
  // Address space held by the linear memories of live actors, and what they may hold in all
  // (the user address space, or RLIMIT_AS, less room for everything else).
  uint64_t address_space_reserved_bytes = 0;
  uint64_t address_space_limit_bytes = 0;
  // What one more actor's memory reserves (8 GiB in guard-page mode).
  uint64_t reservation_per_actor_bytes = 0;
  // The machine's available memory, and the floor below which spawns are refused.
  uint64_t memory_available_bytes = 0;
  uint64_t memory_floor_bytes = 0;
  // An estimate: the smaller of what the address space and the available memory allow, the
  // latter at the current resident size per live actor.
  uint64_t actors_that_fit = 0;
};

// The content store that keeps the byte lists chains record by digest (RuntimeOptions::
// chain_bytes_inline_max); created on first use, owner "theater:chain".
inline constexpr std::string_view kChainBytesStoreId = "00000000-0000-0000-0000-0000000c4a17";

class TheaterRuntime {
 public:
  using Subscription = chain::SubscriptionHub::Subscription;
  template <typename T>
  using Callback = std::function<void(Result<T>)>;

  // A runtime whose actors may use the handlers in `handlers` (theater/handler_registry.h;
  // theater/builtins.h has the standard set, BuiltinHandlers()).
  static Result<std::unique_ptr<TheaterRuntime>> Create(RuntimeOptions options,
                                                        HandlerRegistry handlers);
  virtual ~TheaterRuntime() = default;

  // Loads the manifest, instantiates the actor with its handlers and runs `init`; returns the id
  // once `init` succeeded, or the first error (the actor is then gone). Blocks the calling
  // thread, which also does the loading (reading, compiling; http(s) references are fetched on
  // the I/O loop meanwhile, and the loading goes on on a loader thread): call it from a thread of
  // your own, never from a runtime callback. SpawnAsync loads on the runtime's loader threads.
  virtual Result<std::string> Spawn(SpawnRequest request) = 0;
  virtual void SpawnAsync(SpawnRequest request, Callback<std::string> done) = 0;

  // Graceful stop: the running operation finishes, queued ones are refused, children stop first
  // (newest first), handlers stop, the chain is synced.
  virtual Status Stop(std::string_view id) = 0;
  // The same, with the reason the chain's actor-stopped event records (ChildEvent::reason).
  virtual Status Stop(std::string_view id, std::string_view reason) = 0;
  virtual void StopAsync(std::string_view id, Callback<bool> done) = 0;
  // Forced stop: the running operation is interrupted.
  virtual Status Terminate(std::string_view id) = 0;
  // Stops the actor and starts it again from its manifest under the same id (fresh state; the
  // chain continues).
  virtual Status Restart(std::string_view id) = 0;
  // Replaces the actor's component, as an operation behind those already queued: the new module
  // (a path, resolved against the working directory, or an http(s) URL) is compiled first, then
  // instantiated with the state the actor has when the operation runs; its `_initialize` runs,
  // `init` does not. Id, chain (which records "component-updated" and the new hash), handlers,
  // permissions and children stay. On failure (unloadable module, an import no handler serves, a
  // trap in _initialize) the old component keeps running and the error is returned.
  virtual Status UpdateComponent(std::string_view id, const std::string& component) = 0;
  // Pauses the actor: operations queue up but do not run until Resume. kNow pauses an idle actor
  // and refuses, at once, one that is running an operation (kFailedPrecondition, "cannot pause
  // during operation"); kWhenIdle pauses it once the running operation is over.
  enum class PauseWhen { kNow, kWhenIdle };
  virtual Status Pause(std::string_view id, PauseWhen when) = 0;
  virtual Status Resume(std::string_view id) = 0;
  // Moves a top-level actor of this host to host `to_host` of its lattice (docs/distribution.md,
  // "Moving an actor"): what reaches it meanwhile is held, it finishes what it was sent, and it
  // resumes there with its state, its chain going on from where it ends here. Blocks until it
  // runs there (or, after a failure, here again). kFailedPrecondition outside a lattice, for a
  // child or a parent, or without a saved chain.
  virtual Status Move(std::string_view id, std::string_view to_host) {
    (void)id;
    (void)to_host;
    return FailedPrecondition("this runtime does not move actors");
  }
  // Whether actor `id` is between hosts here: leaving this host (Move has stopped it and not yet
  // heard that it runs on the other) or arriving (its chain is being taken up). Neither running
  // nor stopped, it is answered for as moving (GetActorStatus's phase "Moving").
  virtual bool Moving(std::string_view id) const {
    (void)id;
    return false;
  }

  // Calls export `<interface>#<function>` of the actor with `params` (the params tuple's
  // elements) as one operation through its mailbox; returns the results after the state.
  virtual Result<std::vector<abi::Value>> Call(std::string_view id, std::string_view interface_name,
                                               std::string_view function,
                                               std::vector<abi::Value> params) = 0;
  virtual void CallAsync(std::string_view id, std::string_view interface_name,
                         std::string_view function, std::vector<abi::Value> params,
                         Callback<std::vector<abi::Value>> done) = 0;

  // --- Messages (docs/messaging.md): the embedder as a participant, like another actor. The
  // target must run the message-server handler. Errors: kNotFound (no such actor, or it does not
  // receive messages), kUnavailable (it stopped), kFailedPrecondition (it is shutting down, or it
  // does not export the callback), kResourceExhausted (its mailbox is full). ---

  // Queues handle-send(message) on the actor. Never waits: a full mailbox is kResourceExhausted
  // whatever the actor's mailbox_overflow.
  virtual Status SendMessage(std::string_view id, std::vector<uint8_t> message) = 0;
  // SendMessage, except that while the actor's full mailbox blocks its senders (`[limits]
  // mailbox_overflow = "block"`) it waits for room, holding no thread, up to `timeout` (then
  // kDeadlineExceeded). `done` gets the outcome once, on a runtime thread or before this returns.
  virtual void SendMessageAsync(std::string_view id, std::vector<uint8_t> message,
                                std::chrono::milliseconds timeout,
                                std::function<void(Status)> done) = 0;
  // Queues handle-request and waits for the answer (given by handle-request or later by
  // respond-to-request), the actor's failure, or `timeout` (kDeadlineExceeded). A full mailbox
  // that blocks its senders is waited on within the timeout.
  virtual Result<std::vector<uint8_t>> RequestMessage(
      std::string_view id, std::vector<uint8_t> message,
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) = 0;
  virtual void RequestMessageAsync(std::string_view id, std::vector<uint8_t> message,
                                   std::chrono::milliseconds timeout,
                                   Callback<std::vector<uint8_t>> done) = 0;
  // Opens a channel to the actor (handle-channel-open decides). Messages and the close from the
  // actor's side reach `listener`. A refusal is kFailedPrecondition.
  virtual Result<ExternalChannel> OpenChannel(
      std::string_view id, std::vector<uint8_t> initial_message, ChannelListener listener,
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) = 0;
  // Sends on / closes a channel this runtime's embedder opened. kNotFound when it is not open.
  virtual Status SendOnChannel(std::string_view channel, std::vector<uint8_t> message) = 0;
  virtual Status CloseChannel(std::string_view channel) = 0;

  virtual std::vector<ActorSummary> List() const = 0;
  // How many actors are live: List().size() without building a summary of each (a lattice
  // host's heartbeat says it every second).
  virtual size_t ActorCount() const = 0;
  virtual Result<std::vector<std::string>> Children(std::string_view id) const = 0;
  virtual Result<ActorPhase> Phase(std::string_view id) const = 0;
  // One actor's row of List(), with its starting step while it starts.
  virtual Result<ActorSummary> Summary(std::string_view id) const = 0;
  // The last committed state (never waits for a running operation).
  virtual Result<std::optional<std::vector<uint8_t>>> State(std::string_view id) const = 0;
  // The chain: from the database when it is saved there (running or not), else the events the
  // running actor still holds in memory (RuntimeOptions::chain_memory_events).
  virtual Result<std::vector<chain::Event>> Events(std::string_view id) const = 0;
  virtual Result<ActorMetrics> Metrics(std::string_view id) const = 0;
  // The manifest the running actor was spawned from, as parsed (references resolved).
  virtual Result<Manifest> GetManifest(std::string_view id) const = 0;
  // Verifies the actor's chain (the saved history, or the tail held in memory from its anchor).
  virtual Status VerifyChain(std::string_view id) const = 0;
  // Re-runs the actor from its chain (theater/replay.h, docs/replay.md): the saved chain, or the
  // one a running actor holds, which must still start at event #0. Answers from the chain alone;
  // the actor itself, running or not, is not touched. Errors are about the replay's inputs (no
  // such chain, its module gone); a divergence is in the report.
  virtual Result<ReplayReport> Replay(std::string_view id, const ReplayOptions& options) = 0;
  // The same for a chain given as its events (an exported chain file), from event #0; its
  // modules and large byte lists come from this runtime's store.
  virtual Result<ReplayReport> ReplayEvents(std::vector<chain::Event> events,
                                            const ReplayOptions& options) = 0;
  // "Save chain": writes the actor's chain, as Events() returns it, to
  // `<home>/chains/<id>.json` (a temporary file renamed over the old one, so a reader never sees
  // half a file) and returns the path. The file holds {"actor_id", "first_index", "anchor",
  // "events": [EventToJson...]}; `anchor` (hex or null) and `first_index` say where a retained
  // tail starts. Answered without waiting for a running call.
  virtual Result<std::filesystem::path> SaveChain(std::string_view id) const = 0;

  // Events of one actor (every actor when `id` is empty) from now on. See SubscriptionHub for the
  // overflow policies; remote clients should use kLossy.
  virtual Result<Subscription> Subscribe(std::string_view id, size_t capacity,
                                         chain::OverflowPolicy policy) = 0;
  // The same for an actor that is not running yet: the one a later spawn with
  // SpawnRequest::actor_id = `id` creates, from its first event on. `id` must be a UUID
  // (kInvalidArgument otherwise).
  virtual Result<Subscription> SubscribeBeforeSpawn(std::string_view id, size_t capacity,
                                                    chain::OverflowPolicy policy) = 0;

  // Notifications about top-level actors (those with no parent), e.g. for the management
  // server. Children report to their parent instead.
  virtual void SetTopLevelListener(std::function<void(const ChildEvent&)> listener) = 0;

  // Stops every actor and syncs the database. Idempotent; later operations fail. Operations
  // running when it begins may finish within RuntimeOptions::shutdown_grace; at its end (or at
  // EndShutdownGrace) those still running are terminated, and each such actor's actor-stopped
  // event says so ("terminated: the host stopped and the call outlived the 10 s shutdown
  // grace"). Blocks until every actor has stopped. With durable_actors, the actors it stops,
  // terminated ones included, stay recorded as running, for Recover(), which brings each back
  // from its last committed state.
  virtual Status Shutdown() = 0;
  // Ends the grace period of a Shutdown() in progress at once, or, called before one, makes it
  // terminate what runs without a grace (`theater server` on a second SIGTERM or Ctrl-C).
  // Returns at once; safe from any thread, also while Shutdown() runs on another.
  virtual void EndShutdownGrace() = 0;
  // Brings back every actor the database records as running (theater/recovery.h): parents
  // first, each under its id, from the state of its last durable event, its chain continuing.
  // Call it on a fresh runtime before spawning anything. Fails only when the registry cannot be
  // read (or there is no database); each actor's outcome is in the report.
  virtual Result<RecoveryReport> Recover() = 0;
  // How many more actors fit (admission control refuses spawns past it).
  virtual RuntimeCapacity Capacity() const = 0;

  // The database, or nullptr when persistence is off.
  virtual chain::ChainStore* store() = 0;
  // The content stores actors use through the store handler, in <home>/theater.db (opened on
  // first use; docs/store.md).
  virtual Result<store::ContentStore*> content_store() = 0;
  virtual engine::Engine& engine() = 0;
  // Makes this runtime one host of a lattice (docs/distribution.md): each actor it starts is
  // claimed in the lattice's directory (a spawn another live host holds is refused) and released
  // when it stops, and messages to actors it does not hold go to the host that does. Call once,
  // before the first spawn or Recover. kFailedPrecondition when called twice.
  [[nodiscard]] virtual Status JoinLattice(std::shared_ptr<LatticeLink> link) = 0;
};

}  // namespace theater
