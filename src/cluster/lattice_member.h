// Theater: a WebAssembly actor runtime.
//
// LatticeMember: this host's place in a lattice (docs/distribution.md). Joining connects to NATS
// (nats_connection.h), claims the host's name, answers pings under it, announces the host every
// heartbeat interval and listens to every other host's heartbeats, so that it knows which hosts
// there are, with their actors, load and management address. Leaving (or destroying it) says so
// to the others at once and frees the name.
//
// The name is claimed so that two live hosts never share one: the name's key in the lattice's
// hosts bucket is read; a ping to the name must find no responder (a live host answers; a frozen
// one holds its subscription, and the ping times out); this host then answers pings itself and
// writes the key by compare-and-set against what it read (kvStore_Create when it was absent,
// kvStore_Update against its revision). Of two hosts claiming one name at the same moment exactly
// one wins: one that pings after the other answers pings is refused by the answer, and one that
// pinged before read the key before the other's write, so its compare-and-set fails. The
// revision it wins with is the host's epoch, the fencing token later steps build on.
//
// A host that dies without leaving is declared lost (docs/distribution.md, "Host loss"): every
// probe_interval this host sends a request to each other host's ping subject; a process that has
// gone has no subscription there, and NATS answers "no responders" at once; when that still
// holds half a second later (not a host reconnecting), and this host has heard it since its own
// connection was last made (not a host the server has not got back yet), it is lost. A host that is
// frozen or cut off still holds its subscription: it is declared lost when its last heartbeat is
// older than lost_after. Either way the host-gone listener hears "lost: <why>".
//
// Thread-safety: Hosts() may be called from any thread; libnats runs the callbacks on its own
// threads and a heartbeat thread of this object publishes. Join and Leave from one thread.
// Ownership: owns its connection, subscriptions and thread; `facts` must stay callable until
// Leave returns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/lattice_names.h"
#include "cluster/nats_connection.h"
#include "theater/cluster.h"
#include "theater/mutex.h"
#include "theater/status.h"

namespace theater::cluster {

class LatticeMember {
 public:
  // What a heartbeat says of this host, asked for at each one.
  struct Facts {
    uint64_t actors = 0;
    std::string management_address;
  };
  using FactsFn = std::function<Facts()>;

  // Joins (see above). Errors: a malformed lattice or host name or credentials
  // (kInvalidArgument), NATS unreachable (kUnavailable), JetStream off (kFailedPrecondition),
  // the host's name held by a live or frozen host or won by another at the same moment
  // (kAlreadyExists).
  [[nodiscard]] static Result<std::unique_ptr<LatticeMember>> Join(ClusterOptions options,
                                                                   FactsFn facts);
  ~LatticeMember();
  LatticeMember(const LatticeMember&) = delete;
  LatticeMember& operator=(const LatticeMember&) = delete;

  // Publishes a heartbeat now, out of turn: after a fact changed that the others should learn
  // without waiting up to an interval (the management address, once the server listens).
  void Announce() { PublishHeartbeat(false); }
  // Stops the heartbeats, tells the others this host leaves, frees its name and disconnects.
  // Idempotent.
  void Leave();

  const std::string& host_id() const { return options_.host_id; }
  const std::string& lattice() const { return options_.lattice; }
  const std::string& incarnation() const { return incarnation_; }
  // The revision of the host's key it claimed its name with (its epoch).
  uint64_t epoch() const { return epoch_; }
  // Every host heard from (this one first), with the age of its last heartbeat. A host that left
  // is gone from the list; one that died stays, its heartbeat ever older.
  std::vector<LatticeHost> Hosts() const;
  // Whether `host` is this one, or another whose heartbeat arrived within `within`.
  bool IsLive(const std::string& host, std::chrono::milliseconds within) const;
  // Whether `host`'s process is gone for certain: a request to its ping subject finds no
  // responder, which NATS says at once, and has done so for half a second (this host's probes
  // found none either; a host reconnecting has no responder for a moment). False when it
  // answers, when it does not answer within `wait` (a frozen host keeps its subscription), when
  // the silence is younger, and when NATS cannot be asked. Asked before another host's actor is
  // taken over, so that this host need not wait for its probes to declare the death.
  bool ProcessIsGone(const std::string& host, std::chrono::milliseconds wait) const;
  // Called (on a NATS thread, without a lock held) when another host says it leaves, with its
  // name and why. Set it once, before hosts can leave.
  void SetHostGoneListener(std::function<void(const std::string& host, const std::string& why)> f);

  // Called (on the heartbeat thread, without a lock held) when this host loses its lease
  // (held = false, with why) and when it holds it again (ClusterOptions::lease). Set it once,
  // or clear it with nullptr: when that returns, no call of the old listener is running.
  void SetLeaseListener(std::function<void(bool held, const std::string& why)> f);
  // Whether this host holds its lease now.
  bool HoldsLease() const;

  // What this host answers when another asks for its actors (JSON text, at most
  // kMaxActorListBytes). Set it once, before other hosts ask; until then it answers "[]".
  void SetActorListResponder(std::function<std::string()> list);
  // Asks every other live host for its actors, at once, and calls `done` (on a thread of its
  // own) with each host's answer, or "did not answer within `timeout`".
  void AskEveryHostForActors(std::chrono::milliseconds timeout,
                             std::function<void(std::vector<LatticeActorList>)> done) const;
  static constexpr size_t kMaxActorListBytes = 768 << 10;

  NatsConnection& nats() const { return *nats_; }
  const LatticeNames& names() const { return names_; }

 private:
  LatticeMember(ClusterOptions options, FactsFn facts);
  Status Connect();
  Status OpenHostsBucket();
  Status ClaimName();
  Status Subscribe();
  void PublishHeartbeat(bool leaving);
  void HeartbeatLoop();
  static void OnPing(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* self);
  static void OnHeartbeat(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* self);
  static void OnActorsAsked(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* self);
  static void OnProbeAnswer(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* self);
  // Probes every other host's ping subject and declares lost each one whose heartbeat is older
  // than lost_after.
  void Probe();
  // Probes each host whose confirming probe is due by `now` (see HeardHost::confirm_at).
  void ProbeUnconfirmed(std::chrono::steady_clock::time_point now);
  // Sends one probe to `host`'s ping subject; its answer comes to OnProbeAnswer.
  void SendProbe(const std::string& host);
  // Stops every subscription, waiting for callbacks in flight (StopSubscription).
  void StopSubscriptions();
  // Loses or takes back the lease as the time since this host last heard its own heartbeat
  // says (the heartbeat thread).
  void CheckLease();
  // Forgets `host` and tells the listener why.
  void DeclareLost(const std::string& host, const std::string& why);
  void Record(std::string_view heartbeat);

  using Clock = std::chrono::steady_clock;
  struct HeardHost {
    LatticeHost host;
    Clock::time_point at;
    // When a probe of it was first answered "no responders" since it last answered or beat;
    // the epoch (zero) while it answers.
    Clock::time_point unanswered_since{};
    // When to probe it again to confirm that answer (kNoRespondersConfirmAfter after it); the
    // epoch when no such probe is due.
    Clock::time_point confirm_at{};
  };
  // Whether `heard` beat since this host's connection was last made: before that, the server
  // may not have it back yet, and its silence says nothing.
  bool HeardSinceConnected(const HeardHost& heard) const;
  // Whether its ping subject has had no responder for kNoRespondersConfirmAfter by `now`.
  static bool SilenceConfirmed(const HeardHost& heard, Clock::time_point now);

  ClusterOptions options_;
  FactsFn facts_;
  LatticeNames names_;
  std::string incarnation_;
  uint64_t epoch_ = 0;
  std::unique_ptr<NatsConnection> nats_;
  kvStore* hosts_bucket_ = nullptr;
  natsSubscription* ping_sub_ = nullptr;
  natsSubscription* heartbeat_sub_ = nullptr;
  natsSubscription* actors_sub_ = nullptr;  // asked for this host's actors
  natsSubscription* probe_sub_ = nullptr;  // answers to this host's probes, on <inbox>.<host>
  std::string probe_inbox_;

  mutable Mutex mu_;
  std::map<std::string, HeardHost> heard_ THEATER_GUARDED_BY(mu_);  // other hosts, by name
  bool leaving_ THEATER_GUARDED_BY(mu_) = false;
  std::function<void(const std::string&, const std::string&)> host_gone_ THEATER_GUARDED_BY(mu_);
  std::function<std::string()> actor_list_ THEATER_GUARDED_BY(mu_);
  // When this host's own heartbeat last came back through NATS: the lease's clock.
  Clock::time_point confirmed_at_ THEATER_GUARDED_BY(mu_);
  bool lease_held_ THEATER_GUARDED_BY(mu_) = true;
  // Called only by the heartbeat thread, under lease_mu_, so that clearing it waits for a call.
  Mutex lease_mu_;
  std::function<void(bool, const std::string&)> lease_listener_ THEATER_GUARDED_BY(lease_mu_);
  std::condition_variable wake_;  // the heartbeat thread's, for Leave
  std::thread heartbeat_thread_;
  bool left_ = false;
};

}  // namespace theater::cluster
