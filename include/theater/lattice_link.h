// Theater: a WebAssembly actor runtime.
//
// LatticeLink: what a runtime that is one host of a lattice (docs/distribution.md) asks of the
// lattice. The runtime records each actor it starts and stops in the lattice's directory through
// it, and its router reaches the actors of other hosts through its routes. src/cluster/
// implements it over NATS; a single host has none, and pays nothing for it.
//
// Thread-safety: every method may be called from any thread, concurrently.
// Ownership: the runtime holds it (TheaterRuntime::JoinLattice) until it is destroyed.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "theater/router.h"
#include "theater/status.h"

namespace theater {

class LatticeLink {
 public:
  virtual ~LatticeLink() = default;
  // Actor `id` is starting on this host: the directory is told, before anyone can find it here.
  // kAlreadyExists when another live host holds `id` (the spawn is refused: two live copies of
  // one actor never run); kUnavailable when the directory cannot be reached.
  [[nodiscard]] virtual Status ClaimActor(std::string_view id) = 0;
  // Actor `id` no longer runs here (stopped or failed). Not called for an actor kept for
  // recovery by this host's shutdown: it is still this host's, and comes back with it.
  virtual void ReleaseActor(std::string_view id) = 0;
  // The routes to the other hosts' participants, for the runtime's router; the link delivers
  // what other hosts send here through `router`, which outlives the link's use of it.
  virtual void Bind(messaging::Router& router) = 0;
  virtual messaging::RemoteRoutes& routes() = 0;
  // This host's name in the lattice.
  virtual std::string host_id() const = 0;
  // Tells `listener` when this host loses its lease (held = false: it is cut off from the
  // lattice, and its actors must not act until it is back; docs/distribution.md, "The lease")
  // and when it holds it again. nullptr clears it; when that call returns, no call of the old
  // listener is running. A link without leases never calls it.
  virtual void SetLeaseListener(std::function<void(bool held, const std::string& why)> listener) {
    (void)listener;
  }
};

}  // namespace theater
