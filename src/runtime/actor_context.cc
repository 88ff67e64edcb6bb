// Theater: a WebAssembly actor runtime.
//
// The Actor as its handlers see it: the ActorContext overrides (include/theater/host_api.h),
// each a thin door onto the actor's host, mailbox and the runtime's supervision machinery.
#include "common/composed_name.h"
#include "common/fetch.h"
#include "runtime/actor.h"
#include "runtime/await.h"
#include "runtime/runtime_impl.h"

namespace theater::runtime {

HostServices& Actor::services() {
  return runtime_;
}

void Actor::Log(std::string_view line) {
  CallingHost().Log(line);
}

bool Actor::RecordCustomEvent(std::string_view type, std::span<const uint8_t> data) {
  return CallingHost().RecordCustomEvent(type, data);
}

std::shared_ptr<const std::vector<uint8_t>> Actor::CallState() const {
  return CallingHost().state();
}

std::vector<chain::Event> Actor::HeldEvents() const {
  return config_.chain->events();
}

void Actor::RecordHostCall(std::string_view interface_name, std::string_view function,
                           std::span<const abi::Value> input, std::span<const abi::Value> output) {
  // Composed on the stack: a handler records a host call on every call it serves.
  const ComposedName event_type({interface_name, "/", function});
  CallingHost().RecordHostCall(event_type.view(), interface_name, function, input,
                               {output, nullptr});
}

void Actor::RecordFailedHostCall(std::string_view interface_name, std::string_view function,
                                 std::span<const abi::Value> input, std::string_view error) {
  const ComposedName event_type({interface_name, "/", function});
  const std::string message(error);
  CallingHost().RecordHostCall(event_type.view(), interface_name, function, input, {{}, &message});
}

std::vector<WasiPreopen> Actor::WasiPreopens() {
  MutexLock lock(grants_mu_);
  std::vector<WasiPreopen> preopens;
  if (handlers_stopped_) return preopens;
  for (auto& handler : handlers_) {
    for (WasiPreopen& preopen : handler->WasiPreopens()) preopens.push_back(std::move(preopen));
  }
  return preopens;
}

std::shared_ptr<const LocalReadScope> Actor::ChildReadScope() {
  {
    // Made once: every later child's spawn (and restart) takes it as it is.
    MutexLock lock(grants_mu_);
    if (child_read_scope_ || handlers_stopped_) return child_read_scope_;
  }
  std::vector<WasiPreopen> granted = WasiPreopens();
  MutexLock lock(grants_mu_);
  if (child_read_scope_ || handlers_stopped_) return child_read_scope_;
  const std::optional<LocalReadRoots>& roots = config_.origin.read_roots;
  const std::vector<std::filesystem::path>& shared = runtime_.options().spawn_roots;
  std::string where = "its filesystem grant, the directory of its own manifest";
  if (!shared.empty()) where += ", the host's spawn roots (--spawn-root)";
  if (roots) where += ", its origin's roots (" + roots->rule + ")";
  auto scope = std::make_shared<LocalReadScope>(
      "an actor's spawn may read only files under " + where +
      "; grant the directory, place the file beside the actor's manifest, use a store:// "
      "reference" +
      std::string(shared.empty() ? ", or start the server with --spawn-root DIR" : ""));
  // Its grant: the descriptors stay the handlers' (the scope holds duplicates).
  for (const WasiPreopen& preopen : granted) {
    if (preopen.read && preopen.directory_fd >= 0) scope->AddDescriptor(preopen.directory_fd);
  }
  for (const std::filesystem::path& directory : OwnReadDirectories()) {
    scope->AddDirectory(directory);
  }
  for (const std::filesystem::path& directory : shared) scope->AddDirectory(directory);
  child_read_scope_ = std::move(scope);
  return child_read_scope_;
}

LocalReadRoots Actor::ChildReadRoots() {
  LocalReadRoots roots;
  roots.rule =
      "a child spawned on another host reads only files under its parent's filesystem grant, "
      "the directory of its parent's manifest and its parent's origin roots";
  // A grant is a descriptor: its path is what the kernel says the descriptor names.
  for (const WasiPreopen& preopen : WasiPreopens()) {
    if (!preopen.read || preopen.directory_fd < 0) continue;
    std::error_code error;
    std::filesystem::path path = std::filesystem::read_symlink(
        "/proc/self/fd/" + std::to_string(preopen.directory_fd), error);
    if (!error && path.is_absolute()) roots.directories.push_back(std::move(path));
  }
  for (std::filesystem::path& directory : OwnReadDirectories()) {
    roots.directories.push_back(std::move(directory));
  }
  return roots;
}

std::vector<std::filesystem::path> Actor::OwnReadDirectories() const {
  std::vector<std::filesystem::path> directories;
  // Its package: the directory its manifest file was read from.
  if (OwnManifestIsAFile()) directories.push_back(config_.manifest->base_dir);
  if (config_.origin.read_roots) {
    for (const std::filesystem::path& directory : config_.origin.read_roots->directories) {
      directories.push_back(directory);
    }
  }
  return directories;
}

bool Actor::OwnManifestIsAFile() const {
  const std::string& origin = config_.origin.manifest;
  return !LooksLikeInlineManifest(origin) && ClassifyReference(origin) == ReferenceKind::kFile &&
         !config_.manifest->base_dir.empty();
}

Status Actor::Post(ExportInvocation call) {
  Operation op;
  op.interface_name = std::move(call.interface_name);
  op.function = std::move(call.function);
  op.params = std::move(call.params);
  op.reply = std::move(call.reply);
  return Enqueue(std::move(op));
}

bool Actor::CanSuspend() const {
  const ActorHost& host = CallingHost();
  return host.has_instance() && host.instance().active_call() != nullptr;
}

Result<uint64_t> Actor::Suspend(const std::function<void(Waker)>& arm) {
  ActorHost& host = CallingHost();
  if (!host.has_instance()) return WaitWhileInstantiating();
  return Await(host.instance(), arm);
}

Status Actor::SleepFor(std::chrono::nanoseconds wait) {
  return SleepOn(CallingHost(), wait);
}

void Actor::SpawnChild(SpawnRequest request, Callback<std::string> done) {
  request.parent_id = id();
  // A relative path names a file beside the parent's manifest, as the manifest's own references
  // do (a package of actors runs from any working directory); beside its URL for a parent
  // fetched from one. A parent from inline TOML or the store resolves against the working
  // directory, as before.
  if (!LooksLikeInlineManifest(request.manifest) &&
      ClassifyReference(request.manifest) == ReferenceKind::kFile &&
      std::filesystem::path(request.manifest).is_relative()) {
    if (!config_.manifest->base_url.empty()) {
      Result<std::string> url = ResolveUrl(config_.manifest->base_url, request.manifest);
      if (!url.ok()) {
        done(url.status());
        return;
      }
      request.manifest = *std::move(url);
    } else if (OwnManifestIsAFile()) {
      request.manifest =
          (config_.manifest->base_dir / request.manifest).lexically_normal().string();
    }
  }
  runtime_.SpawnAsync(std::move(request), std::move(done));
}

void Actor::StopChild(std::string_view child_id, std::function<void(bool found)> done) {
  // A failed child is stopped already: stopping it lets it go.
  if (failed_children_.Take(child_id)) {
    RemoveChild(std::string(child_id));
    done(true);
    return;
  }
  // The supervisor asked for it: no external-stop notification back to it.
  runtime_.StopActor(child_id, StopKind::kGraceful, std::nullopt, std::move(done));
}

void Actor::BeginChildRestart(const std::string& child_id) {
  MutexLock lock(mu_);
  child_restarts_.try_emplace(child_id);
}

void Actor::EndChildRestart(const std::string& child_id, const Status& outcome) {
  std::vector<std::function<void(Status)>> waiting;
  {
    MutexLock lock(mu_);
    auto it = child_restarts_.find(child_id);
    if (it == child_restarts_.end()) return;
    waiting = std::move(it->second);
    child_restarts_.erase(it);
  }
  for (auto& done : waiting) done(outcome);
}

bool Actor::JoinChildRestart(const std::string& child_id, std::function<void(Status)>& done) {
  MutexLock lock(mu_);
  auto it = child_restarts_.find(child_id);
  if (it == child_restarts_.end()) return false;
  it->second.push_back(std::move(done));
  return true;
}

void Actor::RestartChild(std::string_view child_id, std::function<void(Status)> done) {
  if (runtime_.RemoteChildHost(child_id)) {
    // This host hears that a child on another host was restarted a lattice message after the
    // child runs again (and may have been sent more): a restart asked for meanwhile cannot join
    // the strategy's, which may be over there. It follows it instead.
    const std::string id(child_id);
    std::function<void(Status)> after = [this, self = shared_from_this(), id,
                                         done](const Status&) mutable {
      runtime_.RestartAsync(id, std::move(done));
    };
    if (JoinChildRestart(id, after)) return;
    runtime_.RestartAsync(child_id, std::move(done));
    return;
  }
  if (JoinChildRestart(std::string(child_id), done)) return;  // its strategy restarts it now
  if (failed_children_.Contains(child_id)) {
    runtime_.RestartFailedChild(shared_from_this(), std::string(child_id), std::move(done));
    return;
  }
  runtime_.RestartAsync(child_id, std::move(done));
}

// A child on another host of the lattice is asked there (the parent's call is suspended
// meanwhile); what it answers is bounded by what one lattice message holds.
Result<std::optional<std::vector<uint8_t>>> Actor::ChildState(std::string_view child_id) {
  if (runtime_.RemoteChildHost(child_id)) {
    const std::string id(child_id);
    return AwaitCallback<std::optional<std::vector<uint8_t>>>(
        *this, [this, &id](LatticeSupervision::StateDone done) {
          runtime_.RemoteChildState(id, std::move(done));
        });
  }
  if (std::optional<FailedChildren::Record> failed = failed_children_.Find(child_id)) {
    if (!failed->state) return std::optional<std::vector<uint8_t>>();
    return std::optional<std::vector<uint8_t>>(*failed->state);  // the state it failed with
  }
  return runtime_.State(child_id);
}

Result<std::vector<chain::Event>> Actor::ChildEvents(std::string_view child_id, size_t max_bytes) {
  if (runtime_.RemoteChildHost(child_id)) {
    const std::string id(child_id);
    return AwaitCallback<std::vector<chain::Event>>(
        *this, [this, &id, max_bytes](LatticeSupervision::EventsDone done) {
          runtime_.RemoteChildEvents(id, max_bytes, std::move(done));
        });
  }
  Result<std::vector<chain::Event>> events = runtime_.EventsWithin(child_id, max_bytes);
  // A failed child's chain is saved only on a persisting host; elsewhere its record holds it.
  std::optional<FailedChildren::Record> failed;
  if (!events.ok() && events.status().code() != StatusCode::kResourceExhausted &&
      (failed = failed_children_.Find(child_id)) && failed->chain) {
    std::vector<chain::Event> held = failed->chain->events();
    size_t bytes = 0;
    for (const chain::Event& e : held) bytes += e.payload.size() + 128;  // as EventsWithin counts
    if (bytes > max_bytes) {
      return ResourceExhausted("the chain of actor " + std::string(child_id) + " holds more than " +
                               std::to_string(max_bytes) +
                               " bytes of events, over this read's "
                               "limit");
    }
    return held;
  }
  return events;
}

}  // namespace theater::runtime
