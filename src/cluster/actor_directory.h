// Theater: a WebAssembly actor runtime.
//
// ActorDirectory: where each actor of a lattice runs (docs/distribution.md, "The location
// directory"): a JetStream key-value bucket, THEATER_<lattice>_ACTORS, of actor id → the host
// that holds it and that host's epoch. A host claims an id when it starts the actor (created if
// absent; taken over by compare-and-set only from a host that is not live), and deletes its key
// when the actor stops there. Senders look an id up when they first need it and keep the answer
// (lattice_messenger.h); the directory itself keeps no cache.
//
// Claims and releases of this host go through one thread in order, so that a release queued
// before a claim of the same id (a stop, then a start) is written first, and a stop never waits
// for NATS on an actor's worker.
//
// Thread-safety: every method may be called from any thread. Ownership: borrows the connection,
// which must outlive it; owns its bucket handle and its thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "cluster/lattice_names.h"
#include "cluster/nats_connection.h"
#include "theater/mutex.h"
#include "theater/status.h"

namespace theater::cluster {

class ActorDirectory {
 public:
  struct Location {
    std::string host;
    uint64_t epoch = 0;     // the holder's epoch when it claimed the id
    uint64_t revision = 0;  // the key's revision: grows with every claim
  };
  // Whether a host is live (heard from recently), for a claim that finds an id held elsewhere.
  using LiveFn = std::function<bool(const std::string& host)>;

  // Opens the lattice's actors bucket, creating it when it is not there.
  [[nodiscard]] static Result<std::unique_ptr<ActorDirectory>> Open(NatsConnection& nats,
                                                                    const LatticeNames& names,
                                                                    std::string host,
                                                                    uint64_t epoch, LiveFn live);
  ~ActorDirectory();
  ActorDirectory(const ActorDirectory&) = delete;
  ActorDirectory& operator=(const ActorDirectory&) = delete;

  // Records that this host holds `id`, waiting for the write. kAlreadyExists when a live host
  // holds it; kUnavailable when NATS does not answer.
  [[nodiscard]] Status Claim(std::string_view id);
  // Takes `id` over from `from_host`, live or not, by compare-and-set (an actor moving here from
  // there: the holder hands it over). kFailedPrecondition when another host holds it; held by
  // this host already, or by nobody, it is claimed as Claim does.
  [[nodiscard]] Status Handover(std::string_view id, const std::string& from_host);
  // Deletes this host's claim of `id`, in the background (after the claims and releases queued
  // before it). A claim another host has taken since is left alone.
  void Release(std::string_view id);
  // Where `id` runs: kNotFound when no host holds it (or `id` cannot be an actor's key).
  [[nodiscard]] Result<Location> Find(std::string_view id) const;
  // Waits until every queued release is written (tests, and a host that leaves).
  void Flush();

 private:
  ActorDirectory(std::string host, uint64_t epoch, LiveFn live);
  // `from_host`: a host whose claim is handed over (empty: only a lost holder's is taken).
  Status ClaimNow(const std::string& id, const std::string& from_host = {});
  void ReleaseNow(const std::string& id);
  void Loop();
  // Queues a job; false once the directory is being destroyed.
  [[nodiscard]] bool Post(std::function<void()> job);

  const std::string host_;
  const uint64_t epoch_;
  const LiveFn live_;
  kvStore* bucket_ = nullptr;

  Mutex mu_;
  std::deque<std::function<void()>> jobs_ THEATER_GUARDED_BY(mu_);
  bool stopping_ THEATER_GUARDED_BY(mu_) = false;
  size_t running_ THEATER_GUARDED_BY(mu_) = 0;  // jobs taken and not finished
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::thread thread_;
};

}  // namespace theater::cluster
