// Theater: a WebAssembly actor runtime.
//
// The names a lattice uses on NATS (docs/distribution.md, "Subjects and buckets"): every subject,
// key-value bucket and stream carries the lattice's name, so that two lattices on one NATS never
// see each other. One place builds them all, so that no subject is spelt twice.
//
// Thread-safety: pure functions and an immutable value.
#pragma once

#include <string>
#include <string_view>

#include "theater/status.h"

namespace theater::cluster {

// Whether `c` may stand in a lattice or host name.
inline bool IsLatticeNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// A lattice or host name: 1 to 64 of A-Z a-z 0-9 '-' '_' (a NATS subject token and a part of a
// bucket's name alike). kInvalidArgument naming `what` and the rule otherwise.
[[nodiscard]] Status CheckLatticeName(std::string_view name, std::string_view what);

// The subjects and buckets of one lattice.
class LatticeNames {
 public:
  explicit LatticeNames(std::string lattice) : lattice_(std::move(lattice)) {}
  const std::string& lattice() const { return lattice_; }

  // theater.<lattice>.hb.<host>: a host's heartbeat; HeartbeatsOfAll() subscribes to every host's.
  std::string Heartbeat(std::string_view host) const;
  std::string HeartbeatsOfAll() const;
  // theater.<lattice>.h.<host>.ctl.ping: answered by a live host (a request there gets "no
  // responders" at once when the host's process has gone).
  std::string Ping(std::string_view host) const;
  // theater.<lattice>.h.<host>.ctl.actors: answered by the host with its actors (ListActors).
  std::string ActorsOf(std::string_view host) const;
  // The key-value bucket of the lattice's hosts (THEATER_<lattice>_HOSTS), and a host's key in it.
  std::string HostsBucket() const;
  static std::string HostKey(std::string_view host);
  // The key-value bucket of where each actor runs (THEATER_<lattice>_ACTORS), and an actor's
  // key in it.
  std::string ActorsBucket() const;
  static std::string ActorKey(std::string_view actor_id);
  // A replicated actor's key in the replicas bucket: r.<host>.<actor>, by the host that holds
  // it, so that the hosts taking over a lost host read only that host's records.
  static std::string ReplicaKey(std::string_view host, std::string_view actor_id);
  static std::string ReplicaKeyPrefix(std::string_view host);
  // theater.<lattice>.h.<host>.msg: the batches of messages, answers and refusals other hosts
  // send this host (link_frames.h).
  std::string Messages(std::string_view host) const;
  // The JetStream stream of replicated actors' chains (THEATER_<lattice>_CHAINS), the subject of
  // one actor's chain in it (theater.<lattice>.chain.<actor>), and the key-value bucket of what
  // recovers each replicated actor (THEATER_<lattice>_REPLICAS; chain_replicator.h).
  std::string ChainsStream() const;
  std::string ChainSubject(std::string_view actor_id) const;
  // theater.<lattice>.events.<actor>: the events of a watched actor, published by its host while
  // another host subscribes to them (replica frames, one event each).
  std::string EventsSubject(std::string_view actor_id) const;
  std::string ReplicasBucket() const;

 private:
  std::string lattice_;
};

}  // namespace theater::cluster
