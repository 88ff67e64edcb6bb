// Theater: a WebAssembly actor runtime.
//
// The runtime's part in a lattice beyond messages and supervision. The lease, as the runtime
// keeps it (docs/distribution.md, "The lease"): a host cut off from its lattice's NATS for
// longer than its lease pauses its actors, so that a copy taken over elsewhere never acts beside
// this one, and resumes them when it hears NATS again. An actor busy in an operation finishes
// that operation first (a pause when idle); an actor an operator paused stays paused either way.
// And placement: which top-level manifests may start on this host (a child's placement is
// remote_children.cc's).
#include <spdlog/spdlog.h>

#include "runtime/runtime_impl.h"
#include "theater/lattice_link.h"

namespace theater::runtime {

void RuntimeImpl::OnLatticeLease(bool held, const std::string& why) {
  if (!held) {
    std::vector<std::string> paused;
    for (const ActorSummary& actor : List()) {
      if (actor.phase == ActorPhase::kPaused) continue;  // an operator's pause stays theirs
      if (Pause(actor.id, PauseWhen::kWhenIdle).ok()) paused.push_back(actor.id);
    }
    spdlog::warn("runtime: the lease is lost ({}): {} actor{} paused until it holds again", why,
                 paused.size(), paused.size() == 1 ? "" : "s");
    MutexLock lock(lease_mu_);
    lease_paused_.insert(lease_paused_.end(), paused.begin(), paused.end());
    return;
  }
  std::vector<std::string> paused;
  {
    MutexLock lock(lease_mu_);
    paused.swap(lease_paused_);
  }
  size_t resumed = 0;
  for (const std::string& id : paused) resumed += Resume(id).ok() ? 1 : 0;
  spdlog::warn("runtime: the lease holds again: {} actor{} resumed", resumed,
               resumed == 1 ? "" : "s");
}

Status RuntimeImpl::CheckPlacementHere(const std::string& placement) const {
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  const std::string here = lattice ? lattice->host_id() : std::string();
  if (placement == "least-loaded" || placement == here) return Status::Ok();
  if (!lattice) {
    return FailedPrecondition("placement = \"" + placement +
                              "\": this host is not in a lattice (theater server --cluster)");
  }
  return FailedPrecondition("placement = \"" + placement + "\" names another host than this one (" +
                            here +
                            "): start it through a management server of the lattice, which "
                            "places it (theater start)");
}

}  // namespace theater::runtime
