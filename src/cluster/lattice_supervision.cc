// Theater: a WebAssembly actor runtime.
//
// LatticeMessenger's part in supervision across hosts (lattice_messenger.h,
// docs/distribution.md): choosing a child's host, and carrying spawns, child events and a
// parent's stops and restarts between the hosts as kSupervise records (supervision_records.h).
#include <spdlog/spdlog.h>

#include "cluster/lattice_messenger.h"
#include "cluster/placement.h"
#include "cluster/replica_frames.h"
#include "cluster/supervision_records.h"
#include "cluster/wire_bytes.h"

namespace theater::cluster {

using messaging::Reply;

void LatticeMessenger::BindSupervision(LatticeSupervision* supervision) {
  // The watches feed the runtime: an unbound runtime hears no more of them.
  if (supervision == nullptr) EndWatches();
  MutexLock call(takeover_call_mu_);  // a takeover in progress ends first
  MutexLock lock(supervision_mu_);
  supervision_ = supervision;
}

Result<std::string> LatticeMessenger::ChooseHost(std::string_view placement) {
  std::vector<LatticeHost> hosts;
  std::string lattice;
  {
    ReaderLock lock(member_mu_);
    if (member_gone_) return Unavailable("host " + host_ + " has left the lattice");
    hosts = member_.Hosts();
    lattice = member_.names().lattice();
  }
  // Only hosts heard from lately: one that went quiet is not given a child.
  std::erase_if(hosts, [&](const LatticeHost& h) { return !h.self && !HostIsLive(h.host_id); });
  THEATER_ASSIGN_OR_RETURN(LatticeHost chosen,
                           ChoosePlacement(hosts, placement, lattice, PlacementNeeds::kMessages));
  return chosen.host_id;
}

void LatticeMessenger::AskHost(const std::string& host, LinkRecord record,
                               std::function<void(Result<Reply>)> on_reply) {
  record.kind = RecordKind::kSupervise;
  // Refused at once, the record never reaches `host` and its answer is never owed: the caller
  // hears the refusal instead, through the same callback.
  auto shared = std::make_shared<std::function<void(Result<Reply>)>>(std::move(on_reply));
  Status queued = EnqueueAwaiting(
      host, std::move(record), [shared](Result<Reply> reply) { (*shared)(std::move(reply)); },
      false);
  if (!queued.ok()) (*shared)(queued.WithContext("asking host " + host));
}

void LatticeMessenger::SpawnOn(const std::string& host, const SpawnRequest& request,
                               std::function<void(Status)> done) {
  if (!HostIsLive(host)) {
    done(Unavailable("host " + host + " is not answering (host " + host + " lost)"));
    return;
  }
  LinkRecord record;
  record.channel = std::string(kSuperviseSpawn);
  record.sender = request.remote_parent ? request.remote_parent->id : std::string();
  record.target = request.actor_id.value_or("");
  record.payload = EncodeRemoteSpawn(request);
  AskHost(host, std::move(record),
          [done = std::move(done)](Result<Reply> reply) { done(reply.status()); });
}

void LatticeMessenger::ReportToParent(const std::string& host, const std::string& parent_id,
                                      const ChildEvent& event) {
  LinkRecord record;
  record.kind = RecordKind::kSupervise;
  record.channel = std::string(kSuperviseEvent);
  record.sender = parent_id;
  record.target = event.child_id;
  record.payload = EncodeChildEvent(event);
  if (Status queued = Enqueue(host, std::move(record), false); !queued.ok()) {
    spdlog::warn("lattice: host {} could not tell host {} what became of child {}: {}", host_,
                 host, event.child_id, queued.ToString());
  }
}

void LatticeMessenger::ControlChildOn(const std::string& host, ChildControl op,
                                      const std::string& child_id, const std::string& reason,
                                      std::function<void(Result<bool>)> done) {
  LinkRecord record;
  record.kind = RecordKind::kSupervise;
  record.channel = std::string(ControlName(op));
  record.target = child_id;
  record.payload.assign(reason.begin(), reason.end());
  if (op == ChildControl::kRelease || op == ChildControl::kFence) {
    // Nothing waits on these: the other host acts on them when (and if) it hears them.
    (void)Enqueue(host, std::move(record), false);
    done(true);
    return;
  }
  AskHost(host, std::move(record), [done = std::move(done)](Result<Reply> reply) {
    if (!reply.ok()) return done(reply.status());
    done(reply->accepted);
  });
}

void LatticeMessenger::ChildStateOn(const std::string& host, const std::string& child_id,
                                    LatticeSupervision::StateDone done) {
  LinkRecord record;
  record.channel = std::string(kSuperviseState);
  record.target = child_id;
  AskHost(host, std::move(record), [done = std::move(done)](Result<Reply> reply) {
    if (!reply.ok()) return done(reply.status());
    if (!reply->accepted || !reply->message) return done(std::optional<std::vector<uint8_t>>());
    done(std::optional<std::vector<uint8_t>>(std::move(*reply->message)));
  });
}

void LatticeMessenger::ChildEventsOn(const std::string& host, const std::string& child_id,
                                     size_t max_bytes, LatticeSupervision::EventsDone done) {
  LinkRecord record;
  record.channel = std::string(kSuperviseEvents);
  record.target = child_id;
  std::string limit;
  PutWireInt(max_bytes, 8, limit);
  record.payload.assign(limit.begin(), limit.end());
  AskHost(host, std::move(record), [done = std::move(done), host](Result<Reply> reply) {
    if (!reply.ok()) return done(reply.status());
    if (!reply->message) return done(std::vector<chain::Event>());
    const std::string_view frame(reinterpret_cast<const char*>(reply->message->data()),
                                 reply->message->size());
    Result<ReplicaFrame> parsed = ParseReplicaFrame(frame);
    if (!parsed.ok()) return done(parsed.status().WithContext("the events host " + host + " sent"));
    done(std::move(parsed->events));
  });
}

void LatticeMessenger::HandleSupervision(const std::string& origin, LinkRecord record) {
  const std::string_view payload(reinterpret_cast<const char*>(record.payload.data()),
                                 record.payload.size());
  const uint64_t reference = record.reference;
  std::weak_ptr<LatticeMessenger> weak = weak_from_this();
  // Every answer to the asking host goes through here (none is owed for a record without a
  // reference).
  auto reply_with = [weak, origin, reference, target = record.target](Result<Reply> reply) {
    std::shared_ptr<LatticeMessenger> m = weak.lock();
    if (!m || reference == 0) return;
    m->Answer(origin, reference, target, reply);
  };
  // Answers a spawn or a control: `accepted` is whether the child was there.
  auto answer = [reply_with](Result<bool> outcome) {
    if (!outcome.ok()) return reply_with(outcome.status());
    Reply reply;
    reply.accepted = *outcome;
    reply_with(std::move(reply));
  };
  if (reference != 0) Owe(origin, reference);
  MutexLock lock(supervision_mu_);
  if (supervision_ == nullptr) {
    answer(Unavailable("host " + host_ + " does not supervise across hosts"));
    return;
  }
  if (record.channel == kSuperviseEvent) {
    Result<ChildEvent> event = ParseChildEvent(payload);
    if (!event.ok()) {
      spdlog::warn("lattice: host {} dropped a child's event from host {}: {}", host_, origin,
                   event.status().ToString());
      return;
    }
    supervision_->OnRemoteChildEvent(record.sender, origin, *event);
    return;
  }
  if (record.channel == kSuperviseWatch) {
    uint64_t from = 0;
    WireReader reader(payload, "a watch record", "its");
    if (!reader.Int(8, &from, "first index").ok() || !reader.done()) {
      spdlog::warn("lattice: host {} dropped a malformed watch from host {}", host_, origin);
      return;
    }
    LatticeSupervision* supervision = supervision_;  // bound while this call runs
    OnWatch(record.target, supervision_->ChainOf(record.target), from,
            [supervision, id = record.target] { return supervision->KeptEventsOf(id); });
    return;
  }
  if (record.channel == kSuperviseMove) {
    Result<MoveRequest> move = ParseMove(payload);
    if (!move.ok()) return reply_with(move.status());
    std::weak_ptr<LatticeMessenger> weak_self = weak;
    // Its chain is read and it is recovered on the thread takeovers use, never this one.
    Status queued = Unavailable("host " + host_ + " is leaving the lattice");
    if (takeovers_ && !closed_) {
      queued = takeovers_->Post([weak_self, origin, id = record.target,
                                 move = std::move(move).value(), reference]() mutable {
        if (std::shared_ptr<LatticeMessenger> m = weak_self.lock()) {
          m->AcceptMoveFrom(origin, id, std::move(move), reference);
        }
      });
    }
    if (!queued.ok()) reply_with(queued);
    return;
  }
  if (record.channel == kSuperviseMoved) {
    OpenArrivals([&](const std::string& id, const Arrival& arrival) {
      return id == record.target && arrival.from == origin;
    });
    return;
  }
  if (record.channel == kSuperviseSpawn) {
    Result<SpawnRequest> request = ParseRemoteSpawn(payload, origin);
    if (!request.ok()) {
      answer(request.status());
      return;
    }
    supervision_->SpawnForRemoteParent(std::move(request).value(),
                                       [answer](Status spawned) {
                                         if (spawned.ok()) {
                                           answer(true);
                                         } else {
                                           answer(spawned);
                                         }
                                       });
    return;
  }
  if (record.channel == kSuperviseState || record.channel == kSuperviseEvents) {
    if (record.channel == kSuperviseState) {
      supervision_->OnChildState(
          record.target, [reply_with](Result<std::optional<std::vector<uint8_t>>> state) {
            if (!state.ok()) return reply_with(state.status());
            Reply reply;
            reply.accepted = state->has_value();
            if (*state) reply.message = std::move(**state);
            reply_with(std::move(reply));
          });
      return;
    }
    uint64_t max_bytes = 0;
    WireReader reader(payload, "an events query", "its");
    if (Status read = reader.Int(8, &max_bytes, "limit of bytes"); !read.ok() || !reader.done()) {
      return reply_with(InvalidArgument("an events query's limit is not 8 bytes"));
    }
    supervision_->OnChildEvents(
        record.target, max_bytes, [reply_with](Result<std::vector<chain::Event>> events) {
          if (!events.ok()) return reply_with(events.status());
          std::string frame;
          EncodeReplicaFrame(0, *events, frame);
          Reply reply;
          reply.message = std::vector<uint8_t>(frame.begin(), frame.end());
          reply_with(std::move(reply));
        });
    return;
  }
  Result<ChildControl> op = ParseControlName(record.channel);
  if (!op.ok()) {
    answer(op.status());
    return;
  }
  std::string reason(payload.substr(0, kMaxLinkTextBytes));
  supervision_->OnChildControl(*op, record.target, reason, answer);
}

Status LatticeMessenger::ReplicateActor(const std::string& id,
                                        std::shared_ptr<chain::EventChain> chain,
                                        size_t from_index, const std::string& record,
                                        std::function<void(Status)> failed) {
  MutexLock lock(replica_mu_);
  if (!replicator_) return Unavailable("host " + host_ + " has left the lattice");
  uint64_t last_sequence = 0;
  if (auto it = taken_over_.find(id); it != taken_over_.end()) {
    last_sequence = it->second;
    taken_over_.erase(it);
  }
  return replicator_->Begin(id, std::move(chain), from_index, record, last_sequence,
                            std::move(failed));
}

void LatticeMessenger::EndReplication(const std::string& id, bool forget) {
  MutexLock lock(replica_mu_);
  if (replicator_) replicator_->End(id, forget);
}

Status LatticeMessenger::WithSupervision(const std::function<Status(LatticeSupervision&)>& call) {
  // takeover_call_mu_ is held through the call, so that unbinding the runtime waits for it;
  // supervision_mu_ only while the pointer is read (the receiving thread takes that one).
  MutexLock held(takeover_call_mu_);
  LatticeSupervision* supervision = nullptr;
  {
    MutexLock lock(supervision_mu_);
    supervision = supervision_;
  }
  if (supervision == nullptr) {
    return FailedPrecondition("host " + host_ + " does not supervise across hosts");
  }
  return call(*supervision);
}

namespace {

// What NATS says while it cannot answer for a moment (a NATS server of a cluster went, and
// JetStream elects another leader): worth trying again.
bool Transient(const Status& status) {
  return status.code() == StatusCode::kUnavailable ||
         status.code() == StatusCode::kDeadlineExceeded;
}

// How long a takeover goes on trying what NATS could not answer.
constexpr auto kTakeOverRetryFor = std::chrono::seconds(30);

}  // namespace

void LatticeMessenger::TakeOverFrom(const std::string& host) {
  const auto give_up = std::chrono::steady_clock::now() + kTakeOverRetryFor;
  std::unordered_set<std::string> settled;  // taken here, or another host's to take
  for (int attempt = 0; !closed_; ++attempt) {
    if (attempt > 0) {
      for (int i = 0; i < 10 && !closed_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!TakeOverOnce(host, settled) || std::chrono::steady_clock::now() > give_up) return;
    spdlog::info("lattice: host {} tries host {}'s replicated actors again (NATS did not answer)",
                 host_, host);
  }
}

bool LatticeMessenger::TakeOverOnce(const std::string& host,
                                    std::unordered_set<std::string>& settled) {
  if (closed_) return false;
  ChainReplicator* replicator = replicator_.get();  // Close waits for this task before it goes
  std::shared_ptr<ActorDirectory> directory = this->directory();
  if (replicator == nullptr || !directory) return false;
  Result<std::vector<std::pair<std::string, std::string>>> records = replicator->RecordsOf(host);
  if (!records.ok()) {
    spdlog::warn("lattice: host {} could not list host {}'s replicated actors: {}", host_, host,
                 records.status().ToString());
    return Transient(records.status());
  }
  bool again = false;
  size_t taken = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const auto& entry : *records) {
    // Named, not bound: a structured binding cannot be captured by a lambda in C++20 as clang 14
    // reads it.
    const std::string& id = entry.first;
    const std::string& record = entry.second;
    if (closed_) return false;
    if (settled.count(id) > 0) continue;
    // Of the hosts that try, the directory's compare-and-set lets exactly one through.
    if (Status claimed = directory->Claim(id); !claimed.ok()) {
      spdlog::debug("lattice: host {} does not take actor {} over: {}", host_, id,
                    claimed.ToString());
      if (Transient(claimed)) {
        again = true;
      } else {
        settled.insert(id);
      }
      continue;
    }
    Result<ChainReplicator::Replica> replica = replicator->Read(id);
    if (!replica.ok()) {
      spdlog::warn("lattice: host {} cannot take actor {} over: {}", host_, id,
                   replica.status().ToString());
      directory->Release(id);
      if (Transient(replica.status())) again = true;
      continue;
    }
    {
      MutexLock lock(replica_mu_);
      taken_over_[id] = replica->last_sequence;
    }
    const size_t events = replica->events.size();
    Status resumed = WithSupervision([&](LatticeSupervision& supervision) {
      return supervision.TakeOver(id, record, std::move(replica->events));
    });
    if (!resumed.ok()) {
      spdlog::warn("lattice: host {} could not resume actor {} of lost host {}: {}", host_, id,
                   host, resumed.ToString());
      {
        MutexLock lock(replica_mu_);
        taken_over_.erase(id);
      }
      // One that runs here already (taken over before) keeps its claim.
      if (resumed.code() != StatusCode::kAlreadyExists) directory->Release(id);
      settled.insert(id);
      continue;
    }
    ++taken;
    settled.insert(id);
    replicator->Disown(host, id);  // its record under this host's name is in the bucket now
    spdlog::info("lattice: host {} took over actor {} of host {} ({} events)", host_, id, host,
                 events);
    // A lost host may be frozen rather than gone: when it wakes, this is the first it hears of
    // the actor, and its copy stops (a copy that appends first is fenced by the stream).
    ControlChildOn(host, ChildControl::kFence, id, "host " + host_ + " took it over",
                   [](Result<bool>) {});
  }
  if (!records->empty()) {
    spdlog::info("lattice: host {} took over {} of host {}'s {} replicated actors in {} ms", host_,
                 taken, host, records->size(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count());
  }
  return again;
}

}  // namespace theater::cluster
