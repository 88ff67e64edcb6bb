// Theater: a WebAssembly actor runtime.
//
// RuntimeImpl: the TheaterRuntime behind the public interface — the actor registry, the executor
// the actors run on, the timer service, the database and the subscription hub — plus the
// internal entry points actors and handlers use (stop sequences, child notifications,
// supervision restarts).
//
// Thread-safety: as TheaterRuntime. The registry is a SharedMutex-guarded map: lookups (the hot
// path) take it shared; spawn and stop take it exclusively for the insert or erase only.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/blocking_pool.h"
#include "common/io_loop_threads.h"
#include "common/recent_ids.h"
#include "engine/executor.h"
#include "runtime/actor.h"
#include "runtime/admission.h"
#include "runtime/handler.h"
#include "runtime/home_lock.h"
#include "runtime/plan_cache.h"
#include "runtime/replay.h"
#include "runtime/spawn_fetcher.h"
#include "runtime/timers.h"
#include "theater/handler_registry.h"
#include "theater/host_api.h"
#include "theater/lattice_link.h"
#include "theater/mutex.h"
#include "theater/router.h"
#include "theater/runtime.h"
#include "theater/string_hash.h"

namespace theater::runtime {

// Also the HostServices handed to every actor's handlers (include/theater/host_api.h), and the
// lattice's LatticeSupervision when it is one host of a lattice (remote_children.cc).
class RuntimeImpl final : public TheaterRuntime, public HostServices, public LatticeSupervision {
 public:
  RuntimeImpl(RuntimeOptions options, std::unique_ptr<engine::Engine> engine,
              std::unique_ptr<chain::ChainStore> store, HandlerRegistry registry);
  ~RuntimeImpl() override;

  // --- TheaterRuntime ---
  Result<std::string> Spawn(SpawnRequest request) override;
  void SpawnAsync(SpawnRequest request, Callback<std::string> done) override;
  Status Stop(std::string_view id) override;
  Status Stop(std::string_view id, std::string_view reason) override;
  void StopAsync(std::string_view id, Callback<bool> done) override;
  Status Terminate(std::string_view id) override;
  Status Restart(std::string_view id) override;
  Status UpdateComponent(std::string_view id, const std::string& component) override;
  Status Pause(std::string_view id, PauseWhen when) override;
  Status Resume(std::string_view id) override;
  Result<std::vector<abi::Value>> Call(std::string_view id, std::string_view interface_name,
                                       std::string_view function,
                                       std::vector<abi::Value> params) override;
  void CallAsync(std::string_view id, std::string_view interface_name, std::string_view function,
                 std::vector<abi::Value> params, Callback<std::vector<abi::Value>> done) override;
  Status SendMessage(std::string_view id, std::vector<uint8_t> message) override;
  void SendMessageAsync(std::string_view id, std::vector<uint8_t> message,
                        std::chrono::milliseconds timeout,
                        std::function<void(Status)> done) override;
  Result<std::vector<uint8_t>> RequestMessage(std::string_view id, std::vector<uint8_t> message,
                                              std::chrono::milliseconds timeout) override;
  void RequestMessageAsync(std::string_view id, std::vector<uint8_t> message,
                           std::chrono::milliseconds timeout,
                           Callback<std::vector<uint8_t>> done) override;
  Result<ExternalChannel> OpenChannel(std::string_view id, std::vector<uint8_t> initial_message,
                                      ChannelListener listener,
                                      std::chrono::milliseconds timeout) override;
  Status SendOnChannel(std::string_view channel, std::vector<uint8_t> message) override;
  Status CloseChannel(std::string_view channel) override;
  std::vector<ActorSummary> List() const override;
  size_t ActorCount() const override;
  Result<std::vector<std::string>> Children(std::string_view id) const override;
  Result<ActorPhase> Phase(std::string_view id) const override;
  Result<ActorSummary> Summary(std::string_view id) const override;
  Result<std::optional<std::vector<uint8_t>>> State(std::string_view id) const override;
  Result<std::vector<chain::Event>> Events(std::string_view id) const override;
  // Events() for a reader that must not hold more than `max_bytes` of events (payloads plus a
  // fixed overhead each): a saved chain is read row by row and given up, with
  // kResourceExhausted naming the limit, as soon as it passes the budget.
  Result<std::vector<chain::Event>> EventsWithin(std::string_view id, size_t max_bytes) const;
  Result<ActorMetrics> Metrics(std::string_view id) const override;
  Result<Manifest> GetManifest(std::string_view id) const override;
  Status VerifyChain(std::string_view id) const override;
  Result<ReplayReport> Replay(std::string_view id, const ReplayOptions& options) override;
  Result<ReplayReport> ReplayEvents(std::vector<chain::Event> events,
                                    const ReplayOptions& options) override;
  Result<std::filesystem::path> SaveChain(std::string_view id) const override;
  Result<Subscription> Subscribe(std::string_view id, size_t capacity,
                                 chain::OverflowPolicy policy) override;
  Result<Subscription> SubscribeBeforeSpawn(std::string_view id, size_t capacity,
                                            chain::OverflowPolicy policy) override;
  void SetTopLevelListener(std::function<void(const ChildEvent&)> listener) override;
  Status Shutdown() override;
  void EndShutdownGrace() override;
  Result<RecoveryReport> Recover() override;
  RuntimeCapacity Capacity() const override;
  chain::ChainStore* store() override { return store_.get(); }
  engine::Engine& engine() override { return *engine_; }
  Status JoinLattice(std::shared_ptr<LatticeLink> link) override;

  // --- LatticeSupervision (remote_children.cc) ---
  void SpawnForRemoteParent(SpawnRequest request, std::function<void(Status)> done) override;
  void OnRemoteChildEvent(const std::string& parent_id, const std::string& child_host,
                          const ChildEvent& event) override;
  void OnChildControl(ChildControl op, const std::string& child_id, const std::string& reason,
                      std::function<void(Result<bool>)> done) override;
  void OnHostGone(const std::string& host, const std::string& why) override;
  void OnChildState(const std::string& child_id, StateDone done) override;
  void OnChildEvents(const std::string& child_id, size_t max_bytes, EventsDone done) override;
  // Replicated actors (replicated_actors.cc).
  Status TakeOver(const std::string& id, const std::string& record,
                  std::vector<chain::Event> events) override;
  std::shared_ptr<chain::EventChain> ChainOf(const std::string& id) override;
  Result<std::vector<chain::Event>> KeptEventsOf(const std::string& id) override {
    return Events(id);
  }
  // Moving an actor (move.cc; docs/distribution.md, "Moving an actor").
  Status Move(std::string_view id, std::string_view to_host) override;
  Status AcceptMove(const std::string& id, const std::string& from_host,
                    const std::string& record, std::optional<std::vector<uint8_t>> state,
                    std::vector<chain::Event> events) override;
  bool Moving(std::string_view id) const override;
  // A failed child `parent` kept (failed_children.h), restarted at its asking: from its record,
  // its chain going on. On failure it stays a failed child. `done` hears how the spawn went.
  void RestartFailedChild(const std::shared_ptr<Actor>& parent, const std::string& child_id,
                          std::function<void(Status)> done);

  // --- Internal ---
  std::shared_ptr<Actor> Find(std::string_view id) const;
  // The host of `id` when it is a child of one of this host's actors running on another host.
  std::optional<std::string> RemoteChildHost(std::string_view id) const;
  // The state, or the events, of remote child `id`, asked of its host (remote_children.cc).
  void RemoteChildState(const std::string& id, LatticeSupervision::StateDone done);
  void RemoteChildEvents(const std::string& id, size_t max_bytes,
                         LatticeSupervision::EventsDone done);
  engine::Executor& executor() { return *executor_; }
  // --- HostServices ---
  TimerService& timers() override { return *timers_; }
  IoLoop& io() override { return *io_; }
  messaging::Router& router() override { return router_; }
  HostClock& clock() override { return clock_; }
  const HandlerRegistry& handlers() const { return registry_; }
  // ImportNamesOf(*module), computed once per module while it is loaded.
  Result<std::shared_ptr<const ImportNames>> ImportNamesFor(
      const std::shared_ptr<const engine::Module>& module);
  // The content store in <home>/theater.db (docs/store.md), opened on first use: an actor that
  // never stores anything costs nothing. The error of a failed open is returned every time.
  Result<store::ContentStore*> content_store() override;
  // How actors' chains record large byte lists (null: inline); see RuntimeOptions.
  const std::shared_ptr<const chain::ByteSpill>& byte_spill() const { return byte_spill_; }
  // The plans every actor's host shares (runtime/plan_cache.h).
  PlanCache& plans() { return plans_; }
  // The bytes a store:// reference names: `store://<store-id>/hash/<hash>` or
  // `store://<store-id>/<label>` (docs/store.md, "References").
  Result<std::vector<uint8_t>> ReadStoreReference(const std::string& reference);
  const RuntimeOptions& options() const { return options_; }
  // How many fetches for spawns are in flight (SpawnFetcher); for tests.
  size_t spawn_fetches_in_flight() const { return fetcher_->in_flight(); }
  // Holds `lock` (RuntimeOptions::exclusive_home) until the runtime is gone.
  void KeepHomeLock(std::unique_ptr<HomeLock> lock) { home_lock_ = std::move(lock); }
  void Log(const Actor& actor, std::string_view line);

  // Stops `id` with `kind`; `report` is what its parent hears. `done(false)` when unknown.
  void StopActor(std::string_view id, StopKind kind, std::optional<ChildEvent> report,
                 std::function<void(bool)> done);
  // Called by an actor at the end of its stop sequence: unregisters it and delivers `report`.
  void OnActorStopped(Actor& actor, const std::optional<ChildEvent>& report);
  // Spawns with an existing chain (restarts continue the chain). Returns at once: the spawn runs
  // on the loader pool, and `done` is called there.
  void SpawnWithChain(SpawnRequest request, std::shared_ptr<chain::EventChain> chain,
                      Callback<std::string> done);
  // Restarts `id` in place (same id, same position among its parent's children).
  void RestartAsync(std::string_view id, std::function<void(Status)> done);
  // The actor's registry row with `status` (and, with durable_actors, what recovers it).
  // `portable`: with what recovers it even on a host that does not keep its actors (a move, a
  // replica: another host brings it back).
  chain::ActorRecord RegistryRecord(const Actor& actor, std::string_view status,
                                    bool portable = false);
  // After the actor's component was replaced: its registry row names the new module.
  void OnComponentUpdated(const Actor& actor);

 private:
  // Delivers a child's event to its parent (or the top-level listener) and applies the parent's
  // supervision policy to failures.
  void Report(const std::optional<std::string>& parent_id, const ChildEvent& event);
  // Restarts the failed child (`restart_failed` does, after the failure it is given, calling
  // back with the child's id or why not) and, per the strategy, its siblings; fails the parent
  // upward when its restart budget is spent.
  using RestartFn = std::function<void(const Status& after, Callback<std::string>)>;
  void ApplySupervision(const std::shared_ptr<Actor>& parent, const ChildEvent& event,
                        RestartFn restart_failed);
  // Restarts a failed child of this host from `request`, its chain going on (`parent_id`
  // restarts it).
  RestartFn LocalRestart(SpawnRequest request, std::shared_ptr<chain::EventChain> chain,
                         std::string parent_id);
  // Spawns a failed actor again from `request`, its chain going on after an actor-restart
  // event that says `why` (who restarts it and after what).
  void RestartWithChain(const SpawnRequest& request, std::shared_ptr<chain::EventChain> chain,
                        const std::string& why, Callback<std::string> done);

  // --- Supervision across hosts (remote_children.cc; docs/distribution.md) ---
  // A child this host's actor `parent_id` has on another host: where, and the spawn that made it
  // (parent_id and actor_id set), which spawns it afresh when its host is lost.
  struct RemoteChild {
    std::string parent_id;
    std::string host;
    std::shared_ptr<const SpawnRequest> request;  // shared: a lookup copies the entry
  };
  // What a child of a parent on another host leaves behind when it fails, until its parent says
  // whether to restart it (its chain goes on) or to let it go.
  struct KeptFailure {
    SpawnRequest origin;
    std::shared_ptr<chain::EventChain> chain;
    std::chrono::steady_clock::time_point at;
  };
  // The host a child's `placement` names; this host when it names none, or when this host is
  // in no lattice (where a placement naming another host is refused, CheckPlacementHere).
  Result<std::string> PlaceChild(const Manifest& manifest, const SpawnRequest& request) const;
  // Sends `request` (a child of `parent`) to `host` and keeps it among `parent`'s children.
  void SpawnRemoteChild(SpawnRequest request, const std::shared_ptr<Actor>& parent,
                        const std::string& host, Callback<std::string> done);
  // The `[permission_policy]` of each of `actor`'s ancestors and its own, top-level first.
  std::vector<nlohmann::json> AncestryPolicies(const Actor& actor) const;
  // The permissions of the parent a remote spawn names, computed from this host's root
  // permissions through its ancestry.
  Result<std::shared_ptr<const EffectivePermissions>> RemoteParentPermissions(
      const RemoteParent& parent) const;
  // Applies `event` of remote child `child` to its parent here: the event, and its strategy
  // (`restart_failed` restarts the child when it calls for that).
  void SuperviseRemoteChild(const std::shared_ptr<Actor>& parent, const RemoteChild& child,
                            const ChildEvent& event, RestartFn restart_failed);
  // Spawns `request` (a remote child's) afresh, by its placement (a lost host's children go to
  // the least loaded host when theirs is gone).
  RestartFn RespawnRemoteChild(std::shared_ptr<const SpawnRequest> request);
  // At the end of a child's stop on this host whose parent is on another: tells that parent.
  void ReportToRemoteParent(Actor& actor, const ChildEvent& report);
  // StopActor and RestartAsync of an id that is a remote child of one of this host's actors.
  void StopRemoteChild(const std::string& id, const RemoteChild& child,
                       std::optional<ChildEvent> report, std::function<void(bool)> done);
  void RestartRemoteChild(const std::string& id, const RemoteChild& child,
                          std::function<void(Status)> done);
  std::optional<RemoteChild> FindRemoteChild(std::string_view id) const;
  // The actor `id` here when it is a child of a parent on another host (only such a child is
  // another host's to stop, restart or read here); null otherwise.
  std::shared_ptr<Actor> ChildOfRemoteParent(const std::string& id) const;
  // --- Replicated actors (replicated_actors.cc; docs/distribution.md) ---
  // What recovers `actor` on another host: its registry record and manifest text, as JSON.
  std::string ReplicaRecord(const Actor& actor);
  // Makes `events` actor `id`'s chain here, with `record_json` (ReplicaRecord's) its registry
  // row, and recovers it: the shared end of a takeover and a move (`how` says which, for the
  // log). kAlreadyExists when it runs here.
  Status AdoptChain(const std::string& id, const std::string& record_json,
                    std::vector<chain::Event> events, std::string_view how);
  // Begins copying `actor`'s chain into the lattice from `from_index`; its copy here stops
  // itself when fenced.
  Status BeginReplication(const Actor& actor, size_t from_index);
  // At the end of `actor`'s stop: its replication ends, and the lattice forgets it when it
  // stopped for good (not a restart, not this host's shutdown, not fenced).
  void EndReplicationOf(const Actor& actor, bool restarting);
  Mutex fenced_mu_;
  std::unordered_set<std::string> fenced_ THEATER_GUARDED_BY(fenced_mu_);

  mutable Mutex remote_mu_;
  std::unordered_map<std::string, RemoteChild> remote_children_ THEATER_GUARDED_BY(remote_mu_);
  std::unordered_map<std::string, KeptFailure> kept_failures_ THEATER_GUARDED_BY(remote_mu_);
  // Where a recovered actor's chain goes on: after event next_index - 1, whose hash is `head`;
  // `note` is the message of its actor-recovered event.
  struct ChainContinuation {
    size_t next_index = 0;
    chain::Hash head{};
    std::string note;
    // By handler name: the host calls each restoring handler re-creates from (Handler::Restore).
    HandlerHistories handler_history;
  };
  // A chain for actor `id`, saved when `persist`, continuing a saved one when `continuing`.
  std::shared_ptr<chain::EventChain> NewChain(const std::string& id, bool persist,
                                              const ChainContinuation* continuing = nullptr);
  // Stops every actor, newest top-level first, each after its children; waits for each. Once
  // the shutdown's grace is over (grace_end_, EndShutdownGrace), terminates what still runs.
  void StopAllActors();
  // The shutdown's grace is over: interrupts every operation still running (the actor stopping
  // by force, its chain saying why), and from now on every stop is a force stop.
  void TerminateOverdue();
  // What the actor-stopped event of an actor whose operation TerminateOverdue interrupted says.
  std::string TerminationNote();
  // What a spawn has fetched so far (the body, or why not), by URL: carried from one run of
  // SpawnNow to the next.
  using FetchedUrls = std::map<std::string, Result<std::vector<uint8_t>>>;
  // An http(s) reference a run of SpawnNow met and had not fetched yet.
  struct UrlToFetch {
    std::string url;
    uint64_t max_bytes = 0;  // the size limit of what it is (LoadReference)
  };
  // The body of SpawnWithChain, on a loader thread: reads and checks the manifest, its state and
  // its module, then creates, registers and begins the actor. Restartable: it reads http(s)
  // references from `fetched` only, and when it meets one not fetched yet it ends, handing the
  // spawn to FetchThenSpawn, instead of waiting on the network.
  void SpawnNow(SpawnRequest request, std::shared_ptr<chain::EventChain> chain,
                Callback<std::string> done, std::shared_ptr<FetchedUrls> fetched = nullptr);
  // Fetches `needed` on the I/O loop (fetcher_), then runs SpawnNow again on the loader pool with
  // the outcome added to `fetched` and `respawn_done` as its callback. When the fetch is refused
  // (a cap, the shutdown), `fail` gets why.
  void FetchThenSpawn(SpawnRequest request, std::shared_ptr<chain::EventChain> chain,
                      Callback<std::string> respawn_done, const Callback<std::string>& fail,
                      std::shared_ptr<FetchedUrls> fetched, UrlToFetch needed);
  // What a spawn does once its manifest, state and module are loaded: records the start in the
  // chain (a new one unless `chain` is given; with `recovery`, one continuing the saved chain),
  // activates the handlers, creates, registers and begins the actor (`init`, or only
  // `_initialize` when resuming). `done` gets setup errors, `begin_done` the outcome of init.
  void LaunchActor(SpawnRequest request, std::shared_ptr<Actor> parent,
                   std::shared_ptr<const Manifest> manifest, StateBytes state,
                   std::shared_ptr<const engine::Module> module,
                   std::shared_ptr<const EffectivePermissions> permissions,
                   std::shared_ptr<chain::EventChain> chain, const ChainContinuation* recovery,
                   Callback<std::string> done, Callback<std::string> begin_done);
  // The permissions of an actor spawned from `manifest` under a parent with `parent`
  // permissions (none: top-level).
  Result<std::shared_ptr<const EffectivePermissions>> PermissionsUnder(
      const Manifest& manifest, const EffectivePermissions* parent) const;
  // --- Recovery (recovery.cc) ---
  // Brings back one actor of the registry (its parent, if any, is running again): reads where
  // its chain ends and the state its last durable event left, loads its manifest and module,
  // and launches it resuming; returns once it runs again (or why it does not). `cache` holds
  // what the actors of one Recover() share (manifest texts).
  struct RecoveryCache {
    Mutex mu;
    // By SHA-256 hex.
    std::map<std::string, std::shared_ptr<const std::string>> manifests THEATER_GUARDED_BY(mu);
  };
  RecoveredActor RecoverOne(const chain::ActorRecord& record, RecoveryCache& cache);
  // A child's limits capped at its parent's (as a spawn caps them).
  static Status CapLimits(ManifestLimits& child, const ManifestLimits& parent);
  // At a shutdown that keeps `actor` for recovery: keeps its state in the store when its chain
  // records it only by digest, so that the recovery need not replay the chain to find it.
  void KeepStateForRecovery(const Actor& actor);
  // Keeps a manifest's text in kChainBytesStoreId (once per text) and returns its SHA-256 hex;
  // empty when it could not.
  std::string KeepManifestText(const std::string& text);
  // The module at `path`, from a cache keyed by the file's identity (device, inode, size,
  // modification time), so spawning the same actor again neither reads nor hashes its file.
  // Bound by `scope` (non-null), the file is opened beneath it and read through that descriptor.
  Result<std::shared_ptr<const engine::Module>> LoadModule(const std::string& path,
                                                           const LocalReadScope* scope = nullptr);
  // A core module or a component (component/component_module.h), by its preamble.
  Result<std::shared_ptr<const engine::Module>> LoadCode(std::span<const uint8_t> wasm,
                                                         const std::string& name);
  Result<std::shared_ptr<const engine::Module>> LoadCodeFile(const std::string& path);
  // A module this runtime kept (LoadCode), by the SHA-256 of its bytes in hex.
  Result<std::shared_ptr<const engine::Module>> ModuleBySha256(const std::string& hex);
  Result<ReplayReport> ReplayVisited(RecordedEventVisitor visit, const ReplayOptions& options);
  // The module a resolved component reference names: a file through LoadModule's cache, a URL
  // (read by `urls`, else fetched blocking) or a store reference read every time.
  Result<std::shared_ptr<const engine::Module>> LoadComponent(const std::string& reference,
                                                              ReferenceKind kind,
                                                              const StoreReader& store_reader,
                                                              const LocalReadScope* scope = nullptr,
                                                              const UrlReader& urls = {});
  // An actor's chain as the runtime holds it: a running unsaved actor's in-memory tail, or what
  // the database has for a saved (or stopped) one, flushed first. kNotFound when neither exists.
  struct HeldChain {
    chain::EventChain::Tail tail;
    Status rejected;  // why stored rows after the tail were rejected; OK when none were
  };
  Result<HeldChain> ReadChain(std::string_view id) const;

  // First, so that it is released last, after the database is closed.
  std::unique_ptr<HomeLock> home_lock_;
  RuntimeOptions options_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<chain::ChainStore> store_;
  HandlerRegistry registry_;
  // What a top-level actor may do (every handler's root permission), and the handlers
  // `[permission_policy]` may name: fixed by the registry, computed once.
  std::shared_ptr<const EffectivePermissions> root_permissions_;
  std::vector<PolicyHandler> policy_handlers_;
  // The permission that governs the content store (store:// references read for a child).
  static constexpr std::string_view kStorePermission = "store";
  // The system clock, as handlers read it.
  class SystemClock final : public HostClock {
   public:
    uint64_t WallMs() override;
    uint64_t WallNs() override;
  };
  SystemClock clock_;
  chain::SubscriptionHub hub_;
  std::unique_ptr<TimerService> timers_;
  std::unique_ptr<IoLoopThreads> io_;  // stopped once every actor is
  std::unique_ptr<engine::Executor> executor_;
  // Where spawns load their manifests, states and modules (SpawnWithChain).
  std::unique_ptr<BlockingPool> loader_;
  // Where spawns fetch their http(s) references, on io_'s loop (FetchThenSpawn). Closed by
  // Shutdown(), before loader_ is gone.
  std::unique_ptr<SpawnFetcher> fetcher_;
  // Whether one more actor fits (asked by every spawn).
  std::unique_ptr<Admission> admission_;
  messaging::Router router_;
  // The lattice this host is part of (JoinLattice), or none. Read without a lock on every spawn
  // and stop; set once.
  std::shared_ptr<LatticeLink> lattice_owner_;
  std::atomic<LatticeLink*> lattice_{nullptr};
  // The lease (lattice_lease.cc): while this host is cut off from its lattice its actors are
  // paused; these are the ones the lease paused (not those an operator paused), resumed when it
  // holds its lease again.
  void OnLatticeLease(bool held, const std::string& why);
  // Whether a top-level spawn whose manifest says `placement` may start here: the runtime alone
  // starts such actors on its own host (the management server places the others before they
  // get here).
  Status CheckPlacementHere(const std::string& placement) const;
  Mutex lease_mu_;
  std::vector<std::string> lease_paused_ THEATER_GUARDED_BY(lease_mu_);
  Mutex content_mu_;
  std::unique_ptr<store::ContentStore> content_ THEATER_GUARDED_BY(content_mu_);
  // Keeps a large byte list of a chain event in kChainBytesStoreId; false when it cannot (the
  // event then records the bytes inline).
  bool KeepChainBytes(std::span<const uint8_t> bytes, const chain::Hash& sha256);
  std::shared_ptr<const chain::ByteSpill> byte_spill_;
  PlanCache plans_;
  // What an inline manifest's relative paths resolve against: the working directory when the
  // runtime was created (asking the kernel at every spawn was ~6 % of a spawn's time).
  std::filesystem::path inline_manifest_dir_;
  std::atomic<bool> chain_bytes_store_ready_{false};
  std::atomic<bool> chain_bytes_warned_{false};
  // The embedder's side of messaging (TheaterRuntime::SendMessage and the rest forward to it).
  messaging::MessageClient messages_;

  mutable SharedMutex mu_;
  // Looked up by string_view without building a std::string (the hot path of every call).
  std::unordered_map<std::string, std::shared_ptr<Actor>, StringHash, std::equal_to<>> actors_
      THEATER_GUARDED_BY(mu_);
  // Actors being restarted in place: their stop keeps their place among their parent's children.
  std::unordered_set<std::string> restarting_ THEATER_GUARDED_BY(mu_);
  // Actors moving to another host: their stop keeps them as a shutdown does (recorded as
  // running, their directory entry theirs), and reports nothing.
  std::unordered_set<std::string> moving_ THEATER_GUARDED_BY(mu_);
  // Actors moving here from another host, while AcceptMove takes up their chain.
  std::unordered_set<std::string> arriving_ THEATER_GUARDED_BY(mu_);
  // The latest stopped actors whose chains were not kept (at most kUnsavedRemembered, oldest
  // first), so that asking for such a chain says why it is gone rather than "not found".
  static constexpr size_t kUnsavedRemembered = 4096;
  RecentIds unsaved_ THEATER_GUARDED_BY(mu_){kUnsavedRemembered};
  // The error for the chain of `id`, a stopped actor whose chain was not kept, or NotFound.
  Status ChainNotKept(std::string_view id) const;
  std::function<void(const ChildEvent&)> top_level_listener_ THEATER_GUARDED_BY(mu_);

  struct CachedModule {
    uint64_t device = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0;
    std::shared_ptr<const engine::Module> module;
  };
  Mutex modules_mu_;
  std::unordered_map<std::string, CachedModule> modules_ THEATER_GUARDED_BY(modules_mu_);
  // One load of a path at a time (single flight): spawns of a module not loaded yet wait for the
  // first one's load instead of each reading, hashing and decoding the file again (a 12 MB
  // component, and the copies it leaves alive). Entries live while a load is in flight.
  std::unordered_map<std::string, std::shared_ptr<Mutex>> module_loads_
      THEATER_GUARDED_BY(modules_mu_);
  // Every module loaded, by the SHA-256 of its bytes (hex), while something still holds it: what
  // a replay finds when the runtime does not persist (ModuleBySha256).
  std::unordered_map<std::string, std::weak_ptr<const engine::Module>> modules_by_sha_
      THEATER_GUARDED_BY(modules_mu_);
  std::atomic<bool> shut_down_{false};
  // Shutdown's grace (RuntimeOptions::shutdown_grace): when it ends, whether EndShutdownGrace
  // cut it short, and, once StopAllActors found it over, that every stop is now forced.
  Mutex grace_mu_;
  std::condition_variable grace_cv_;  // a stop finished, or the grace was cut short
  std::chrono::steady_clock::time_point grace_end_ THEATER_GUARDED_BY(grace_mu_){};
  bool grace_cut_short_ THEATER_GUARDED_BY(grace_mu_) = false;
  std::atomic<bool> grace_over_{false};

  // Hibernation (hibernation.cc): a sweep each RuntimeOptions::hibernate_after, on the loader
  // pool, until Shutdown() stops them.
  void ScheduleHibernationSweep();
  void PostHibernationSweep();
  void HibernationSweep();
  void StopHibernationSweeps();
  Mutex hibernation_mu_;  // orders scheduling against StopHibernationSweeps
  Timers::TimerId hibernation_timer_ THEATER_GUARDED_BY(hibernation_mu_) = 0;
  // Manifest texts kept in the store already (KeepManifestText), by SHA-256 hex.
  Mutex kept_manifests_mu_;
  std::unordered_set<std::string> kept_manifests_ THEATER_GUARDED_BY(kept_manifests_mu_);
  // ImportNamesFor's memo, by module; an entry whose module is gone is recomputed (and swept).
  struct KnownImports {
    std::weak_ptr<const engine::Module> module;
    std::shared_ptr<const ImportNames> names;
  };
  Mutex import_names_mu_;
  std::unordered_map<const engine::Module*, KnownImports> import_names_
      THEATER_GUARDED_BY(import_names_mu_);
  // Recovery records made (RegistryRecord), by everything they are made from.
  std::unordered_map<std::string, std::string> recovery_records_
      THEATER_GUARDED_BY(kept_manifests_mu_);
};

}  // namespace theater::runtime
