// Theater: a WebAssembly actor runtime.
//
// NatsConnection: one host's connection to NATS, opened from ClusterOptions (its URLs,
// credentials and TLS), with its JetStream context. The lattice's member (lattice_member.h) and
// everything it grows into speak NATS through it, so that libnats's types stay in src/cluster/.
//
// The connection sends each publish at once (the client otherwise holds a publish made from a
// callback until its flusher runs, ~0.6 ms: docs/distribution.md) and reconnects without end,
// 250 ms apart, to whichever of its servers answers.
//
// Thread-safety: libnats's connection and JetStream context are thread-safe; so is this.
// Ownership: owns the connection and the context; destroying it closes both.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "theater/cluster.h"
#include "theater/status.h"

namespace theater::cluster {

// A libnats status as a Status saying what was being done: "<what>: <libnats's text>" (and its
// last error's detail when it has one). NATS_OK is Ok. kUnavailable for what may pass by itself:
// no server, a closed or lost connection, no responders, and JetStream saying it cannot answer
// for a moment (`js_code` JSClusterNotAvailErr or JSClusterNotLeaderErr, or, from a call that
// gives no code, its text "temporarily unavailable": while a NATS cluster elects a new leader
// after one of its servers went), so that callers that retry transient errors retry these.
[[nodiscard]] Status FromNats(natsStatus status, std::string_view what,
                              jsErrCode js_code = static_cast<jsErrCode>(0));

class NatsConnection;

// Stops `*sub` (a subscription of `nc`) and destroys it, waiting (at most 5 s) until no callback
// of it runs any more, so that the object its callbacks use may go next; sets *sub to null.
// Null: nothing to do.
void StopSubscription(natsConnection* nc, natsSubscription** sub);

// Destroys `*sub` once the client's reader thread can no longer be delivering to it: libnats
// 3.4's reader looks a subscription up, lets go of the connection's table and only then locks the
// subscription, without holding a reference, so destroying it in between makes the reader lock
// freed memory (seen in the lattice tests as a heap corrupted by a mutex word). Unsubscribing
// takes it out of the table; a round trip to the server (a flush) is then answered on the reader
// thread after every message that arrived before it, so when the flush returns no delivery to
// it is in flight. If the flush fails (the connection is down) the subscription is left
// undestroyed: a few hundred bytes, against memory corrupted. Sets *sub to null.
void DestroySubscriptionSafely(natsConnection* nc, natsSubscription** sub);

// Opens the key-value bucket `name`, creating it (history 1) when it is not there (or binding to
// the one another host created at the same moment). kFailedPrecondition when the NATS server
// runs without JetStream.
[[nodiscard]] Status OpenBucket(NatsConnection& nats, const std::string& name,
                                const char* description, kvStore** bucket);

class NatsConnection {
 public:
  // Connects (within options.connect_timeout) and opens JetStream. `name` is how the NATS server
  // lists the connection. Errors: the credentials or TLS files are given twice or cannot be read
  // (kInvalidArgument), no server answers (kUnavailable).
  [[nodiscard]] static Result<std::unique_ptr<NatsConnection>> Open(const ClusterOptions& options,
                                                                    const std::string& name);
  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  natsConnection* get() const { return connection_; }
  jsCtx* jetstream() const { return jetstream_; }
  // The URL of the server it is connected to ("" while it is not).
  std::string connected_url() const;
  // How many copies of a bucket or stream this host creates (ClusterOptions::jetstream_replicas).
  int replicas() const { return replicas_; }
  // When the connection was last made: at Open, then at each reconnection. What another host
  // published, or failed to be subscribed for, before then may have met a server that had not
  // heard from it again yet.
  std::chrono::steady_clock::time_point connected_at() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(connected_at_.load(std::memory_order_acquire)));
  }

 private:
  NatsConnection() = default;
  static void OnReconnected(natsConnection* nc, void* self);
  int replicas_ = 1;
  std::atomic<std::chrono::steady_clock::rep> connected_at_{0};
  natsConnection* connection_ = nullptr;
  jsCtx* jetstream_ = nullptr;
};

}  // namespace theater::cluster
