// Theater: a WebAssembly actor runtime.
//
// ChainReplicator: how a host copies its replicated actors' chains into the lattice
// (docs/distribution.md, "Replicated actors"). Every event a replicated actor's chain appends is
// published to the lattice's chains stream (THEATER_<lattice>_CHAINS, one subject per actor), in
// batches of consecutive events (replica_frames.h), each publish expecting the subject's last
// sequence to be the one this host wrote last: if another host has appended since (it took the
// actor over while this host was frozen or cut off), the publish fails and this host's copy is
// fenced. Beside the stream, a key-value bucket (THEATER_<lattice>_REPLICAS) keeps, per actor,
// the host that runs it and what recovers it elsewhere (its registry record and manifest text).
//
// One thread publishes for every actor of the host: it takes what each actor's queue holds, one
// frame per actor per round, and waits for JetStream's acknowledgement before the actor's next
// frame (the acknowledgement carries the sequence the next one expects). Replication is
// asynchronous: an event is on its way when the actor goes on, and a host that dies may take its
// last few milliseconds of events with it (the takeover resumes from the last replicated one).
//
// Thread-safety: every method may be called from any thread. Ownership: borrows the connection,
// which must outlive it; owns its bucket handle and its thread. Observers it adds to chains hold
// only a weak reference to its state.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cluster/lattice_names.h"
#include "cluster/nats_connection.h"
#include "theater/chain.h"
#include "theater/mutex.h"
#include "theater/status.h"

namespace theater::cluster {

class ChainReplicator {
 public:
  // Opens (creating when absent) the chains stream, which allows direct gets (Read takes an
  // actor's frames one by one by subject with them), and the replicas bucket.
  [[nodiscard]] static Result<std::unique_ptr<ChainReplicator>> Open(NatsConnection& nats,
                                                                     const LatticeNames& names,
                                                                     std::string host);
  ~ChainReplicator();
  ChainReplicator(const ChainReplicator&) = delete;
  ChainReplicator& operator=(const ChainReplicator&) = delete;

  // Begins replicating actor `id`: `record` (JSON, what recovers it) is put in the replicas
  // bucket under this host, the events of `chain` from index `from_index` on are published, and
  // so is every event appended from now on. `last_sequence` is the stream sequence of the last
  // frame already in the stream for it (0: none may be). `failed` is called once, on the
  // publishing thread, when this host may not go on (fenced: another host appended; or an event
  // too large for a NATS message). Replicating `id` already: nothing changes.
  [[nodiscard]] Status Begin(const std::string& id, std::shared_ptr<chain::EventChain> chain,
                             size_t from_index, const std::string& record,
                             uint64_t last_sequence, std::function<void(Status)> failed);
  // Ends it once what is queued is published; with `forget` (the actor stopped for good), its
  // events and record are deleted from the lattice too.
  void End(const std::string& id, bool forget);
  // Waits until every queued event is published (or given up), at most `within`: NATS may be
  // away for good (a host leaving while it is). Returns whether everything went out.
  bool Flush(std::chrono::milliseconds within = std::chrono::milliseconds::max());

  // The replicated actors `host` holds: id and record, as Begin put them (only its keys are
  // read).
  [[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> RecordsOf(
      const std::string& host);
  // Deletes `host`'s record of actor `id` (this host took it over and holds its own now).
  void Disown(const std::string& host, const std::string& id);
  // Puts `events`, a whole chain, in the stream as actor `id`'s (what was there goes first): a
  // move of an actor that is not replicated. kResourceExhausted for an event too large for one
  // NATS message.
  [[nodiscard]] Status PublishWhole(const std::string& id, const std::vector<chain::Event>& events);
  // Deletes actor `id`'s events from the stream (its record stays).
  [[nodiscard]] Status Purge(const std::string& id);
  // Every replicated event of actor `id`, in order, and the stream sequence of its last frame:
  // read frame by frame with direct gets (an ordered consumer per actor, tried first, corrupted
  // the heap in its teardown under libnats 3.4).
  struct Replica {
    std::vector<chain::Event> events;
    uint64_t last_sequence = 0;
  };
  [[nodiscard]] Result<Replica> Read(const std::string& id);

 private:
  struct Actor {
    std::shared_ptr<chain::EventChain> chain;
    chain::EventChain::ObserverId observer = 0;
    std::deque<std::pair<chain::Event, size_t>> queue;  // events and their chain indices
    uint64_t last_sequence = 0;
    std::function<void(Status)> failed;
    bool ending = false;
    bool forget = false;
    bool stopped = false;  // failed: nothing more is published
    bool busy = false;     // the publishing thread holds a frame of it
    // A frame whose publish failed for a moment (NATS away, or moving the connection to another
    // server of a cluster), and its events' count: published again as it was, so that a copy an
    // earlier try stored is recognised as this host's own (PublishFrame).
    std::string retry_frame;
    size_t retry_count = 0;
  };
  ChainReplicator(NatsConnection& nats, const LatticeNames& names, std::string host);
  void Loop();
  // Publishes one frame of `actor`'s queue (under no lock; `frame` taken from it).
  Status PublishFrame(const std::string& id, const std::string& frame, uint64_t* sequence);
  void Forget(const std::string& id);
  // The stream sequence of actor `id`'s last frame; 0 when it has none.
  Result<uint64_t> LastSequence(const std::string& id);
  std::string Wrap(const std::string& record) const;

  NatsConnection& nats_;
  const LatticeNames names_;
  const std::string host_;
  const std::string stream_;
  kvStore* bucket_ = nullptr;
  size_t max_frame_bytes_ = 0;

  struct State {
    Mutex mu;
    std::unordered_map<std::string, Actor> actors THEATER_GUARDED_BY(mu);
    bool stopping THEATER_GUARDED_BY(mu) = false;
    std::condition_variable wake;
    std::condition_variable idle;
  };
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace theater::cluster
