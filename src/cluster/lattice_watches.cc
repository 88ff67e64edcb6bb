// Theater: a WebAssembly actor runtime.
//
// LatticeMessenger's part in subscriptions to another host's actor (docs/distribution.md,
// "Subscriptions across hosts"): `theater events -f`, the dashboard's live chain, an embedder's
// TheaterRuntime::Subscribe of an actor that runs elsewhere.
//
// The watching host subscribes to the actor's events subject and sends its host a `watch`
// record, again every kRenewEvery while someone here still wants the events, each time to the
// host the directory names then (so a watch follows a moved or taken-over actor). The watched
// host adds an observer to the actor's chain that publishes each event appended (a replica
// frame of one event) while a watch is fresher than kWatchLasts: a watching host that dies, or
// loses interest, stops costing anything within that.
#include <spdlog/spdlog.h>

#include "cluster/lattice_messenger.h"
#include "cluster/replica_frames.h"
#include "cluster/supervision_records.h"
#include "cluster/wire_bytes.h"

namespace theater::cluster {
namespace {

constexpr auto kRenewEvery = std::chrono::seconds(2);
constexpr auto kWatchLasts = std::chrono::seconds(10);

}  // namespace

Status LatticeMessenger::WatchActor(const std::string& id, EventFeed deliver,
                                    std::function<bool()> wanted) {
  std::shared_ptr<ActorDirectory> directory = this->directory();
  if (!directory || closed_) return Unavailable("host " + host_ + " has left the lattice");
  THEATER_ASSIGN_OR_RETURN(ActorDirectory::Location where, directory->Find(id));
  if (where.host == host_) return NotFound("actor " + id + " not found");
  {
    MutexLock lock(watch_mu_);
    if (watches_.count(id) > 0) return Status::Ok();  // its events reach this host already
  }
  auto watch = std::make_shared<Watch>();
  watch->deliver = std::move(deliver);
  watch->wanted = std::move(wanted);
  watch->renewed = std::chrono::steady_clock::now();
  const std::string subject = member_.names().EventsSubject(id);
  THEATER_RETURN_IF_ERROR(FromNats(
      natsConnection_Subscribe(&watch->subscription, member_.nats().get(), subject.c_str(),
                               &LatticeMessenger::OnWatchedEvents, watch.get()),
      "watching actor " + id + "'s events"));
  {
    MutexLock lock(watch_mu_);
    if (!watches_.emplace(id, watch).second) {
      StopSubscription(member_.nats().get(), &watch->subscription);  // another subscriber's watch came first
      return Status::Ok();
    }
  }
  SendWatch(where.host, id, 0);
  return Status::Ok();
}

void LatticeMessenger::SendWatch(const std::string& host, const std::string& id, uint64_t from) {
  LinkRecord record;
  record.kind = RecordKind::kSupervise;
  record.channel = std::string(kSuperviseWatch);
  record.target = id;
  std::string first;
  PutWireInt(from, 8, first);
  record.payload.assign(first.begin(), first.end());
  (void)Enqueue(host, std::move(record), false);
}

void LatticeMessenger::OnWatchedEvents(natsConnection*, natsSubscription*, natsMsg* msg,
                                       void* closure) {
  Watch* watch = static_cast<Watch*>(closure);
  const int length = natsMsg_GetDataLength(msg);
  Result<ReplicaFrame> frame = ParseReplicaFrame(
      std::string_view(natsMsg_GetData(msg), length > 0 ? static_cast<size_t>(length) : 0));
  natsMsg_Destroy(msg);
  if (!frame.ok()) {
    spdlog::warn("lattice: dropped a watched actor's events: {}", frame.status().ToString());
    return;
  }
  for (size_t i = 0; i < frame->events.size(); ++i) {
    const uint64_t index = frame->first_index + i;
    // A catch-up after a move may repeat what the old host published last.
    if (index < watch->next_index.load(std::memory_order_relaxed)) continue;
    watch->deliver(frame->events[i], index);
    watch->next_index.store(index + 1, std::memory_order_relaxed);
  }
}

void LatticeMessenger::RenewWatches() {
  std::vector<std::pair<std::string, std::shared_ptr<Watch>>> due, unwanted;
  {
    const auto now = std::chrono::steady_clock::now();
    MutexLock lock(watch_mu_);
    for (auto it = watches_.begin(); it != watches_.end();) {
      if (!it->second->wanted()) {
        unwanted.emplace_back(it->first, std::move(it->second));
        it = watches_.erase(it);
        continue;
      }
      if (now - it->second->renewed >= kRenewEvery) {
        it->second->renewed = now;
        due.emplace_back(it->first, it->second);
      }
      ++it;
    }
  }
  for (auto& [id, watch] : unwanted) StopSubscription(member_.nats().get(), &watch->subscription);
  if (due.empty()) return;
  std::shared_ptr<ActorDirectory> directory = this->directory();
  if (!directory) return;
  for (const auto& [id, watch] : due) {
    // Where it runs now: a moved or taken-over actor is watched on its new host.
    Result<ActorDirectory::Location> where = directory->Find(id);
    if (where.ok() && where->host != host_) {
      SendWatch(where->host, id, watch->next_index.load(std::memory_order_relaxed));
    }
  }
}

void LatticeMessenger::EndWatches() {
  std::unordered_map<std::string, std::shared_ptr<Watch>> watches;
  std::unordered_map<std::string, Watched> watched;
  {
    MutexLock lock(watch_mu_);
    watches.swap(watches_);
    watched.swap(watched_);
  }
  // The feeds reach the runtime: when this returns, none runs.
  for (auto& [id, watch] : watches) StopSubscription(member_.nats().get(), &watch->subscription);
  for (auto& [id, w] : watched) w.chain->RemoveObserver(w.observer);
}

void LatticeMessenger::OnWatch(const std::string& id, std::shared_ptr<chain::EventChain> chain,
                               uint64_t from,
                               const std::function<Result<std::vector<chain::Event>>()>& kept) {
  if (!chain) return;  // not here (moved, stopped): the watcher looks it up again
  const auto until = std::chrono::steady_clock::now() + kWatchLasts;
  {
    MutexLock lock(watch_mu_);
    auto it = watched_.find(id);
    if (it != watched_.end() && it->second.chain == chain) {
      it->second.until = until;
      return;
    }
  }
  // Published as appended, one event a frame (NATS keeps one connection's messages in order),
  // after what the watcher lacks of what the chain holds: the observer and the catch-up take
  // turns under one lock, each publishing only past the last index published.
  Watched entry;
  entry.chain = chain;
  entry.until = until;
  const std::string subject = member_.names().EventsSubject(id);
  std::weak_ptr<LatticeMessenger> weak = weak_from_this();
  auto publish = [weak, subject](const chain::Event& event, uint64_t index) {
    std::shared_ptr<LatticeMessenger> m = weak.lock();
    if (!m || m->closed_) return;
    std::string frame;
    EncodeReplicaFrame(index, std::span<const chain::Event>(&event, 1), frame);
    natsConnection_Publish(m->member_.nats().get(), subject.c_str(), frame.data(),
                           static_cast<int>(frame.size()));
  };
  {
    MutexLock turn(*entry.mu);
    entry.observer = chain->AddObserver(
        [publish, mu = entry.mu, next = entry.next](const chain::Event& event, size_t index) {
          MutexLock turn(*mu);
          if (index < *next) return;  // the catch-up published it
          publish(event, index);
          *next = index + 1;
        });
    chain::EventChain::Tail held = chain->tail();
    *entry.next = held.first_index + held.events.size();
    if (from > 0 && from < held.first_index) {
      // Older than memory holds (a chain recovered here holds only what came since): read
      // from the database, which has everything appended so far.
      Result<std::vector<chain::Event>> all = kept();
      if (all.ok() && all->size() >= *entry.next) {
        held.events = std::move(all).value();
        held.first_index = 0;
        *entry.next = held.events.size();
      }
    }
    if (from > 0) {
      for (size_t i = 0; i < held.events.size(); ++i) {
        const uint64_t index = held.first_index + i;
        if (index >= from) publish(held.events[i], index);
      }
    }
  }
  std::optional<Watched> replaced;
  {
    MutexLock lock(watch_mu_);
    Watched& slot = watched_[id];
    if (slot.chain) replaced = std::move(slot);  // the actor restarted here with a new chain
    slot = std::move(entry);
  }
  if (replaced) replaced->chain->RemoveObserver(replaced->observer);
}

void LatticeMessenger::SweepWatched() {
  std::vector<Watched> expired;
  {
    const auto now = std::chrono::steady_clock::now();
    MutexLock lock(watch_mu_);
    for (auto it = watched_.begin(); it != watched_.end();) {
      if (it->second.until < now) {
        expired.push_back(std::move(it->second));
        it = watched_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Watched& w : expired) w.chain->RemoveObserver(w.observer);
}

}  // namespace theater::cluster
