// Theater: a WebAssembly actor runtime.
//
// The runtime's spawn path: a spawn request read and checked on the loader pool (its manifest,
// initial state, permissions, limits and placement; http(s) references fetched on the I/O loop
// first), then its module loaded, and the actor created, registered and begun (LaunchActor).
// A child placed on another host of a lattice leaves here for remote_children.cc.
#include <spdlog/spdlog.h>

#include "common/nesting_guard.h"
#include "common/utf8.h"
#include "common/uuid.h"
#include "runtime/runtime_impl.h"
#include "theater/lattice_link.h"
#include "theater/limits.h"

namespace theater::runtime {
namespace {

// The error an actor's `spawn` returns when loading its manifest failed. A parse error may quote
// what the host read on the actor's behalf (a manifest file, an init_state file or download, a
// manifest filled in from those), which the actor may have no right to read: such errors are
// logged on the host in full and returned without their text. An inline manifest that names no
// init_state holds only what the actor wrote itself, and its errors are returned whole.
Status WithoutReadContent(const Status& error, std::string_view manifest, std::string_view parent) {
  const bool content_error =
      error.code() == StatusCode::kParseError || error.code() == StatusCode::kInvalidArgument;
  const bool own_text =
      LooksLikeInlineManifest(manifest) && manifest.find("init_state") == std::string_view::npos;
  if (!content_error || own_text) return error;
  spdlog::warn("actor {}: spawn failed: {}", parent, error.ToString());
  std::string name(manifest.substr(0, std::min<size_t>(manifest.size(), 200)));
  if (LooksLikeInlineManifest(manifest)) name = "<inline manifest>";
  return Status(error.code(), name +
                                  ": the manifest or its init_state is not valid (the details are "
                                  "in the host's log: they may quote what the spawning actor "
                                  "cannot read)");
}

// A child's limits never exceed its parent's: a limit the child's manifest raises above the
// parent's is refused; one it leaves at the default is lowered to the parent's.
Status CapLimitsAtParent(ManifestLimits& child, const ManifestLimits& parent) {
  struct Field {
    const char* name;
    uint64_t ManifestLimits::*member;
    uint64_t default_value;
  };
  static constexpr Field kFields[] = {
      {"init_deadline_ms", &ManifestLimits::init_deadline_ms,
       ManifestLimits::kDefaultInitDeadlineMs},
      {"call_deadline_ms", &ManifestLimits::call_deadline_ms,
       ManifestLimits::kDefaultCallDeadlineMs},
      {"memory_limit_mb", &ManifestLimits::memory_limit_mb, ManifestLimits::kDefaultMemoryLimitMb},
      {"stack_size_kb", &ManifestLimits::stack_size_kb, ManifestLimits::kDefaultStackSizeKb},
      {"mailbox_capacity", &ManifestLimits::mailbox_capacity,
       ManifestLimits::kDefaultMailboxCapacity},
  };
  for (const Field& f : kFields) {
    uint64_t& value = child.*f.member;
    const uint64_t cap = parent.*f.member;
    if (value <= cap) continue;
    if (value != f.default_value) {
      return PermissionDenied("limits." + std::string(f.name) + " = " + std::to_string(value) +
                              " is above the parent's " + std::to_string(cap) +
                              ": a child's limits cannot exceed its parent's");
    }
    value = cap;
  }
  return Status::Ok();
}

}  // namespace

void RuntimeImpl::SpawnAsync(SpawnRequest request, Callback<std::string> done) {
  SpawnWithChain(std::move(request), nullptr, std::move(done));
}

void RuntimeImpl::SpawnWithChain(SpawnRequest request, std::shared_ptr<chain::EventChain> chain,
                                 Callback<std::string> done) {
  if (shut_down_) {
    done(FailedPrecondition("the runtime is shut down"));
    return;
  }
  // Everything after this reads files, fetches URLs, reads stores or compiles modules: it runs on
  // the loader pool, never on the caller's thread (the management server's I/O thread, or an
  // executor worker under a guest's suspended `spawn`).
  auto shared_done = std::make_shared<Callback<std::string>>(std::move(done));
  Status posted = loader_->Post(
      [this, request = std::move(request), chain = std::move(chain), shared_done]() mutable {
        SpawnNow(std::move(request), std::move(chain), std::move(*shared_done));
      });
  if (!posted.ok()) (*shared_done)(posted.WithContext("spawn refused"));
}

void RuntimeImpl::SpawnNow(SpawnRequest request, std::shared_ptr<chain::EventChain> chain,
                           Callback<std::string> done, std::shared_ptr<FetchedUrls> fetched) {
  if (shut_down_) {
    done(FailedPrecondition("the runtime is shut down"));
    return;
  }
  if (Status admitted = admission_->AdmitOne(); !admitted.ok()) {
    done(admitted);
    return;
  }
  std::shared_ptr<Actor> parent;
  if (request.parent_id) {
    parent = Find(*request.parent_id);
    if (!parent) {
      done(NotFound("parent actor " + *request.parent_id + " is not running"));
      return;
    }
  }
  // A reference (not the text itself) longer than any path or URL is refused before anything
  // quotes it: an error then carries a few hundred bytes of it, not the input several times.
  if (request.manifest.size() > limits::kMaxReferenceBytes &&
      !LooksLikeInlineManifest(request.manifest)) {
    done(InvalidArgument("the manifest reference " + QuoteInput(request.manifest) +
                         " is over the limit of " + std::to_string(limits::kMaxReferenceBytes) +
                         " bytes for a path, store:// or http(s):// reference"));
    return;
  }
  // A child whose parent runs on another host (remote_children.cc): its parent's permissions
  // are recomputed here from the ancestry its spawn carries, and it reads only under the roots
  // its spawn carries.
  std::shared_ptr<const EffectivePermissions> remote_parent_permissions;
  if (request.remote_parent) {
    Result<std::shared_ptr<const EffectivePermissions>> computed =
        RemoteParentPermissions(*request.remote_parent);
    if (!computed.ok()) {
      done(computed.status());
      return;
    }
    remote_parent_permissions = std::move(computed).value();
    if (!request.read_roots) request.read_roots = LocalReadRoots{};  // none given: no file
  }
  const EffectivePermissions* spawner_permissions =
      parent ? &parent->permissions() : remote_parent_permissions.get();
  // Errors up to the child's init may quote what was read on a guest spawner's behalf.
  Callback<std::string> begin_done = done;
  if (parent) {
    done = [begin_done, manifest = request.manifest,
            parent_id = parent->id()](Result<std::string> r) {
      if (!r.ok()) r = WithoutReadContent(r.status(), manifest, parent_id);
      begin_done(std::move(r));
    };
  }
  // The initial state: for a spawn, JSON merged over the manifest's init_state; for a resume,
  // the given bytes as they are.
  std::optional<nlohmann::json> override_state;
  if (!request.resume && request.state) {
    if (request.state->size() > limits::kMaxInitStateBytes) {
      done(ResourceExhausted("the initial state given at spawn is " +
                             std::to_string(request.state->size()) + " bytes, over the limit of " +
                             std::to_string(limits::kMaxInitStateBytes) + " bytes"));
      return;
    }
    const std::string_view text(reinterpret_cast<const char*>(request.state->data()),
                                request.state->size());
    Status shape =
        CheckJsonNesting(text, limits::kMaxJsonDepth, "the initial state given at spawn");
    if (!shape.ok()) {
      done(shape);
      return;
    }
    nlohmann::json parsed = nlohmann::json::parse(request.state->begin(), request.state->end(),
                                                  nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      done(InvalidArgument("the initial state given at spawn is not valid JSON"));
      return;
    }
    override_state = std::move(parsed);
  }
  // A store:// reference in a spawn (the manifest, its component, its init_state) is read only
  // if the spawner may read that store: a child must not read through its manifest what its
  // parent could not read itself.
  StoreReader store_reader = [this, spawner_permissions, remote_parent_permissions](
                                 const std::string& reference) -> Result<std::vector<uint8_t>> {
    if (spawner_permissions != nullptr) {
      std::string_view rest(reference);
      if (rest.starts_with("store://")) rest.remove_prefix(8);
      // Governed by the permission of the handler that fronts the content store ("store").
      const std::string store_id(rest.substr(0, rest.find('/')));
      const PermissionRules* rules = registry_.PermissionRulesOf(kStorePermission);
      const Permission* granted = spawner_permissions->Find(kStorePermission);
      Status allowed = granted == nullptr ? PermissionDenied(
                                                "Operation denied: store not permitted by store "
                                                "permissions")
                       : rules != nullptr ? rules->CheckAccess(*granted, store_id)
                                          : Status();
      // The caller names the reference (LoadReference): quoted once.
      if (!allowed.ok()) return allowed.WithContext("the spawning actor may not read this store");
    }
    return ReadStoreReference(reference);
  };
  // What the spawn may read of the local filesystem (docs/security.md, "What a spawn may
  // read"): an actor's spawn what that actor may read, a spawn that carries read_roots (a client
  // beyond loopback's, its restarts) what lies under them, the operator's own spawn anything.
  std::shared_ptr<const LocalReadScope> read_scope;
  if (parent) {
    read_scope = parent->ChildReadScope();
    if (!read_scope) {
      done(FailedPrecondition("parent actor " + parent->id() + " is stopping"));
      return;
    }
    // The roots its parent's origin carried bind the child and its descendants in turn; the
    // client that started the tree answers for its fetches too.
    request.read_roots = parent->origin().read_roots;
    request.client = parent->origin().client;
  } else if (request.read_roots) {
    read_scope =
        std::make_shared<const LocalReadScope>(LocalReadScope::FromRoots(*request.read_roots));
  }
  LocalFileReader files;
  if (read_scope) {
    files = [read_scope](const std::string& path, std::string_view what, uint64_t max_bytes) {
      return read_scope->Read(path, what, max_bytes);
    };
  }
  // http(s) references are read from what this spawn has fetched already; the first one that is
  // not ends this run, and FetchThenSpawn runs the spawn again once it is fetched. No loader
  // thread waits on a network (docs/runtime.md, "Spawning from URLs").
  std::optional<UrlToFetch> to_fetch;
  UrlReader urls = [&fetched, &to_fetch](const std::string& url, std::string_view,
                                         uint64_t max_bytes) -> Result<std::vector<uint8_t>> {
    if (fetched) {
      if (auto it = fetched->find(url); it != fetched->end()) return it->second;
    }
    to_fetch = UrlToFetch{url, max_bytes};
    return Unavailable("fetching " + QuoteInput(url) + " has not ended yet");
  };
  Result<ManifestWithState> loaded = [&]() -> Result<ManifestWithState> {
    if (LooksLikeInlineManifest(request.manifest)) {
      return ParseManifestWithState(request.manifest, inline_manifest_dir_, "<inline manifest>",
                                    override_state, {}, store_reader, files, urls);
    }
    switch (ClassifyReference(request.manifest)) {
      case ReferenceKind::kStore:
        return LoadManifestWithStateFromStore(request.manifest, override_state, store_reader, files,
                                              urls);
      case ReferenceKind::kUrl:
        return LoadManifestWithStateFromUrl(request.manifest, override_state, store_reader, files,
                                            urls);
      case ReferenceKind::kFile:
        break;
    }
    return LoadManifestWithState(request.manifest, override_state, store_reader, files, urls);
  }();
  if (!loaded.ok()) {
    if (to_fetch) {
      FetchThenSpawn(std::move(request), std::move(chain), std::move(begin_done), done,
                     std::move(fetched), std::move(*to_fetch));
      return;
    }
    done(loaded.status());
    return;
  }
  // Shared by every spawn of the same text; a spawn that changes it gets a copy of its own.
  std::shared_ptr<const Manifest> manifest = std::move(loaded->manifest);
  auto own = [&manifest]() -> Manifest& {
    auto copy = std::make_shared<Manifest>(*manifest);
    Manifest& changed = *copy;
    manifest = std::move(copy);
    return changed;
  };
  for (const std::string& warning : manifest->warnings) spdlog::warn("{}", warning);
  if (manifest->placement && !request.placed) {
    if (!parent) {
      if (Status placed = CheckPlacementHere(*manifest->placement); !placed.ok()) {
        done(placed.WithContext(manifest->source_name));
        return;
      }
    } else {
      // A child may run on another host of the lattice (supervision across hosts).
      Result<std::string> host = PlaceChild(*manifest, request);
      if (!host.ok()) {
        done(host.status().WithContext(manifest->source_name));
        return;
      }
      LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
      if (lattice != nullptr && *host != lattice->host_id()) {
        SpawnRemoteChild(std::move(request), parent, *host, std::move(done));
        return;
      }
      if (request.actor_id) {
        // A child that ran on another host is restarted here: it is this host's now.
        MutexLock lock(remote_mu_);
        remote_children_.erase(*request.actor_id);
      }
    }
  }
  if (parent || request.remote_parent) {
    Manifest& capped_manifest = own();
    Status capped = CapLimitsAtParent(
        capped_manifest.limits,
        parent ? parent->manifest().limits : request.remote_parent->limits);
    if (!capped.ok()) {
      done(capped.WithContext(manifest->source_name));
      return;
    }
  }
  StateBytes state;
  if (request.resume) {
    if (request.state) state = std::make_shared<const std::vector<uint8_t>>(*request.state);
  } else if (loaded->state) {
    state = std::make_shared<const std::vector<uint8_t>>(std::move(*loaded->state));
  }

  Result<std::shared_ptr<const EffectivePermissions>> permissions =
      PermissionsUnder(*manifest, spawner_permissions);
  if (!permissions.ok()) {
    done(permissions.status());
    return;
  }

  Result<std::shared_ptr<const engine::Module>> module = LoadComponent(
      manifest->component, manifest->component_kind, store_reader, read_scope.get(), urls);
  if (!module.ok()) {
    if (to_fetch) {
      FetchThenSpawn(std::move(request), std::move(chain), std::move(begin_done), done,
                     std::move(fetched), std::move(*to_fetch));
      return;
    }
    done(module.status().WithContext(manifest->source_name));
    return;
  }

  LaunchActor(std::move(request), std::move(parent), std::move(manifest), std::move(state),
              std::move(module).value(), std::move(permissions).value(), std::move(chain), nullptr,
              std::move(done), std::move(begin_done));
}

void RuntimeImpl::FetchThenSpawn(SpawnRequest request, std::shared_ptr<chain::EventChain> chain,
                                 Callback<std::string> respawn_done,
                                 const Callback<std::string>& fail,
                                 std::shared_ptr<FetchedUrls> fetched, UrlToFetch needed) {
  if (!fetched) fetched = std::make_shared<FetchedUrls>();
  // Counted against the client that asked (for a child: the client that started its tree), and
  // against the actor whose child it is (a guest's spawn, or its supervision's restart of a
  // child) and each of that actor's ancestors.
  SpawnFetcher::Requester who;
  who.client = request.client;
  for (std::optional<std::string> id = request.parent_id; id;) {
    std::shared_ptr<Actor> actor = Find(*id);
    who.actors.push_back(std::move(*id));
    id.reset();
    if (actor) id = actor->parent_id();
  }
  FetchOptions options;
  options.max_bytes = needed.max_bytes;
  struct Resume {
    SpawnRequest request;
    std::shared_ptr<chain::EventChain> chain;
    Callback<std::string> done;
  };
  auto resume = std::make_shared<Resume>(
      Resume{std::move(request), std::move(chain), std::move(respawn_done)});
  Status started =
      fetcher_->Start(needed.url, options, who,
                      [this, resume, fetched, url = needed.url](Result<std::vector<uint8_t>> body) {
                        // The run that asked has ended: only this callback touches `fetched` now,
                        // and then the next run, after the pool's hand-over.
                        fetched->insert_or_assign(url, std::move(body));
                        Status posted = loader_->Post([this, resume, fetched]() mutable {
                          SpawnNow(std::move(resume->request), std::move(resume->chain),
                                   std::move(resume->done), std::move(fetched));
                        });
                        if (!posted.ok()) resume->done(posted.WithContext("spawn refused"));
                      });
  if (!started.ok()) fail(started);
}

Status RuntimeImpl::CapLimits(ManifestLimits& child, const ManifestLimits& parent) {
  return CapLimitsAtParent(child, parent);
}

Result<std::shared_ptr<const EffectivePermissions>> RuntimeImpl::PermissionsUnder(
    const Manifest& manifest, const EffectivePermissions* parent) const {
  Result<PermissionPolicy> policy =
      ParsePermissionPolicy(manifest.permission_policy, policy_handlers_);
  if (!policy.ok()) return policy.status().WithContext(manifest.source_name);
  // A child's permissions are its parent's, narrowed by its manifest's policy; a top-level
  // actor's are the root permissions, narrowed the same way (shared when it has no policy).
  if (parent) {
    return std::make_shared<const EffectivePermissions>(
        ComputeEffectivePermissions(*parent, *policy));
  }
  if (!manifest.permission_policy.empty()) {
    return std::make_shared<const EffectivePermissions>(
        ComputeEffectivePermissions(*root_permissions_, *policy));
  }
  return root_permissions_;
}

void RuntimeImpl::LaunchActor(SpawnRequest request, std::shared_ptr<Actor> parent,
                              std::shared_ptr<const Manifest> manifest, StateBytes state,
                              std::shared_ptr<const engine::Module> module,
                              std::shared_ptr<const EffectivePermissions> permissions,
                              std::shared_ptr<chain::EventChain> chain,
                              const ChainContinuation* recovery, Callback<std::string> done,
                              Callback<std::string> begin_done) {
  std::string id = request.actor_id.value_or(NewUuid());
  if (!IsUuid(id)) {
    done(InvalidArgument("actor id " + QuoteInput(id) + " is not a UUID"));
    return;
  }
  // A recovered actor's chain is saved by definition (only such actors are recovered).
  bool persist =
      options_.persist &&
      (recovery != nullptr || manifest->save_chain.value_or(options_.save_chains_by_default) ||
       options_.save_all_chains);
  if (recovery != nullptr) {
    chain = NewChain(id, persist, recovery);
    chain->Append(chain::Lifecycle{"actor-recovered", recovery->note});
  }
  if (!chain) chain = NewChain(id, persist);
  chain->Append(chain::Lifecycle{
      "actor-load",
      chain::ActorLoadMessage(id, manifest->name, manifest->version, module->wasm_sha256(),
                              chain::RecordedLimits{manifest->limits.memory_limit_mb << 20,
                                                    manifest->limits.stack_size_kb * 1024,
                                                    manifest->limits.init_deadline_ms,
                                                    manifest->limits.call_deadline_ms})});
  if (state) {
    // What the instance starts from, so that a replay starts there too (none: no event).
    chain->AppendWith(chain::kLifecycleEventType, [&](std::vector<uint8_t>& payload) {
      chain::EncodeInitialStateTo(recovery != nullptr ? "recovery"
                                  : request.resume    ? "resume"
                                                      : "init_state",
                                  abi::Value::Bytes(*state), payload, byte_spill_.get());
    });
  }

  // A setup that fails once the chain has begun ends the chain with the error and, when the
  // chain is kept, registers the actor as failed: `list-stored` then shows whose chain it is
  // and why it stopped, never a chain without a name.
  const std::string name = manifest->name;
  const std::optional<std::string> parent_id = request.parent_id;
  auto fail_setup = [&](const Status& error, const std::string& origin_manifest) {
    chain->Append(chain::Lifecycle{"runtime-setup", "error: " + error.ToString()});
    // (A recovery's row is the recovery's to mark.)
    if (persist && store_ && recovery == nullptr) {
      chain::ActorRecord record;
      record.actor_id = id;
      record.name = name;
      record.manifest = origin_manifest;
      record.status = "failed";
      record.parent_id = parent_id;
      if (Status registered = store_->UpsertActor(record); !registered.ok()) {
        spdlog::warn("actor {}: registry: {}", id, registered.ToString());
      }
    }
    done(error);
  };

  Result<std::vector<std::unique_ptr<Handler>>> handlers =
      registry_.Activate(*manifest, *module, options_.auto_handlers);
  if (!handlers.ok()) return fail_setup(handlers.status(), request.manifest);
  // What the runtime-setup event lists once every handler is set up.
  std::string handler_names;
  for (const std::unique_ptr<Handler>& handler : *handlers) {
    handler_names += (handler_names.empty() ? "" : ", ") + std::string(handler->name());
  }
  static std::atomic<uint64_t> sequence{0};
  const bool resume = request.resume;
  Actor::Config config;
  config.id = id;
  config.parent_id = request.parent_id;
  config.origin = std::move(request);  // moved: an inline manifest's text is not copied again
  config.origin.actor_id = id;
  // The origin is what a restart spawns from again. A resume that brought no state of its own (a
  // recovery, a takeover, a move: the state came from the chain) is not one to repeat: its
  // restart starts afresh, with init. One that brought its state resumes from it again.
  if (!config.origin.state) config.origin.resume = false;
  config.manifest = std::move(manifest);
  config.permissions = permissions;
  config.chain = chain;
  config.sequence = ++sequence;
  config.persisted = persist && store_;
  if (recovery != nullptr) config.handler_history = recovery->handler_history;
  auto actor = std::make_shared<Actor>(*this, std::move(config));
  Status setup = actor->Setup(std::move(module), std::move(state), std::move(handlers).value());
  if (!setup.ok()) return fail_setup(setup, actor->origin().manifest);
  chain->Append(chain::Lifecycle{
      "runtime-setup", "ok: handlers " + (handler_names.empty() ? "(none)" : handler_names)});
  if (LatticeLink* lattice = lattice_.load(std::memory_order_acquire)) {
    // The lattice's directory knows it before anyone can find it here (a restart claims the
    // id it holds already, which costs a read).
    Status claimed = lattice->ClaimActor(id);
    if (!claimed.ok()) {
      chain->Append(chain::Lifecycle{"runtime-setup", "error: " + claimed.ToString()});
      done(claimed);
      return;
    }
  }
  if (actor->manifest().replicated) {
    // Copied into the lattice from its first event (a recovery: from where the copy ends).
    Status replicated = BeginReplication(*actor, recovery != nullptr ? recovery->next_index : 0);
    if (!replicated.ok()) {
      if (LatticeLink* lattice = lattice_.load(std::memory_order_acquire)) {
        lattice->ReleaseActor(id);
      }
      return fail_setup(replicated, actor->origin().manifest);
    }
  }
  {
    // Registered and listed by its parent in one step: a parent that begins to stop either lists
    // it before its stop takes the list of children to stop (and then finds it registered), or
    // refuses it here, before anyone can find it.
    WriterLock lock(mu_);
    if (actors_.find(id) != actors_.end()) {
      lock.Unlock();
      done(AlreadyExists("actor id " + id + " is already in use"));
      return;
    }
    if (parent && !parent->AddChild(id)) {
      lock.Unlock();
      return fail_setup(FailedPrecondition("parent actor " + parent->id() + " is stopping"),
                        actor->origin().manifest);
    }
    actors_.emplace(id, actor);
  }
  // A recovered actor's row says so already (RecoverOne marks one it finds otherwise).
  if (store_ && recovery == nullptr) {
    Status registered = store_->UpsertActor(RegistryRecord(*actor, "running"));
    if (!registered.ok()) spdlog::warn("actor {}: registry: {}", id, registered.ToString());
  }
  spdlog::debug("actor {} ({}): Starting", id, actor->name());
  actor->Begin(resume, [id, done = std::move(begin_done)](Status ready) {
    if (ready.ok()) {
      done(id);
    } else {
      done(ready.WithContext("init of actor " + id));
    }
  });
}

}  // namespace theater::runtime
