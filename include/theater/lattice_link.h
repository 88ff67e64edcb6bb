// Theater: a WebAssembly actor runtime.
//
// LatticeLink: what a runtime that is one host of a lattice (docs/distribution.md) asks of the
// lattice. The runtime records each actor it starts and stops in the lattice's directory through
// it, its router reaches the actors of other hosts through its routes, and a parent's host and
// its children's hosts tell each other about spawns, failures and stops through it (supervision
// across hosts). src/cluster/ implements it over NATS; a single host has none, and pays nothing
// for it.
//
// LatticeSupervision: the runtime's side of supervision across hosts, which the link calls with
// what other hosts send (on the link's receiving thread: each method returns without waiting).
//
// Thread-safety: every method of both may be called from any thread, concurrently.
// Ownership: the runtime holds the link (TheaterRuntime::JoinLattice) until it is destroyed, and
// binds itself as the link's LatticeSupervision until then.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "theater/chain.h"
#include "theater/router.h"
#include "theater/runtime.h"
#include "theater/status.h"

namespace theater {

// What a parent's host asks of the host of one of its children (and, kFence, what a host that
// took a replicated actor over tells the host it took it from).
enum class ChildControl : uint8_t {
  kStop = 1,           // stop it (supervisor.stop-child, or its parent stopping): no event back
  kRestart = 2,        // restart it in place (supervisor.restart-child, a sibling's strategy)
  kRestartFailed = 3,  // the child failed and its parent's strategy restarts it (its chain goes on)
  kRelease = 4,        // the child failed and is not restarted: forget what was kept for it
  kFence = 5,          // a replicated actor was taken over by another host: a copy here stops
};

class LatticeSupervision {
 public:
  virtual ~LatticeSupervision() = default;
  // Spawn a child whose parent runs on another host: `request.remote_parent` says which, and
  // `request.actor_id` is the id the parent's host gave it.
  virtual void SpawnForRemoteParent(SpawnRequest request, std::function<void(Status)> done) = 0;
  // A child of `parent_id` (an actor of this host) on host `child_host` failed, exited or was
  // stopped from outside.
  virtual void OnRemoteChildEvent(const std::string& parent_id, const std::string& child_host,
                                  const ChildEvent& event) = 0;
  // The parent's host asks this host about `child_id`; `done(false)` when it is not here.
  virtual void OnChildControl(ChildControl op, const std::string& child_id,
                              const std::string& reason, std::function<void(Result<bool>)> done) = 0;
  // Host `host` left the lattice or was lost (`why` says which): its children of this host's
  // parents failed with it, and this host's children of its parents lost their parent.
  virtual void OnHostGone(const std::string& host, const std::string& why) = 0;
  // Brings back here replicated actor `id` of a lost host, which this host has claimed: `record`
  // is what its host recorded to recover it (ReplicateActor), `events` its chain as the lattice
  // replicated it. Returns once it runs here, or why it does not. Called on a thread of the
  // link's own, never the receiving one.
  [[nodiscard]] virtual Status TakeOver(const std::string& id, const std::string& record,
                                        std::vector<chain::Event> events) = 0;
  // The parent's host asks for the state, or the events (at most `max_bytes` of them), of
  // `child_id`, a child here of one of its actors: kNotFound when it is not here.
  using StateDone = std::function<void(Result<std::optional<std::vector<uint8_t>>>)>;
  using EventsDone = std::function<void(Result<std::vector<chain::Event>>)>;
  virtual void OnChildState(const std::string& child_id, StateDone done) = 0;
  virtual void OnChildEvents(const std::string& child_id, size_t max_bytes, EventsDone done) = 0;
  // Actor `id` moves here from `from_host` (docs/distribution.md, "Moving an actor"): as
  // TakeOver, with `state` (when it travelled with the move; else the chain's) kept for it,
  // and the chain going on with an event that records the move. Called on a thread of the
  // link's own, once the link holds what is sent to the id here.
  // Another host watches actor `id`'s events (a subscription there): its chain, null when it
  // does not run here.
  virtual std::shared_ptr<chain::EventChain> ChainOf(const std::string& id) {
    (void)id;
    return nullptr;
  }
  // Its whole chain as this host keeps it (a watcher that lacks events the chain no longer
  // holds in memory: those before a move here, say).
  [[nodiscard]] virtual Result<std::vector<chain::Event>> KeptEventsOf(const std::string& id) {
    return NotFound("actor " + id + " not found");
  }
  [[nodiscard]] virtual Status AcceptMove(const std::string& id, const std::string& from_host,
                                          const std::string& record,
                                          std::optional<std::vector<uint8_t>> state,
                                          std::vector<chain::Event> events) {
    (void)id;
    (void)from_host;
    (void)record;
    (void)state;
    (void)events;
    return FailedPrecondition("this host does not take moved actors");
  }
};

class LatticeLink {
 public:
  virtual ~LatticeLink() = default;
  // Actor `id` is starting on this host: the directory is told, before anyone can find it here.
  // kAlreadyExists when another live host holds `id` (the spawn is refused: two live copies of
  // one actor never run); kUnavailable when the directory cannot be reached.
  [[nodiscard]] virtual Status ClaimActor(std::string_view id) = 0;
  // Actor `id` no longer runs here (stopped or failed). Not called for an actor kept for
  // recovery by this host's shutdown: it is still this host's, and comes back with it.
  virtual void ReleaseActor(std::string_view id) = 0;
  // The routes to the other hosts' participants, for the runtime's router; the link delivers
  // what other hosts send here through `router`, which outlives the link's use of it.
  virtual void Bind(messaging::Router& router) = 0;
  virtual messaging::RemoteRoutes& routes() = 0;
  // This host's name in the lattice.
  virtual std::string host_id() const = 0;
  // Tells `listener` when this host loses its lease (held = false: it is cut off from the
  // lattice, and its actors must not act until it is back; docs/distribution.md, "The lease")
  // and when it holds it again. nullptr clears it; when that call returns, no call of the old
  // listener is running. A link without leases never calls it.
  virtual void SetLeaseListener(std::function<void(bool held, const std::string& why)> listener) {
    (void)listener;
  }

  // --- Supervision across hosts (docs/distribution.md). A link without it keeps every child
  // on its parent's host: ChooseHost answers this host, and the rest is never called. ---
  // Binds the runtime's side; nullptr unbinds it (when that returns, no call of it is running).
  virtual void BindSupervision(LatticeSupervision* supervision) { (void)supervision; }
  // The host a child's `placement` names: a live host of that name, or with "least-loaded" the
  // live host with the fewest actors. kNotFound / kUnavailable naming the host otherwise.
  [[nodiscard]] virtual Result<std::string> ChooseHost(std::string_view placement) {
    (void)placement;
    return host_id();
  }
  // Sends a child's spawn to `host` (`request` as LatticeSupervision::SpawnForRemoteParent gets
  // it); `done` gets the outcome of the child's init there, or why it never got there.
  virtual void SpawnOn(const std::string& host, const SpawnRequest& request,
                       std::function<void(Status)> done) {
    (void)host;
    (void)request;
    done(FailedPrecondition("this host's lattice link does not spawn on other hosts"));
  }
  // Tells the host of `parent_id` what became of its child here.
  virtual void ReportToParent(const std::string& host, const std::string& parent_id,
                              const ChildEvent& event) {
    (void)host;
    (void)parent_id;
    (void)event;
  }
  // Asks `host` to act on `child_id` (ChildControl); `done(false)` when it is not there.
  virtual void ControlChildOn(const std::string& host, ChildControl op,
                              const std::string& child_id, const std::string& reason,
                              std::function<void(Result<bool>)> done) {
    (void)host;
    (void)op;
    (void)child_id;
    (void)reason;
    done(FailedPrecondition("this host's lattice link does not reach other hosts' children"));
  }
  // Asks `host` for the state, or the events, of `child_id` (LatticeSupervision::OnChildState,
  // OnChildEvents).
  virtual void ChildStateOn(const std::string& host, const std::string& child_id,
                            LatticeSupervision::StateDone done) {
    (void)host;
    (void)child_id;
    done(FailedPrecondition("this host's lattice link does not reach other hosts' children"));
  }
  virtual void ChildEventsOn(const std::string& host, const std::string& child_id,
                             size_t max_bytes, LatticeSupervision::EventsDone done) {
    (void)host;
    (void)child_id;
    (void)max_bytes;
    done(FailedPrecondition("this host's lattice link does not reach other hosts' children"));
  }

  // --- Replicated actors (docs/distribution.md, "Replicated actors") ---
  // Begins copying actor `id`'s chain into the lattice, its events from `from_index` on and every
  // event appended from now on; `record` is what recovers it on another host. `failed` is called
  // once when this host's copy may not go on (fenced: another host took the actor over). A link
  // that does not replicate says so (kFailedPrecondition).
  [[nodiscard]] virtual Status ReplicateActor(const std::string& id,
                                              std::shared_ptr<chain::EventChain> chain,
                                              size_t from_index, const std::string& record,
                                              std::function<void(Status)> failed) {
    (void)id;
    (void)chain;
    (void)from_index;
    (void)record;
    (void)failed;
    return FailedPrecondition("this host's lattice link does not replicate actors");
  }
  // Stops copying it once what is queued is out; with `forget` (it stopped for good), what the
  // lattice holds of it is deleted.
  virtual void EndReplication(const std::string& id, bool forget) {
    (void)id;
    (void)forget;
  }

  // --- Moving an actor (docs/distribution.md, "Moving an actor") ---
  // Puts actor `id`'s whole chain where `host` reads it (`events`; a replicated actor's copy is
  // there already, and its replication ends once it is out), then asks `host` to take the actor
  // (LatticeSupervision::AcceptMove there with `record` and `state`); `done` gets its answer.
  // Blocks while the chain is written; call it from a thread that may wait.
  virtual void MoveTo(const std::string& host, const std::string& id,
                      const std::vector<chain::Event>& events, bool replicated,
                      const std::string& record, std::optional<std::vector<uint8_t>> state,
                      std::function<void(Status)> done) {
    (void)host;
    (void)id;
    (void)events;
    (void)replicated;
    (void)record;
    (void)state;
    done(FailedPrecondition("this host's lattice link does not move actors"));
  }
  // After a move of `id` to `host` succeeded: what this host's relay held has been passed on,
  // and `host` may let the actor take what waits for it there (its senders here come first).
  virtual void MoveRelayed(const std::string& host, const std::string& id) {
    (void)host;
    (void)id;
  }
  // --- Subscriptions to another host's actor (docs/distribution.md) ---
  // Feeds `deliver` with the events actor `id` appends on whichever host runs it, from now on,
  // for as long as `wanted()` says so (asked every few seconds). kNotFound when no host runs it.
  using EventFeed = std::function<void(const chain::Event& event, size_t index)>;
  [[nodiscard]] virtual Status WatchActor(const std::string& id, EventFeed deliver,
                                          std::function<bool()> wanted) {
    (void)deliver;
    (void)wanted;
    return NotFound("actor " + id + " not found");
  }
  // The endpoint that reaches actor `id` where the lattice's directory places it now, even while
  // this thread delivers what another host sent (the relay a moved actor leaves behind).
  [[nodiscard]] virtual Result<std::shared_ptr<messaging::Endpoint>> RouteElsewhere(
      std::string_view id) {
    return NotFound("actor " + std::string(id) + " is not on another host");
  }
};

}  // namespace theater
