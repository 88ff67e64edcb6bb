// Theater: a WebAssembly actor runtime.
//
// LatticeMessenger's part in moving an actor between hosts (docs/distribution.md, "Moving an
// actor"; the runtime's side is src/runtime/move.cc).
//
// The host it leaves puts the actor's whole chain in the chains stream (a replicated actor's is
// there already: its replication ends once what is queued is out) and sends a `move` record; the
// host it comes to puts a hold (include/theater/holding_endpoint.h) in its router, its gate
// closed, reads the chain, and has the runtime recover the actor, whose claim of the directory
// entry is a handover from the old host; then it answers. The old host passes on what its own
// hold kept, then sends `moved`: behind those records, so that when it arrives here everything
// the old host relayed so far has been delivered into the new hold's first lane, and the hold
// may let the actor take what waits (those first). A `moved` that never comes (the old host
// lost, or a record lost) is not waited for past kArrivalWait.
#include <spdlog/spdlog.h>

#include "cluster/lattice_messenger.h"
#include "cluster/supervision_records.h"

namespace theater::cluster {
namespace {

// How long a moved actor's hold waits for its old host's `moved` before it lets the actor take
// what waits anyway.
constexpr auto kArrivalWait = std::chrono::seconds(30);

}  // namespace

void LatticeMessenger::MoveTo(const std::string& host, const std::string& id,
                              const std::vector<chain::Event>& events, bool replicated,
                              const std::string& record, std::optional<std::vector<uint8_t>> state,
                              std::function<void(Status)> done) {
  ChainReplicator* replicator = replicator_.get();
  if (replicator == nullptr || closed_) {
    done(Unavailable("host " + host_ + " is leaving the lattice"));
    return;
  }
  if (!HostIsLive(host)) {
    done(Unavailable("host " + host + " is not answering (host " + host + " lost)"));
    return;
  }
  if (replicated) {
    // Its chain is in the stream as it was written: what is queued goes out, and no more.
    replicator->End(id, /*forget=*/false);
    replicator->Flush();
  } else if (Status published = replicator->PublishWhole(id, events); !published.ok()) {
    done(published.WithContext("moving actor " + id + " to host " + host));
    return;
  }
  MoveRequest move;
  move.record = record;
  move.state = std::move(state);
  move.replicated = replicated;
  LinkRecord request;
  request.channel = std::string(kSuperviseMove);
  request.target = id;
  request.payload = EncodeMove(move);
  if (request.payload.size() > max_batch_bytes_ / 2 && move.state) {
    // The state does not fit beside the record: the other host recomputes it from the chain.
    move.state.reset();
    request.payload = EncodeMove(move);
  }
  AskHost(host, std::move(request),
          [done = std::move(done)](Result<messaging::Reply> reply) { done(reply.status()); });
}

void LatticeMessenger::MoveRelayed(const std::string& host, const std::string& id) {
  LinkRecord record;
  record.kind = RecordKind::kSupervise;
  record.channel = std::string(kSuperviseMoved);
  record.target = id;
  if (Status queued = Enqueue(host, std::move(record), false); !queued.ok()) {
    spdlog::warn("lattice: host {} could not tell host {} that actor {}'s messages are passed on "
                 "({}); it lets the actor take them in {} s",
                 host_, host, id, queued.ToString(), kArrivalWait.count());
  }
}

void LatticeMessenger::AcceptMoveFrom(const std::string& from, const std::string& id,
                                      MoveRequest move, uint64_t reference) {
  auto answer = [this, &from, &id, reference](const Status& outcome) {
    if (reference == 0) return;
    if (outcome.ok()) {
      Answer(from, reference, id, messaging::Reply{});
    } else {
      Answer(from, reference, id, outcome);
    }
  };
  ChainReplicator* replicator = replicator_.get();  // Close waits for this task before it goes
  if (replicator == nullptr || router_ == nullptr || closed_) {
    return answer(Unavailable("host " + host_ + " is leaving the lattice"));
  }
  Result<ChainReplicator::Replica> replica = replicator->Read(id);
  if (!replica.ok()) return answer(replica.status().WithContext("reading the chain of actor " + id));
  // What is sent to it here from now on waits, what its old host relays (lane 0) first.
  auto hold = std::make_shared<messaging::HoldingEndpoint>(
      *router_, id, /*gate_open=*/false, [from] {
        const std::string* origin = ReceivingFrom();
        return origin != nullptr && *origin == from ? 0 : 1;
      });
  {
    MutexLock lock(moves_mu_);
    arrivals_[id] = Arrival{hold, from, std::chrono::steady_clock::now()};
    handovers_[id] = from;
  }
  router_->Install(id, hold);
  if (move.replicated) {
    MutexLock lock(replica_mu_);
    taken_over_[id] = replica->last_sequence;  // its replication goes on from there
  }
  Status accepted = WithSupervision([&](LatticeSupervision& supervision) {
    return supervision.AcceptMove(id, from, move.record, std::move(move.state),
                                  std::move(replica->events));
  });
  {
    MutexLock lock(moves_mu_);
    handovers_.erase(id);
  }
  if (!accepted.ok()) {
    spdlog::warn("lattice: host {} could not take actor {} moving from host {}: {}", host_, id,
                 from, accepted.ToString());
    {
      MutexLock lock(replica_mu_);
      taken_over_.erase(id);
    }
    {
      MutexLock lock(moves_mu_);
      arrivals_.erase(id);
    }
    // It goes back to its old host, which claims its entry again: what waited here is refused.
    hold->Forward([id, from](messaging::Envelope) {
      return Unavailable("actor " + id + " did not move here; it is on host " + from + " again");
    });
    router_->Unregister(id, hold.get());
    if (std::shared_ptr<ActorDirectory> directory = this->directory()) directory->Release(id);
    return answer(accepted);
  }
  if (move.replicated) {
    replicator->Disown(from, id);  // its record under this host's name is in the bucket now
  } else if (Status purged = replicator->Purge(id); !purged.ok()) {
    spdlog::warn("lattice: {}", purged.ToString());  // a copy left over costs space, no more
  }
  spdlog::info("lattice: host {} took actor {} moving from host {}", host_, id, from);
  answer(Status::Ok());
}

std::optional<std::string> LatticeMessenger::HandoverFor(std::string_view id) {
  MutexLock lock(moves_mu_);
  if (handovers_.empty()) return std::nullopt;
  auto it = handovers_.find(std::string(id));
  if (it == handovers_.end()) return std::nullopt;
  return it->second;
}

void LatticeMessenger::OpenArrivals(
    const std::function<bool(const std::string& id, const Arrival& arrival)>& which) {
  std::vector<std::shared_ptr<messaging::HoldingEndpoint>> open;
  {
    MutexLock lock(moves_mu_);
    for (auto it = arrivals_.begin(); it != arrivals_.end();) {
      if (which(it->first, it->second)) {
        open.push_back(std::move(it->second.hold));
        it = arrivals_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& hold : open) hold->OpenGate();
}

void LatticeMessenger::SweepArrivals() {
  const auto cutoff = std::chrono::steady_clock::now() - kArrivalWait;
  OpenArrivals([this, cutoff](const std::string& id, const Arrival& arrival) {
    const bool late = arrival.since < cutoff;
    if (late) {
      spdlog::warn("lattice: host {} heard nothing from host {} of actor {}'s relayed messages "
                   "in {} s; the actor takes what waits here",
                   host_, arrival.from, id, kArrivalWait.count());
    }
    return late;
  });
}

}  // namespace theater::cluster
