// Theater: a WebAssembly actor runtime.
//
// How a replay walks a chain (docs/replay.md has the user's view):
//   * The recorded events are read in order. Each is one of: a host call (answered to the guest
//     when it makes that call), an export call (made by the replay, with the recorded params), a
//     control event (actor-load: a fresh instance of the module it names; initial-state: the
//     state the next instance starts from; runtime-setup: the module's `_initialize` runs;
//     component-updated: a new module takes over the state), or anything else (custom events,
//     notices), which is copied as it is.
//   * Everything the replay does is recorded in a chain of its own, by the same code that
//     records a live actor; an observer compares each event's hash with the recording's at the
//     same index. The first mismatch is the divergence.
#include "runtime/replay.h"
#include "common/json_writer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/blocking_pool.h"
#include "common/nesting_guard.h"
#include "runtime/actor_host.h"
#include "runtime/host_call_replay.h"
#include "theater/abi/wit.h"
#include "theater/limits.h"
#include "theater/mutex.h"

namespace theater::runtime {
namespace {

using abi::Value;

// The interface of host-call events the runtime records of its own (state-snapshot).
constexpr std::string_view kRuntimeInterface = "theater:runtime";
// How long a replayed export call the recording shows failed may run (see CallExport).
constexpr std::chrono::milliseconds kFailedCallBudget{1000};
// Custom events (ActorContext::RecordCustomEvent) carry a guest's own bytes under this type
// prefix: never a call, whatever their first byte.
constexpr std::string_view kCustomEventPrefix = "custom/";

// What a recorded event asks of the replay.
enum class Role {
  kHostCall,       // consumed by the guest's next host call
  kExportCall,     // the replay calls the export
  kActorLoad,      // a fresh instance of the module named
  kInitialState,   // the state the next instance starts from
  kSetup,          // handlers are set up: `_initialize` runs (or the spawn failed)
  kComponentSwap,  // component-updated: a new module takes over the state
  kCopy,           // recorded by the host alone: copied as it is
  kUndecoded,      // a call (host or export) the loader left for the replay to decode (Rec())
};

struct Recorded {
  Role role = Role::kCopy;
  std::optional<chain::Payload> payload;  // decoded, when it decodes
  bool decoded_by_replay = false;         // by the replay's thread (Rec()), not the loader
};

// A state for people: pretty JSON when it is JSON, the text when it is printable text, else hex.
std::string RenderState(const std::optional<std::vector<uint8_t>>& state) {
  if (!state) return "none";
  std::string text(state->begin(), state->end());
  if (!text.empty() && CheckJsonNesting(text, limits::kMaxJsonDepth, "state").ok()) {
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) {
      return parsed.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  return JsonText(chain::ValueToJson(Value::Bytes(*state)));
}

std::string RenderRecordedState(const chain::StateRecord& record) {
  switch (record.form) {
    case chain::StateRecord::Form::kNone:
      return "none";
    case chain::StateRecord::Form::kInline:
      return RenderState(record.bytes);
    case chain::StateRecord::Form::kDigest:
      return "(" + std::to_string(record.size) + " bytes, sha256:" + chain::ToHex(record.digest) +
             ")";
  }
  return "?";
}

// The lines of `expected` and `got` that differ, marked - and +, with the first line that
// differs located (a readable diff for states of a few hundred lines, not an optimal one).
std::string LineDiff(const std::string& expected, const std::string& got) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  std::vector<std::string> a = lines(expected), b = lines(got);
  size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head &&
         a[a.size() - 1 - tail] == b[b.size() - 1 - tail]) {
    ++tail;
  }
  std::string out = "state differs from line " + std::to_string(head + 1) + ":\n";
  constexpr size_t kMaxLines = 40;
  for (size_t i = head, shown = 0; i < a.size() - tail && shown < kMaxLines; ++i, ++shown) {
    out += "- " + a[i] + "\n";
  }
  for (size_t i = head, shown = 0; i < b.size() - tail && shown < kMaxLines; ++i, ++shown) {
    out += "+ " + b[i] + "\n";
  }
  return out;
}

// A recorded event with what it asks of the replay. The loader decodes the rare events; the
// calls, nearly all of a chain, are decoded by the replay's thread when it reaches them (Rec()):
// what it decodes it also uses and frees there, so the two threads never free each other's memory.
struct Item {
  chain::Event event;
  Recorded recorded;
};

// How long a replay waits for the blocking pool to start reading its chain before it reads the
// chain itself: a pool whose threads are all busy (with replays waiting for their own reading,
// perhaps) must not keep it waiting.
constexpr std::chrono::milliseconds kPoolStartGrace{50};

// The reading of the recorded events (the loader): shared by the replay and the task on the
// blocking pool that reads them (ReplaySources::pool), which holds it by std::shared_ptr, so that
// a replay that ends or is destroyed before the task has run leaves it nothing freed to touch.
// Whoever moves `stage` from kQueued runs the reading (or, when the replay stops first, nobody
// does); the replay waits for kDone before it returns, so the visitor is never called after.
struct Loading {
  enum class Stage { kQueued, kReading, kDone };
  Mutex mu;
  std::condition_variable changed;  // events published, the reading started or ended
  std::atomic<bool> stop{false};    // the replay needs no more events
  Stage stage THEATER_GUARDED_BY(mu) = Stage::kQueued;
  RecordedEventVisitor visit THEATER_GUARDED_BY(mu);  // taken by whoever reads
  // What the loader read and the replay has not taken yet, and its end.
  std::vector<std::unique_ptr<Item>> loading THEATER_GUARDED_BY(mu);
  // Retired by the replay, for the reader to free between its batches.
  std::vector<std::unique_ptr<Item>> retiring THEATER_GUARDED_BY(mu);
  bool done THEATER_GUARDED_BY(mu) = false;
  Status status THEATER_GUARDED_BY(mu);
  size_t first_index THEATER_GUARDED_BY(mu) = 0;
};

class ChainReplay final : public HostCallReplay {
 public:
  ChainReplay(const ReplaySources& sources, const ReplayOptions& options)
      : sources_(sources), options_(options) {}

  ~ChainReplay() override { StopLoading(); }

  Result<ReplayReport> Run(RecordedEventVisitor visit) {
    StartLoading(std::move(visit));
    Status run = RunLoaded();
    StopLoading();
    // What the loader met comes first: the replay may have stopped because of it.
    THEATER_RETURN_IF_ERROR(LoadStatus());
    THEATER_RETURN_IF_ERROR(run);
    ReplayReport report;
    report.total = loaded_;
    report.events = divergence_ ? divergence_->index : unfinished_at_.value_or(next_);
    report.divergence = divergence_;
    const StateBytes& state = host_ ? host_->state() : state_;
    if (state) report.state = *state;
    return report;
  }

 private:
  Status RunLoaded() {
    if (!Has(0)) {
      THEATER_RETURN_IF_ERROR(LoadStatus());
      return InvalidArgument("the chain is empty: nothing to replay");
    }
    size_t first_index = 0;
    {
      MutexLock lock(load_->mu);  // set before event 0 was handed over, and never again
      first_index = load_->first_index;
    }
    if (first_index != 0) {
      return InvalidArgument("the chain's first " + std::to_string(first_index) +
                             " events are no longer held (the chain was not saved, or retention "
                             "dropped them): replay needs the chain from its first event");
    }
    if (Rec(0).role != Role::kActorLoad) {
      return InvalidArgument(
          "event #0 is not an actor-load event: replay needs the chain from its first event");
    }
    spill_ = std::make_shared<chain::ByteSpill>();
    spill_->inline_max = sources_.bytes_inline_max;
    spill_->keep = [](std::span<const uint8_t>, const chain::Hash&) { return true; };
    chain_ = std::make_shared<chain::EventChain>([] { return uint64_t{0}; });
    chain_->SetMemoryLimit(4);
    // An event the replay makes with the recorded one's parent, type and payload is the recorded
    // event: it takes the recorded hash, which the loader has checked, instead of a second SHA-256.
    chain_->SetKnownHash([this](const chain::Event& event,
                                size_t index) -> std::optional<chain::Hash> {
      if (divergence_ || !Has(index)) return std::nullopt;
      const chain::Event& recorded = Ev(index);
      if (recorded.parent == event.parent && recorded.type == event.type &&
          recorded.payload == event.payload) {
        return recorded.hash;
      }
      return std::nullopt;
    });
    chain_->AddObserver([this](const chain::Event& event, size_t index) { Compare(event, index); });

    while (!diverged() && !unfinished_at_ && Has(next_) && !PastUntil(next_)) {
      RetireConsumed();
      CopyUntilRole(/*bounded=*/true);
      if (diverged() || !Has(next_) || PastUntil(next_)) break;
      const size_t at = next_;
      const Recorded& r = Rec(at);
      switch (r.role) {
        case Role::kActorLoad: {
          const std::string& message = std::get<chain::Lifecycle>(*r.payload).message;
          std::optional<chain::ActorLoad> load = chain::ParseActorLoadMessage(message);
          if (!load) {
            return InvalidArgument("event #" + std::to_string(at) +
                                   ": actor-load names no module (\"" + message + "\")");
          }
          limits_ = load->limits;
          actor_id_ = load->actor_id;
          name_ = load->name.empty() ? "replayed actor" : load->name;
          // What the instance before had: a recovery must resume exactly from it.
          previous_state_ = host_ ? host_->state() : state_;
          previous_instance_ = host_ != nullptr;
          host_.reset();
          state_ = nullptr;
          THEATER_ASSIGN_OR_RETURN(module_, ResolveModule(load->module_sha256, at));
          CopyEvent(at);
          break;
        }
        case Role::kInitialState: {
          const auto& initial = std::get<chain::InitialState>(*r.payload);
          THEATER_ASSIGN_OR_RETURN(Value state, ResolveDigests(initial.state));
          if (!state.is_bytes()) {
            return InvalidArgument("event #" + std::to_string(at) +
                                   ": an initial state must be a byte list");
          }
          state_ = std::make_shared<const std::vector<uint8_t>>(std::move(state.mutable_bytes()));
          if (initial.source == "recovery" && previous_instance_ &&
              (!previous_state_ || *previous_state_ != *state_)) {
            (void)Diverge(at, "a recovery resumed from a state other than the one the replay "
                              "computed for the instance before it");
            break;
          }
          CopyEvent(at);
          break;
        }
        case Role::kSetup: {
          const auto& setup = std::get<chain::Lifecycle>(*r.payload);
          const bool ok = setup.message.starts_with("ok");
          // The instance was created before the setup event (a component's start function may
          // have called host functions then); `_initialize` runs after it.
          if (ok && !host_) THEATER_RETURN_IF_ERROR(Instantiate(module_));
          if (diverged()) break;
          CopyEvent(at);
          if (ok && host_) {
            Status initialized = host_->InitializeModule();
            if (!initialized.ok() && !diverged()) {
              return initialized.WithContext("replaying `_initialize` after event #" +
                                             std::to_string(at));
            }
          } else {
            host_.reset();
          }
          break;
        }
        case Role::kComponentSwap: {
          if (!swapped_ahead_) {
            const auto& updated = std::get<chain::Lifecycle>(*r.payload);
            THEATER_RETURN_IF_ERROR(Swap(updated.message, at));
          }
          swapped_ahead_ = false;
          if (diverged()) break;
          CopyEvent(at);
          break;
        }
        case Role::kExportCall:
          THEATER_RETURN_IF_ERROR(host_ ? RunCalls() : CallExport(at));
          break;
        case Role::kHostCall:
          if (host_ && ExportAt(at)) {
            THEATER_RETURN_IF_ERROR(RunCalls());
            break;
          }
          // A call the guest makes in what comes next: the export call recorded after its host
          // calls, or a new module's instantiation and `_initialize` when a component-updated
          // event follows.
          THEATER_RETURN_IF_ERROR(RunAhead(at));
          if (next_ == at && !diverged() && !unfinished_at_ && !PastUntil(at)) {
            (void)Diverge(at, "the replay made no host call here");
          }
          break;
        case Role::kCopy:
          CopyEvent(at);
          break;
        case Role::kUndecoded:  // Rec() decodes: never seen here
          return InternalError("event #" + std::to_string(at) + " was left undecoded");
      }
    }
    return Status();
  }

 public:
  // --- HostCallReplay ---

  Result<chain::CallOutcome> Serve(std::string_view interface_name, std::string_view function,
                                   std::span<const Value> input) override {
    THEATER_ASSIGN_OR_RETURN(const chain::HostCall* call,
                             NextHostCall(interface_name, function, input));
    chain::CallOutcome outcome = call->output;
    for (Value& v : outcome.values) {
      THEATER_ASSIGN_OR_RETURN(v, ResolveDigests(std::move(v)));
    }
    return outcome;
  }

  Result<chain::HostCall> ServeCore(std::string_view module, std::string_view name,
                                    CoreCall& call) override {
    THEATER_ASSIGN_OR_RETURN(const chain::HostCall* recorded, NextHostCall(module, name, {}));
    if (!recorded->output.ok() && recorded->input.empty()) {
      // The runtime refused the call before its handler saw it (the actor lacked the handler's
      // permission): refused again, the handler untouched.
      return *recorded;
    }
    const Handler* handler = CoreHandler(module);
    if (handler == nullptr) {
      return Diverge(served_at_, "no registered handler serves '" + std::string(module) + "'");
    }
    chain::CallOutcome outcome = recorded->output;
    for (Value& v : outcome.values) {
      THEATER_ASSIGN_OR_RETURN(v, ResolveDigests(std::move(v)));
    }
    return handler->ReplayCore(name, call, outcome);
  }

  bool ServesWithValues(std::string_view interface_name) override {
    if (sources_.handlers == nullptr) return false;
    for (std::string_view handler_name : sources_.handlers->Names()) {
      const Handler* handler = sources_.handlers->Find(handler_name);
      std::optional<std::string> imports = handler ? handler->imports() : std::nullopt;
      if (imports && imports->ends_with('*') &&
          interface_name.starts_with(std::string_view(*imports).substr(0, imports->size() - 1))) {
        return true;
      }
    }
    return false;
  }

  void BeforeExportRecorded() override { CopyUntilRole(/*bounded=*/false); }

  std::optional<std::string> RecordedFailure(const Status& status) override {
    if (!cut_short_) return std::nullopt;
    if (status.code() != StatusCode::kDeadlineExceeded && !ended_by_replay_) return std::nullopt;
    return cut_short_;
  }

 private:
  bool diverged() const { return divergence_.has_value(); }
  bool PastUntil(size_t index) const { return options_.until && index > *options_.until; }

  // --- Loading: a task on the blocking pool reads the recorded events and decodes them while
  // the replay runs. ---

  // The event's role, as the loader sees it: a call is left undecoded (kUndecoded) for Rec().
  static Recorded Sort(const chain::Event& event) {
    const chain::PayloadKind kind = chain::PeekPayloadKind(event.payload);
    if ((kind == chain::PayloadKind::kHostCall || kind == chain::PayloadKind::kExportCall) &&
        !event.type.starts_with(kCustomEventPrefix)) {
      Recorded r;
      r.role = Role::kUndecoded;
      return r;
    }
    return Classify(event);
  }

  // The event's payload decoded and its role decided.
  static Recorded Classify(const chain::Event& event) {
    Recorded r;
    Result<chain::Payload> decoded = chain::DecodePayload(event.payload);
    if (!decoded.ok()) return r;  // a custom event's own bytes: copied
    r.payload = std::move(decoded).value();
    if (const auto* call = std::get_if<chain::HostCall>(&*r.payload);
        call != nullptr && call->interface == kRuntimeInterface) {
      // The runtime's own record (a retention snapshot of the state): not a call of the guest.
      r.role = Role::kCopy;
    } else if (call != nullptr) {
      r.role = Role::kHostCall;
    } else if (std::holds_alternative<chain::ExportCall>(*r.payload)) {
      r.role = Role::kExportCall;
    } else if (std::holds_alternative<chain::InitialState>(*r.payload)) {
      r.role = Role::kInitialState;
    } else if (const auto* step = std::get_if<chain::Lifecycle>(&*r.payload)) {
      if (step->kind == "actor-load") r.role = Role::kActorLoad;
      if (step->kind == "runtime-setup") r.role = Role::kSetup;
      if (step->kind == "component-updated") r.role = Role::kComponentSwap;
    }
    return r;
  }

  // Hands the reading to the blocking pool, or, without one, to the replay's thread (Has()).
  void StartLoading(RecordedEventVisitor visit) {
    load_ = std::make_shared<Loading>();
    {
      MutexLock lock(load_->mu);
      load_->visit = std::move(visit);
    }
    read_here_after_ = std::chrono::steady_clock::now();
    if (sources_.pool == nullptr) return;
    if (sources_.pool->Post([load = load_] { Read(load); }).ok()) {
      read_here_after_ += kPoolStartGrace;
    }
  }

  // Reads the recorded events into `load`, checking each, unless someone else has (or the replay
  // stopped first). On the pool, or on the replay's thread when the pool did not start it soon.
  static void Read(const std::shared_ptr<Loading>& load) {
    RecordedEventVisitor visit;
    {
      MutexLock lock(load->mu);
      if (load->stage != Loading::Stage::kQueued) return;
      load->stage = Loading::Stage::kReading;
      visit = std::move(load->visit);
      load->changed.notify_all();
    }
    constexpr size_t kBatch = 256;
    std::vector<std::unique_ptr<Item>> batch;
    bool first = true;
    auto publish = [&] {
      std::vector<std::unique_ptr<Item>> done;
      {
        MutexLock lock(load->mu);
        for (auto& item : batch) load->loading.push_back(std::move(item));
        batch.clear();
        load->changed.notify_all();
        done.swap(load->retiring);
      }
      // Freed here, outside the lock, by the thread that allocated them: freeing them on the
      // replay's thread cost it a quarter of its time (frees across threads contend in malloc).
    };
    std::optional<chain::Hash> previous;  // the hash of the event read before
    Status damage;
    Status visited = visit([&](chain::Event&& event, size_t index) {
      if (load->stop.load(std::memory_order_relaxed)) return false;
      // Every recorded event is checked here, while the replay runs: that it links to the one
      // before and that its hash is the SHA-256 of what it holds. The replay then compares what
      // it makes with the recorded events (their hashes are proven).
      if (previous && event.parent != previous) {
        damage = ValidationError("the recorded chain does not verify: event #" +
                                 std::to_string(index) + " does not link to the event before");
        return false;
      }
      const chain::Hash own = chain::HashEvent(event.parent, event.type, event.payload);
      if (own != event.hash) {
        damage =
            ValidationError("the recorded chain does not verify: event #" + std::to_string(index) +
                            ": hash mismatch: stored " + chain::ToHex(event.hash).substr(0, 12) +
                            ", computed " + chain::ToHex(own).substr(0, 12));
        return false;
      }
      previous = event.hash;
      if (first) {
        first = false;
        MutexLock lock(load->mu);
        load->first_index = index;
      }
      auto item = std::make_unique<Item>();
      item->recorded = Sort(event);
      item->event = std::move(event);
      batch.push_back(std::move(item));
      if (batch.size() >= kBatch) publish();
      return true;
    });
    publish();
    if (visited.ok()) visited = std::move(damage);
    visit = nullptr;  // nothing of the replay's caller is touched once the replay sees kDone
    std::vector<std::unique_ptr<Item>> done;  // freed after the lock, by this thread
    {
      MutexLock lock(load->mu);
      load->status = std::move(visited);
      load->done = true;
      load->stage = Loading::Stage::kDone;
      done.swap(load->retiring);
      load->changed.notify_all();
    }
  }

  // Ends the reading (at once when it has not started) and waits for it to end. Idempotent.
  void StopLoading() {
    if (!load_ || loading_stopped_) return;
    loading_stopped_ = true;
    RecordedEventVisitor unused;  // a reading that never started: its visitor, dropped unlocked
    MutexLock lock(load_->mu);
    load_->stop.store(true, std::memory_order_relaxed);
    if (load_->stage == Loading::Stage::kQueued) {
      load_->stage = Loading::Stage::kDone;
      load_->done = true;
      unused = std::move(load_->visit);
    }
    lock.Wait(load_->changed,
              [&]() THEATER_REQUIRES(load_->mu) { return load_->stage == Loading::Stage::kDone; });
    // Events the loader read but the replay never needed still count toward the total.
    loaded_ = items_.size() + load_->loading.size();
    for (auto& item : load_->loading) unread_.push_back(std::move(item));
    load_->loading.clear();
  }

  // Hands the events the replay can no longer need to another thread to free: all before the
  // replay's chain and its next recorded event, but the last (a divergence found later is at or
  // after it). Nothing is retired after a divergence, which Describe() reads back.
  void RetireConsumed() {
    if (diverged()) return;
    const size_t upto = std::min(next_, chain_->size());
    if (upto < kKeptBehind) return;
    const size_t end = upto - kKeptBehind;
    for (; retired_upto_ < end; ++retired_upto_) {
      // What this thread decoded it frees itself; the loader frees what it allocated.
      Recorded& recorded = items_[retired_upto_]->recorded;
      if (recorded.decoded_by_replay) recorded.payload.reset();
      retired_.push_back(std::move(items_[retired_upto_]));
    }
    if (retired_.size() < kRetireBatch) return;
    {
      MutexLock lock(load_->mu);
      if (load_->stage == Loading::Stage::kReading) {
        // The reader frees them between its batches.
        for (auto& item : retired_) load_->retiring.push_back(std::move(item));
        retired_.clear();
        return;
      }
    }
    // The chain is read: a task on the pool frees them (here when there is none, or it refuses).
    auto batch = std::make_shared<std::vector<std::unique_ptr<Item>>>(std::move(retired_));
    retired_.clear();
    if (sources_.pool != nullptr) sources_.pool->Post([batch] { batch->clear(); }).IgnoreError();
  }

  // What the loader met (OK while it has met nothing wrong).
  Status LoadStatus() {
    MutexLock lock(load_->mu);
    return load_->status;
  }

  // Whether event `i` exists: waits for the loader until it has read that far or finished. When
  // the pool has not started the reading within kPoolStartGrace, this thread reads the chain
  // itself (all of it, before it goes on): waiting longer could wait on tasks that wait for it.
  bool Has(size_t i) {
    if (i < items_.size()) return true;
    Loading& load = *load_;
    MutexLock lock(load.mu);
    while (!load.done && items_.size() + load.loading.size() <= i) {
      if (load.stage != Loading::Stage::kQueued) {
        lock.Wait(load.changed);
      } else if (std::chrono::steady_clock::now() < read_here_after_) {
        lock.WaitUntil(load.changed, read_here_after_);
      } else {
        lock.Unlock();
        Read(load_);
        lock.Lock();
      }
    }
    for (auto& item : load.loading) items_.push_back(std::move(item));
    load.loading.clear();
    return i < items_.size();
  }
  const chain::Event& Ev(size_t i) const { return items_[i]->event; }
  // Event `i`'s role and payload, decoded here the first time a call is asked for.
  const Recorded& Rec(size_t i) {
    Recorded& r = items_[i]->recorded;
    if (r.role == Role::kUndecoded) {
      r = Classify(items_[i]->event);
      r.decoded_by_replay = true;
    }
    return r;
  }
  std::vector<Value>& MutableParams(size_t i) {
    (void)Rec(i);
    return std::get<chain::ExportCall>(*items_[i]->recorded.payload).params;
  }

  // Whether the recording spilled large byte lists, learnt from the first large list the replay
  // meets (before it records it again): a list recorded by digest says it did, a longer list
  // recorded inline that it did not.
  void NoteSpill(std::span<const Value> values) {
    if (spill_decided_) return;
    for (const Value& v : values) {
      if (v.is_bytes_digest()) {
        spill_decided_ = true;
        return;
      }
      if (v.is_bytes() && v.as_bytes().size() > sources_.bytes_inline_max) {
        spill_decided_ = true;
        spill_->inline_max = SIZE_MAX;
        return;
      }
    }
  }

  Result<std::shared_ptr<const engine::Module>> ResolveModule(const std::string& sha, size_t at) {
    if (!sources_.module) return NotFound("no source of modules to replay with");
    Result<std::shared_ptr<const engine::Module>> module = sources_.module(sha);
    if (!module.ok()) {
      return module.status().WithContext("event #" + std::to_string(at) + " names module sha256:" +
                                         sha);
    }
    return module;
  }

  // Byte lists recorded by digest, given back whole (the guest must see the bytes).
  Result<Value> ResolveDigests(Value v, int depth = 0) {
    if (depth > chain::kMaxValueDepth) return InvalidArgument("value nested too deep to replay");
    if (v.is_bytes_digest()) {
      if (!sources_.bytes) return NotFound("no store to read recorded byte lists from");
      chain::Hash sha;
      std::copy(v.bytes_digest().sha256.begin(), v.bytes_digest().sha256.end(), sha.begin());
      Result<std::vector<uint8_t>> bytes = sources_.bytes(sha);
      if (!bytes.ok()) {
        return bytes.status().WithContext("a byte list the chain recorded by digest (sha256:" +
                                          chain::ToHex(sha) + ")");
      }
      return Value::Bytes(std::move(bytes).value());
    }
    switch (v.kind()) {
      case abi::TypeKind::kList:
        if (v.is_bytes()) return v;
        [[fallthrough]];
      case abi::TypeKind::kRecord:
      case abi::TypeKind::kTuple:
        for (Value& item : v.mutable_items()) {
          THEATER_ASSIGN_OR_RETURN(item, ResolveDigests(std::move(item), depth + 1));
        }
        return v;
      case abi::TypeKind::kVariant:
      case abi::TypeKind::kOption:
      case abi::TypeKind::kResult:
        if (Value* payload = v.mutable_payload()) {
          THEATER_ASSIGN_OR_RETURN(*payload, ResolveDigests(std::move(*payload), depth + 1));
        }
        return v;
      default:
        return v;
    }
  }

  // The types every typed import may have: theater:simple's interfaces (and their alternate
  // forms) and each registered handler's own WIT. The functions are never called: the replay
  // answers (ActorHost consults options.replay).
  HostFunctionTable TypedTable() {
    HostFunctionTable table;
    HostFunction never = [](ActorContext&, std::span<const Value>) -> Result<std::vector<Value>> {
      return InternalError("a replayed host call reached a handler");
    };
    auto add_package = [&](const wit::Package& package, const std::string& handler) {
      const std::string prefix = package.namespace_name + ":" + package.name + "/";
      for (const auto& iface : package.interfaces) {
        for (const wit::Function& fn : iface->functions) {
          table.typed[prefix + iface->name + "." + fn.ComponentName()] =
              HostFunctionEntry{&fn.type, never, handler};
        }
      }
    };
    if (Result<const wit::Package*> package = TheaterPackage(); package.ok()) {
      add_package(**package, "runtime");
    }
    if (sources_.handlers != nullptr) {
      for (std::string_view name : sources_.handlers->Names()) {
        if (const wit::Package* own = sources_.handlers->WitOf(name)) {
          add_package(*own, std::string(name));
        }
      }
    }
    return table;
  }

  const Handler* CoreHandler(std::string_view module) const {
    if (sources_.handlers == nullptr) return nullptr;
    for (std::string_view name : sources_.handlers->Names()) {
      const Handler* handler = sources_.handlers->Find(name);
      if (handler && handler->imports() == module) return handler;
    }
    return nullptr;
  }

  Status Instantiate(std::shared_ptr<const engine::Module> module) {
    if (!module) return InvalidArgument("no module to instantiate (no actor-load event before)");
    ActorHostOptions options;
    options.actor_id = actor_id_;
    options.name = name_;
    options.initial_state = state_;
    options.byte_spill = spill_;
    options.replay = this;
    if (limits_) {
      options.instance.max_memory_bytes = limits_->memory_bytes;
      options.stack_size = limits_->stack_bytes;
      options.init_deadline = std::chrono::milliseconds(limits_->init_deadline_ms);
      options.call_deadline = std::chrono::milliseconds(limits_->call_deadline_ms);
    }
    Result<std::unique_ptr<ActorHost>> host =
        ActorHost::Create(std::move(module), std::move(options), chain_, TypedTable());
    if (!host.ok()) {
      if (diverged()) return Status();
      return host.status().WithContext("instantiating the module for the replay");
    }
    host_ = std::move(host).value();
    return Status();
  }

  Status Swap(const std::string& message, size_t at) {
    std::optional<std::string> sha = chain::ModuleNamedIn(message);
    if (!sha) return InvalidArgument("event #" + std::to_string(at) + " names no module");
    THEATER_ASSIGN_OR_RETURN(module_, ResolveModule(*sha, at));
    if (host_) state_ = host_->state();
    host_.reset();
    THEATER_RETURN_IF_ERROR(Instantiate(module_));
    if (host_ && !diverged()) {
      Status initialized = host_->InitializeModule();
      if (!initialized.ok() && !diverged()) return initialized.WithContext("replaying an update");
    }
    return Status();
  }

  // The export call whose host calls begin at `at` (or that is at `at`), when the events from
  // `at` are host calls (and copies) up to an export call the replay is to run.
  std::optional<size_t> ExportAt(size_t at) {
    for (size_t j = at; Has(j); ++j) {
      const Role role = Rec(j).role;
      if (role == Role::kHostCall || role == Role::kCopy) continue;
      if (role == Role::kExportCall && !PastUntil(j)) return j;
      return std::nullopt;
    }
    return std::nullopt;
  }

  // Runs the export calls that come next, with the host calls each one makes, as one task on
  // one fiber of the current instance, as a live actor runs the calls queued for it, instead of
  // a fiber for each. It ends at the first event that asks for something else (a new instance,
  // a call cut short, the end of what is to be replayed) and after a call that failed (as a live
  // actor's batch does); RunLoaded() takes it from there.
  Status RunCalls() {
    engine::CallOptions options;
    if (limits_) options.stack_size = limits_->stack_bytes;
    Status problem;
    Status ran = engine::RunTaskOnFiber(
        host_->instance(),
        [&]() -> Status {
          for (bool first = true;; first = false) {
            if (!first) {
              RetireConsumed();
              CopyUntilRole(/*bounded=*/true);
            }
            if (diverged() || unfinished_at_ || !Has(next_) || PastUntil(next_)) return Status();
            std::optional<size_t> call = ExportAt(next_);
            if (!call) return Status();
            problem = CallExport(*call);
            if (!problem.ok() || diverged()) return Status();
            if (!std::get<chain::ExportCall>(*Rec(*call).payload).result.ok()) return Status();
          }
        },
        options);
    THEATER_RETURN_IF_ERROR(problem);
    return ran.WithContext("replaying export calls");
  }

  Status RunAhead(size_t at) {
    for (size_t j = at; Has(j); ++j) {
      const Role role = Rec(j).role;
      if (role == Role::kHostCall || role == Role::kCopy) continue;
      if (role == Role::kExportCall) {
        if (PastUntil(j)) {
          next_ = *options_.until + 1;  // time travel ends inside this call: it does not run
          return Status();
        }
        return CallExport(j);
      }
      if (role == Role::kSetup && !host_) {
        // A component's start function called host functions while it was instantiated, before
        // the setup event. When that event says the setup failed, so may the instantiation.
        Status made = Instantiate(module_);
        const bool setup_failed =
            !std::get<chain::Lifecycle>(*Rec(j).payload).message.starts_with("ok");
        if (!made.ok() && setup_failed) return Status();
        return made;
      }
      if (role == Role::kActorLoad) {
        // The instance was lost in the middle of this call (the host crashed, and a recovery
        // started a new one): its export call was never recorded, so what it did is not replayed.
        // Its host calls are copied as they are.
        while (!diverged() && next_ < j) CopyEvent(next_);
        return Status();
      }
      if (role == Role::kComponentSwap) {
        THEATER_RETURN_IF_ERROR(
            Swap(std::get<chain::Lifecycle>(*Rec(j).payload).message, j));
        swapped_ahead_ = true;
        if (next_ == at && !diverged()) {
          // The new instance made none of the calls recorded before the update.
          (void)Diverge(at, "the replay made no host call here");
        }
        return Status();
      }
      break;
    }
    bool only_calls = true;
    for (size_t j = at; only_calls && Has(j); ++j) {
      only_calls = Rec(j).role == Role::kHostCall || Rec(j).role == Role::kCopy;
    }
    if (only_calls) {
      // The chain of a running actor ends in a call still running: replayed up to it.
      unfinished_at_ = at;
      return Status();
    }
    (void)Diverge(at, "the replay made no host call here");
    return Status();
  }

  Status CallExport(size_t at) {
    const auto& recorded = std::get<chain::ExportCall>(*Rec(at).payload);
    NoteSpill(recorded.params);
    NoteSpill(recorded.result.values);
    if (!host_) {
      (void)Diverge(at, "the replay has no instance to call (no successful setup before)");
      return Status();
    }
    const size_t hash = recorded.function.rfind('#');
    if (hash == std::string::npos) {
      return InvalidArgument("event #" + std::to_string(at) + ": export '" + recorded.function +
                             "' is not named <interface>#<function>");
    }
    // The params move out of the recording (this thread decoded them): nothing reads them again
    // (a divergence is described from the event's bytes and the recorded state).
    std::vector<Value> params = std::move(MutableParams(at));
    for (Value& p : params) {
      THEATER_ASSIGN_OR_RETURN(p, ResolveDigests(std::move(p)));
    }
    // A call the recording shows failed is cut short after kFailedCallBudget: whatever stopped
    // it live (a deadline, a terminate), any later point leaves the same state.
    const std::chrono::milliseconds init(limits_ ? limits_->init_deadline_ms : 60'000);
    const std::chrono::milliseconds call(limits_ ? limits_->call_deadline_ms : 300'000);
    cut_short_.reset();
    ended_by_replay_ = false;
    if (!recorded.result.ok()) {
      cut_short_ = *recorded.result.error;
      host_->SetDeadlines(std::min(init, kFailedCallBudget), std::min(call, kFailedCallBudget));
    } else {
      host_->SetDeadlines(init, call);
    }
    // On a task (RunCalls), the call runs under the task's deadline: restarted for it, and
    // lifted after it while the replay reads on.
    engine::GuestCall* task = host_->instance().active_call();
    if (task != nullptr) task->RestartDeadline(host_->DeadlineFor(recorded.function));
    Result<std::vector<Value>> result =
        host_->CallExport(std::string_view(recorded.function).substr(0, hash),
                          std::string_view(recorded.function).substr(hash + 1), std::move(params));
    if (task != nullptr) task->RestartDeadline(std::chrono::milliseconds(0));
    (void)result;  // its outcome is in the event it recorded, compared like any other
    if (!diverged() && chain_->size() != at + 1) {
      // The export failed before it could be recorded (e.g. its export is gone).
      (void)Diverge(at, "the replay could not call it: " + result.status().ToString());
    }
    next_ = at + 1;
    return Status();
  }

  // The recorded host call the guest's call must be: the next one (after copying what nobody
  // re-creates). Anything else diverges.
  Result<const chain::HostCall*> NextHostCall(std::string_view interface_name,
                                              std::string_view function,
                                              std::span<const Value> input) {
    if (diverged()) return FailedPrecondition("the replay diverged at event #" + std::to_string(divergence_->index));
    CopyUntilRole(/*bounded=*/false);
    auto described = [&] {
      std::string call = std::string(interface_name) + "/" + std::string(function);
      if (!input.empty()) {
        call += "(";
        for (size_t i = 0; i < input.size(); ++i) {
          call += (i ? ", " : "") + chain::ValueToJson(input[i]).dump(
                                        -1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
        call += ")";
      }
      return "the guest called " + call;
    };
    if (cut_short_ && Has(next_) && Rec(next_).role == Role::kExportCall) {
      // The recorded call failed before it made this call (stopped from outside while it
      // waited, or before it ran): it ends here as it ended then.
      ended_by_replay_ = true;
      return Cancelled("the recorded call ended before this host call");
    }
    if (!Has(next_) || Rec(next_).role != Role::kHostCall) {
      return Diverge(next_, described());
    }
    const auto* call = &std::get<chain::HostCall>(*Rec(next_).payload);
    NoteSpill(call->input);
    NoteSpill(call->output.values);
    if (call->interface != interface_name || call->function != function) {
      return Diverge(next_, described());
    }
    served_at_ = next_++;
    return call;
  }

  // Copies recorded events that nobody re-creates, up to the next event with a role.
  void CopyUntilRole(bool bounded) {
    while (!diverged() && Has(next_) && Rec(next_).role == Role::kCopy &&
           !(bounded && PastUntil(next_))) {
      CopyEvent(next_);
    }
  }

  void CopyEvent(size_t at) {
    const chain::Event& e = Ev(at);
    if (chain_->size() != at) {
      (void)Diverge(at, "the replay's chain is at event #" + std::to_string(chain_->size()));
      return;
    }
    next_ = at + 1;
    chain_->Append(e.type, e.payload, e.description);
  }

  // Runs under the replay chain's lock for every event the replay records.
  void Compare(const chain::Event& event, size_t index) {
    if (divergence_) return;
    if (!Has(index)) {
      got_.emplace(event);
      divergence_ = ReplayDivergence{index, "", "(the recording ends here)", "", ""};
      return;
    }
    // The same hash: the same event (the recorded hash is checked, and the replay's is the
    // recorded one only when their bytes are equal, or else a SHA-256 of its own bytes).
    if (Ev(index).hash == event.hash) return;
    got_.emplace(event);
    divergence_ = ReplayDivergence{index, Ev(index).type, "", "", ""};
  }

  // Records a divergence the replay noticed itself (before an event could differ); returns the
  // error that ends the guest's call.
  Status Diverge(size_t at, std::string got) {
    if (!divergence_) {
      divergence_ = ReplayDivergence{at, Has(at) ? Ev(at).type : "", "", std::move(got), ""};
    }
    return FailedPrecondition("replay diverged at event #" + std::to_string(divergence_->index));
  }

 public:
  // Fills in the readable parts of the divergence once the replay is over.
  void Describe(ReplayReport& report) {
    if (!report.divergence) return;
    ReplayDivergence& d = *report.divergence;
    const bool recorded = Has(d.index);
    if (recorded) d.expected = chain::EventToLine(Ev(d.index), d.index);
    if (got_) {
      d.got = chain::EventToLine(*got_, d.index);
      // Two host calls: what differs of them (the one-line forms cut long values short).
      if (recorded && Rec(d.index).role == Role::kHostCall) {
        Result<chain::Payload> mine = chain::DecodePayload(got_->payload);
        const auto& theirs = std::get<chain::HostCall>(*Rec(d.index).payload);
        if (mine.ok() && std::holds_alternative<chain::HostCall>(*mine)) {
          const auto& ours = std::get<chain::HostCall>(*mine);
          auto cut = [](const nlohmann::json& j) {
            std::string text = JsonText(j);
            return text.size() > 400 ? text.substr(0, 400) + "…" : text;
          };
          if (!(ours.input == theirs.input)) {
            d.detail += "input differs:\n- " + cut(chain::PayloadToJson(Ev(d.index).payload)["input"]) +
                        "\n+ " + cut(chain::PayloadToJson(got_->payload)["input"]) + "\n";
          }
          if (!(ours.output == theirs.output)) {
            d.detail += "output differs:\n- " + cut(chain::PayloadToJson(Ev(d.index).payload)["output"]) +
                        "\n+ " + cut(chain::PayloadToJson(got_->payload)["output"]) + "\n";
          }
        }
      }
      // Two export calls that left different states: the states, line by line.
      if (recorded && Rec(d.index).role == Role::kExportCall) {
        Result<chain::Payload> mine = chain::DecodePayload(got_->payload);
        const auto& theirs = std::get<chain::ExportCall>(*Rec(d.index).payload);
        if (mine.ok() && std::holds_alternative<chain::ExportCall>(*mine)) {
          const auto& ours = std::get<chain::ExportCall>(*mine);
          if (!(ours.new_state == theirs.new_state)) {
            std::string expected = RenderRecordedState(theirs.new_state);
            std::optional<std::vector<uint8_t>> actual;
            if (host_ && host_->state()) actual = *host_->state();
            d.detail = LineDiff(expected, RenderState(actual));
          }
        }
      }
    }
  }

 private:
  const ReplaySources& sources_;
  const ReplayOptions& options_;
  // The events the replay has taken from the loader, by index; null once retired (those before
  // retired_upto_).
  std::vector<std::unique_ptr<Item>> items_;
  std::vector<std::unique_ptr<Item>> unread_;  // read by the loader, never taken
  static constexpr size_t kKeptBehind = 2;
  static constexpr size_t kRetireBatch = 256;
  size_t retired_upto_ = 0;
  std::vector<std::unique_ptr<Item>> retired_;  // retired, not yet handed over to be freed
  std::shared_ptr<Loading> load_;               // the reading of the recorded events (StartLoading)
  // When Has() stops waiting for the pool to start the reading and reads the chain itself.
  std::chrono::steady_clock::time_point read_here_after_;
  bool loading_stopped_ = false;
  // Events read in all (set when loading stops).
  size_t loaded_ = 0;
  bool spill_decided_ = false;
  std::shared_ptr<chain::ByteSpill> spill_;

  std::shared_ptr<chain::EventChain> chain_;
  std::unique_ptr<ActorHost> host_;
  std::shared_ptr<const engine::Module> module_;
  StateBytes state_;
  std::string actor_id_, name_;
  size_t next_ = 0;        // the next recorded event not yet replayed
  size_t served_at_ = 0;   // the host call served last
  bool swapped_ahead_ = false;
  std::optional<chain::RecordedLimits> limits_;  // the limits the actor-load event names
  // At an actor-load: the state the instance before it had, and whether there was one (what a
  // recovery's initial state is checked against).
  StateBytes previous_state_;
  bool previous_instance_ = false;
  std::optional<std::string> cut_short_;  // the recorded error of the failed call running
  bool ended_by_replay_ = false;  // the replay ended that call where its recording ends
  std::optional<size_t> unfinished_at_;  // where a call still running when the chain was read begins
  std::optional<ReplayDivergence> divergence_;
  std::optional<chain::Event> got_;  // the replay's event where it diverged
};

}  // namespace

Result<ReplayReport> ReplayChain(RecordedEventVisitor visit, const ReplaySources& sources,
                                 const ReplayOptions& options) {
  ChainReplay replay(sources, options);
  THEATER_ASSIGN_OR_RETURN(ReplayReport report, replay.Run(std::move(visit)));
  replay.Describe(report);
  return report;
}

}  // namespace theater::runtime
