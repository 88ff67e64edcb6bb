// Theater: a WebAssembly actor runtime.
//
// The lattice's lease, as the runtime keeps it (docs/distribution.md, "The lease"): a host cut
// off from its lattice's NATS for longer than its lease pauses its actors, so that a copy taken
// over elsewhere never acts beside this one, and resumes them when it hears NATS again. An actor
// busy in an operation finishes that operation first (a pause when idle); an actor an operator
// paused stays paused either way.
#include <spdlog/spdlog.h>

#include "runtime/runtime_impl.h"

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

}  // namespace theater::runtime
