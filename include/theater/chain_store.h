// Theater: a WebAssembly actor runtime.
//
// ChainStore: persistent event chains and the actor registry, in one SQLite database
// (`<dir>/theater.db`, WAL mode). docs/persistence.md describes the schema and the guarantees.
//
// Writes go through ONE writer thread (a GroupCommit, src/common/group_commit.h). Append() validates the event against the actor's current
// head (hash recomputed, parent link checked), queues it and returns a ticket: a store-wide,
// strictly increasing write number. The writer commits queued events in groups, one transaction
// per batch, in ticket order, so "ticket t is committed" implies every earlier ticket is too.
// WaitDurable(t) waits for that; Flush() waits for everything queued so far. While nobody waits
// for a commit, the writer holds a partial batch back for up to Options::max_commit_delay_us to
// gather more (group commit): a commit's cost is mostly per page, not per event.
//
// The queue is bounded (Options::max_queue events). When the writer falls behind, Append()
// BLOCKS until there is room: producers are slowed down rather than memory growing without
// bound. In Durability::kStrict, Append() additionally returns only once its event's transaction
// has been committed with synchronous=FULL.
//
// LoadChain() reads committed events only (call Flush() first to include queued ones), checks
// them with the same rules as VerifyEvents(), and returns the longest verified prefix: a row that
// does not verify (altered bytes, a missing sequence number, a malformed hash) and every row
// after it are rejected and counted in the LoadReport, never returned.
//
// Thread-safety: every method may be called from any thread. Appends to one actor must be
// ordered by the caller (each event names its predecessor); appends to different actors may run
// concurrently. One ChainStore per database file at a time (SQLite serialises the writes of
// several, but the in-memory chain heads and actor keys would go stale).
//
// Ownership: the store owns its two SQLite connections, the writer thread and a checkpointer
// thread (src/common/wal_checkpointer.h); the destructor commits everything queued, then stops
// the threads and closes the database.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "theater/chain.h"
#include "theater/durability.h"
#include "theater/mutex.h"
#include "theater/status.h"
#include "theater/string_hash.h"

namespace theater {
template <typename Item>
class GroupCommit;  // src/common/group_commit.h
namespace sqlite {
class Connection;       // src/common/sqlite_util.h
struct ConnectionSettings;
class WalCheckpointer;  // src/common/wal_checkpointer.h
}  // namespace sqlite
}  // namespace theater

namespace theater::chain {

// How hard the store works to keep committed events across crashes (theater/durability.h). In
// kStrict, Append() returns only once its event is committed.
using theater::Durability;
using theater::DurabilityName;
using theater::ParseDurability;

// A row of the actor registry.
struct ActorRecord {
  std::string actor_id;
  std::string name;
  std::string manifest;      // the manifest text the actor was started from
  uint64_t created_ms = 0;   // set on first insert (0: now); an upsert keeps the stored value
  std::string status;        // e.g. "running", "stopped", "failed"
  uint64_t event_count = 0;  // filled by ListActors(); ignored by UpsertActor()
  std::optional<std::string> parent_id;  // the supervising actor, if any
  // What the runtime needs to bring the actor back after the host restarts (JSON, the runtime's
  // business: docs/persistence.md, "Recovery"). Empty: the actor is not to be recovered.
  std::string recovery;

  friend bool operator==(const ActorRecord&, const ActorRecord&) = default;
};

// Whether a chain read checks each event's hash against its parent, type and payload.
// kByCaller leaves it to a reader that recomputes every hash itself (a replay does, as it
// re-creates the events); the read still checks the sequence and the form of each hash, and
// links each event to the one before (Event::parent).
enum class HashCheck { kChecked, kByCaller };

// What VisitChain() found.
struct VisitReport {
  bool found = false;      // the actor has (or had, before pruning) committed events
  size_t first_index = 0;  // the index of the first stored event (after pruning)
  size_t next_index = 0;   // the index after the last event visited (where to go on from)
  bool more = false;       // the visitor stopped before the end: events from next_index remain
  Status problem;          // why the read stopped at a row that does not verify; OK otherwise
};

// What VisitChainBackward() found.
struct BackwardVisitReport {
  bool found = false;      // the actor has committed events
  size_t next_index = 0;   // the events in its chain (the index the next one gets)
  std::optional<Hash> head;  // the hash of its last event
  Status problem;          // why the read stopped at a row that does not verify; OK otherwise
};

// What LoadChain() found besides the events it returns.
struct LoadReport {
  size_t stored = 0;    // rows stored for the actor
  size_t rejected = 0;  // trailing rows rejected (stored - returned)
  Status problem;       // why the first rejected row was rejected; OK when none was
  // For a pruned chain: the index of the first event returned and the hash it names as parent.
  size_t first_index = 0;
  std::optional<Hash> anchor;
};

class ChainStore {
 public:
  struct Options {
    Durability durability = Durability::kBatched;
    size_t max_queue = 32768;  // queued events before Append() blocks (at least 1)
    size_t max_batch = 16384;  // events committed per transaction at most (at least 1)
    int busy_timeout_ms = 10000;
    // How long the writer may hold back a commit smaller than max_batch while nobody waits for
    // it (WaitDurable, Flush, a strict Append, a WhenDurable callback), to gather more events.
    // Each commit rewrites every page it touches; fewer, larger ones cost far less per event.
    // 0: commit whatever is queued at once.
    int max_commit_delay_us = 50000;
  };

  struct Stats {
    uint64_t appended = 0;      // events accepted by Append()
    uint64_t committed = 0;     // events committed by the writer
    uint64_t transactions = 0;  // transactions the writer committed
  };

  // Opens `<dir>/theater.db`, creating the directory, the file and the schema as needed.
  // Fails with kFailedPrecondition when the database has a newer schema version than this build
  // knows, and with the SQLite message for any SQLite error.
  static Result<std::unique_ptr<ChainStore>> Open(const std::filesystem::path& dir,
                                                  Options options);
  static Result<std::unique_ptr<ChainStore>> Open(const std::filesystem::path& dir) {
    return Open(dir, Options{});
  }

  ChainStore(const ChainStore&) = delete;
  ChainStore& operator=(const ChainStore&) = delete;
  ~ChainStore();

  // Queues `event` as the next event of `actor_id`'s chain and returns its ticket. Fails with
  // kValidationError (nothing queued) when the event's hash is wrong or its parent is not the
  // actor's current head; with the writer's error once a commit has failed; with
  // kFailedPrecondition after Close(). Blocks while the queue is full; in kStrict also until the
  // event is committed.
  Result<uint64_t> Append(std::string_view actor_id, const Event& event);
  // Append() without the wait for durability in kStrict (it still blocks while the queue is
  // full). For callers that hold back what depends on the event themselves (WhenDurable).
  Result<uint64_t> Enqueue(std::string_view actor_id, const Event& event);
  // Enqueue() for an event whose hash the caller computed itself (an EventChain observer): the
  // hash is not recomputed, only the parent link is checked. Events from anywhere else must go
  // through Enqueue()/Append(), which reject a wrong hash before it can reach the database.
  Result<uint64_t> EnqueueTrusted(std::string_view actor_id, const Event& event);

  // Calls `done(OK)` once `ticket` is committed (at once when it already is), or `done(error)`
  // when the writer failed or the store closed first. Callbacks run in ticket order on the
  // writer thread (or the calling thread), just after the commit becomes visible — so
  // WaitDurable/Flush may return before they have run — and must be quick.
  void WhenDurable(uint64_t ticket, std::function<void(Status)> done);
  // Queues the deletion of the actor's events before `before_seq`, in order with its appends;
  // the hash of the last deleted event is kept as the chain's anchor, so LoadChain verifies
  // what remains from there. Returns a ticket like Append. Fails when nothing would be left.
  Result<uint64_t> Prune(std::string_view actor_id, uint64_t before_seq);
  // The ticket of the last event queued for `actor_id` by this store (0 when none).
  uint64_t LastTicket(std::string_view actor_id) const;

  // Waits until the event with `ticket` (and so every earlier one) is committed.
  Status WaitDurable(uint64_t ticket);
  // Waits until every event queued before the call is committed.
  Status Flush();

  // The actor's committed chain: the longest prefix that verifies. `report`, when given, receives
  // how many rows were stored and rejected. An actor with no events has an empty chain.
  Result<std::vector<Event>> LoadChain(std::string_view actor_id, LoadReport* report = nullptr);

  // The actor's committed events from index `from` on (from its first stored one when `from` is
  // before it), handed one at a time to `visit` until it returns false (that event not taken:
  // report->more is set) or the chain ends, so that a long chain is read in pages without being
  // held in memory. Each event is checked as LoadChain checks it, against the stored hash of the
  // event before it (the anchor for the first stored one); the read stops, with
  // report->problem, at the first that does not verify, so a reader that starts at the first
  // event and goes on page by page gets exactly LoadChain's verified prefix (with
  // HashCheck::kByCaller the hashes are the visitor's to check). `visit` runs under the store's
  // reader lock: it must be quick (no I/O, no waits).
  Status VisitChain(std::string_view actor_id, size_t from,
                    const std::function<bool(Event&& event, size_t index)>& visit,
                    VisitReport* report, HashCheck check = HashCheck::kChecked);

  // The actor's newest committed events, newest first, handed to `visit` until it returns false
  // or the stored chain begins. Each event is checked against the stored hash of the one before
  // it (the anchor, or no parent, for the first stored one) before it is visited, so a visitor
  // that stops at event i has seen only events that verify from i to the head; the read stops,
  // with report->problem, at the first that does not (the visitor never sees it). What a
  // recovery reads (the head, and the last events that fix an actor's state) without reading
  // the whole chain. `visit` runs under the store's reader lock: it must be quick.
  Status VisitChainBackward(std::string_view actor_id,
                            const std::function<bool(Event&& event, size_t index)>& visit,
                            BackwardVisitReport* report);

  // Deletes the actor's events from index `keep` on (e.g. a rejected tail, before appending to
  // the verified prefix again). Waits for queued appends first; the caller must not append to
  // this actor concurrently.
  Status TruncateChain(std::string_view actor_id, size_t keep);

  // Inserts or updates a registry row; an update keeps the stored created_ms. Queued for the
  // writer like an event (committed in its group, in order with the events queued before it),
  // so that registering an actor costs its spawn no transaction of its own; ListActors() waits
  // for the rows queued before it. Fails after Close() or once the writer has failed.
  Status UpsertActor(const ActorRecord& record);
  // Registered actors and actors that have events (unregistered ones with empty name, manifest
  // and status), sorted by id, with their event counts. Without `count_events`: registered
  // actors only, in the order they were first registered, event counts 0 (no pass over the
  // events).
  Result<std::vector<ActorRecord>> ListActors(bool count_events = true);

  Stats stats() const;
  Durability durability() const { return options_.durability; }

  // Commits everything queued, stops the writer and closes the database. Idempotent; returns the
  // writer's error if a commit failed.
  Status Close();

 private:
  // A queued write: an event, a prune or a registry row.
  struct Pending {
    // The key of the actor's heads_ entry (entries are never erased, so this stays valid).
    const std::string* actor_id = nullptr;
    int64_t actor_key = 0;
    bool new_key = false;  // the first event under a freshly assigned key: the writer records it
    uint64_t seq = 0;
    Event event;
    uint64_t prune_before = 0;  // > 0: a Prune() request, not an event
    bool registry = false;      // an UpsertActor() request (of `record`), not an event
    ActorRecord record;
  };
  struct Head {
    int64_t actor_key = 0;  // 0: none stored yet; assigned with the first event
    uint64_t next_seq = 0;
    std::optional<Hash> last_hash;
    uint64_t last_ticket = 0;
  };
  struct WriterStatements;  // the writer's prepared statements (chain_store_write.cc)

  explicit ChainStore(Options options);
  Status Init(const std::filesystem::path& db_path);
  Result<Head> ReadHeadLocked(const std::string& actor_id) THEATER_REQUIRES(heads_mu_)
      THEATER_EXCLUDES(reader_mu_);
  Result<uint64_t> EnqueueChecked(std::string_view actor_id, const Event& event, bool check_hash)
      THEATER_EXCLUDES(heads_mu_);
  // Prepares the writer's statements, starts the checkpointer and the writer (Init's last step).
  Status StartWriter(const std::filesystem::path& db_path,
                     const sqlite::ConnectionSettings& settings);
  // The writer's commit (on its thread): one transaction for the batch.
  Status CommitBatch(std::span<Pending> batch);
  Status CommitPrune(const Pending& prune);
  Status CommitRegistryRow(const ActorRecord& record);

  const Options options_;
  // The writer's connection and statements: used only by the writer thread (and Init/Close).
  std::unique_ptr<sqlite::Connection> writer_db_;
  std::unique_ptr<WriterStatements> statements_;
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;
  Mutex reader_mu_ THEATER_ACQUIRED_AFTER(heads_mu_);
  // Reads, truncation.
  std::unique_ptr<sqlite::Connection> reader_db_ THEATER_GUARDED_BY(reader_mu_);

  // The chain heads: what the next event of each actor must link to, checked before it is
  // queued. Looked up by string_view on every append: hashed, and without building a
  // std::string. Never erased: pointers to its keys and values stay valid (rehashing moves no
  // node), so a queued Pending can point at its actor's id.
  // Held while an event is queued (writer_->Enqueue), so that tickets follow the heads: the lock
  // order is heads_mu_, then the writer's own. The writer thread never takes heads_mu_.
  mutable Mutex heads_mu_;
  std::unordered_map<std::string, Head, StringHash, std::equal_to<>> heads_
      THEATER_GUARDED_BY(heads_mu_);
  // The next integer key to assign to an actor without one.
  int64_t next_actor_key_ THEATER_GUARDED_BY(heads_mu_) = 1;
  // Of the last UpsertActor() queued.
  uint64_t last_registry_ticket_ THEATER_GUARDED_BY(heads_mu_) = 0;
  uint64_t appended_ THEATER_GUARDED_BY(heads_mu_) = 0;
  // Close() began: nothing more is checked against the heads.
  bool closed_ THEATER_GUARDED_BY(heads_mu_) = false;

  // The queue, the writer thread and the waiters, under a lock of their own.
  std::unique_ptr<GroupCommit<Pending>> writer_;
};

}  // namespace theater::chain
