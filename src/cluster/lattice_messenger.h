// Theater: a WebAssembly actor runtime.
//
// LatticeMessenger: how the actors of one host reach the actors of every other host of its
// lattice (docs/distribution.md, "Messages between hosts"). It is the runtime's LatticeLink:
// the directory (actor_directory.h) is told of each actor the runtime starts and stops, and the
// router, finding no local participant, asks it for the remote one.
//
// Sending: a participant on another host is a RemoteActor endpoint, made on first use from the
// directory's answer and kept. Its Deliver turns the envelope into a record (link_frames.h) and
// appends it to the batch for that host, published as one NATS message on
// theater.<lattice>.h.<host>.msg. A record that finds the host's outbox empty and nobody
// publishing goes at once on its own thread (no thread hop for a message alone); what others
// append meanwhile is a burst, published in batches by the sender thread. Local delivery never
// comes here.
//
// Order and gaps: a record carries its sender→target pair's sequence number, given under the
// same lock that appends it, and NATS keeps one connection's messages in order, so each pair's
// messages arrive in the order they were sent, sends and requests interleaved. The receiving
// host checks each pair's numbers: a gap (messages lost when NATS reconnected, or dropped for a
// slow consumer) is reported back, as is a message the target refused (a full mailbox, a stopped
// actor). A report makes the sender's next call to that target fail with the reason; an answer's
// error fails its request or opening. Every second each host also sends each host it talks to an
// audit (link_frames.h: LinkAudit) of the answers it still awaits and each pair's last number,
// so that a loss with nothing after it (the last messages before a NATS reconnect, a request or
// its answer) is found within about two seconds rather than at a timeout. Nothing is lost
// silently.
//
// Receiving: one subscription (one NATS thread) takes this host's batches and hands each record
// to the router, local participants only (a record is never passed on to a third host).
// Requests and channel openings are answered back to their origin host when the target decides.
//
// Hosts that leave: their cached participants are forgotten, the answers still owed by them fail
// with "host H left the lattice", and channels with their participants close.
//
// Supervision across hosts: a parent's host sends its child's spawn, stops and restarts to the
// child's host, which reports what becomes of the child back (kSupervise records,
// supervision_records.h); both ends are the runtime's LatticeSupervision.
//
// Thread-safety: every method may be called from any thread. Ownership: borrows the member and
// the router bound to it; Close() (or the destructor) stops the subscription, the sender thread
// and every thread publishing, after which nothing here touches the member: it may go first
// (what is sent after that fails, saying the host left the lattice).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cluster/actor_directory.h"
#include "cluster/chain_replicator.h"
#include "cluster/joined_key.h"
#include "common/blocking_pool.h"
#include "cluster/lattice_member.h"
#include "cluster/link_frames.h"
#include "cluster/supervision_records.h"
#include "theater/holding_endpoint.h"
#include "theater/lattice_link.h"
#include "theater/mutex.h"
#include "theater/router.h"

namespace theater::cluster {

class LatticeMessenger final : public LatticeLink,
                               public messaging::RemoteRoutes,
                               public std::enable_shared_from_this<LatticeMessenger> {
 public:
  // Opens the directory and subscribes to this host's messages. kUnavailable / the NATS error
  // when either fails.
  [[nodiscard]] static Result<std::shared_ptr<LatticeMessenger>> Start(LatticeMember& member);
  ~LatticeMessenger() override;
  LatticeMessenger(const LatticeMessenger&) = delete;
  LatticeMessenger& operator=(const LatticeMessenger&) = delete;

  // Stops receiving and sending; answers still owed fail. Idempotent.
  void Close();

  // LatticeLink.
  Status ClaimActor(std::string_view id) override;
  void ReleaseActor(std::string_view id) override;
  void Bind(messaging::Router& router) override;
  void SetLeaseListener(std::function<void(bool held, const std::string& why)> listener) override;
  std::string host_id() const override { return host_; }
  messaging::RemoteRoutes& routes() override { return *this; }
  void BindSupervision(LatticeSupervision* supervision) override;
  Result<std::string> ChooseHost(std::string_view placement) override;
  void SpawnOn(const std::string& host, const SpawnRequest& request,
               std::function<void(Status)> done) override;
  void ReportToParent(const std::string& host, const std::string& parent_id,
                      const ChildEvent& event) override;
  void ControlChildOn(const std::string& host, ChildControl op, const std::string& child_id,
                      const std::string& reason, std::function<void(Result<bool>)> done) override;
  Status ReplicateActor(const std::string& id, std::shared_ptr<chain::EventChain> chain,
                        size_t from_index, const std::string& record,
                        std::function<void(Status)> failed) override;
  void EndReplication(const std::string& id, bool forget) override;
  void ChildStateOn(const std::string& host, const std::string& child_id,
                    LatticeSupervision::StateDone done) override;
  void ChildEventsOn(const std::string& host, const std::string& child_id, size_t max_bytes,
                     LatticeSupervision::EventsDone done) override;
  void MoveTo(const std::string& host, const std::string& id,
              const std::vector<chain::Event>& events, bool replicated, const std::string& record,
              std::optional<std::vector<uint8_t>> state, std::function<void(Status)> done) override;
  void MoveRelayed(const std::string& host, const std::string& id) override;
  Result<std::shared_ptr<messaging::Endpoint>> RouteElsewhere(std::string_view id) override;
  Status WatchActor(const std::string& id, EventFeed deliver,
                    std::function<bool()> wanted) override;
  // RemoteRoutes.
  Result<std::shared_ptr<messaging::Endpoint>> Find(std::string_view id) override;
  // The host whose record the calling thread delivers now, or null.
  static const std::string* ReceivingFrom();

  // Where actor `id` is managed when another host holds it: that host's management address.
  // nullopt when no other host holds it (or once closed); kUnavailable when its host is lost or
  // has not announced an address; the directory's error when it cannot be read.
  Result<std::optional<std::string>> ManagementAddressOf(std::string_view id);

  // Whether `host` is this one or heard from within kLiveWithin; false once closed.
  bool HostIsLive(const std::string& host);
  // HostIsLive, and its process answers or is not known to be gone (LatticeMember::
  // ProcessIsGone): what a claim of an actor another host holds asks of the holder.
  bool HolderIsLive(const std::string& host);

  // Another host left (or was lost): see above.
  void HostGone(const std::string& host, const std::string& why);

  // The directory, or null once closed.
  std::shared_ptr<ActorDirectory> directory() const;

  // How long a host may go unheard before a lookup that finds an actor there says it is lost.
  static constexpr std::chrono::milliseconds kLiveWithin{10'000};
  // How long a claim waits for a holder's ping before taking it for frozen (and so live).
  static constexpr std::chrono::milliseconds kHolderPingWait{250};

 private:
  class RemoteActor;
  struct Pending {
    messaging::ReplyFn reply;
    std::string host;
    std::string target;
    std::chrono::steady_clock::time_point sent;
  };

  explicit LatticeMessenger(LatticeMember& member);
  // Appends `record` to the batch for `host`. kResourceExhausted past the message size NATS
  // accepts or the bytes queued for one host.
  // `ordered`: the record is one of its sender→target pair's, numbered here in order.
  Status Enqueue(const std::string& host, LinkRecord record, bool ordered);
  Status EnqueueInOrder(const std::string& host, LinkRecord record);
  // Enqueues `record` (in order when `ordered`) under a new reference whose answer goes to
  // `reply`; a refused record is not awaited (the caller reports the refusal).
  Status EnqueueAwaiting(const std::string& host, LinkRecord record, messaging::ReplyFn reply,
                         bool ordered);
  // Sends `record` to `host` as a kSupervise record awaiting an answer: `on_reply` gets the
  // answer, or the refusal when the record could not be queued.
  void AskHost(const std::string& host, LinkRecord record,
               std::function<void(Result<messaging::Reply>)> on_reply);
  // Calls `call` with the runtime's side while it is bound (a takeover's or a move's long call,
  // on the takeovers' thread); kFailedPrecondition when it is not.
  Status WithSupervision(const std::function<Status(LatticeSupervision&)>& call);
  // A kSupervise record from `origin` (supervision_records.h).
  void HandleSupervision(const std::string& origin, LinkRecord record);
  // Takes over the replicated actors of `host`, which is lost (on takeovers_), trying again for
  // a while what NATS could not answer.
  void TakeOverFrom(const std::string& host);
  // One pass over `host`'s replicated actors, skipping those `settled` holds and adding those
  // it settles; true when something failed that may succeed later.
  bool TakeOverOnce(const std::string& host, std::unordered_set<std::string>& settled);
  // --- Moves (lattice_moves.cc) ---
  // Actor `id` moves here from `from` (on takeovers_): answers `reference` once it runs here.
  void AcceptMoveFrom(const std::string& from, const std::string& id, MoveRequest move,
                      uint64_t reference);
  // The host handing `id` over to this one while it moves here, taken (ClaimActor asks).
  std::optional<std::string> HandoverFor(std::string_view id);
  struct Arrival;
  // Lets the arrivals `which` picks take what waits for them.
  void OpenArrivals(const std::function<bool(const std::string& id, const Arrival& arrival)>& which);
  // Opens the arrivals that waited longer than kArrivalWait for their old host's word.
  void SweepArrivals();
  // --- Subscriptions to another host's actor (lattice_watches.cc) ---
  // A watch this host keeps of another host's actor: what its events are fed to while wanted.
  struct Watch {
    LatticeLink::EventFeed deliver;
    std::function<bool()> wanted;
    natsSubscription* subscription = nullptr;
    std::chrono::steady_clock::time_point renewed;
    // The chain index after the last event fed (on the subscription's thread; read by renewals):
    // a watch renewed on a new host asks for what came since, and repeats are not fed twice.
    std::atomic<uint64_t> next_index{0};
  };
  // An actor of this host another host watches: the observer publishing its chain, until when.
  struct Watched {
    std::shared_ptr<chain::EventChain> chain;
    chain::EventChain::ObserverId observer = 0;
    std::chrono::steady_clock::time_point until;
    // Serialises the catch-up and the observer: the index after the last event published.
    std::shared_ptr<Mutex> mu = std::make_shared<Mutex>();
    std::shared_ptr<uint64_t> next = std::make_shared<uint64_t>(0);
  };
  // `from`: the first chain index the watcher lacks (0: from the next event on).
  void SendWatch(const std::string& host, const std::string& id, uint64_t from);
  static void OnWatchedEvents(natsConnection* nc, natsSubscription* sub, natsMsg* msg,
                              void* closure);
  // Renews the watches still wanted, with the host each actor runs on now; drops the others.
  void RenewWatches();
  // Another host watches actor `id` here (whose chain is `chain`, null when it is not here),
  // lacking its events from index `from` on (0: none before the next).
  // `kept` reads the whole chain, for events from before what `chain` holds in memory.
  void OnWatch(const std::string& id, std::shared_ptr<chain::EventChain> chain, uint64_t from,
               const std::function<Result<std::vector<chain::Event>>()>& kept);
  // Stops publishing the chains whose watch was not renewed.
  void SweepWatched();
  // Ends every watch both ways; when it returns no feed runs.
  void EndWatches();
  // Publishes what bursts leave in the outboxes, and every second gives up on old answers and
  // sends the audits.
  void SenderLoop();
  void Publish(const std::string& host, const std::vector<std::string>& batches);
  struct Outbox;
  // Everything `box` holds, in order, leaving it empty (under out_mu_).
  static std::vector<std::string> TakeBatches(Outbox& box);
  static void OnBatch(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* self);
  void Receive(std::string_view batch);
  // The pairs of one batch already found in expected_, with where their numbers are: a batch
  // holds a few pairs' messages interleaved, and each is hashed once. Points into the batch's
  // records (alive while it is handled) and into expected_ (Handle clears it with expected_).
  class ExpectedPairs {
   public:
    uint64_t* Find(const LinkRecord& record) const;
    void Remember(const LinkRecord& record, uint64_t* expected);
    void Clear() { size_ = 0; }

   private:
    struct Entry {
      std::string_view sender, target;
      uint64_t* expected = nullptr;
    };
    std::array<Entry, 16> entries_;
    size_t size_ = 0;
  };
  // Handles one record of a batch; moves out of it only what it hands on (the payload, a
  // channel id), so its ids stay readable for `pairs`.
  void Handle(const std::string& origin, LinkRecord& record, ExpectedPairs& pairs);
  // A request or opening from `origin` now awaits this host's answer (Answer ends it).
  void Owe(const std::string& origin, uint64_t reference);
  void Answer(const std::string& origin, uint64_t reference, const std::string& target,
              const Result<messaging::Reply>& reply);
  void Refuse(const std::string& origin, const std::string& sender, const std::string& target,
              const Status& why);
  void ReportLost(const std::string& origin, const std::string& sender, const std::string& target,
                  uint64_t lost);
  // A refusal this host was told of for `sender`→`target`, taken (the next call fails with it).
  std::optional<Status> TakeRefusal(const std::string& sender, const std::string& target);
  void SweepPending();
  // Sends each host this host's account of what it sent there (LinkAudit): every second.
  void Audit();
  void CheckAudit(const std::string& origin, const LinkRecord& record);

  LatticeMember& member_;
  // member_gone_, and the member's use: shared by liveness checks (a holder's ping may wait
  // 250 ms, and lookups must not queue behind it), exclusive only while Close lets it go.
  SharedMutex member_mu_;
  bool member_gone_ THEATER_GUARDED_BY(member_mu_) = false;
  const std::string host_;
  const uint64_t epoch_;
  const std::string subject_;  // this host's
  messaging::Router* router_ = nullptr;
  natsSubscription* inbound_ = nullptr;
  size_t max_batch_bytes_ = 0;

  // Outgoing batches, per host, and the sender thread's wake-up.
  Mutex out_mu_;
  struct Outbox {
    std::string batch;  // records appended to its header
    std::deque<std::string> full;
    size_t bytes = 0;
    bool publishing = false;  // a thread is publishing this host's batches (Enqueue)
    // When a sending thread last published inline (Enqueue); steady clock, nanoseconds.
    int64_t inline_published_ns = 0;
  };
  std::unordered_map<std::string, Outbox> outboxes_ THEATER_GUARDED_BY(out_mu_);
  // Per sender→target pair (PairKey): the last number given, the pair's host, and how many more
  // audits name it (a pair is audited for a few seconds after its last message, so that an audit
  // lost with the messages is made good by the next).
  struct PairSent {
    uint64_t sequence = 0;
    std::string host;
    int audits_left = 0;
  };
  std::unordered_map<std::string, PairSent, JoinedKeyHash, JoinedKeyEqual> next_sequence_
      THEATER_GUARDED_BY(out_mu_);
  bool closing_ THEATER_GUARDED_BY(out_mu_) = false;
  std::condition_variable out_wake_;
  std::thread sender_;

  // Participants of other hosts, answers owed to this host, refusals to report, and the
  // sequence expected next from each pair that sends here.
  mutable Mutex mu_;
  std::shared_ptr<ActorDirectory> directory_ THEATER_GUARDED_BY(mu_);
  std::unordered_map<std::string, std::shared_ptr<RemoteActor>> remote_ THEATER_GUARDED_BY(mu_);
  std::unordered_map<uint64_t, Pending> pending_ THEATER_GUARDED_BY(mu_);
  uint64_t next_reference_ THEATER_GUARDED_BY(mu_) = 0;
  std::unordered_map<std::string, Status> refusals_ THEATER_GUARDED_BY(mu_);
  std::atomic<bool> any_refusals_{false};  // !refusals_.empty(), read without mu_
  std::unordered_map<std::string, uint64_t, JoinedKeyHash, JoinedKeyEqual> expected_
      THEATER_GUARDED_BY(mu_);
  bool expected_forgotten_ THEATER_GUARDED_BY(mu_) = false;  // expected_ was cleared once
  // The requests and openings this host received and has not answered yet, by origin host.
  std::unordered_map<std::string, std::unordered_set<uint64_t>> owed_ THEATER_GUARDED_BY(mu_);
  std::atomic<bool> closed_{false};

  // The runtime's side of supervision across hosts; held while one of its methods runs, so that
  // unbinding waits for a call in flight.
  Mutex supervision_mu_;
  LatticeSupervision* supervision_ THEATER_GUARDED_BY(supervision_mu_) = nullptr;

  // Replicated actors (chain_replicator.h): this host's copies, and the takeover of a lost
  // host's, one host at a time on a thread of their own.
  std::unique_ptr<ChainReplicator> replicator_;
  Mutex replica_mu_;
  // The stream sequence a taken-over actor's replication goes on from, until it begins.
  std::unordered_map<std::string, uint64_t> taken_over_ THEATER_GUARDED_BY(replica_mu_);
  std::unique_ptr<BlockingPool> takeovers_;
  // Held while the runtime takes an actor over, so that unbinding it waits (before
  // supervision_mu_, which the receiving thread takes: a takeover never holds that one up).
  Mutex takeover_call_mu_;

  // Actors moving here: the hold standing for each until its old host has passed on what it
  // held (its `moved` record), and the directory entries to take from their old hosts.
  struct Arrival {
    std::shared_ptr<messaging::HoldingEndpoint> hold;
    std::string from;
    std::chrono::steady_clock::time_point since;
  };
  // Watches this host keeps of other hosts' actors, and those of its own actors that other
  // hosts keep (lattice_watches.cc).
  Mutex watch_mu_;
  std::unordered_map<std::string, std::shared_ptr<Watch>> watches_ THEATER_GUARDED_BY(watch_mu_);
  std::unordered_map<std::string, Watched> watched_ THEATER_GUARDED_BY(watch_mu_);
  Mutex moves_mu_;
  std::unordered_map<std::string, Arrival> arrivals_ THEATER_GUARDED_BY(moves_mu_);
  std::unordered_map<std::string, std::string> handovers_ THEATER_GUARDED_BY(moves_mu_);
};

}  // namespace theater::cluster
