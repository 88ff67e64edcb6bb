// Theater: a WebAssembly actor runtime.
//
// Supervision across hosts (docs/distribution.md, "Supervision across hosts"): a parent whose
// child's manifest places it on another host of the lattice keeps the child among its children
// here, while the child runs there.
//
// On the parent's host, a remote child is a RemoteChild: its host and the spawn that made it.
// Stopping or restarting it (supervisor.stop-child, restart-child, the parent's own stop, a
// sibling's one-for-all) asks its host; what becomes of it there (failed, exited, stopped from
// outside) comes back as a child event, which the parent hears and its strategy answers as for
// a local child. A failed child's host keeps its chain until the parent says whether to restart
// it (the chain goes on) or to let it go. When the child's host is lost, the parent hears
// handle-child-error naming the lost host, and its strategy spawns the child afresh by its
// placement (the least loaded host when the one it names is gone).
//
// On the child's host, the child's spawn carries its parent's ancestry of permission policies and
// limits (RemoteParent), and the roots it may read under; when the parent's host is lost, its
// children here stop, as a local parent's children stop with it.
#include <spdlog/spdlog.h>

#include "common/uuid.h"
#include "runtime/runtime_impl.h"

namespace theater::runtime {
namespace {

// How long a failed child's chain waits here for its parent's word (restart or release): longer
// than any lattice round trip; a parent that never answers has lost its host.
constexpr auto kKeptFailureLifetime = std::chrono::minutes(2);

}  // namespace

std::optional<RuntimeImpl::RemoteChild> RuntimeImpl::FindRemoteChild(std::string_view id) const {
  MutexLock lock(remote_mu_);
  auto it = remote_children_.find(std::string(id));
  if (it == remote_children_.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<Actor> RuntimeImpl::ChildOfRemoteParent(const std::string& id) const {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor || !actor->origin().remote_parent) return nullptr;
  return actor;
}

std::optional<std::string> RuntimeImpl::RemoteChildHost(std::string_view id) const {
  MutexLock lock(remote_mu_);
  auto it = remote_children_.find(std::string(id));
  if (it == remote_children_.end()) return std::nullopt;
  return it->second.host;
}

Result<std::string> RuntimeImpl::PlaceChild(const Manifest& manifest,
                                            const SpawnRequest& request) const {
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  const std::string& placement = *manifest.placement;
  if (lattice == nullptr) {
    if (placement == "least-loaded") return std::string();
    return FailedPrecondition("placement = \"" + placement +
                              "\": this host is not in a lattice (theater server --cluster), so "
                              "a child runs on its parent's host");
  }
  Result<std::string> host = lattice->ChooseHost(placement);
  if (!host.ok() && request.actor_id && FindRemoteChild(*request.actor_id)) {
    // A child whose host is gone is spawned again where there is room.
    spdlog::info("child {}: placement \"{}\": {}; placing it on the least loaded host",
                 *request.actor_id, placement, host.status().ToString());
    host = lattice->ChooseHost("least-loaded");
  }
  return host;
}

std::vector<nlohmann::json> RuntimeImpl::AncestryPolicies(const Actor& actor) const {
  std::vector<nlohmann::json> bottom_up;
  std::vector<nlohmann::json> above;  // a remote ancestry, top-level first
  std::shared_ptr<Actor> held;        // keeps the ancestor being read alive
  for (const Actor* at = &actor; at != nullptr;) {
    bottom_up.push_back(at->manifest().permission_policy);
    if (at->origin().remote_parent) {
      above = at->origin().remote_parent->ancestry_policies;
      break;
    }
    held = at->parent_id() ? Find(*at->parent_id()) : nullptr;
    at = held.get();
  }
  above.insert(above.end(), std::make_move_iterator(bottom_up.rbegin()),
               std::make_move_iterator(bottom_up.rend()));
  return above;
}

Result<std::shared_ptr<const EffectivePermissions>> RuntimeImpl::RemoteParentPermissions(
    const RemoteParent& parent) const {
  std::shared_ptr<const EffectivePermissions> permissions = root_permissions_;
  for (const nlohmann::json& table : parent.ancestry_policies) {
    Result<PermissionPolicy> policy = ParsePermissionPolicy(table, policy_handlers_);
    if (!policy.ok()) {
      return policy.status().WithContext("the permission_policy of an ancestor of actor " +
                                         parent.id + " (on host " + parent.host + ")");
    }
    permissions =
        std::make_shared<const EffectivePermissions>(ComputeEffectivePermissions(*permissions, *policy));
  }
  return permissions;
}

void RuntimeImpl::SpawnRemoteChild(SpawnRequest request, const std::shared_ptr<Actor>& parent,
                                   const std::string& host, Callback<std::string> done) {
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  const std::string id = request.actor_id.value_or(NewUuid());
  request.actor_id = id;
  SpawnRequest remote = request;
  remote.parent_id.reset();
  // A relative path names a file of this host's working directory: the child's host is told
  // where that is (the hosts of a lattice that spawn from files share them).
  if (!LooksLikeInlineManifest(remote.manifest) &&
      ClassifyReference(remote.manifest) == ReferenceKind::kFile) {
    remote.manifest = (inline_manifest_dir_ / remote.manifest).lexically_normal().string();
  }
  auto remote_parent = std::make_shared<RemoteParent>();
  remote_parent->id = parent->id();
  remote_parent->host = lattice->host_id();
  remote_parent->ancestry_policies = AncestryPolicies(*parent);
  remote_parent->limits = parent->manifest().limits;
  remote.remote_parent = std::move(remote_parent);
  remote.read_roots = parent->ChildReadRoots();
  // Known before the spawn goes: the child may fail there before its answer arrives here.
  {
    MutexLock lock(remote_mu_);
    remote_children_[id] =
        RemoteChild{parent->id(), host, std::make_shared<const SpawnRequest>(std::move(request))};
  }
  if (!parent->AddChild(id)) {
    MutexLock lock(remote_mu_);
    remote_children_.erase(id);
    done(FailedPrecondition("parent actor " + parent->id() + " is stopping"));
    return;
  }
  spdlog::debug("actor {}: spawning child {} on host {}", parent->id(), id, host);
  lattice->SpawnOn(host, remote, [this, parent, id, host, done](Status spawned) {
    if (spawned.ok()) {
      done(id);
      return;
    }
    {
      MutexLock lock(remote_mu_);
      auto it = remote_children_.find(id);
      if (it != remote_children_.end() && it->second.host == host) remote_children_.erase(it);
    }
    parent->RemoveChild(id);
    done(spawned.WithContext("spawning child " + id + " on host " + host));
  });
}

void RuntimeImpl::SpawnForRemoteParent(SpawnRequest request, std::function<void(Status)> done) {
  // The host's own spawn roots bind it as they bind a local actor's spawn.
  if (request.read_roots) {
    for (const std::filesystem::path& root : options_.spawn_roots) {
      request.read_roots->directories.push_back(root);
    }
  }
  SpawnAsync(std::move(request), [done = std::move(done)](Result<std::string> spawned) {
    done(spawned.status());
  });
}

void RuntimeImpl::ReportToRemoteParent(Actor& actor, const ChildEvent& report) {
  const RemoteParent& parent = *actor.origin().remote_parent;
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  if (lattice == nullptr) return;
  if (report.kind == ChildEvent::Kind::kError) {
    const auto now = std::chrono::steady_clock::now();
    MutexLock lock(remote_mu_);
    std::erase_if(kept_failures_, [&](const auto& entry) {
      return now - entry.second.at > kKeptFailureLifetime;
    });
    kept_failures_[actor.id()] = KeptFailure{actor.origin(), actor.chain(), now};
  }
  lattice->ReportToParent(parent.host, parent.id, report);
}

void RuntimeImpl::SuperviseRemoteChild(const std::shared_ptr<Actor>& parent,
                                       const RemoteChild& child, const ChildEvent& event,
                                       RestartFn restart_failed) {
  const bool restart = event.kind == ChildEvent::Kind::kError &&
                       parent->supervision_policy().strategy != SupervisionPolicy::Strategy::kNone;
  if (!restart) {
    {
      MutexLock lock(remote_mu_);
      remote_children_.erase(event.child_id);
    }
    parent->RemoveChild(event.child_id);
  }
  parent->DeliverChildEvent(event);
  if (restart) {
    ApplySupervision(parent, event, std::move(restart_failed));
    return;
  }
  if (event.kind == ChildEvent::Kind::kError) {
    if (LatticeLink* lattice = lattice_.load(std::memory_order_acquire)) {
      lattice->ControlChildOn(child.host, ChildControl::kRelease, event.child_id, "",
                              [](Result<bool>) {});
    }
  }
}

RuntimeImpl::RestartFn RuntimeImpl::RespawnRemoteChild(
    std::shared_ptr<const SpawnRequest> request) {
  return [this, request = std::move(request)](const Status&, Callback<std::string> done) {
    SpawnAsync(*request, std::move(done));
  };
}

void RuntimeImpl::OnRemoteChildEvent(const std::string& parent_id, const std::string& child_host,
                                     const ChildEvent& event) {
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  std::shared_ptr<Actor> parent = Find(parent_id);
  std::optional<RemoteChild> child = FindRemoteChild(event.child_id);
  if (!parent || !child || child->parent_id != parent_id || child->host != child_host) {
    // A parent gone, or a child it no longer counts there: nothing restarts it.
    if (event.kind == ChildEvent::Kind::kError && lattice != nullptr) {
      lattice->ControlChildOn(child_host, ChildControl::kRelease, event.child_id, "",
                              [](Result<bool>) {});
    }
    return;
  }
  // The failed child's host restarts it, its chain going on; if that host no longer has it
  // (it restarted since, or lost what it kept), it is spawned afresh.
  RestartFn restart = [this, lattice, child = *child, id = event.child_id](
                          const Status& after, Callback<std::string> done) {
    lattice->ControlChildOn(
        child.host, ChildControl::kRestartFailed, id,
        "restarted by supervisor " + child.parent_id + " on host " + lattice->host_id() +
            " after: " + after.ToString(),
        [this, child, id, done](Result<bool> restarted) {
          if (restarted.ok() && *restarted) {
            done(id);
          } else if (restarted.ok() || restarted.status().code() == StatusCode::kUnavailable) {
            SpawnAsync(*child.request, done);
          } else {
            done(restarted.status());
          }
        });
  };
  SuperviseRemoteChild(parent, *child, event, std::move(restart));
}

void RuntimeImpl::OnChildControl(ChildControl op, const std::string& child_id,
                                 const std::string& reason,
                                 std::function<void(Result<bool>)> done) {
  switch (op) {
    case ChildControl::kStop:
    case ChildControl::kRestart: {
      if (!ChildOfRemoteParent(child_id)) {
        done(false);
        return;
      }
      if (op == ChildControl::kStop) {
        StopActor(child_id, StopKind::kGraceful, std::nullopt,
                  [done](bool found) { done(found); });
        return;
      }
      RestartAsync(child_id, [done](Status restarted) {
        if (restarted.ok()) {
          done(true);
        } else {
          done(restarted);
        }
      });
      return;
    }
    case ChildControl::kFence: {
      std::shared_ptr<Actor> actor = Find(child_id);
      if (!actor || !actor->manifest().replicated) {
        done(false);
        return;
      }
      {
        MutexLock lock(fenced_mu_);
        fenced_.insert(child_id);
      }
      ChildEvent report;
      report.kind = ChildEvent::Kind::kError;
      report.child_id = child_id;
      report.error = FailedPrecondition("actor " + child_id + " is fenced: " + reason +
                                        " while this host was cut off or frozen");
      spdlog::warn("actor {}: {}", child_id, report.error.ToString());
      StopActor(child_id, StopKind::kGraceful, report, [done](bool found) { done(found); });
      return;
    }
    case ChildControl::kRestartFailed:
    case ChildControl::kRelease: {
      std::optional<KeptFailure> kept;
      {
        MutexLock lock(remote_mu_);
        auto it = kept_failures_.find(child_id);
        if (it != kept_failures_.end()) {
          kept = std::move(it->second);
          kept_failures_.erase(it);
        }
      }
      if (!kept || op == ChildControl::kRelease) {
        done(kept.has_value());
        return;
      }
      RestartWithChain(kept->origin, kept->chain, reason, [done](Result<std::string> spawned) {
        if (spawned.ok()) {
          done(true);
        } else {
          done(spawned.status());
        }
      });
      return;
    }
  }
  done(InvalidArgument("unknown supervision operation"));
}

void RuntimeImpl::OnChildState(const std::string& child_id, StateDone done) {
  if (!ChildOfRemoteParent(child_id)) {
    done(NotFound("actor " + child_id + " is not a child of another host's actor here"));
    return;
  }
  done(State(child_id));
}

void RuntimeImpl::OnChildEvents(const std::string& child_id, size_t max_bytes, EventsDone done) {
  if (!ChildOfRemoteParent(child_id)) {
    done(NotFound("actor " + child_id + " is not a child of another host's actor here"));
    return;
  }
  done(EventsWithin(child_id, max_bytes));
}

void RuntimeImpl::RemoteChildState(const std::string& id, LatticeSupervision::StateDone done) {
  std::optional<RemoteChild> child = FindRemoteChild(id);
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  if (!child || lattice == nullptr) {
    done(NotFound("actor " + id + " not found"));
    return;
  }
  lattice->ChildStateOn(child->host, id, std::move(done));
}

void RuntimeImpl::RemoteChildEvents(const std::string& id, size_t max_bytes,
                                    LatticeSupervision::EventsDone done) {
  std::optional<RemoteChild> child = FindRemoteChild(id);
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  if (!child || lattice == nullptr) {
    done(NotFound("actor " + id + " not found"));
    return;
  }
  lattice->ChildEventsOn(child->host, id, max_bytes, std::move(done));
}

void RuntimeImpl::StopRemoteChild(const std::string& id, const RemoteChild& child,
                                  std::optional<ChildEvent> report,
                                  std::function<void(bool)> done) {
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  if (lattice == nullptr) {
    done(false);
    return;
  }
  lattice->ControlChildOn(
      child.host, ChildControl::kStop, id, report ? report->reason : std::string(),
      [this, id, child, report = std::move(report), done = std::move(done)](Result<bool> stopped) {
        // Not there, or its host gone with it: either way it no longer runs.
        {
          MutexLock lock(remote_mu_);
          remote_children_.erase(id);
        }
        std::shared_ptr<Actor> parent = Find(child.parent_id);
        if (parent) {
          parent->RemoveChild(id);
          if (report) parent->DeliverChildEvent(*report);
        }
        done(stopped.ok() ? *stopped : stopped.status().code() == StatusCode::kUnavailable);
      });
}

void RuntimeImpl::RestartRemoteChild(const std::string& id, const RemoteChild& child,
                                     std::function<void(Status)> done) {
  LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
  if (lattice == nullptr) {
    done(NotFound("actor " + id + " not found"));
    return;
  }
  lattice->ControlChildOn(child.host, ChildControl::kRestart, id, "",
                          [id, host = child.host, done = std::move(done)](Result<bool> restarted) {
                            if (!restarted.ok()) {
                              done(restarted.status().WithContext("restarting child " + id +
                                                                  " on host " + host));
                            } else if (!*restarted) {
                              done(NotFound("child " + id + " is not running on host " + host));
                            } else {
                              done(Status::Ok());
                            }
                          });
}

void RuntimeImpl::OnHostGone(const std::string& host, const std::string& why) {
  // This host's parents of children there: each hears that its child failed with its host.
  std::vector<std::pair<std::string, RemoteChild>> lost;
  {
    MutexLock lock(remote_mu_);
    for (const auto& [id, child] : remote_children_) {
      if (child.host == host) lost.emplace_back(id, child);
    }
  }
  for (const auto& [id, child] : lost) {
    std::shared_ptr<Actor> parent = Find(child.parent_id);
    if (!parent) continue;
    ChildEvent event;
    event.kind = ChildEvent::Kind::kError;
    event.child_id = id;
    event.error = Unavailable("host " + host + " " + why);
    spdlog::warn("actor {}: child {} failed with its host: {}", parent->id(), id,
                 event.error.ToString());
    SuperviseRemoteChild(parent, child, event, RespawnRemoteChild(child.request));
  }
  // Children here of parents there: they stop, as a local parent's children stop with it.
  std::vector<std::string> orphans;
  {
    ReaderLock lock(mu_);
    for (const auto& [id, actor] : actors_) {
      const auto& parent = actor->origin().remote_parent;
      if (parent && parent->host == host) orphans.push_back(id);
    }
  }
  {
    MutexLock lock(remote_mu_);
    std::erase_if(kept_failures_, [&](const auto& entry) {
      return entry.second.origin.remote_parent->host == host;
    });
  }
  for (const std::string& id : orphans) {
    spdlog::warn("actor {}: its parent's host {} is gone ({}): it stops", id, host, why);
    StopActor(id, StopKind::kGraceful, std::nullopt, [](bool) {});
  }
}

}  // namespace theater::runtime
