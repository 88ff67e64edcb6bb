// Theater: a WebAssembly actor runtime.
#include "runtime/runtime_impl.h"

#include "theater/lattice_link.h"

#include "runtime/replay.h"

#include "common/clock.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <future>

#include <sys/stat.h>

#include "common/bytes.h"
#include "common/nesting_guard.h"
#include "common/utf8.h"
#include "common/uuid.h"
#include "component/component_module.h"
#include "component/linker.h"
#include "runtime/home_lock.h"
#include "theater/content_store.h"
#include "theater/limits.h"

namespace theater {

Result<std::unique_ptr<TheaterRuntime>> TheaterRuntime::Create(RuntimeOptions options,
                                                               HandlerRegistry handlers) {
  if (options.shutdown_grace.count() < 0 || options.shutdown_grace > kMaxShutdownGrace) {
    return InvalidArgument("shutdown_grace must be between 0 and " +
                           std::to_string(kMaxShutdownGrace.count()) + " ms (" +
                           std::to_string(options.shutdown_grace.count()) + " ms given)");
  }
  if (options.max_spawn_fetches == 0 || options.max_spawn_fetches_per_client == 0 ||
      options.max_spawn_fetches_per_actor == 0) {
    return InvalidArgument(
        "max_spawn_fetches, max_spawn_fetches_per_client and max_spawn_fetches_per_actor must "
        "each be at least 1");
  }
  if (options.home.empty()) {
    if (const char* home = std::getenv("THEATER_HOME"); home && *home) {
      options.home = home;
    } else if (const char* user = std::getenv("HOME"); user && *user) {
      options.home = std::filesystem::path(user) / ".theater";
    } else {
      return FailedPrecondition("neither THEATER_HOME nor HOME is set; cannot place the database");
    }
  }
  if (options.engine.cache_dir.empty()) options.engine.cache_dir = options.home / "cache";
  std::unique_ptr<runtime::HomeLock> home_lock;
  if (options.exclusive_home) {
    THEATER_ASSIGN_OR_RETURN(home_lock, runtime::HomeLock::Acquire(options.home));
  }
  THEATER_ASSIGN_OR_RETURN(std::unique_ptr<engine::Engine> engine,
                           engine::Engine::Create(options.engine));
  std::unique_ptr<chain::ChainStore> store;
  if (options.persist) {
    chain::ChainStore::Options store_options;
    store_options.durability = options.durability;
    Result<std::unique_ptr<chain::ChainStore>> opened =
        chain::ChainStore::Open(options.home, store_options);
    if (!opened.ok()) return opened.status().WithContext("opening the runtime database");
    store = std::move(opened).value();
  }
  auto runtime = std::make_unique<runtime::RuntimeImpl>(std::move(options), std::move(engine),
                                                        std::move(store), std::move(handlers));
  runtime->KeepHomeLock(std::move(home_lock));
  return std::unique_ptr<TheaterRuntime>(std::move(runtime));
}

namespace runtime {

uint64_t RuntimeImpl::SystemClock::WallMs() {
  return WallClockMs();
}

uint64_t RuntimeImpl::SystemClock::WallNs() {
  return WallClockNs();
}

namespace {

template <typename T>
Result<T> Wait(const std::function<void(TheaterRuntime::Callback<T>)>& start) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future = promise->get_future();
  start([promise](Result<T> r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace

RuntimeImpl::RuntimeImpl(RuntimeOptions options, std::unique_ptr<engine::Engine> engine,
                         std::unique_ptr<chain::ChainStore> store, HandlerRegistry registry)
    : options_(std::move(options)),
      engine_(std::move(engine)),
      store_(std::move(store)),
      registry_(std::move(registry)),
      root_permissions_(std::make_shared<const EffectivePermissions>(registry_.RootPermissions())),
      policy_handlers_(registry_.PolicyHandlers()),
      timers_(std::make_unique<TimerService>()),
      io_(std::make_unique<IoLoopThreads>(static_cast<size_t>(std::max(options_.io_threads, 1)))),
      messages_(router_, *timers_) {
  int workers = options_.workers > 0 ? options_.workers
                                     : static_cast<int>(std::thread::hardware_concurrency());
  executor_ =
      std::make_unique<engine::Executor>(std::max(workers, 1), options_.engine.preempt_slice);
  loader_ = std::make_unique<BlockingPool>();
  fetcher_ = std::make_unique<SpawnFetcher>(
      io_->context(),
      SpawnFetcher::Limits{options_.max_spawn_fetches, options_.max_spawn_fetches_per_client,
                           options_.max_spawn_fetches_per_actor});
  std::error_code cwd_error;
  inline_manifest_dir_ = std::filesystem::current_path(cwd_error);  // empty on error: relative
  // A guard-page memory reserves 8 GiB whatever its size; a bounds-checked one its cap (the
  // default cap is assumed: manifests may lower or raise it). Under kAuto the module is not known
  // yet, so the larger is assumed: that refuses a spawn only within 8 GiB of the limit.
  admission_ = std::make_unique<Admission>(
      engine_->options().memory_mode != engine::MemoryMode::kBoundsChecks
          ? uint64_t{8} << 30
          : ManifestLimits::kDefaultMemoryLimitMb << 20,
      options_.min_free_memory_bytes);
  if (options_.persist && options_.chain_bytes_inline_max > 0) {
    auto spill = std::make_shared<chain::ByteSpill>();
    spill->inline_max = options_.chain_bytes_inline_max;
    spill->keep = [this](std::span<const uint8_t> bytes, const chain::Hash& sha256) {
      return KeepChainBytes(bytes, sha256);
    };
    byte_spill_ = std::move(spill);
  }
  router_.SetMissExplainer([this](std::string_view id) -> Status {
    if (!Find(id)) return Status();
    return FailedPrecondition(
        "actor " + std::string(id) +
        " does not receive messages: it runs no message-server handler (it neither imports "
        "theater:simple/message-server-host nor exports theater:simple/message-server-client)");
  });
  ScheduleHibernationSweep();
}

RuntimeImpl::~RuntimeImpl() {
  // First, so that the lattice's lease never reaches a runtime on its way out (this waits for a
  // call in flight).
  if (LatticeLink* lattice = lattice_.load(std::memory_order_acquire)) {
    lattice->SetLeaseListener(nullptr);
    lattice->BindSupervision(nullptr);
  }
  Status stopped = Shutdown();
  if (!stopped.ok()) spdlog::error("runtime shutdown: {}", stopped.ToString());
  // Spawns still queued see the shutdown and fail; one that was past that check when Shutdown()
  // listed the actors has registered its actor by now, and is stopped here.
  loader_.reset();
  StopAllActors();
  // Every handler has stopped using the loop; what its completions would still hand to the
  // executor is abandoned with it.
  io_->Stop();
  executor_.reset();  // before the timers and the hub the tasks may still reach
  // Closing the store runs its last durability callbacks, which hand deliveries to the timer
  // thread; the timer service runs those (they are due) before it stops.
  if (store_) {
    Status closed = store_->Close();
    if (!closed.ok()) spdlog::error("closing the runtime database: {}", closed.ToString());
  }
  timers_.reset();
  io_.reset();  // destroys the context and its services (the HTTP client's engine)
}

std::shared_ptr<Actor> RuntimeImpl::Find(std::string_view id) const {
  ReaderLock lock(mu_);
  auto it = actors_.find(id);
  return it == actors_.end() ? nullptr : it->second;
}

void RuntimeImpl::Log(const Actor& actor, std::string_view line) {
  if (options_.log_sink) {
    options_.log_sink(actor.id(), actor.name(), line);
  } else {
    spdlog::info("[{}] [{}] {}", actor.name(), actor.id(), line);
  }
}

std::shared_ptr<chain::EventChain> RuntimeImpl::NewChain(const std::string& id, bool persist,
                                                         const ChainContinuation* continuing) {
  std::shared_ptr<chain::EventChain> chain =
      continuing != nullptr
          ? chain::EventChain::Continuing(continuing->next_index, continuing->head)
          : std::make_shared<chain::EventChain>();
  chain->SetMemoryLimit(options_.chain_memory_events);
  chain->AddObserver(hub_.ObserverFor(id), hub_.interest());
  if (persist && store_) {
    chain::ChainStore* store = store_.get();
    // Never waits for durability here, even in strict mode: the actor holds back its replies
    // until its events are durable instead (Actor::RunWhenDurable), so no worker blocks on a sync.
    // The chain has just computed the event's hash, so the store need not compute it again.
    chain->AddObserver([store, id](const chain::Event& event, size_t) {
      Result<uint64_t> appended = store->EnqueueTrusted(id, event);
      if (!appended.ok()) {
        spdlog::error("actor {}: event not persisted: {}", id, appended.status().ToString());
      }
    });
  }
  return chain;
}

Result<std::shared_ptr<const engine::Module>> RuntimeImpl::LoadCode(std::span<const uint8_t> wasm,
                                                                    const std::string& name) {
  Result<std::shared_ptr<const engine::Module>> module =
      component::IsComponentBinary(wasm) ? component::LoadComponentModule(*engine_, wasm, name)
                                         : engine_->LoadModule(wasm, name);
  // A persisting runtime keeps every module it runs, by its SHA-256 (the name chains give it,
  // in actor-load and component-updated events), so that a replay finds it. Once per load: a
  // module file already loaded is not loaded again.
  if (!module.ok()) return module;
  const std::string& hex = (*module)->wasm_sha256();
  {
    MutexLock lock(modules_mu_);
    auto held = modules_by_sha_.find(hex);
    // Kept already while a module of these bytes is alive (a URL or store reference loads its
    // bytes again for every spawn).
    if (held != modules_by_sha_.end() && !held->second.expired()) return module;
    std::erase_if(modules_by_sha_, [](const auto& entry) { return entry.second.expired(); });
    modules_by_sha_[hex] = *module;
  }
  std::vector<uint8_t> digest;
  if (options_.persist && HexDecode(hex, &digest) && digest.size() == chain::Hash{}.size()) {
    // The engine hashed the bytes already: the store need not.
    chain::Hash sha;
    std::copy(digest.begin(), digest.end(), sha.begin());
    (void)KeepChainBytes(wasm, sha);
  }
  return module;
}

Result<std::shared_ptr<const engine::Module>> RuntimeImpl::ModuleBySha256(const std::string& hex) {
  {
    MutexLock lock(modules_mu_);
    if (auto it = modules_by_sha_.find(hex); it != modules_by_sha_.end()) {
      if (std::shared_ptr<const engine::Module> held = it->second.lock()) return held;
    }
  }
  THEATER_ASSIGN_OR_RETURN(store::ContentStore * content, content_store());
  Result<std::vector<uint8_t>> wasm = content->Get(kChainBytesStoreId, hex);
  if (!wasm.ok()) {
    return NotFound("module sha256:" + hex + " is not in the store (" + wasm.status().ToString() +
                    "): only a persisting runtime keeps the modules its actors run");
  }
  return LoadCode(*wasm, "sha256:" + hex.substr(0, 12));
}

Result<ReplayReport> RuntimeImpl::Replay(std::string_view id, const ReplayOptions& options) {
  std::shared_ptr<Actor> actor = Find(id);
  if ((actor && !actor->persisted()) || !store_) {
    // Held in memory only: the chain as the actor holds it.
    THEATER_ASSIGN_OR_RETURN(HeldChain held, ReadChain(id));
    auto tail = std::make_shared<chain::EventChain::Tail>(std::move(held.tail));
    return ReplayVisited(
        [tail](const std::function<bool(chain::Event&&, size_t)>& sink) -> Status {
          for (size_t i = 0; i < tail->events.size(); ++i) {
            if (!sink(std::move(tail->events[i]), tail->first_index + i)) break;
          }
          return Status();
        },
        options);
  }
  // A saved chain, read page by page while the replay runs what it has: reading and replaying
  // overlap, and a long chain is never read twice. The replay's loader checks each event's hash
  // (the reader does not check them a second time).
  // A running actor's chain goes on growing: the replay takes it as it is now, up to the events
  // appended before this call (else it would chase an actor that never stops).
  const size_t end = actor ? actor->chain()->size() : SIZE_MAX;
  THEATER_RETURN_IF_ERROR(store_->Flush());
  chain::ChainStore* store = store_.get();
  const std::string actor_id(id);
  return ReplayVisited(
      [this, store, actor_id,
       end](const std::function<bool(chain::Event&&, size_t)>& sink) -> Status {
        constexpr size_t kPage = 4096;
        size_t from = 0;
        for (;;) {
          size_t taken = 0;
          bool stopped = false;
          chain::VisitReport report;
          THEATER_RETURN_IF_ERROR(store->VisitChain(
              actor_id, from,
              [&](chain::Event&& event, size_t index) {
                if (index >= end) {
                  stopped = true;
                  return false;
                }
                // Refused events are not consumed: the next page starts with this one.
                if (taken == kPage) return false;
                if (!sink(std::move(event), index)) {
                  stopped = true;
                  return false;
                }
                ++taken;
                return true;
              },
              &report, chain::HashCheck::kByCaller));  // the replay's loader checks every hash
          if (from == 0 && !report.found) return ChainNotKept(actor_id);
          THEATER_RETURN_IF_ERROR(report.problem.WithContext("the saved chain of actor " +
                                                             actor_id + " does not verify"));
          if (stopped || !report.more) return Status();
          from = report.next_index;
        }
      },
      options);
}

Result<ReplayReport> RuntimeImpl::ReplayEvents(std::vector<chain::Event> events,
                                               const ReplayOptions& options) {
  THEATER_RETURN_IF_ERROR(chain::VerifyEvents(events).WithContext("the chain to replay"));
  auto held = std::make_shared<std::vector<chain::Event>>(std::move(events));
  return ReplayVisited(
      [held](const std::function<bool(chain::Event&&, size_t)>& sink) -> Status {
        for (size_t i = 0; i < held->size(); ++i) {
          if (!sink(std::move((*held)[i]), i)) break;
        }
        return Status();
      },
      options);
}

Result<ReplayReport> RuntimeImpl::ReplayVisited(RecordedEventVisitor visit,
                                                const ReplayOptions& options) {
  ReplaySources sources;
  sources.handlers = &registry_;
  sources.pool = loader_.get();
  sources.module = [this, &options](const std::string& hex) {
    return options.module.empty() ? ModuleBySha256(hex) : LoadModule(options.module);
  };
  sources.bytes = [this](const chain::Hash& sha) -> Result<std::vector<uint8_t>> {
    THEATER_ASSIGN_OR_RETURN(store::ContentStore * content, content_store());
    return content->Get(kChainBytesStoreId, chain::ToHex(sha));
  };
  if (options_.chain_bytes_inline_max > 0) {
    sources.bytes_inline_max = options_.chain_bytes_inline_max;
  }
  return ReplayChain(std::move(visit), sources, options);
}

Result<std::shared_ptr<const engine::Module>> RuntimeImpl::LoadCodeFile(const std::string& path) {
  THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> wasm,
                           ReadFileBytes(path, "module", limits::kMaxModuleBytes));
  return LoadCode(wasm, std::filesystem::path(path).filename().string());
}

Result<std::shared_ptr<const engine::Module>> RuntimeImpl::LoadModule(const std::string& given_path,
                                                                      const LocalReadScope* scope) {
  struct stat st {};
  // Bound by a scope, the file is opened beneath it, and what is loaded is read through that
  // descriptor: the file checked is the file loaded.
  std::optional<LocalReadScope::OpenedFile> opened;
  std::string path = given_path;
  if (scope != nullptr) {
    THEATER_ASSIGN_OR_RETURN(LocalReadScope::OpenedFile file, scope->Open(given_path, "component"));
    st = file.info;
    path = file.path;
    opened = std::move(file);
  } else if (::stat(path.c_str(), &st) != 0) {
    return LoadCodeFile(path);  // it words the error
  }
  CachedModule key;
  key.device = st.st_dev;
  key.inode = st.st_ino;
  key.size = static_cast<uint64_t>(st.st_size);
  key.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  auto cached = [&]() THEATER_REQUIRES(modules_mu_) -> std::shared_ptr<const engine::Module> {
    auto it = modules_.find(path);
    if (it != modules_.end() && it->second.device == key.device && it->second.inode == key.inode &&
        it->second.size == key.size && it->second.mtime_ns == key.mtime_ns) {
      return it->second.module;
    }
    return nullptr;
  };
  std::shared_ptr<Mutex> gate;
  {
    MutexLock lock(modules_mu_);
    if (auto module = cached()) return module;
    std::shared_ptr<Mutex>& slot = module_loads_[path];
    if (!slot) slot = std::make_shared<Mutex>();
    gate = slot;
  }
  // Loads run on the loader pool or a client's thread, never on a worker: waiting here is what
  // loading the file again would have cost, without the work.
  MutexLock one_load(*gate);
  {
    MutexLock lock(modules_mu_);
    if (auto module = cached()) return module;
  }
  Result<std::shared_ptr<const engine::Module>> loaded = [&] {
    if (!opened) return LoadCodeFile(path);
    Result<std::vector<uint8_t>> wasm =
        ReadOpenFile(opened->fd.get(), "module", QuoteInput(given_path), limits::kMaxModuleBytes);
    if (!wasm.ok()) return Result<std::shared_ptr<const engine::Module>>(wasm.status());
    return LoadCode(*wasm, std::filesystem::path(path).filename().string());
  }();
  MutexLock lock(modules_mu_);
  if (auto it = module_loads_.find(path); it != module_loads_.end() && it->second == gate) {
    module_loads_.erase(it);  // waiters keep the gate alive through their own reference
  }
  if (!loaded.ok()) return loaded.status();
  key.module = std::move(loaded).value();
  modules_[path] = key;
  return key.module;
}

Result<std::shared_ptr<const engine::Module>> RuntimeImpl::LoadComponent(
    const std::string& reference, ReferenceKind kind, const StoreReader& store_reader,
    const LocalReadScope* scope, const UrlReader& urls) {
  if (kind == ReferenceKind::kFile) return LoadModule(reference, scope);
  // Not cached by reference: what a URL serves may change. The engine's compile cache is keyed
  // by the bytes' hash, so fetching the same component again costs the download only.
  THEATER_ASSIGN_OR_RETURN(std::vector<uint8_t> wasm,
                           LoadReference(reference, kind, "component", store_reader, {}, urls));
  return LoadCode(wasm, reference);
}

Result<store::ContentStore*> RuntimeImpl::content_store() {
  MutexLock lock(content_mu_);
  if (content_) return content_.get();
  store::ContentStore::Options options;
  options.durability = options_.durability;
  std::error_code ec;
  std::filesystem::create_directories(options_.home, ec);
  if (ec) return IOError("creating " + options_.home.string() + ": " + ec.message());
  Result<std::unique_ptr<store::ContentStore>> opened =
      store::ContentStore::Open(options_.home / "theater.db", options);
  if (!opened.ok()) return opened.status().WithContext("opening the content store");
  content_ = std::move(opened).value();
  return content_.get();
}

bool RuntimeImpl::KeepChainBytes(std::span<const uint8_t> bytes, const chain::Hash& sha256) {
  auto fail = [&](const Status& status) {
    // Once per runtime: every large list would repeat it.
    if (!chain_bytes_warned_.exchange(true)) {
      spdlog::warn("chains record large byte lists inline: keeping them in store {} failed: {}",
                   kChainBytesStoreId, status.ToString());
    }
    return false;
  };
  Result<store::ContentStore*> content = content_store();
  if (!content.ok()) return fail(content.status());
  if (!chain_bytes_store_ready_.load(std::memory_order_acquire)) {
    Status ensured = (*content)->EnsureStore(kChainBytesStoreId, "theater:chain");
    if (!ensured.ok()) return fail(ensured);
    chain_bytes_store_ready_.store(true, std::memory_order_release);
  }
  // The chain has just hashed the bytes: the store need not hash them again.
  Result<std::string> hash = (*content)->PutHashed(kChainBytesStoreId, bytes, sha256);
  if (!hash.ok()) return fail(hash.status());
  return true;
}

Result<std::vector<uint8_t>> RuntimeImpl::ReadStoreReference(const std::string& reference) {
  auto malformed = [&] {
    return InvalidArgument("malformed store reference " + QuoteInput(reference) +
                           ": expected store://<store-id>/<label> or "
                           "store://<store-id>/hash/<sha256>");
  };
  std::string_view rest(reference);
  if (!rest.starts_with("store://")) return malformed();
  rest.remove_prefix(8);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 >= rest.size()) return malformed();
  std::string store_id(rest.substr(0, slash));
  std::string_view path = rest.substr(slash + 1);
  THEATER_ASSIGN_OR_RETURN(store::ContentStore * content, content_store());
  if (path.starts_with("hash/")) return content->Get(store_id, path.substr(5));
  std::string label(path);
  THEATER_ASSIGN_OR_RETURN(std::optional<std::string> hash, content->GetLabel(store_id, label));
  if (!hash) {
    return NotFound("store " + QuoteInput(store_id) + " has no label " + QuoteInput(label));
  }
  return content->Get(store_id, *hash);
}

Result<std::string> RuntimeImpl::Spawn(SpawnRequest request) {
  // The caller waits for the whole spawn anyway, so it does the loading itself: a hop to the
  // loader pool and back would cost about a tenth of the spawn rate (docs/benchmarks.md) and
  // spare no thread that matters.
  return Wait<std::string>(
      [&](Callback<std::string> done) { SpawnNow(std::move(request), nullptr, std::move(done)); });
}

Status RuntimeImpl::Stop(std::string_view id) {
  return Stop(id, {});
}

Status RuntimeImpl::Stop(std::string_view id, std::string_view reason) {
  Result<bool> stopped = Wait<bool>([&](Callback<bool> done) {
    ChildEvent report;
    report.kind = ChildEvent::Kind::kExternalStop;
    report.child_id = std::string(id);
    report.reason = std::string(reason);
    StopActor(id, StopKind::kGraceful, std::move(report),
              [done = std::move(done)](bool found) { done(found); });
  });
  if (!stopped.ok()) return stopped.status();
  return *stopped ? Status() : NotFound("actor " + std::string(id) + " not found");
}

void RuntimeImpl::StopAsync(std::string_view id, Callback<bool> done) {
  ChildEvent report;
  report.kind = ChildEvent::Kind::kExternalStop;
  report.child_id = std::string(id);
  StopActor(id, StopKind::kGraceful, report, [done = std::move(done)](bool found) { done(found); });
}

Status RuntimeImpl::Terminate(std::string_view id) {
  Result<bool> stopped = Wait<bool>([&](Callback<bool> done) {
    StopActor(id, StopKind::kForce, std::nullopt, [done](bool found) { done(found); });
  });
  if (!stopped.ok()) return stopped.status();
  return *stopped ? Status() : NotFound("actor " + std::string(id) + " not found");
}

void RuntimeImpl::StopActor(std::string_view id, StopKind kind, std::optional<ChildEvent> report,
                            std::function<void(bool)> done) {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) {
    if (std::optional<RemoteChild> remote = FindRemoteChild(id)) {
      StopRemoteChild(std::string(id), *remote, std::move(report), std::move(done));
      return;
    }
    done(false);
    return;
  }
  // Past the shutdown's grace, what still runs is not waited for (StopAllActors): also children
  // stopped by their parent's stop, and an actor that began an operation after TerminateOverdue.
  std::string termination;
  if (grace_over_.load()) {
    kind = StopKind::kForce;
    termination = TerminationNote();
  }
  actor->BeginStop(
      kind, std::move(report), [done = std::move(done)] { done(true); }, std::move(termination));
}

Status RuntimeImpl::Restart(std::string_view id) {
  Result<bool> restarted = Wait<bool>([&](Callback<bool> done) {
    RestartAsync(id, [done](Status s) {
      if (s.ok()) {
        done(true);
      } else {
        done(s);
      }
    });
  });
  return restarted.status();
}

void RuntimeImpl::RestartAsync(std::string_view id, std::function<void(Status)> done) {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) {
    if (std::optional<RemoteChild> remote = FindRemoteChild(id)) {
      RestartRemoteChild(std::string(id), *remote, std::move(done));
      return;
    }
    done(NotFound("actor " + std::string(id) + " not found"));
    return;
  }
  {
    WriterLock lock(mu_);
    restarting_.insert(actor->id());
  }
  actor->BeginStop(StopKind::kGraceful, std::nullopt, [this, actor, done = std::move(done)] {
    SpawnRequest request = actor->origin();
    std::shared_ptr<chain::EventChain> chain = actor->chain();
    chain->Append(chain::Lifecycle{"actor-restart", "restarting from " + request.manifest});
    SpawnWithChain(request, chain, [this, actor, done](Result<std::string> spawned) {
      {
        WriterLock lock(mu_);
        restarting_.erase(actor->id());
      }
      if (!spawned.ok() && actor->parent_id()) {
        if (auto parent = Find(*actor->parent_id())) parent->RemoveChild(actor->id());
      }
      done(spawned.status());
    });
  });
}

Status RuntimeImpl::UpdateComponent(std::string_view id, const std::string& component) {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) return NotFound("actor " + std::string(id) + " not found");
  const ReferenceKind kind = ClassifyReference(component);
  Result<std::shared_ptr<const engine::Module>> module =
      LoadComponent(kind == ReferenceKind::kFile
                        ? std::filesystem::absolute(component).lexically_normal().string()
                        : component,
                    kind, [this](const std::string& ref) { return ReadStoreReference(ref); });
  if (!module.ok()) return module.status().WithContext("updating the component of " + actor->id());
  Result<bool> updated = Wait<bool>([&](Callback<bool> done) {
    Status queued = actor->UpdateComponent(std::move(module).value(), [done](Status s) {
      if (s.ok()) {
        done(true);
      } else {
        done(s);
      }
    });
    if (!queued.ok()) done(queued);
  });
  return updated.status().WithContext("updating the component of " + actor->id());
}

Status RuntimeImpl::Pause(std::string_view id, PauseWhen when) {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) return NotFound("actor " + std::string(id) + " not found");
  return actor->Pause(when == PauseWhen::kWhenIdle);
}

Status RuntimeImpl::Resume(std::string_view id) {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) return NotFound("actor " + std::string(id) + " not found");
  return actor->Resume();
}

Result<std::vector<abi::Value>> RuntimeImpl::Call(std::string_view id,
                                                  std::string_view interface_name,
                                                  std::string_view function,
                                                  std::vector<abi::Value> params) {
  return Wait<std::vector<abi::Value>>([&](Callback<std::vector<abi::Value>> done) {
    CallAsync(id, interface_name, function, std::move(params), std::move(done));
  });
}

void RuntimeImpl::CallAsync(std::string_view id, std::string_view interface_name,
                            std::string_view function, std::vector<abi::Value> params,
                            Callback<std::vector<abi::Value>> done) {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) {
    done(NotFound("actor " + std::string(id) + " not found"));
    return;
  }
  Operation op;
  op.interface_name = std::string(interface_name);
  op.function = std::string(function);
  op.params = std::move(params);
  op.reply = done;
  Status queued = actor->Enqueue(std::move(op));
  if (!queued.ok()) done(queued);
}

std::vector<ActorSummary> RuntimeImpl::List() const {
  std::vector<std::shared_ptr<Actor>> actors;
  {
    ReaderLock lock(mu_);
    for (const auto& [id, actor] : actors_) actors.push_back(actor);
  }
  std::sort(actors.begin(), actors.end(),
            [](const auto& a, const auto& b) { return a->sequence() < b->sequence(); });
  std::vector<ActorSummary> out;
  for (const auto& actor : actors) out.push_back(actor->summary());
  return out;
}

Result<std::vector<std::string>> RuntimeImpl::Children(std::string_view id) const {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) return NotFound("actor " + std::string(id) + " not found");
  return actor->children();
}

Result<ActorPhase> RuntimeImpl::Phase(std::string_view id) const {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) return NotFound("actor " + std::string(id) + " not found");
  return actor->phase();
}

Result<ActorSummary> RuntimeImpl::Summary(std::string_view id) const {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) return NotFound("actor " + std::string(id) + " not found");
  return actor->summary();
}

Result<std::optional<std::vector<uint8_t>>> RuntimeImpl::State(std::string_view id) const {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) return NotFound("actor " + std::string(id) + " not found");
  StateBytes state = actor->committed_state();
  if (!state) return std::optional<std::vector<uint8_t>>();
  return std::optional<std::vector<uint8_t>>(*state);
}

Status RuntimeImpl::ChainNotKept(std::string_view id) const {
  bool unsaved = false;
  {
    ReaderLock lock(mu_);
    unsaved = unsaved_.Contains(id);
  }
  if (!unsaved) return NotFound("actor " + std::string(id) + " not found");
  if (!store_) {
    return FailedPrecondition("the chain of actor " + std::string(id) +
                              " was not kept: this runtime keeps chains in memory only, while "
                              "their actors run (a server keeps them on disk)");
  }
  return FailedPrecondition("the chain of actor " + std::string(id) +
                            " was not kept: its manifest says save_chain = false (remove that "
                            "line, or start the server with --save-all-chains, to keep chains)");
}

Result<RuntimeImpl::HeldChain> RuntimeImpl::ReadChain(std::string_view id) const {
  std::shared_ptr<Actor> actor = Find(id);
  HeldChain held;
  if (actor && !actor->persisted()) {
    held.tail = actor->chain()->tail();
    return held;
  }
  if (!store_) return ChainNotKept(id);
  THEATER_RETURN_IF_ERROR(store_->Flush());
  chain::LoadReport report;
  THEATER_ASSIGN_OR_RETURN(held.tail.events, store_->LoadChain(id, &report));
  if (held.tail.events.empty() && report.stored == 0) return ChainNotKept(id);
  held.tail.first_index = report.first_index;
  held.tail.anchor = report.anchor;
  if (report.rejected > 0) {
    held.rejected =
        report.problem.WithContext(std::to_string(report.rejected) + " stored events of actor " +
                                   std::string(id) + " do not verify");
  }
  return held;
}

Result<std::vector<chain::Event>> RuntimeImpl::Events(std::string_view id) const {
  THEATER_ASSIGN_OR_RETURN(HeldChain held, ReadChain(id));
  return std::move(held.tail.events);
}

Result<std::vector<chain::Event>> RuntimeImpl::EventsWithin(std::string_view id,
                                                            size_t max_bytes) const {
  // What an event costs besides its payload: hashes, type and description, about.
  constexpr size_t kEventOverhead = 128;
  auto over = [&](size_t events) {
    return ResourceExhausted("the chain of actor " + std::string(id) + " holds more than " +
                             std::to_string(max_bytes) + " bytes of events (" +
                             std::to_string(events) +
                             " events read so far), over this read's limit");
  };
  std::shared_ptr<Actor> actor = Find(id);
  if ((actor && !actor->persisted()) || !store_) {
    THEATER_ASSIGN_OR_RETURN(std::vector<chain::Event> events, Events(id));
    size_t bytes = 0;
    for (const chain::Event& e : events) bytes += e.payload.size() + kEventOverhead;
    if (bytes > max_bytes) return over(events.size());
    return events;
  }
  THEATER_RETURN_IF_ERROR(store_->Flush());
  std::vector<chain::Event> events;
  size_t bytes = 0;
  bool exceeded = false;
  chain::VisitReport report;
  THEATER_RETURN_IF_ERROR(store_->VisitChain(
      id, 0,
      [&](chain::Event&& event, size_t) {
        bytes += event.payload.size() + kEventOverhead;
        if (bytes > max_bytes) {
          exceeded = true;
          return false;
        }
        events.push_back(std::move(event));
        return true;
      },
      &report));
  if (exceeded) return over(events.size());
  if (!report.found) return ChainNotKept(id);
  // A row that does not verify ends the chain, as for Events(): the verified prefix.
  return events;
}

Result<ActorMetrics> RuntimeImpl::Metrics(std::string_view id) const {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) return NotFound("actor " + std::string(id) + " not found");
  return actor->metrics();
}

Result<Manifest> RuntimeImpl::GetManifest(std::string_view id) const {
  std::shared_ptr<Actor> actor = Find(id);
  if (!actor) return NotFound("actor " + std::string(id) + " not found");
  return actor->manifest();
}

Result<std::filesystem::path> RuntimeImpl::SaveChain(std::string_view id) const {
  THEATER_ASSIGN_OR_RETURN(HeldChain held, ReadChain(id));
  const chain::EventChain::Tail& tail = held.tail;
  nlohmann::json doc;
  doc["actor_id"] = std::string(id);
  doc["first_index"] = tail.first_index;
  doc["anchor"] =
      tail.anchor ? nlohmann::json(chain::ToHex(*tail.anchor)) : nlohmann::json(nullptr);
  nlohmann::json list = nlohmann::json::array();
  for (const chain::Event& e : tail.events) list.push_back(chain::EventToJson(e));
  doc["events"] = std::move(list);
  const std::string text = doc.dump(1);

  const std::filesystem::path dir = options_.home / "chains";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IOError("creating " + dir.string() + ": " + ec.message());
  const std::filesystem::path path = dir / (std::string(id) + ".json");
  const std::filesystem::path temporary = dir / (std::string(id) + ".json.tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return IOError("writing " + temporary.string());
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec)
    return IOError("renaming " + temporary.string() + " to " + path.string() + ": " + ec.message());
  return path;
}

Status RuntimeImpl::VerifyChain(std::string_view id) const {
  THEATER_ASSIGN_OR_RETURN(HeldChain held, ReadChain(id));
  THEATER_RETURN_IF_ERROR(held.rejected);
  THEATER_RETURN_IF_ERROR(
      chain::VerifyEvents(held.tail.events, held.tail.anchor, held.tail.first_index));
  return chain::VerifyActorBinding(held.tail.events, held.tail.first_index, id);
}

Result<TheaterRuntime::Subscription> RuntimeImpl::Subscribe(std::string_view id, size_t capacity,
                                                            chain::OverflowPolicy policy) {
  if (!id.empty() && !Find(id)) {
    // An actor of another host of the lattice: its events come from there into this host's hub,
    // while someone here subscribes to them.
    LatticeLink* lattice = lattice_.load(std::memory_order_acquire);
    if (lattice == nullptr) return NotFound("actor " + std::string(id) + " not found");
    TheaterRuntime::Subscription subscription =
        hub_.Subscribe(std::max<size_t>(capacity, 1), policy, std::string(id));
    const std::string actor(id);
    THEATER_RETURN_IF_ERROR(lattice->WatchActor(
        actor,
        [this, actor](const chain::Event& event, size_t index) { hub_.Publish(actor, event, index); },
        [this, actor] { return hub_.subscriber_count(actor) > 0; }));
    return subscription;
  }
  return hub_.Subscribe(std::max<size_t>(capacity, 1), policy, std::string(id));
}

std::shared_ptr<chain::EventChain> RuntimeImpl::ChainOf(const std::string& id) {
  std::shared_ptr<Actor> actor = Find(id);
  return actor ? actor->chain() : nullptr;
}

Result<TheaterRuntime::Subscription> RuntimeImpl::SubscribeBeforeSpawn(
    std::string_view id, size_t capacity, chain::OverflowPolicy policy) {
  if (!IsUuid(id)) return InvalidArgument("actor id " + QuoteInput(id) + " is not a UUID");
  return hub_.Subscribe(std::max<size_t>(capacity, 1), policy, std::string(id));
}

Status RuntimeImpl::JoinLattice(std::shared_ptr<LatticeLink> link) {
  if (!link) return InvalidArgument("no lattice to join");
  WriterLock lock(mu_);
  if (lattice_owner_) return FailedPrecondition("this runtime is in a lattice already");
  link->Bind(router_);
  router_.SetRemoteRoutes(&link->routes());
  lattice_owner_ = link;
  lattice_.store(lattice_owner_.get(), std::memory_order_release);
  lock.Unlock();
  // Outside mu_: the listener runs under the link's lock and takes mu_ (Pause, List).
  link->SetLeaseListener(
      [this](bool held, const std::string& why) { OnLatticeLease(held, why); });
  link->BindSupervision(this);
  return Status();
}

void RuntimeImpl::SetTopLevelListener(std::function<void(const ChildEvent&)> listener) {
  WriterLock lock(mu_);
  top_level_listener_ = std::move(listener);
}

Result<std::shared_ptr<const ImportNames>> RuntimeImpl::ImportNamesFor(
    const std::shared_ptr<const engine::Module>& module) {
  {
    MutexLock lock(import_names_mu_);
    auto it = import_names_.find(module.get());
    if (it != import_names_.end() && it->second.module.lock() == module) return it->second.names;
  }
  THEATER_ASSIGN_OR_RETURN(ImportNames names, ImportNamesOf(*module));
  auto shared = std::make_shared<const ImportNames>(std::move(names));
  MutexLock lock(import_names_mu_);
  if (import_names_.size() >= 64) {
    std::erase_if(import_names_, [](const auto& entry) { return entry.second.module.expired(); });
  }
  import_names_[module.get()] = KnownImports{module, shared};
  return shared;
}

void RuntimeImpl::OnActorStopped(Actor& actor, const std::optional<ChildEvent>& report) {
  bool restarting = false;
  bool moving = false;
  {
    WriterLock lock(mu_);
    auto it = actors_.find(actor.id());
    if (it != actors_.end() && it->second.get() == &actor) actors_.erase(it);
    restarting = restarting_.count(actor.id()) > 0;
    moving = moving_.count(actor.id()) > 0;
    if (!actor.persisted()) unsaved_.Add(actor.id());
  }
  bool kept_for_recovery = false;
  if (store_) {
    bool failed = report && report->kind == ChildEvent::Kind::kError;
    // Stopped by the host's shutdown, or to move to another host (move.cc): it stays recorded
    // as running, to be recovered (not one whose manifest could not be kept: nothing could
    // bring it back).
    kept_for_recovery = !failed && (shut_down_ || moving) &&
                        (options_.durable_actors || moving) && actor.persisted() &&
                        !restarting &&
                        !RegistryRecord(actor, "running", /*portable=*/moving).recovery.empty();
    if (kept_for_recovery) {
      KeepStateForRecovery(actor);
    } else {
      Status registered = store_->UpsertActor(RegistryRecord(actor, failed ? "failed" : "stopped"));
      if (!registered.ok()) {
        spdlog::warn("actor {}: registry: {}", actor.id(), registered.ToString());
      }
    }
  }
  if (!restarting && !kept_for_recovery) {
    // A restart keeps the id here; an actor kept for recovery is still this host's.
    if (LatticeLink* lattice = lattice_.load(std::memory_order_acquire)) {
      lattice->ReleaseActor(actor.id());
    }
  }
  // A moving actor's replication ends with its move (LatticeLink::MoveTo), and nobody hears of
  // its stop: it goes on elsewhere.
  if (moving && kept_for_recovery) return;
  if (actor.manifest().replicated) EndReplicationOf(actor, restarting);
  if (actor.origin().remote_parent) {
    // Its parent runs on another host: told there (its restart too is decided there).
    if (report && !restarting) ReportToRemoteParent(actor, *report);
    return;
  }
  std::shared_ptr<Actor> parent = actor.parent_id() ? Find(*actor.parent_id()) : nullptr;
  if (!report) {
    if (parent && !restarting) parent->RemoveChild(actor.id());
    return;
  }
  // A failing child of a supervisor keeps its place among the children: restarted by its
  // strategy, or, with none, kept failed until the parent restarts or stops it (from its
  // handle-child-error, say).
  const bool failed = parent && report->kind == ChildEvent::Kind::kError;
  bool restart =
      failed && parent->supervision_policy().strategy != SupervisionPolicy::Strategy::kNone;
  if (failed && !restart && !restarting) {
    std::optional<std::string> let_go = parent->failed_children().Keep(
        actor.id(), FailedChildren::Record{actor.origin(), actor.chain(), report->error,
                                           actor.committed_state()});
    if (let_go) {
      spdlog::warn("actor {}: more than {} failed children kept; child {} is let go", parent->id(),
                   FailedChildren::kMaxKept, *let_go);
      parent->RemoveChild(*let_go);
    }
  } else if (parent && !restart && !restarting) {
    parent->RemoveChild(actor.id());
  }
  if (parent) {
    parent->DeliverChildEvent(*report);
    if (restart) {
      ApplySupervision(parent, *report,
                       LocalRestart(actor.origin(), actor.chain(), parent->id()));
    }
    return;
  }
  std::function<void(const ChildEvent&)> listener;
  {
    ReaderLock lock(mu_);
    listener = top_level_listener_;
  }
  if (listener) listener(*report);
}

RuntimeImpl::RestartFn RuntimeImpl::LocalRestart(SpawnRequest request,
                                                 std::shared_ptr<chain::EventChain> chain,
                                                 std::string parent_id) {
  return [this, request = std::move(request), chain = std::move(chain),
          parent_id = std::move(parent_id)](const Status& after, Callback<std::string> done) {
    RestartWithChain(request, chain,
                     "restarted by supervisor " + parent_id + " after: " + after.ToString(),
                     std::move(done));
  };
}

void RuntimeImpl::RestartFailedChild(const std::shared_ptr<Actor>& parent,
                                     const std::string& child_id,
                                     std::function<void(Status)> done) {
  std::optional<FailedChildren::Record> record = parent->failed_children().Take(child_id);
  if (!record) {
    done(NotFound("child " + child_id + " of actor " + parent->id() + " has not failed"));
    return;
  }
  SpawnRequest request = record->origin;
  std::shared_ptr<chain::EventChain> chain = record->chain;
  const std::string why =
      "restarted by supervisor " + parent->id() + " after: " + record->error.ToString();
  RestartWithChain(request, std::move(chain), why,
                   [parent, child_id, kept = std::move(*record),
                    done = std::move(done)](Result<std::string> spawned) mutable {
                     // Not running again: it is still a failed child, to restart or let go.
                     if (!spawned.ok() && !parent->stopping()) {
                       (void)parent->failed_children().Keep(child_id, std::move(kept));
                     }
                     done(spawned.status());
                   });
}

void RuntimeImpl::RestartWithChain(const SpawnRequest& request,
                                   std::shared_ptr<chain::EventChain> chain,
                                   const std::string& why, Callback<std::string> done) {
  chain->Append(chain::Lifecycle{"actor-restart", why});
  SpawnWithChain(request, std::move(chain), std::move(done));
}

void RuntimeImpl::ApplySupervision(const std::shared_ptr<Actor>& parent, const ChildEvent& event,
                                   RestartFn restart_failed) {
  SupervisionPolicy policy = parent->supervision_policy();
  if (!parent->AdmitRestart()) {
    parent->RemoveChild(event.child_id);
    ChildEvent escalation;
    escalation.kind = ChildEvent::Kind::kError;
    escalation.child_id = parent->id();
    escalation.error = ResourceExhausted(
        "restart intensity exceeded: more than " + std::to_string(policy.max_restarts) +
        " restarts in " + std::to_string(policy.period.count()) + " ms; last failure of child " +
        event.child_id + ": " + event.error.ToString());
    spdlog::warn("supervisor {}: {}", parent->id(), escalation.error.ToString());
    parent->BeginStop(StopKind::kGraceful, escalation, nullptr);
    return;
  }
  // The failed child is stopped; find its spawn request through the chain kept for restarts.
  std::vector<std::string> children = parent->children();
  auto position = std::find(children.begin(), children.end(), event.child_id);
  std::vector<std::string> others;  // running children to restart along with it
  if (policy.strategy == SupervisionPolicy::Strategy::kOneForAll) {
    for (const auto& c : children) {
      if (c != event.child_id) others.push_back(c);
    }
  } else if (policy.strategy == SupervisionPolicy::Strategy::kRestForOne &&
             position != children.end()) {
    others.assign(position + 1, children.end());
  }
  std::string child_id = event.child_id;
  parent->BeginChildRestart(child_id);
  restart_failed(event.error,
                 [this, parent, child_id, others, restart_failed](Result<std::string> spawned) {
                   parent->EndChildRestart(child_id, spawned.status());
                   if (!spawned.ok()) {
                     if (parent->stopping()) return;  // nothing left to supervise
                     // Stopped while it started again (a Stop of its id found it registered):
                     // that stop was reported and took it off the children, so it stays down.
                     std::vector<std::string> children = parent->children();
                     if (std::find(children.begin(), children.end(), child_id) == children.end()) {
                       return;
                     }
                     ChildEvent again;
                     again.kind = ChildEvent::Kind::kError;
                     again.child_id = child_id;
                     again.error = spawned.status();
                     parent->DeliverChildEvent(again);
                     ApplySupervision(parent, again, restart_failed);
                     return;
                   }
                   for (const std::string& other : others) {
                     RestartAsync(other, [other](Status s) {
                       if (!s.ok()) spdlog::warn("restart of {} failed: {}", other, s.ToString());
                     });
                   }
                 });
}

size_t RuntimeImpl::ActorCount() const {
  ReaderLock lock(mu_);
  return actors_.size();
}

RuntimeCapacity RuntimeImpl::Capacity() const {
  return admission_->Capacity(ActorCount());
}

}  // namespace runtime
}  // namespace theater
