// Theater: a WebAssembly actor runtime.
//
// Replicated actors, as the runtime keeps them (docs/distribution.md, "Replicated actors"): an
// actor whose manifest says `durability = "replicated"` has its chain copied into the lattice as
// it is written (the lattice link's ReplicateActor), beside what recovers it on another host (its
// registry record and manifest text). When its host is lost another host takes it over
// (TakeOver, recovery.cc) with its last state. A copy that finds another host has taken it over
// meanwhile (fenced) stops itself, and leaves what the lattice holds of it alone.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "runtime/runtime_impl.h"

namespace theater::runtime {

std::string RuntimeImpl::ReplicaRecord(const Actor& actor) {
  const chain::ActorRecord row = RegistryRecord(actor, "running", /*portable=*/true);
  return nlohmann::json{{"actor_id", row.actor_id},
                        {"name", row.name},
                        {"manifest", row.manifest},
                        {"recovery", row.recovery},
                        {"manifest_text", actor.manifest().text}}
      .dump();
}

Status RuntimeImpl::BeginReplication(const Actor& actor, size_t from_index) {
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  if (lattice == nullptr) {
    return FailedPrecondition(
        "durability = \"replicated\" needs a lattice to replicate into (theater server "
        "--cluster)");
  }
  if (!actor.persisted()) {
    return FailedPrecondition(
        "durability = \"replicated\" needs the actor's chain saved (a persisting host, and "
        "save_chain not false): the host that takes it over recovers it from its chain");
  }
  const std::string id = actor.id();
  return lattice->ReplicateActor(
      id, actor.chain(), from_index, ReplicaRecord(actor), [this, id](Status why) {
        spdlog::warn("actor {}: its copy on this host stops: {}", id, why.ToString());
        {
          MutexLock lock(fenced_mu_);
          fenced_.insert(id);
        }
        ChildEvent report;
        report.kind = ChildEvent::Kind::kError;
        report.child_id = id;
        report.error = why;
        StopActor(id, StopKind::kGraceful, report, [](bool) {});
      });
}

void RuntimeImpl::EndReplicationOf(const Actor& actor, bool restarting) {
  if (restarting) return;  // the chain goes on, and so does its copy
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  if (lattice == nullptr) return;
  bool fenced = false;
  {
    MutexLock lock(fenced_mu_);
    fenced = fenced_.erase(actor.id()) > 0;
  }
  // A shutdown keeps it for the host that takes it over; a fenced copy's lattice state is the
  // other host's.
  lattice->EndReplication(actor.id(), /*forget=*/!fenced && !shut_down_);
}

}  // namespace theater::runtime
