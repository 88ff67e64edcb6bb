// Theater: a WebAssembly actor runtime.
//
// The event chain: the hash-linked record of everything that crossed an actor's sandbox boundary.
//
// An Event carries a parent hash, an event type, a payload (bytes), a timestamp and an optional
// description. Its hash is SHA-256 over a framed encoding of (parent hash, event type, payload)
// only, so replaying the same calls produces the same hashes whatever the wall clock says. The
// payload is the canonical binary encoding of a typed Payload (a host call, an export call or
// result, a lifecycle step, a log line). docs/chain-format.md specifies the framing and the
// encoding byte by byte; anything that produces the same bytes produces the same hashes.
//
// EventChain holds one actor's events in memory. It owns its events; readers get copies.
// Persistence is a separate concern: Event is a plain value, VerifyEvents() checks any sequence of
// them, and EventChain::FromEvents() resumes a chain loaded from storage.
//
// Thread-safety: Event, Payload and the free functions are values and pure functions. EventChain
// is internally synchronised; any thread may append or read. Observers run after the chain's lock
// is released, one event at a time in append order (see AddObserver).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "theater/abi/value.h"
#include "theater/mutex.h"
#include "theater/status.h"

namespace theater::chain {

// A SHA-256 digest.
using Hash = std::array<uint8_t, 32>;

// SHA-256 of `data`.
Hash Sha256(std::span<const uint8_t> data);

// Lower-case hex of `bytes` ("9f2c…"), and the 7-character short form people read in logs.
std::string ToHex(std::span<const uint8_t> bytes);
std::string ShortHex(const Hash& hash);

struct Event {
  std::optional<Hash> parent;  // absent only for the first event of a chain
  std::string type;            // e.g. "wasm", "theater:simple/runtime/log", "theater-runtime"
  std::vector<uint8_t> payload;
  uint64_t timestamp_ms = 0;               // wall clock, ms since the Unix epoch; not hashed
  std::optional<std::string> description;  // free text for people; not hashed
  Hash hash{};

  friend bool operator==(const Event&, const Event&) = default;
};

// The exact bytes an event's hash is computed over (see docs/chain-format.md, "Hash framing").
std::vector<uint8_t> HashFrame(const std::optional<Hash>& parent, std::string_view type,
                               std::span<const uint8_t> payload);
// SHA-256 of HashFrame(parent, type, payload).
Hash HashEvent(const std::optional<Hash>& parent, std::string_view type,
               std::span<const uint8_t> payload);

// ---------------------------------------------------------------------------------------------
// Typed payloads.

// States up to this many bytes are recorded inline in export events; larger ones by SHA-256 and
// size, so that a chain does not grow by the whole state on every call.
inline constexpr size_t kStateInlineLimit = 1024;
// Whether an export event records a state of `size` bytes by its digest (else inline).
inline bool StateRecordedByDigest(uint64_t size) {
  return size > kStateInlineLimit;
}

// How an export event records an actor state (an option<list<u8>>).
struct StateRecord {
  enum class Form : uint8_t { kNone = 0, kInline = 1, kDigest = 2 };

  Form form = Form::kNone;
  uint64_t size = 0;           // kInline, kDigest: the state's length in bytes
  std::vector<uint8_t> bytes;  // kInline: the state itself
  Hash digest{};               // kDigest: SHA-256 of the state

  // The record of an absent state.
  static StateRecord None() { return {}; }
  // The record of a present state: inline when it is at most kStateInlineLimit bytes, else its
  // digest.
  static StateRecord OfBytes(std::span<const uint8_t> state);
  // The record of an option<list<u8>> state: None() or OfBytes().
  static StateRecord Of(const std::optional<std::vector<uint8_t>>& state);

  friend bool operator==(const StateRecord&, const StateRecord&) = default;
};

// A StateRecord by reference, for encoding without a copy: inline bytes are read where the state
// lives. Valid while the state (or the StateRecord it was made from) is.
struct StateRecordView {
  StateRecord::Form form = StateRecord::Form::kNone;
  uint64_t size = 0;
  std::span<const uint8_t> bytes;  // kInline
  Hash digest{};                   // kDigest

  StateRecordView() = default;
  StateRecordView(const StateRecord& record)  // NOLINT(google-explicit-constructor): a view
      : form(record.form), size(record.size), bytes(record.bytes), digest(record.digest) {}
  // The record of a present state: inline, or by `digest` when StateRecordedByDigest (the
  // caller computed it once, SHA-256 of the state, and keeps it with the state; else unread).
  static StateRecordView OfBytes(std::span<const uint8_t> state, const Hash& digest);
};

// A CallOutcome's contents by reference, for encoding without a copy: `error` null means ok.
struct CallOutcomeView {
  std::span<const abi::Value> values;
  const std::string* error = nullptr;
};

// What a call produced: its result values, or the error it failed with (a trap, a deadline, a
// host-side failure). A guest-level `err(...)` is a result value, not an error here.
struct CallOutcome {
  std::vector<abi::Value> values;
  std::optional<std::string> error;

  static CallOutcome Ok(std::vector<abi::Value> values) { return {std::move(values), {}}; }
  static CallOutcome Error(std::string message) { return {{}, std::move(message)}; }
  bool ok() const { return !error.has_value(); }
  CallOutcomeView view() const;

  friend bool operator==(const CallOutcome&, const CallOutcome&) = default;
};

// The guest called a host function, e.g. interface "theater:simple/runtime", function "log".
struct HostCall {
  std::string interface;
  std::string function;
  std::vector<abi::Value> input;
  CallOutcome output;

  friend bool operator==(const HostCall&, const HostCall&) = default;
};

// The host called a guest export, e.g. "theater:simple/actor#init", with `params` (the elements
// of its params tuple) and it returned `result` (or failed), leaving `new_state`. Recorded once
// the call is over, so it follows the host calls the export made; the state the call started
// from is the new_state of the export call before it (or the spawn's initial state).
struct ExportCall {
  std::string function;
  std::vector<abi::Value> params;
  CallOutcome result;
  StateRecord new_state;

  friend bool operator==(const ExportCall&, const ExportCall&) = default;
};

// A step of the actor's life that the runtime records, e.g. kind "actor-ready".
struct Lifecycle {
  std::string kind;
  std::string message;

  friend bool operator==(const Lifecycle&, const Lifecycle&) = default;
};

// The log levels an actor may log at, in the order of runtime-ext's `log-level` enum (whose
// case index a recorded `log-at` call holds); runtime-leveled's `log` takes them by name.
inline constexpr std::array<std::string_view, 5> kLogLevels = {"trace", "debug", "info", "warn",
                                                               "error"};

// A line an actor logged, e.g. level "info".
struct Log {
  std::string level;
  std::string message;

  friend bool operator==(const Log&, const Log&) = default;
};

// The state an actor's instance starts from, when it has one: the manifest's init_state (with
// what the spawn merged over it), or the saved state a resumed actor continues from. Recorded
// right after the actor-load event, so that a replay starts from the state the actor started
// from. No such event means no state.
struct InitialState {
  std::string source;  // "init_state" or "resume"
  abi::Value state;    // the bytes (Value::Bytes; by digest when large, as call values)

  friend bool operator==(const InitialState&, const InitialState&) = default;
};

using Payload = std::variant<HostCall, ExportCall, Lifecycle, Log, InitialState>;

// The event type of lifecycle steps.
inline constexpr std::string_view kLifecycleEventType = "theater-runtime";

// The event type conventionally recorded with a payload: "<interface>/<function>" for host calls,
// "wasm" for export calls, "theater-runtime" for lifecycle steps and initial states, and
// "theater:simple/runtime/log" for logs.
std::string EventTypeFor(const Payload& payload);

// Limits the decoder enforces so that hostile input cannot exhaust the stack.
inline constexpr int kMaxValueDepth = 64;

// The canonical encoding (docs/chain-format.md). Encoding never fails and a given payload has
// exactly one encoding. The decoders accept exactly what the encoders produce for values nested at
// most kMaxValueDepth deep (a top-level value has depth 1); deeper values are encoded but cannot
// be decoded (WIT types that real interfaces declare are far shallower).
std::vector<uint8_t> EncodePayload(const Payload& payload);
std::vector<uint8_t> EncodeValue(const abi::Value& value);
// EncodePayload's bytes appended to `out`.
void EncodePayloadTo(const Payload& payload, std::vector<uint8_t>& out);

// Where byte lists too large to keep in an event go (docs/chain-format.md, "Large byte lists").
// While encoding a call, a byte list (Value::Bytes) longer than `inline_max` bytes is hashed and
// handed to `keep`; when `keep` returns true the event records only its size and SHA-256 (value
// tag 0x19, decoded as Value::BytesByDigest), and whoever keeps the bytes can give them back by
// that digest. When `keep` returns false (it could not keep them) the bytes are recorded inline
// as usual: a spill never loses data. `keep` runs on the recording thread, inside the chain's
// append, so it must not append to the same chain. Shared by every actor of a runtime: keep
// must be thread-safe.
struct ByteSpill {
  size_t inline_max = 64 * 1024;
  std::function<bool(std::span<const uint8_t> bytes, const Hash& sha256)> keep;
};
// The encodings of a HostCall and an ExportCall written straight from the call's own values, so
// recording a call neither copies its values nor builds a Payload: the same bytes as
// EncodePayload() of the equivalent struct, appended to `out`.
// With a `spill`, large byte lists are recorded by digest (ByteSpill).
void EncodeHostCallTo(std::string_view interface, std::string_view function,
                      std::span<const abi::Value> input, const CallOutcomeView& output,
                      std::vector<uint8_t>& out, const ByteSpill* spill = nullptr);
void EncodeExportCallTo(std::string_view function, std::span<const abi::Value> params,
                        const CallOutcomeView& result, const StateRecordView& new_state,
                        std::vector<uint8_t>& out, const ByteSpill* spill = nullptr);

// An InitialState's encoding, with large states spilled like call values.
void EncodeInitialStateTo(std::string_view source, const abi::Value& state,
                          std::vector<uint8_t>& out, const ByteSpill* spill = nullptr);

// Decoders reject truncated, trailing, over-deep and non-canonical input with a kParseError Status
// naming the byte offset. They never crash, recurse at most kMaxValueDepth levels, and their
// memory use is bounded by a constant factor of the input size.
Result<Payload> DecodePayload(std::span<const uint8_t> bytes);

// The kind of Payload `bytes` would decode to, read from its first byte alone (nothing else is
// checked, so DecodePayload may still refuse it): for a reader that sorts many events cheaply and
// decodes only those it needs, when it needs them. kNone for an empty or unknown first byte.
enum class PayloadKind { kNone, kHostCall, kExportCall, kLifecycle, kLog, kInitialState };
PayloadKind PeekPayloadKind(std::span<const uint8_t> bytes);
Result<abi::Value> DecodeValue(std::span<const uint8_t> bytes);

// ---------------------------------------------------------------------------------------------
// Verification.

// Recomputes every hash and checks every parent link (the first event has no parent, each later
// one names its predecessor). Returns a kValidationError naming the first bad event by index.
Status VerifyEvents(std::span<const Event> events);
// The same for a chain's tail: the first event's parent must be `anchor` (the hash of the event
// before it; nullopt when the tail is the whole chain). `first_index` numbers the messages.
Status VerifyEvents(std::span<const Event> events, const std::optional<Hash>& anchor,
                    size_t first_index);

// The first event of an actor's chain binds the chain to its actor: a Lifecycle "actor-load"
// whose message is ActorLoadMessage() ("actor <id> loads <name> <version>, component
// sha256:<hex>"; docs/chain-format.md, "The first event").
// The limits an actor ran under, which decide what its calls do (how much memory a guest gets,
// when a call is cut off): named in its actor-load event so that a replay runs under them too.
struct RecordedLimits {
  uint64_t memory_bytes = 0;
  uint64_t stack_bytes = 0;
  uint64_t init_deadline_ms = 0;
  uint64_t call_deadline_ms = 0;
};
std::string ActorLoadMessage(std::string_view actor_id, std::string_view name,
                             std::string_view version, std::string_view module_sha256,
                             const std::optional<RecordedLimits>& limits = std::nullopt);
// The limits an actor-load message names (", limits memory <n> B, stack <n> B, init <n> ms,
// call <n> ms"); nullopt when it names none (chains recorded before they did).
std::optional<RecordedLimits> ParseRecordedLimits(std::string_view actor_load_message);
// The module an actor-load or component-updated message names ("component sha256:<hex>"): its
// lower-case hex SHA-256, or nullopt.
std::optional<std::string> ModuleNamedIn(std::string_view message);
// What an actor-load message names. `actor_id` is empty for chains recorded before event #0
// named its actor; nullopt when the message names no module.
struct ActorLoad {
  std::string actor_id;
  std::string name;
  std::string module_sha256;
  std::optional<RecordedLimits> limits;
};
std::optional<ActorLoad> ParseActorLoadMessage(std::string_view message);
// Whether `events`, a chain's tail starting at index `first_index`, belongs to `actor_id`: a
// kValidationError naming both ids when its event #0 names another actor, or when event #0 is
// not an actor-load event. OK when the tail does not start at event #0 (retention dropped it)
// and for chains recorded before event #0 named its actor.
Status VerifyActorBinding(std::span<const Event> events, size_t first_index,
                          std::string_view actor_id);

// ---------------------------------------------------------------------------------------------
// The chain.

class EventChain {
 public:
  // Milliseconds since the Unix epoch. Injected so tests get fixed timestamps.
  using Clock = std::function<uint64_t()>;
  // Sees each appended event and its index in the chain.
  using Observer = std::function<void(const Event& event, size_t index)>;
  using ObserverId = uint64_t;

  // An empty chain; `clock` defaults to the system clock.
  explicit EventChain(Clock clock = nullptr);
  // A chain continuing `events` (e.g. loaded from storage) after checking them with VerifyEvents.
  static Result<std::unique_ptr<EventChain>> FromEvents(std::vector<Event> events,
                                                        Clock clock = nullptr);

  // A chain whose first `next_index` events are elsewhere (saved in a ChainStore), the last of
  // them with hash `head`: the next append links to it and gets index `next_index`, and none of
  // the earlier ones is held (first_index() is next_index, anchor() is head). How a recovered
  // actor continues its chain without reading it.
  static std::unique_ptr<EventChain> Continuing(size_t next_index, const Hash& head,
                                                Clock clock = nullptr);

  EventChain(const EventChain&) = delete;
  EventChain& operator=(const EventChain&) = delete;

  // Appends an event whose parent is the current head, stamps it with the clock, and returns its
  // hash. Costs one SHA-256 over the framed event plus the observers' time.
  Hash Append(std::string type, std::vector<uint8_t> payload,
              std::optional<std::string> description = std::nullopt) THEATER_EXCLUDES(mu_);
  // Encodes `payload` and appends it under EventTypeFor(payload).
  Hash Append(const Payload& payload, std::optional<std::string> description = std::nullopt)
      THEATER_EXCLUDES(mu_);
  // Appends an event of `type` whose payload `write_payload(std::vector<uint8_t>&)` appends to
  // the (empty) buffer it is given. Once the chain is at its memory limit the buffer is the
  // evicted event's, capacity kept, so steady-state appends allocate nothing. `write_payload`
  // runs under the chain's lock: it must only encode, never call back into the chain.
  template <typename WritePayload>
  Hash AppendWith(std::string_view type, WritePayload&& write_payload,
                  std::optional<std::string> description = std::nullopt) THEATER_EXCLUDES(mu_) {
    const uint64_t now = clock_();
    uint64_t delivery = 0;
    Hash hash;
    {
      MutexLock lock(mu_);
      Event& event = NextSlotLocked();
      event.type.assign(type);
      write_payload(event.payload);
      hash = CommitLocked(event, now, std::move(description), &delivery);
    }
    if (delivery != 0) DeliverThrough(delivery);
    return hash;
  }

  // Events appended over the chain's life (including any no longer held in memory).
  size_t size() const;
  // A copy of every event held in memory, oldest first: the whole chain unless a memory limit
  // dropped older ones (then they start at first_index()).
  std::vector<Event> events() const;
  // A copy of the event at absolute `index`, or nullopt past the end or when no longer held.
  std::optional<Event> event(size_t index) const;

  // Holds at most `max_events` (at least 1) events in memory. Beyond it the oldest is dropped,
  // remembering its hash (the anchor), so Verify() still checks everything held. Persisted chains
  // keep the full history in the ChainStore; this bounds what a long-running actor costs in memory.
  void SetMemoryLimit(size_t max_events);
  // Payload bytes appended over the chain's life.
  uint64_t payload_bytes() const;
  // Absolute index of events()[0], and the hash it names as parent (nullopt if nothing dropped).
  size_t first_index() const;
  std::optional<Hash> anchor() const;
  // The hash of the last event (nullopt while the chain is empty).
  std::optional<Hash> head() const;

  // The held events with their first_index() and anchor(), read at one instant (so they describe
  // each other even while another thread appends).
  struct Tail {
    std::vector<Event> events;
    size_t first_index = 0;
    std::optional<Hash> anchor;
  };
  Tail tail() const;

  // VerifyEvents over the whole chain.
  Status Verify() const;

  // Where the chain may take an event's hash from instead of computing it: `known(event, index)`
  // returns the hash of an event with exactly this parent, type and payload that was verified
  // elsewhere, or nullopt (then the chain computes the SHA-256 as usual). For a replay, which
  // re-creates a recorded chain whose hashes its loader has already checked: an identical event
  // costs a comparison instead of a second SHA-256. It runs under the chain's lock, before the
  // observers. Set it before the first append; an empty function removes it.
  using KnownHash = std::function<std::optional<Hash>(const Event& event, size_t index)>;
  void SetKnownHash(KnownHash known);

  // Registers `observer`, called for every event appended from now on, in append order, never two
  // calls at once, and outside the chain's lock: readers of the chain (and other appenders' own
  // commits) never wait for an observer. An append returns once the observers have seen its
  // event (an appender that finds another thread delivering waits for its own event's turn), so
  // what an observer does with an event is done when Append returns. An observer must not throw
  // and must not remove an observer; it may read the chain. (A consumer that may be slow copies
  // the event into its own bounded queue.)
  ObserverId AddObserver(Observer observer);
  // The same for an observer that wants only the events appended while `*interest` is not zero
  // (a hub's count of subscribers, say; it must outlive the registration). An event nobody wants
  // is not queued at all: no copy, no delivery lock. The interest is read when the event is
  // appended and again when it is delivered (an interest that turns nonzero meanwhile may miss
  // that event, as if it had turned a moment later).
  ObserverId AddObserver(Observer observer, const std::atomic<size_t>* interest);
  // Unregisters it; returns once it will not be called again (events appended before the call
  // are delivered first). Not from inside an observer.
  void RemoveObserver(ObserverId id);

 private:
  // The slot the next event goes into, its parent link set and its type and payload emptied
  // (capacity kept); evicts the oldest event when the chain is at its memory limit.
  Event& NextSlotLocked() THEATER_REQUIRES(mu_);
  // Stamps, hashes and publishes the event NextSlotLocked() returned; queues it for the observers
  // (its delivery number in `*delivery`, 0 when there are none).
  Hash CommitLocked(Event& event, uint64_t timestamp_ms, std::optional<std::string> description,
                    uint64_t* delivery) THEATER_REQUIRES(mu_) THEATER_EXCLUDES(delivery_mu_);
  // Hands the observers every queued event up to delivery number `through`, or waits while
  // another thread does (the combining deliverer: one at a time, in order, without mu_).
  void DeliverThrough(uint64_t through) THEATER_EXCLUDES(mu_, delivery_mu_);
  const Event& HeldLocked(size_t i) const THEATER_REQUIRES(mu_) {
    return ring_[(start_ + i) % ring_.size()];
  }
  // Moves the held events to the front of ring_ in order (start_ = 0).
  void LinearizeLocked() THEATER_REQUIRES(mu_);

  Clock clock_;
  mutable Mutex mu_;
  // The events held in memory: a ring of at most max_events_ slots whose oldest is at start_.
  // Until it first fills, start_ is 0 and ring_ holds exactly the events appended.
  std::vector<Event> ring_ THEATER_GUARDED_BY(mu_);
  size_t start_ THEATER_GUARDED_BY(mu_) = 0;
  // Events evicted from memory (they precede the held ones).
  size_t dropped_ THEATER_GUARDED_BY(mu_) = 0;
  // Appended by this object (not those FromEvents() restored).
  uint64_t payload_bytes_ THEATER_GUARDED_BY(mu_) = 0;
  std::optional<Hash> anchor_ THEATER_GUARDED_BY(mu_);  // hash of the last dropped event
  // Hash of the newest event (the next one's parent), kept here so that an append need not read
  // the previous slot, which a busy runtime has long evicted from the cache.
  std::optional<Hash> head_ THEATER_GUARDED_BY(mu_);
  size_t max_events_ THEATER_GUARDED_BY(mu_) = SIZE_MAX;
  struct Registered {
    Observer observer;
    const std::atomic<size_t>* interest = nullptr;  // null: every event
  };
  std::map<ObserverId, Registered> observers_ THEATER_GUARDED_BY(mu_);
  // Whether some observer wants every event; else the interests of those that may want one.
  bool observed_always_ THEATER_GUARDED_BY(mu_) = false;
  std::vector<const std::atomic<size_t>*> interests_ THEATER_GUARDED_BY(mu_);
  // Whether an event appended now is wanted by any observer.
  bool ObservedLocked() const THEATER_REQUIRES(mu_);
  void SnapshotObserversLocked() THEATER_REQUIRES(mu_);
  KnownHash known_hash_ THEATER_GUARDED_BY(mu_);
  ObserverId next_observer_id_ THEATER_GUARDED_BY(mu_) = 1;

  // Delivery to the observers, outside mu_ (lock order: mu_, then delivery_mu_). An event is
  // copied into the outbox under both locks, in append order, with the observers registered at
  // that moment; one deliverer at a time hands the outbox to them without any lock.
  struct Outgoing {
    Event event;
    size_t index = 0;
    std::shared_ptr<const std::vector<Registered>> observers;
  };
  // Null: none.
  std::shared_ptr<const std::vector<Registered>> observer_list_ THEATER_GUARDED_BY(mu_);
  Mutex delivery_mu_ THEATER_ACQUIRED_AFTER(mu_);
  std::condition_variable delivered_cv_;
  // outbox_[0, outbox_size_) is queued; the rest, and the deliverer's batch_, are spent entries
  // kept for their buffers. batch_ is used by the deliverer alone (the thread that set
  // delivering_), without a lock: no annotation can say that, so it has none.
  std::vector<Outgoing> outbox_ THEATER_GUARDED_BY(delivery_mu_);
  size_t outbox_size_ THEATER_GUARDED_BY(delivery_mu_) = 0;
  std::vector<Outgoing> batch_;
  uint64_t queued_ THEATER_GUARDED_BY(delivery_mu_) = 0;      // delivery numbers handed out
  uint64_t delivered_ THEATER_GUARDED_BY(delivery_mu_) = 0;   // delivered up to here
  bool delivering_ THEATER_GUARDED_BY(delivery_mu_) = false;  // a thread is delivering
};

// ---------------------------------------------------------------------------------------------
// Rendering for people (docs/chain-format.md, "Rendering").

// A readable JSON form of a value: numbers, strings and booleans as themselves, list<u8> as text
// when it is printable UTF-8 and {"hex": …} otherwise, compound kinds as described in the doc.
nlohmann::json ValueToJson(const abi::Value& value);
// The decoded payload as JSON, or {"kind": "undecodable", "error": …, "hex": …}.
nlohmann::json PayloadToJson(std::span<const uint8_t> payload);
// {"hash", "parent", "type", "timestamp" (ISO 8601 UTC), "timestamp_ms", "description",
//  "payload_size", "payload"}. Every string in it is valid UTF-8, so dump() never throws.
nlohmann::json EventToJson(const Event& event);
// One terminal line, e.g. `#3 9f2c1ab wasm theater:simple/actor#init -> ok`.
std::string EventToLine(const Event& event, size_t index);
// The line an actor logged, when `event` records one (what `theater logs` prints, and what the
// runtime's log sink was given live): theater:simple/runtime's `log` ("text", or "[level] text"
// in its leveled form), runtime-ext's `log-at` ("[level] text"), a Log payload, and what the
// guest wrote to stdout or stderr through wasi_snapshot_preview1's fd_write (one write, its last
// newline removed: a line the guest wrote in pieces comes out in those pieces). The text is the
// guest's, as it gave it; nullopt for any other event, or one whose payload does not decode.
std::optional<std::string> LoggedText(const Event& event);

}  // namespace theater::chain
