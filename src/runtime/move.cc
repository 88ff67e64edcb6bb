// Theater: a WebAssembly actor runtime.
//
// Moving an actor to another host of the lattice (docs/distribution.md, "Moving an actor";
// `theater move ACTOR --to HOST`).
//
// On the host it leaves (Move): a HoldingEndpoint takes the actor's place in the router in one
// step, so that nothing sent to it from then on is refused or lost, and its channels close. The
// actor finishes what its mailbox holds and stops as at a shutdown (recorded as running, its
// directory entry its own). Its chain, whole, goes where the other host reads it, with what
// recovers it and its last state, and the other host is asked to take it. When it answers, the
// hold passes on what it held, in order, and stays as the relay for senders that still reach
// this host; this host's record of the actor says "moved". If the other host refuses, the actor
// is recovered here again and the hold hands it what it held.
//
// On the host it comes to (AcceptMove): the link has put a hold (its gate closed) in the router
// before the directory names this host; the chain is kept here with an actor-moved event on top,
// the state it carried is kept by its digest, and the actor is recovered from them. Its
// registration arrives at the hold, which lets it take what waits once the old host has relayed
// what it held (those first).
#include <spdlog/spdlog.h>

#include <functional>
#include <future>
#include <thread>

#include "theater/holding_endpoint.h"
#include "runtime/runtime_impl.h"

namespace theater::runtime {
namespace {

// How long an actor may take to finish what it was sent before it moves.
constexpr auto kDrainWithin = std::chrono::seconds(30);
// How long the other host may take to take it (read its chain, compile its module, recover it).
constexpr auto kAcceptWithin = std::chrono::minutes(5);
// A state up to this size travels with the move; a larger one is recomputed there from the
// chain (a replay), as a takeover does.
constexpr size_t kStateTravelsUpTo = size_t{256} << 10;

// Runs `last` when its scope ends, however the move ends (the sets of actors in transit are
// left so).
class AtScopeEnd {
 public:
  explicit AtScopeEnd(std::function<void()> last) : last_(std::move(last)) {}
  AtScopeEnd(const AtScopeEnd&) = delete;
  AtScopeEnd& operator=(const AtScopeEnd&) = delete;
  ~AtScopeEnd() { last_(); }

 private:
  std::function<void()> last_;
};

}  // namespace

Status RuntimeImpl::Move(std::string_view id_view, std::string_view to_view) {
  const std::string id(id_view);
  const std::string to(to_view);
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  if (lattice == nullptr) {
    return FailedPrecondition("moving an actor needs a lattice of hosts (theater server --cluster)");
  }
  const std::string here = lattice->host_id();
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) return NotFound("actor " + id + " does not run on host " + here);
  if (to == here) return InvalidArgument("actor " + id + " runs on host " + here + " already");
  if (!store_ || !actor->persisted()) {
    return FailedPrecondition("actor " + id +
                              " cannot move: the host it moves to resumes it from its chain, and "
                              "its chain is not saved (a persisting host, and save_chain not "
                              "false)");
  }
  if (actor->parent_id() || actor->origin().remote_parent || !actor->children().empty()) {
    return FailedPrecondition("actor " + id +
                              " cannot move: only a top-level actor without children moves (a "
                              "child is placed by its supervisor; stop or move a tree from its "
                              "root once its children are gone)");
  }
  if (actor->phase() == ActorPhase::kPaused) {
    return FailedPrecondition("actor " + id + " is paused: resume it before it moves");
  }
  THEATER_ASSIGN_OR_RETURN(std::string host, lattice->ChooseHost(to));
  const chain::ActorRecord row = RegistryRecord(*actor, "running", /*portable=*/true);
  if (row.recovery.empty()) {
    return FailedPrecondition("actor " + id +
                              " cannot move: its manifest could not be kept, so no other host "
                              "could start it");
  }
  {
    WriterLock lock(mu_);
    if (!moving_.insert(id).second) return FailedPrecondition("actor " + id + " is moving already");
  }
  const AtScopeEnd unmark([this, &id] {
    WriterLock lock(mu_);
    moving_.erase(id);
  });
  const std::string record = ReplicaRecord(*actor);
  spdlog::info("actor {} ({}): moving from host {} to host {}", id, actor->name(), here, host);

  // From here on what is sent to it waits in the hold.
  auto hold = std::make_shared<messaging::HoldingEndpoint>(router_, id, /*gate_open=*/true);
  std::shared_ptr<messaging::Endpoint> mailbox =
      router_.Install(id, hold, "actor " + id + " moved to host " + host);
  // The actor is gone for good: what waited for it is refused, and its id leaves the router.
  auto abandon = [this, &id, &hold] {
    hold->Forward([id](messaging::Envelope) { return Unavailable("actor " + id + " has stopped"); });
    router_.Unregister(id, hold.get());
  };
  // A sender that looked the mailbox up before the hold took its place may be delivering to it
  // now: what it delivers from here on goes to the hold, and what it delivered already is in the
  // actor's queue before the actor is let stop (a request caught between the two was failed as
  // "stopped before answering").
  const auto deadline = std::chrono::steady_clock::now() + kDrainWithin;
  if (mailbox) {
    mailbox->SetSuperseded(true);
    while (!mailbox->Quiescent() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
  }
  auto stopped = std::make_shared<std::promise<void>>();
  std::future<void> stopped_future = stopped->get_future();
  while (!actor->StopIfDrained([stopped] { stopped->set_value(); })) {
    if (actor->stopping()) {
      abandon();  // stopped or failed by other means meanwhile
      return FailedPrecondition("actor " + id + " stopped before it could move");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      if (mailbox) {  // it goes on here, what waited first
        mailbox->SetSuperseded(false);
        hold->Arrive(mailbox);
      }
      return DeadlineExceeded("actor " + id + " did not finish what it was sent within " +
                              std::to_string(kDrainWithin.count()) +
                              " s (an operation still running): it stays on host " + here);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stopped_future.wait();

  std::optional<std::vector<uint8_t>> state;
  if (StateBytes committed = actor->committed_state();
      committed && committed->size() <= kStateTravelsUpTo) {
    state = *committed;
  }
  Status moved = store_->Flush();
  Result<std::vector<chain::Event>> events = moved.ok()
                                                 ? store_->LoadChain(id)
                                                 : Result<std::vector<chain::Event>>(moved);
  if (events.ok()) {
    auto answer = std::make_shared<std::promise<Status>>();
    std::future<Status> answered = answer->get_future();
    lattice->MoveTo(host, id, *events, actor->manifest().replicated, record, std::move(state),
                    [answer](Status accepted) { answer->set_value(std::move(accepted)); });
    moved = answered.wait_for(kAcceptWithin) == std::future_status::ready
                ? answered.get()
                : DeadlineExceeded("host " + host + " did not take it within " +
                                   std::to_string(kAcceptWithin.count()) + " minutes");
  } else {
    moved = events.status();
  }
  if (moved.ok()) {
    if (Status kept = store_->UpsertActor(RegistryRecord(*actor, "moved")); !kept.ok()) {
      spdlog::warn("actor {}: registry: {}", id, kept.ToString());
    }
    // What waited passes on, and the hold stays as the relay for senders that reach it here.
    const size_t waited = hold->held();
    hold->Forward([lattice, id](messaging::Envelope envelope) -> Status {
      THEATER_ASSIGN_OR_RETURN(std::shared_ptr<messaging::Endpoint> there,
                               lattice->RouteElsewhere(id));
      return there->Deliver(std::move(envelope));
    });
    lattice->MoveRelayed(host, id);
    spdlog::info("actor {}: moved to host {} ({} messages sent meanwhile passed on)", id, host,
                 waited);
    return Status::Ok();
  }
  // It comes back here: recovered from what this host kept, its registration arriving at the
  // hold, which hands it what waited.
  spdlog::warn("actor {}: moving to host {} failed: {}; it runs here again", id, host,
               moved.ToString());
  RecoveryCache cache;
  RecoveredActor again = RecoverOne(row, cache);
  if (!again.status.ok()) {
    abandon();
    return moved.WithContext("moving actor " + id + " to host " + host +
                             " (and recovering it here failed too: " + again.status.ToString() +
                             ")");
  }
  return moved.WithContext("moving actor " + id + " to host " + host + "; it runs on host " +
                           here + " again");
}

Status RuntimeImpl::AcceptMove(const std::string& id, const std::string& from_host,
                               const std::string& record, std::optional<std::vector<uint8_t>> state,
                               std::vector<chain::Event> events) {
  if (!store_) {
    return FailedPrecondition("host " + (lattice_.load() ? lattice_.load()->host_id() : "") +
                              " keeps no chains (it does not persist), so no actor moves here");
  }
  {
    WriterLock lock(mu_);
    arriving_.insert(id);
  }
  const AtScopeEnd arrived([this, &id] {
    WriterLock lock(mu_);
    arriving_.erase(id);
  });
  if (state) KeepChainBytes(*state, chain::Sha256(*state));
  // The chain goes on with the move, so that it reads as one chain across both hosts.
  Result<std::unique_ptr<chain::EventChain>> chain = chain::EventChain::FromEvents(std::move(events));
  if (!chain.ok()) return chain.status().WithContext("the chain of moving actor " + id);
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  (*chain)->Append(chain::Lifecycle{
      "actor-moved", "from host " + from_host + " to host " + (lattice ? lattice->host_id() : "")});
  std::vector<chain::Event> events_here = (*chain)->events();
  // Subscribers here followed it on its old host (a watch): the move is the next event they see,
  // before those of its recovery.
  if (hub_.subscriber_count(id) > 0) hub_.Publish(id, events_here.back(), events_here.size() - 1);
  return AdoptChain(id, record, std::move(events_here), "moved here from host " + from_host);
}

bool RuntimeImpl::Moving(std::string_view id) const {
  const std::string key(id);
  ReaderLock lock(mu_);
  return moving_.count(key) > 0 || arriving_.count(key) > 0;
}

}  // namespace theater::runtime
