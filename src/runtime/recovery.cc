// Theater: a WebAssembly actor runtime.
//
// Recovery (theater/recovery.h, docs/persistence.md "Recovery"): the registry rows of durable
// actors, and bringing those actors back after the host restarts.
//
// What a row keeps (ActorRecord::recovery, JSON): the SHA-256 of the manifest's text (the text
// itself is in the store kChainBytesStoreId, like the modules and large byte lists chains name),
// where the manifest came from (so that its relative paths resolve as they did), and the module
// the actor runs now. The state is not in the row: it is in the chain, in the last event that
// fixes it (an export call's new state, or the state an instance started from), which is the
// state of the last durable event by construction: what is not durable is not in the database.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "common/json_writer.h"
#include "runtime/runtime_impl.h"
#include "theater/chain_store.h"
#include "theater/content_store.h"

namespace theater::runtime {
namespace {

using abi::Value;

// Recoveries running at once: the work is CPU (instantiation) and a few reads, so a few more
// than the cores keeps them busy while one waits for the database.
constexpr size_t kRecoveryParallelism = 8;
// Distinct recovery records kept made (RegistryRecord); past it the cache starts over.
constexpr size_t kRecoveryRecordsCached = 1024;

// The registry row's `recovery` JSON.
struct RecoveryRecord {
  std::string manifest_sha256;
  std::string module_sha256;
  std::string source_name;
  std::string base_dir;
  std::string base_url;
  // SpawnRequest::read_roots: what its spawns may read, kept so that a restart after the
  // recovery is bound as before (absent: the operator's).
  std::optional<LocalReadRoots> read_roots;
};

std::string EncodeRecoveryRecord(const RecoveryRecord& r) {
  nlohmann::json record{{"format", 1},
                        {"manifest_sha256", r.manifest_sha256},
                        {"module_sha256", r.module_sha256},
                        {"source_name", r.source_name},
                        {"base_dir", r.base_dir},
                        {"base_url", r.base_url}};
  if (r.read_roots) {
    nlohmann::json directories = nlohmann::json::array();
    for (const std::filesystem::path& d : r.read_roots->directories) directories.push_back(d);
    record["read_roots"] = {{"directories", std::move(directories)},
                            {"rule", r.read_roots->rule}};
  }
  return JsonText(record);
}

Result<RecoveryRecord> ParseRecoveryRecord(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.value("format", 0) != 1) {
    return ParseError("the registry's recovery record is not one this build reads");
  }
  RecoveryRecord r;
  auto text_field = [&](const char* name, std::string& out) -> Status {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) {
      return ParseError(std::string("the registry's recovery record has no ") + name);
    }
    out = it->get<std::string>();
    return Status();
  };
  THEATER_RETURN_IF_ERROR(text_field("manifest_sha256", r.manifest_sha256));
  THEATER_RETURN_IF_ERROR(text_field("module_sha256", r.module_sha256));
  THEATER_RETURN_IF_ERROR(text_field("source_name", r.source_name));
  THEATER_RETURN_IF_ERROR(text_field("base_dir", r.base_dir));
  THEATER_RETURN_IF_ERROR(text_field("base_url", r.base_url));
  if (auto it = j.find("read_roots"); it != j.end()) {
    // Unreadable, the actor must not come back unbound: the record is refused instead.
    const nlohmann::json& roots = *it;
    if (!roots.is_object() || !roots.contains("directories") || !roots["directories"].is_array() ||
        !roots.contains("rule") || !roots["rule"].is_string()) {
      return ParseError("the registry's recovery record has malformed read_roots");
    }
    LocalReadRoots read_roots;
    for (const nlohmann::json& d : roots["directories"]) {
      if (!d.is_string()) return ParseError("the registry's recovery record has malformed read_roots");
      read_roots.directories.emplace_back(d.get<std::string>());
    }
    read_roots.rule = roots["rule"].get<std::string>();
    r.read_roots = std::move(read_roots);
  }
  return r;
}

// Where a saved chain says its actor resumes: its head, and the state the newest event that
// fixes one left.
struct ResumePoint {
  size_t next_index = 0;
  chain::Hash head{};
  size_t state_event = 0;
  // The state: absent (none), the bytes, or a digest to look up (or recompute).
  std::optional<std::vector<uint8_t>> state;
  std::optional<abi::BytesDigest> state_digest;
};

// Reads the chain's newest events back to the one that fixes the state. Fails when the tail
// does not verify, when the actor's last instance had not finished (or failed) its init, or
// when there is no chain.
Result<ResumePoint> FindResumePoint(chain::ChainStore& store, const std::string& id) {
  ResumePoint point;
  bool found_state = false;
  bool after_load = false;  // the newer neighbour was an actor-load with no state after it
  std::optional<size_t> load_index;
  Status problem;
  chain::BackwardVisitReport report;
  auto take_bytes = [&](const Value& v) {
    if (v.is_bytes_digest()) {
      point.state_digest = v.bytes_digest();
    } else if (v.is_bytes()) {
      point.state = v.as_bytes();
    }
  };
  THEATER_RETURN_IF_ERROR(store.VisitChainBackward(
      id,
      [&](chain::Event&& event, size_t index) {
        if (after_load) {
          // The event before a state-less actor-load: a recovery of an actor that had no state
          // records "actor-recovered" there; anything else means the instance never finished init.
          Result<chain::Payload> before = chain::DecodePayload(event.payload);
          const auto* step = before.ok() ? std::get_if<chain::Lifecycle>(&*before) : nullptr;
          if (step != nullptr && step->kind == "actor-recovered") {
            found_state = true;
            point.state_event = *load_index;
          }
          return false;
        }
        if (event.type != "wasm" && event.type != chain::kLifecycleEventType) return true;
        Result<chain::Payload> payload = chain::DecodePayload(event.payload);
        if (!payload.ok()) {
          problem = payload.status().WithContext("event #" + std::to_string(index));
          return false;
        }
        if (const auto* call = std::get_if<chain::ExportCall>(&*payload)) {
          if (call->function == "theater:simple/actor#init" && !call->result.ok()) {
            problem = FailedPrecondition("its init failed (event #" + std::to_string(index) +
                                         "): " + *call->result.error);
            return false;
          }
          point.state_event = index;
          found_state = true;
          const chain::StateRecord& s = call->new_state;
          if (s.form == chain::StateRecord::Form::kInline) point.state = s.bytes;
          if (s.form == chain::StateRecord::Form::kDigest) {
            point.state_digest = abi::BytesDigest{s.size, s.digest};
          }
          return false;
        }
        if (const auto* initial = std::get_if<chain::InitialState>(&*payload)) {
          point.state_event = index;
          found_state = true;
          take_bytes(initial->state);
          return false;
        }
        if (const auto* step = std::get_if<chain::Lifecycle>(&*payload)) {
          if (step->kind == "actor-load") {
            after_load = true;
            load_index = index;
          }
        }
        return true;
      },
      &report));
  if (!report.found || !report.head) return NotFound("no saved chain");
  THEATER_RETURN_IF_ERROR(report.problem.WithContext("its chain does not verify"));
  THEATER_RETURN_IF_ERROR(problem);
  if (!found_state) {
    return FailedPrecondition(load_index ? "its init had not finished when the host stopped"
                                         : "its chain records no start of an instance");
  }
  point.next_index = report.next_index;
  point.head = *report.head;
  return point;
}

// The message of the actor-recovered event that starts a recovered instance's part of the
// chain, and the event it names back (ResumedAfter): a later recovery reads it to know which of
// the instance before's events its state includes.
constexpr std::string_view kResumedAfterPrefix =
    "recovered by the host: resuming from the state after event #";

std::string RecoveredNote(size_t state_event, const std::string& state_source) {
  return std::string(kResumedAfterPrefix) + std::to_string(state_event) + " (" + state_source +
         ")";
}

std::optional<size_t> ResumedAfter(std::string_view note) {
  if (!note.starts_with(kResumedAfterPrefix)) return std::nullopt;
  note.remove_prefix(kResumedAfterPrefix.size());
  size_t value = 0;
  size_t digits = 0;
  for (; digits < note.size() && digits < 19 && note[digits] >= '0' && note[digits] <= '9';
       ++digits) {
    value = value * 10 + static_cast<size_t>(note[digits] - '0');
  }
  if (digits == 0) return std::nullopt;
  return value;
}

// The calls a restoring handler may be given at most (Handler::Restore): past it the handler
// restores nothing and says why, rather than the recovery holding an unbounded history.
constexpr size_t kMaxRestoredCalls = 100'000;

// A registered restoring handler (Handler::restores) and the interface whose calls it
// re-creates from.
struct Restoring {
  const Handler* handler = nullptr;
  std::string interface_name;
};

// By handler name, the restoring handlers whose interface the module imports.
std::map<std::string, Restoring> RestoringInterfaces(const HandlerRegistry& registry,
                                                     const engine::Module& module) {
  std::map<std::string, Restoring> out;
  for (std::string_view name : registry.Names()) {
    const Handler* handler = registry.Find(name);
    if (handler == nullptr || !handler->restores()) continue;
    std::optional<std::string> imports = handler->imports();
    if (!imports || imports->ends_with('*')) continue;
    for (const engine::ImportInfo& import : module.imports()) {
      if (import.module == *imports) {
        out.emplace(std::string(name), Restoring{handler, *imports});
        break;
      }
    }
  }
  return out;
}

// Whether `type` is the event type of a host call of `interface_name` ("<interface>/<function>").
bool IsCallOf(std::string_view type, std::string_view interface_name) {
  return type.size() > interface_name.size() + 1 && type.starts_with(interface_name) &&
         type[interface_name.size()] == '/';
}

// The host calls of `interfaces` (handler name -> interface) that actor `id` made since it last
// started fresh, oldest first, by handler name: read back from the chain's head through the
// instances that recoveries continued, each instance's up to the event its successor resumed
// after (`resumed_after` for the newest), so that what a handler re-creates is what the
// recovered state knows of. A chain pruned before that start gives what it still holds (and
// says so in the log).
Result<HandlerHistories> ReadHandlerHistory(chain::ChainStore& store, const std::string& id,
                                           const std::map<std::string, Restoring>& interfaces,
                                           size_t resumed_after) {
  HandlerHistories history;
  size_t keep_through = resumed_after;
  bool after_load = false;
  bool reached_start = false;
  Status problem;
  chain::BackwardVisitReport report;
  THEATER_RETURN_IF_ERROR(store.VisitChainBackward(
      id,
      [&](chain::Event&& event, size_t index) {
        if (index == 0) reached_start = true;
        const bool lifecycle = event.type == chain::kLifecycleEventType;
        if (after_load) {
          // The event before an actor-load: a recovery's marker continues the instance before;
          // anything else (none: the spawn; a restart's events) is where the actor started fresh.
          after_load = false;
          Result<chain::Payload> payload =
              lifecycle ? chain::DecodePayload(event.payload) : Result<chain::Payload>(Status());
          const auto* step = payload.ok() ? std::get_if<chain::Lifecycle>(&*payload) : nullptr;
          std::optional<size_t> resumed =
              step != nullptr && step->kind == "actor-recovered" ? ResumedAfter(step->message)
                                                                 : std::nullopt;
          if (!resumed) {
            reached_start = true;
            return false;
          }
          keep_through = *resumed;
          return true;
        }
        if (lifecycle) {
          Result<chain::Payload> payload = chain::DecodePayload(event.payload);
          const auto* step = payload.ok() ? std::get_if<chain::Lifecycle>(&*payload) : nullptr;
          if (step != nullptr && step->kind == "actor-load") {
            after_load = true;
            if (index == 0) return false;
          }
          return true;
        }
        if (index > keep_through) return true;
        for (const auto& [handler, restoring] : interfaces) {
          const std::string& interface_name = restoring.interface_name;
          if (!IsCallOf(event.type, interface_name)) continue;
          if (!restoring.handler->RestoreReads(
                  std::string_view(event.type).substr(interface_name.size() + 1))) {
            continue;
          }
          HandlerHistory& kept = history[handler];
          if (!kept.problem.ok()) continue;
          if (kept.calls.size() == kMaxRestoredCalls) {
            kept.calls.clear();
            kept.problem = ResourceExhausted(
                "its chain records more than " + std::to_string(kMaxRestoredCalls) + " calls of " +
                interface_name + " to re-apply (the limit of what a handler is given)");
            continue;
          }
          Result<chain::Payload> payload = chain::DecodePayload(event.payload);
          auto* call = payload.ok() ? std::get_if<chain::HostCall>(&*payload) : nullptr;
          if (call == nullptr) {
            problem = ParseError("event #" + std::to_string(index) + " (" + event.type +
                                 ") is not a host call");
            return false;
          }
          kept.calls.push_back(std::move(*call));
        }
        return true;
      },
      &report));
  THEATER_RETURN_IF_ERROR(report.problem.WithContext("its chain does not verify"));
  THEATER_RETURN_IF_ERROR(problem);
  if (!reached_start) {
    spdlog::warn("actor {}: its chain was pruned before the start of its instance: its handlers "
                 "restore only what the kept events record",
                 id);
  }
  for (auto& [handler, kept] : history) std::reverse(kept.calls.begin(), kept.calls.end());
  return history;
}

}  // namespace

// The manifest texts a recovery has read from the store, shared by its workers (modules are
// shared through ModuleBySha256's own map).
std::string RuntimeImpl::KeepManifestText(const std::string& text) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text.data()),
                                       text.size());
  const chain::Hash sha = chain::Sha256(bytes);
  std::string hex = chain::ToHex(sha);
  {
    MutexLock lock(kept_manifests_mu_);
    if (kept_manifests_.count(hex)) return hex;
  }
  if (!KeepChainBytes(bytes, sha)) return {};
  MutexLock lock(kept_manifests_mu_);
  kept_manifests_.insert(hex);
  return hex;
}

chain::ActorRecord RuntimeImpl::RegistryRecord(const Actor& actor, std::string_view status,
                                               bool portable) {
  chain::ActorRecord record;
  record.actor_id = actor.id();
  record.name = actor.name();
  record.manifest = actor.origin().manifest;
  record.status = std::string(status);
  record.parent_id = actor.parent_id();
  // A replicated actor is recoverable wherever its chain is: its record is what another host
  // takes it over from.
  if ((options_.durable_actors || actor.manifest().replicated || portable) && actor.persisted() &&
      status == "running") {
    const Manifest& m = actor.manifest();
    const std::string module_sha256 = actor.module_sha256();
    // Actors spawned from one manifest share their record: it is made once (a SHA-256 of the
    // text and a JSON document per spawn were measurable).
    std::string key;
    key.reserve(m.text.size() + m.source_name.size() + m.base_url.size() + 160);
    key.append(module_sha256).append(1, '\0').append(m.source_name).append(1, '\0');
    key.append(m.base_dir.native()).append(1, '\0').append(m.base_url).append(1, '\0');
    key.append(m.text);
    if (const std::optional<LocalReadRoots>& roots = actor.origin().read_roots) {
      key.append(1, '\0').append(roots->rule);
      for (const std::filesystem::path& d : roots->directories) {
        key.append(1, '\0').append(d.native());
      }
    }
    {
      MutexLock lock(kept_manifests_mu_);
      if (auto it = recovery_records_.find(key); it != recovery_records_.end()) {
        record.recovery = it->second;
        return record;
      }
    }
    RecoveryRecord r;
    r.manifest_sha256 = KeepManifestText(m.text);
    r.module_sha256 = module_sha256;
    r.source_name = m.source_name;
    r.base_dir = m.base_dir.string();
    r.base_url = m.base_url;
    r.read_roots = actor.origin().read_roots;
    // Without its manifest kept the actor cannot come back: it is then recorded as not durable.
    if (r.manifest_sha256.empty() || m.text.empty()) return record;
    record.recovery = EncodeRecoveryRecord(r);
    MutexLock lock(kept_manifests_mu_);
    if (recovery_records_.size() >= kRecoveryRecordsCached) recovery_records_.clear();
    recovery_records_.emplace(std::move(key), record.recovery);
  }
  return record;
}

void RuntimeImpl::OnComponentUpdated(const Actor& actor) {
  if (!store_ || !options_.durable_actors || !actor.persisted()) return;
  // Called on the worker that ran the update: the database is written on a loader thread.
  std::shared_ptr<Actor> held = Find(actor.id());
  if (!held) return;
  Status posted = loader_->Post([this, held] {
    if (held->stopping()) return;
    Status registered = store_->UpsertActor(RegistryRecord(*held, "running"));
    if (!registered.ok()) spdlog::warn("actor {}: registry: {}", held->id(), registered.ToString());
  });
  if (!posted.ok()) spdlog::warn("actor {}: registry: {}", actor.id(), posted.ToString());
}

void RuntimeImpl::KeepStateForRecovery(const Actor& actor) {
  StateBytes state = actor.committed_state();
  if (!state || !chain::StateRecordedByDigest(state->size())) return;
  if (!KeepChainBytes(*state, chain::Sha256(*state))) {
    spdlog::warn("actor {}: its state could not be kept for recovery (a recovery will replay "
                 "its chain to find it)",
                 actor.id());
  }
}

RecoveredActor RuntimeImpl::RecoverOne(const chain::ActorRecord& record, RecoveryCache& cache) {
  RecoveredActor out;
  out.id = record.actor_id;
  out.name = record.name;
  out.parent_id = record.parent_id;
  auto failed = [&](Status why) {
    out.status = std::move(why);
    return out;
  };
  Result<RecoveryRecord> recovery = ParseRecoveryRecord(record.recovery);
  if (!recovery.ok()) return failed(recovery.status());
  Result<ResumePoint> point = FindResumePoint(*store_, record.actor_id);
  if (!point.ok()) return failed(point.status());
  out.resumed_after_event = point->state_event;

  // The state: recorded inline, kept by its digest, or recomputed by a replay.
  std::optional<std::vector<uint8_t>> state = std::move(point->state);
  out.state_source = state ? "chain" : "none";
  if (point->state_digest) {
    const std::string hex = chain::ToHex(point->state_digest->sha256);
    Result<store::ContentStore*> content = content_store();
    Result<std::vector<uint8_t>> kept =
        content.ok() ? (*content)->Get(kChainBytesStoreId, hex)
                     : Result<std::vector<uint8_t>>(content.status());
    if (kept.ok() && chain::Sha256(*kept) == point->state_digest->sha256) {
      state = std::move(*kept);
      out.state_source = "store";
    } else {
      ReplayOptions until;
      until.until = point->state_event;
      Result<ReplayReport> replayed = Replay(record.actor_id, until);
      if (!replayed.ok()) {
        return failed(replayed.status().WithContext("its state (sha256:" + hex.substr(0, 12) +
                                                    ") is not kept, and replaying its chain"));
      }
      if (replayed->divergence || !replayed->state ||
          chain::Sha256(*replayed->state) != point->state_digest->sha256) {
        return failed(ValidationError("its state (sha256:" + hex.substr(0, 12) +
                               ") is not kept, and a replay of its chain does not give it back"));
      }
      state = std::move(replayed->state);
      out.state_source = "replay";
    }
  }

  // The manifest, as it was parsed then.
  std::shared_ptr<const std::string> text;
  {
    MutexLock lock(cache.mu);
    if (auto it = cache.manifests.find(recovery->manifest_sha256); it != cache.manifests.end()) {
      text = it->second;
    }
  }
  if (!text) {
    Result<store::ContentStore*> content = content_store();
    if (!content.ok()) return failed(content.status().WithContext("reading its manifest"));
    Result<std::vector<uint8_t>> bytes =
        (*content)->Get(kChainBytesStoreId, recovery->manifest_sha256);
    if (!bytes.ok()) {
      return failed(bytes.status().WithContext("its manifest (sha256:" +
                                               recovery->manifest_sha256.substr(0, 12) +
                                               ") is not in the store"));
    }
    text = std::make_shared<const std::string>(bytes->begin(), bytes->end());
    MutexLock lock(cache.mu);
    cache.manifests.emplace(recovery->manifest_sha256, text);
  }
  // Shared by the actors recovered from one text, as by those spawned from one.
  Result<std::shared_ptr<const Manifest>> parsed =
      ParseManifestShared(*text, recovery->base_dir, recovery->source_name, recovery->base_url);
  if (!parsed.ok()) return failed(parsed.status().WithContext("parsing its manifest again"));
  std::shared_ptr<const Manifest> manifest = std::move(parsed).value();
  out.name = manifest->name;

  std::shared_ptr<Actor> parent;
  if (record.parent_id) {
    parent = Find(*record.parent_id);
    if (!parent) return failed(NotFound("its parent " + *record.parent_id + " is not running"));
    auto capped_manifest = std::make_shared<Manifest>(*manifest);
    Status capped = CapLimits(capped_manifest->limits, parent->manifest().limits);
    if (!capped.ok()) return failed(capped);
    manifest = std::move(capped_manifest);
  }
  Result<std::shared_ptr<const EffectivePermissions>> permissions =
      PermissionsUnder(*manifest, parent ? &parent->permissions() : nullptr);
  if (!permissions.ok()) return failed(permissions.status());
  Result<std::shared_ptr<const engine::Module>> module = ModuleBySha256(recovery->module_sha256);
  if (!module.ok()) {
    // Not kept here (a replicated actor taken over from another host, or a store emptied): its
    // manifest's component, if it is the very module, read as its spawn could.
    std::optional<LocalReadScope> scope;
    if (recovery->read_roots) scope.emplace(LocalReadScope::FromRoots(*recovery->read_roots));
    Result<std::shared_ptr<const engine::Module>> loaded = LoadComponent(
        manifest->component, manifest->component_kind,
        [this](const std::string& reference) { return ReadStoreReference(reference); },
        scope ? &*scope : nullptr);
    if (!loaded.ok() || (*loaded)->wasm_sha256() != recovery->module_sha256) {
      return failed(module.status().WithContext(
          loaded.ok() ? "its component " + manifest->component + " is another module now"
                      : "its component " + manifest->component + " cannot be loaded either (" +
                            loaded.status().ToString() + ")"));
    }
    module = std::move(loaded);
  }
  if (Status admitted = admission_->AdmitOne(); !admitted.ok()) return failed(admitted);

  SpawnRequest request;
  request.manifest = record.manifest;  // what a later restart starts from again
  request.resume = true;
  request.parent_id = record.parent_id;
  request.actor_id = record.actor_id;
  request.read_roots = recovery->read_roots;
  ChainContinuation continuation;
  continuation.next_index = point->next_index;
  continuation.head = point->head;
  continuation.note = RecoveredNote(point->state_event, out.state_source);
  if (std::map<std::string, Restoring> restoring = RestoringInterfaces(registry_, **module);
      !restoring.empty()) {
    Result<HandlerHistories> history =
        ReadHandlerHistory(*store_, record.actor_id, restoring, point->state_event);
    if (!history.ok()) {
      return failed(history.status().WithContext("reading what its handlers held"));
    }
    continuation.handler_history = std::move(history).value();
  }
  StateBytes initial =
      state ? std::make_shared<const std::vector<uint8_t>>(std::move(*state)) : nullptr;
  auto started = std::make_shared<std::promise<Result<std::string>>>();
  auto once = std::make_shared<std::atomic<bool>>(false);
  Callback<std::string> done = [started, once](Result<std::string> r) {
    if (!once->exchange(true)) started->set_value(std::move(r));
  };
  std::future<Result<std::string>> outcome = started->get_future();
  LaunchActor(std::move(request), std::move(parent), std::move(manifest), std::move(initial),
              std::move(module).value(), std::move(permissions).value(), nullptr, &continuation,
              done, done);
  Result<std::string> launched = outcome.get();
  if (!launched.ok()) return failed(launched.status());
  if (record.status != "running") {
    // A row left "unrecovered" by an earlier start: running again now.
    chain::ActorRecord running = record;
    running.status = "running";
    Status registered = store_->UpsertActor(running);
    if (!registered.ok()) spdlog::warn("actor {}: registry: {}", out.id, registered.ToString());
  }
  return out;
}

Status RuntimeImpl::TakeOver(const std::string& id, const std::string& record_json,
                             std::vector<chain::Event> events) {
  if (!store_) {
    return FailedPrecondition(
        "taking a replicated actor over needs a persisting host (its chain is kept in the "
        "database)");
  }
  return AdoptChain(id, record_json, std::move(events), "taken over from its replicated chain");
}

Status RuntimeImpl::AdoptChain(const std::string& id, const std::string& record_json,
                               std::vector<chain::Event> events, std::string_view how) {
  if (Find(id)) return AlreadyExists("actor " + id + " runs on this host already");
  const nlohmann::json record = nlohmann::json::parse(record_json, nullptr, false);
  auto text = [&](const char* key) -> std::optional<std::string> {
    if (!record.is_object() || !record.contains(key) || !record[key].is_string()) {
      return std::nullopt;
    }
    return record[key].get<std::string>();
  };
  const std::optional<std::string> actor_id = text("actor_id"), name = text("name"),
                                   manifest = text("manifest"), recovery = text("recovery"),
                                   manifest_text = text("manifest_text");
  if (!actor_id || *actor_id != id || !name || !manifest || !recovery || !manifest_text) {
    return InvalidArgument("the lattice's record of replicated actor " + id + " is malformed");
  }
  Result<RecoveryRecord> parsed = ParseRecoveryRecord(*recovery);
  if (!parsed.ok()) return parsed.status().WithContext("the record of replicated actor " + id);
  if (events.empty()) return FailedPrecondition("nothing of actor " + id + "'s chain was replicated");
  THEATER_RETURN_IF_ERROR(
      chain::VerifyEvents(events).WithContext("the replicated chain of actor " + id));
  if (KeepManifestText(*manifest_text) != parsed->manifest_sha256) {
    return InvalidArgument("the manifest text of replicated actor " + id +
                           " is not the one its record names");
  }
  // What an earlier stay of the actor on this host left is replaced by the chain as it is now.
  THEATER_RETURN_IF_ERROR(store_->TruncateChain(id, 0));
  for (const chain::Event& event : events) {
    Result<uint64_t> appended = store_->Append(id, event);
    if (!appended.ok()) return appended.status().WithContext("keeping actor " + id + "'s chain");
  }
  THEATER_RETURN_IF_ERROR(store_->Flush());  // the recovery reads it back from the database
  chain::ActorRecord row;
  row.actor_id = id;
  row.name = *name;
  row.manifest = *manifest;
  row.status = "running";
  row.recovery = *recovery;
  THEATER_RETURN_IF_ERROR(store_->UpsertActor(row));
  RecoveryCache cache;
  RecoveredActor recovered = RecoverOne(row, cache);
  if (recovered.status.ok()) {
    spdlog::info("actor {} ({}): {} ({} events; state from {})", id, recovered.name, how,
                 events.size(), recovered.state_source);
  }
  return recovered.status;
}

Result<RecoveryReport> RuntimeImpl::Recover() {
  if (!store_) return FailedPrecondition("recovery needs a database (RuntimeOptions::persist)");
  const auto began = std::chrono::steady_clock::now();
  THEATER_ASSIGN_OR_RETURN(std::vector<chain::ActorRecord> rows,
                           store_->ListActors(/*count_events=*/false));
  // Rows recorded as running (or left unrecovered by an earlier start) with a recovery record,
  // in registration order, so that siblings come back in the order their parent had them.
  std::vector<chain::ActorRecord> wanted;
  for (chain::ActorRecord& row : rows) {
    if (row.recovery.empty()) continue;
    if (row.status != "running" && row.status != "unrecovered") continue;
    if (Find(row.actor_id)) continue;  // running already (Recover() was called before)
    wanted.push_back(std::move(row));
  }
  std::map<std::string, std::vector<const chain::ActorRecord*>> children;
  std::vector<const chain::ActorRecord*> level;
  std::map<std::string, const chain::ActorRecord*> by_id;
  for (const chain::ActorRecord& row : wanted) by_id[row.actor_id] = &row;
  RecoveryReport report;
  for (const chain::ActorRecord& row : wanted) {
    if (!row.parent_id) {
      level.push_back(&row);
    } else if (by_id.count(*row.parent_id)) {
      children[*row.parent_id].push_back(&row);
    } else {
      RecoveredActor lost;
      lost.id = row.actor_id;
      lost.name = row.name;
      lost.parent_id = row.parent_id;
      lost.status =
          FailedPrecondition("its parent " + *row.parent_id + " is not recorded as running");
      report.actors.push_back(std::move(lost));
    }
  }

  RecoveryCache cache;
  // One level of the tree at a time: a group is one root, or the children of one parent, which
  // come back one after another (their order among the parent's children is kept).
  std::vector<std::vector<const chain::ActorRecord*>> groups;
  for (const chain::ActorRecord* root : level) groups.push_back({root});
  while (!groups.empty()) {
    std::vector<std::vector<RecoveredActor>> results(groups.size());
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::condition_variable all_done;
    size_t workers = std::min(kRecoveryParallelism, groups.size());
    size_t running = workers;
    auto work = [&] {
      for (size_t g = next++; g < groups.size(); g = next++) {
        for (const chain::ActorRecord* row : groups[g]) {
          results[g].push_back(RecoverOne(*row, cache));
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      if (--running == 0) all_done.notify_all();
    };
    for (size_t w = 0; w < workers; ++w) {
      Status posted = loader_->Post(work);
      if (!posted.ok()) work();  // the pool is full: this thread takes a share itself
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      all_done.wait(lock, [&] { return running == 0; });
    }
    std::vector<std::vector<const chain::ActorRecord*>> next_groups;
    for (auto& group : results) {
      for (RecoveredActor& actor : group) {
        auto kids = children.find(actor.id);
        if (kids != children.end()) {
          if (actor.status.ok()) {
            next_groups.push_back(kids->second);
          } else {
            // Its subtree stays down with it (breadth-first, so grandchildren follow).
            std::vector<const chain::ActorRecord*> lost = kids->second;
            for (size_t i = 0; i < lost.size(); ++i) {
              auto more = children.find(lost[i]->actor_id);
              if (more != children.end()) {
                lost.insert(lost.end(), more->second.begin(), more->second.end());
              }
              RecoveredActor down;
              down.id = lost[i]->actor_id;
              down.name = lost[i]->name;
              down.parent_id = lost[i]->parent_id;
              down.status =
                  FailedPrecondition("its parent " + *lost[i]->parent_id + " did not come back");
              report.actors.push_back(std::move(down));
            }
          }
        }
        report.actors.push_back(std::move(actor));
      }
    }
    groups = std::move(next_groups);
  }

  for (const RecoveredActor& actor : report.actors) {
    if (actor.status.ok()) {
      ++report.recovered;
      continue;
    }
    ++report.failed;
    spdlog::warn("actor {} ({}) not recovered: {}", actor.id, actor.name,
                 actor.status.ToString());
    if (auto row = by_id.find(actor.id); row != by_id.end() && row->second->status != "unrecovered") {
      chain::ActorRecord left = *row->second;
      left.status = "unrecovered";
      Status registered = store_->UpsertActor(left);
      if (!registered.ok()) {
        spdlog::warn("actor {}: registry: {}", actor.id, registered.ToString());
      }
    }
  }
  report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
  return report;
}

}  // namespace theater::runtime
