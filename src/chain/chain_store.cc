// Theater: a WebAssembly actor runtime.
//
// ChainStore: SQLite persistence of event chains (see include/theater/chain_store.h and
// docs/persistence.md). This file: the schema, opening, and the reads, which use `reader_db_`
// under `reader_mu_`; chain_store_write.cc: appends and the writer, which owns `writer_db_`.
#include "theater/chain_store.h"

#include <algorithm>
#include <limits>
#include <cstring>
#include <system_error>
#include <utility>

#include "chain/chain_store_internal.h"
#include "common/group_commit.h"
#include "common/sqlite_util.h"
#include "common/wal_checkpointer.h"

namespace theater::chain {

using sqlite::Connection;
using sqlite::Statement;

namespace {

// 2: the anchors table (pruned chains).
// 3: integer actor keys (the actor_keys table) and no parent column: events are found by
//    (actor_key, seq), and an event's parent is the hash of the row before it (or the anchor).
// 4: the actors table gains `parent` and `recovery` (what brings an actor back after a restart).
// Older databases are upgraded in place on open (kRenameV2Tables, kCopyV2Tables, kAddV4Columns);
// a build that knows an older version refuses a newer database.
constexpr int kSchemaVersion = 4;

// Why this shape (measured with 100 interleaved actors, docs/persistence.md):
// * A 36-character actor id in every row and index entry made rows ~35% larger and every B-tree
//   comparison a string comparison; a small integer key costs one byte or two.
// * `parent` duplicated the previous row's hash (33 bytes a row); the hash covers it, so
//   reconstructing it on load loses no integrity.
// * events is a rowid table (rows appended in commit order, pages filled completely) with an
//   index on (actor_key, seq), not a WITHOUT ROWID table clustered by actor: clustering scatters
//   each commit's rows over one insertion point per actor and rewrote 1.5-2.4x more pages per
//   commit; the index entries are small, so its scattered pages are few.

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS actor_keys (
  actor_key INTEGER PRIMARY KEY,
  actor TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS events (
  actor_key INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL,
  type TEXT NOT NULL,
  payload BLOB NOT NULL,
  timestamp INTEGER NOT NULL,
  description TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_actor ON events (actor_key, seq);
CREATE TABLE IF NOT EXISTS anchors (
  actor_key INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS actors (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  manifest TEXT NOT NULL,
  created INTEGER NOT NULL,
  status TEXT NOT NULL,
  parent TEXT,
  recovery TEXT NOT NULL DEFAULT ''
);
)sql";

// Version 1, 2 or 3 -> 4, run after kSchema when the actors table predates the columns.
constexpr const char* kAddV4Columns = R"sql(
ALTER TABLE actors ADD COLUMN parent TEXT;
ALTER TABLE actors ADD COLUMN recovery TEXT NOT NULL DEFAULT '';
)sql";

// Version 1 or 2 -> 3, run by Init inside its transaction (so an upgrade is all or nothing): the
// old tables are renamed, copied into the new ones and dropped. Version 1 has no anchors table: an
// empty one stands in for it. The parent column is dropped: LoadChain takes each parent from the
// previous row's hash (or the anchor), and a row verifies only if its stored hash covers that
// parent. A row that named some other parent still fails, now as a hash mismatch.
constexpr const char* kRenameV2Tables = R"sql(
CREATE TABLE IF NOT EXISTS anchors (
  actor TEXT PRIMARY KEY NOT NULL,
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL
);
ALTER TABLE events RENAME TO events_v2;
ALTER TABLE anchors RENAME TO anchors_v2;
)sql";
// Run after kRenameV2Tables and kSchema (which creates the version-3 tables).
constexpr const char* kCopyV2Tables = R"sql(
INSERT INTO actor_keys (actor)
  SELECT actor FROM events_v2 UNION SELECT actor FROM anchors_v2 ORDER BY 1;
INSERT INTO events (actor_key, seq, hash, type, payload, timestamp, description)
  SELECT k.actor_key, e.seq, e.hash, e.type, e.payload, e.timestamp, e.description
  FROM events_v2 e JOIN actor_keys k ON k.actor = e.actor ORDER BY k.actor_key, e.seq;
INSERT INTO anchors (actor_key, seq, hash)
  SELECT k.actor_key, a.seq, a.hash FROM anchors_v2 a JOIN actor_keys k ON k.actor = a.actor;
DROP TABLE events_v2;
DROP TABLE anchors_v2;
)sql";

}  // namespace

// The event's own hash; depends on nothing else, so Append checks it before taking the lock.
Status CheckHash(const Event& event) {
  Hash expected = HashEvent(event.parent, event.type, event.payload);
  if (expected != event.hash) {
    return ValidationError("hash mismatch: stored " + ShortHex(event.hash) + ", computed " +
                           ShortHex(expected));
  }
  return Status();
}

// The link to the chain's current head (under the store's lock).
Status CheckLink(const Event& event, size_t index, const std::optional<Hash>& previous) {
  if (event.parent != previous) {
    return ValidationError("event #" + std::to_string(index) + ": parent link broken: names " +
                           (event.parent ? ShortHex(*event.parent) : std::string("no parent")) +
                           " but the chain head is " +
                           (previous ? ShortHex(*previous) : std::string("empty")));
  }
  return Status();
}

namespace {

// The event in the current row of a `SELECT seq, hash, type, payload, timestamp, description`,
// expected at `index` after `previous`: kValidationError "event #N: ..." when the row is not
// what the chain needs there (a gap in the sequence, a malformed hash, a hash that does not
// match its contents).
// The event in the current row of `stmt` (seq, hash, type, payload, timestamp, description),
// which must be event #index, without its parent and not yet checked against it.
Result<Event> UncheckedEventFromRow(Statement& stmt, size_t index) {
  auto row_problem = [&](const std::string& what) {
    return ValidationError("event #" + std::to_string(index) + ": " + what);
  };
  if (stmt.Int(0) != static_cast<int64_t>(index)) {
    return row_problem("stored with sequence number " + std::to_string(stmt.Int(0)) +
                       " (events missing)");
  }
  Event event;
  std::span<const uint8_t> hash = stmt.Blob(1);
  if (hash.size() != event.hash.size()) {
    return row_problem("malformed hash (" + std::to_string(hash.size()) + " bytes)");
  }
  std::copy(hash.begin(), hash.end(), event.hash.begin());
  event.type = stmt.Text(2);
  std::span<const uint8_t> payload = stmt.Blob(3);
  event.payload.assign(payload.begin(), payload.end());
  event.timestamp_ms = static_cast<uint64_t>(stmt.Int(4));
  if (!stmt.IsNull(5)) event.description = stmt.Text(5);
  return event;
}

// Gives `event` (#index) its parent, the hash of the event before it (parents are not stored),
// and checks its hash: the link holds by construction; the hash check is what catches damage.
Status LinkAndCheck(Event& event, size_t index, const std::optional<Hash>& previous) {
  event.parent = previous;
  Status checked = CheckHash(event);
  // The context is built only for a failure: this runs for every event a reader reads.
  if (!checked.ok()) return checked.WithContext("event #" + std::to_string(index));
  return checked;
}

Result<Event> EventFromRow(Statement& stmt, size_t index, const std::optional<Hash>& previous) {
  THEATER_ASSIGN_OR_RETURN(Event event, UncheckedEventFromRow(stmt, index));
  THEATER_RETURN_IF_ERROR(LinkAndCheck(event, index, previous));
  return event;
}

// Ends a read transaction (BEGIN on the reader connection) when it goes out of scope.
struct EndRead {
  Connection& db;
  ~EndRead() { db.Exec("COMMIT;").IgnoreError(); }
};

// The integer key of `actor_id`, or nullopt when it has none (no event was ever committed). Run
// inside the caller's read transaction.
Result<std::optional<int64_t>> ReadActorKey(Connection& db, std::string_view actor_id) {
  Statement key;
  THEATER_RETURN_IF_ERROR(key.Prepare(db, "SELECT actor_key FROM actor_keys WHERE actor = ?1;"));
  key.BindText(1, actor_id);
  THEATER_ASSIGN_OR_RETURN(bool known, key.Step("reading the key of " + std::string(actor_id)));
  if (!known) return std::optional<int64_t>();
  return std::optional<int64_t>(key.Int(0));
}

// Where a pruned chain now begins: the index of its first stored event and the hash of the
// event before it (the first stored event's parent). nullopt for a chain never pruned.
struct Anchor {
  size_t first_index = 0;
  Hash hash{};
};
Result<std::optional<Anchor>> ReadAnchor(Connection& db, int64_t actor_key,
                                         std::string_view actor_id) {
  Statement anchor;
  THEATER_RETURN_IF_ERROR(
      anchor.Prepare(db, "SELECT seq, hash FROM anchors WHERE actor_key = ?1;"));
  anchor.BindInt(1, actor_key);
  THEATER_ASSIGN_OR_RETURN(bool found,
                           anchor.Step("reading the anchor of " + std::string(actor_id)));
  if (!found) return std::optional<Anchor>();
  std::span<const uint8_t> hash = anchor.Blob(1);
  if (hash.size() != Hash{}.size()) {
    return ValidationError("the anchor of " + std::string(actor_id) + " is malformed");
  }
  Anchor out;
  out.first_index = static_cast<size_t>(anchor.Int(0));
  std::copy(hash.begin(), hash.end(), out.hash.begin());
  return std::optional<Anchor>(out);
}

// Where an actor's stored chain starts: its key and, for a pruned chain, its anchor. nullopt
// when the actor never had an event committed. Run inside the caller's read transaction.
struct ChainStart {
  int64_t actor_key = 0;
  std::optional<Anchor> anchor;
};
Result<std::optional<ChainStart>> ReadChainStart(Connection& db, std::string_view actor_id) {
  THEATER_ASSIGN_OR_RETURN(std::optional<int64_t> key, ReadActorKey(db, actor_id));
  if (!key) return std::optional<ChainStart>();
  ChainStart start;
  start.actor_key = *key;
  THEATER_ASSIGN_OR_RETURN(start.anchor, ReadAnchor(db, *key, actor_id));
  return std::optional<ChainStart>(std::move(start));
}

}  // namespace

Result<std::unique_ptr<ChainStore>> ChainStore::Open(const std::filesystem::path& dir,
                                                     Options options) {
  options.max_queue = std::max<size_t>(options.max_queue, 1);
  options.max_batch = std::max<size_t>(options.max_batch, 1);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoError("creating store directory " + dir.string(), ec.value());
  std::unique_ptr<ChainStore> store(new ChainStore(options));
  Status status = store->Init(dir / "theater.db");
  if (!status.ok()) return status.WithContext("opening chain store in " + dir.string());
  return store;
}

Status ChainStore::Init(const std::filesystem::path& db_path) {
  // Every commit rewrites the index page each actor appends to: a large page cache keeps those
  // pages in memory.
  sqlite::ConnectionSettings settings;
  settings.durability = options_.durability;
  settings.busy_timeout_ms = options_.busy_timeout_ms;
  settings.cache_kib = 65536;
  writer_db_ = std::make_unique<Connection>();
  THEATER_RETURN_IF_ERROR(sqlite::OpenConfigured(*writer_db_, db_path, settings));
  {
    // Nobody else sees the store before Open() returns: the locks here and below are for the
    // analysis (and are never contended).
    MutexLock reader_lock(reader_mu_);
    reader_db_ = std::make_unique<Connection>();
    THEATER_RETURN_IF_ERROR(sqlite::OpenConfigured(*reader_db_, db_path, settings));
  }
  THEATER_RETURN_IF_ERROR(writer_db_->Exec("BEGIN IMMEDIATE;"));
  // Reads one integer (absent when there is no row or it is NULL).
  auto query_int = [&](const char* sql) -> Result<std::optional<int64_t>> {
    Statement stmt;
    THEATER_RETURN_IF_ERROR(stmt.Prepare(*writer_db_, sql));
    THEATER_ASSIGN_OR_RETURN(bool row, stmt.Step(sql));
    if (!row || stmt.IsNull(0)) return std::optional<int64_t>();
    return std::optional<int64_t>(stmt.Int(0));
  };
  Status status = [&]() -> Status {
    THEATER_RETURN_IF_ERROR(
        writer_db_->Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"));
    THEATER_ASSIGN_OR_RETURN(std::optional<int64_t> version,
                             query_int("SELECT MAX(version) FROM schema_version;"));
    if (!version) {
      // No version row: a new database, unless it has chains (then it can only be version 1).
      THEATER_ASSIGN_OR_RETURN(
          std::optional<int64_t> tables,
          query_int(
              "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'events';"));
      if (tables.value_or(0) > 0) version = 1;
    }
    if (version && *version > kSchemaVersion) {
      return FailedPrecondition("database schema version " + std::to_string(*version) +
                                " is newer than this build supports (" +
                                std::to_string(kSchemaVersion) + ")");
    }
    const bool upgrade = version && *version < kSchemaVersion;
    const std::string upgrading = upgrade ? "upgrading the schema from version " +
                                                std::to_string(*version) + " to " +
                                                std::to_string(kSchemaVersion)
                                          : std::string();
    const bool before_keys = upgrade && *version < 3;  // events keyed by actor text
    if (before_keys) {
      THEATER_RETURN_IF_ERROR(writer_db_->Exec(kRenameV2Tables).WithContext(upgrading));
    }
    THEATER_RETURN_IF_ERROR(writer_db_->Exec(kSchema));
    if (before_keys) {
      THEATER_RETURN_IF_ERROR(writer_db_->Exec(kCopyV2Tables).WithContext(upgrading));
    }
    if (upgrade) {
      // kSchema created the actors table with the new columns only when there was none.
      THEATER_ASSIGN_OR_RETURN(
          std::optional<int64_t> has_recovery,
          query_int("SELECT COUNT(*) FROM pragma_table_info('actors') WHERE name = 'recovery';"));
      if (has_recovery.value_or(0) == 0) {
        THEATER_RETURN_IF_ERROR(writer_db_->Exec(kAddV4Columns).WithContext(upgrading));
      }
    }
    if (version != kSchemaVersion) {
      std::string set =
          "DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (" +
          std::to_string(kSchemaVersion) + ");";
      THEATER_RETURN_IF_ERROR(writer_db_->Exec(set.c_str()));
    }
    // Past every key in use, also by rows no actor_keys row names (a damaged database): a new
    // actor must not inherit another's stray events or anchor.
    THEATER_ASSIGN_OR_RETURN(
        std::optional<int64_t> max_key,
        query_int("SELECT MAX(k) FROM (SELECT MAX(actor_key) AS k FROM actor_keys UNION ALL "
                  "SELECT MAX(actor_key) FROM events WHERE typeof(actor_key) = 'integer' "
                  "UNION ALL SELECT MAX(actor_key) FROM anchors);"));
    if (max_key.value_or(0) == std::numeric_limits<int64_t>::max()) {
      // Only a damaged (or hostile) database holds such a key: no new actor would have one.
      return ValidationError("the database holds an actor key of " +
                             std::to_string(*max_key) + ", the largest there is: it is damaged");
    }
    MutexLock lock(heads_mu_);
    next_actor_key_ = max_key.value_or(0) + 1;
    return Status();
  }();
  if (!status.ok()) {
    writer_db_->RollbackIfOpen();
    return status;
  }
  THEATER_RETURN_IF_ERROR(writer_db_->Exec("COMMIT;"));
  return StartWriter(db_path, settings);
}

Result<ChainStore::Head> ChainStore::ReadHeadLocked(const std::string& actor_id) {
  MutexLock reader_lock(reader_mu_);
  if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
  Head head;
  Statement key;
  THEATER_RETURN_IF_ERROR(
      key.Prepare(*reader_db_, "SELECT actor_key FROM actor_keys WHERE actor = ?1;"));
  key.BindText(1, actor_id);
  THEATER_ASSIGN_OR_RETURN(bool known, key.Step("reading the key of " + actor_id));
  if (!known) return head;  // no events yet: the first one assigns the key
  head.actor_key = key.Int(0);
  Statement stmt;
  THEATER_RETURN_IF_ERROR(stmt.Prepare(*reader_db_,
                                       "SELECT seq, hash FROM events WHERE actor_key = ?1 "
                                       "ORDER BY seq DESC LIMIT 1;"));
  stmt.BindInt(1, head.actor_key);
  THEATER_ASSIGN_OR_RETURN(bool row, stmt.Step("reading chain head of " + actor_id));
  if (row) {
    head.next_seq = static_cast<uint64_t>(stmt.Int(0)) + 1;
    std::span<const uint8_t> hash = stmt.Blob(1);
    Hash h{};
    // A malformed stored hash leaves a head no valid event can link to.
    if (hash.size() == h.size()) std::copy(hash.begin(), hash.end(), h.begin());
    head.last_hash = h;
  }
  return head;
}

Result<std::vector<Event>> ChainStore::LoadChain(std::string_view actor_id, LoadReport* report) {
  std::vector<Event> events;
  LoadReport local;
  {
    MutexLock reader_lock(reader_mu_);
    if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
    // The key, the anchor and the rows are read in one read transaction: one consistent
    // snapshot, even while the writer commits (or prunes).
    THEATER_RETURN_IF_ERROR(reader_db_->Exec("BEGIN;"));
    EndRead end_read{*reader_db_};
    THEATER_ASSIGN_OR_RETURN(std::optional<ChainStart> known,
                             ReadChainStart(*reader_db_, actor_id));
    // No key: the actor never had an event committed (an empty chain).
    const int64_t actor_key = known ? known->actor_key : 0;
    Statement stmt;
    THEATER_RETURN_IF_ERROR(
        stmt.Prepare(*reader_db_,
                     "SELECT seq, hash, type, payload, timestamp, description FROM events "
                     "WHERE actor_key = ?1 ORDER BY seq;"));
    stmt.BindInt(1, actor_key);
    // The parent of each row is not stored: it is the hash of the row before (the anchor for
    // the first row of a pruned chain, none for a chain's first event). The hash covers it, so
    // a missing or altered row still fails verification (docs/persistence.md).
    std::optional<Hash> previous;
    const std::optional<Anchor> anchor = known ? known->anchor : std::nullopt;
    if (anchor) {
      previous = anchor->hash;
      local.first_index = anchor->first_index;
      local.anchor = previous;
    }
    const std::string loading = "loading the chain of " + std::string(actor_id);
    for (;;) {
      THEATER_ASSIGN_OR_RETURN(bool row, stmt.Step(loading));
      if (!row) break;
      local.stored++;
      if (!local.problem.ok()) continue;  // counting the rejected tail
      const size_t index = local.first_index + events.size();
      Result<Event> read = EventFromRow(stmt, index, previous);
      if (!read.ok()) {
        local.problem = read.status();
        continue;
      }
      Event event = std::move(read).value();
      previous = event.hash;
      events.push_back(std::move(event));
    }
  }
  local.rejected = local.stored - events.size();
  // The incremental checks above are VerifyEvents' rules; confirm with the real thing.
  Status verified = VerifyEvents(events, local.anchor, local.first_index);
  if (!verified.ok())
    return InternalError("verified prefix fails VerifyEvents: " + verified.ToString());
  if (report != nullptr) *report = local;
  return events;
}

Status ChainStore::VisitChain(std::string_view actor_id, size_t from,
                              const std::function<bool(Event&& event, size_t index)>& visit,
                              VisitReport* report, HashCheck check) {
  VisitReport local;
  MutexLock reader_lock(reader_mu_);
  if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
  // One read transaction: one consistent snapshot, as LoadChain.
  THEATER_RETURN_IF_ERROR(reader_db_->Exec("BEGIN;"));
  EndRead end_read{*reader_db_};
  const std::string actor(actor_id);
  THEATER_ASSIGN_OR_RETURN(std::optional<ChainStart> known, ReadChainStart(*reader_db_, actor_id));
  if (!known) {
    if (report != nullptr) *report = local;
    return Status();
  }
  local.found = true;
  const int64_t actor_key = known->actor_key;
  const std::optional<Anchor>& anchor = known->anchor;
  std::optional<Hash> previous;
  if (anchor) {
    previous = anchor->hash;
    local.first_index = anchor->first_index;
  }
  const size_t start = std::max(from, local.first_index);
  local.next_index = start;
  if (start > local.first_index) {
    // The parent of the first event visited is the stored hash of the one before it.
    Statement before;
    THEATER_RETURN_IF_ERROR(
        before.Prepare(*reader_db_, "SELECT hash FROM events WHERE actor_key = ?1 AND seq = ?2;"));
    before.BindInt(1, actor_key);
    before.BindInt(2, static_cast<int64_t>(start - 1));
    THEATER_ASSIGN_OR_RETURN(bool found, before.Step("reading the chain of " + actor));
    if (!found) {
      // Past the end, or after a missing row (where a reader coming page by page stopped with
      // the problem already): nothing to visit.
      if (report != nullptr) *report = local;
      return Status();
    }
    std::span<const uint8_t> hash = before.Blob(0);
    if (hash.size() != Hash{}.size()) {
      local.problem = ValidationError("event #" + std::to_string(start - 1) + ": malformed hash (" +
                                      std::to_string(hash.size()) + " bytes)");
      if (report != nullptr) *report = local;
      return Status();
    }
    previous.emplace();
    std::copy(hash.begin(), hash.end(), previous->begin());
  }
  Statement stmt;
  THEATER_RETURN_IF_ERROR(
      stmt.Prepare(*reader_db_,
                   "SELECT seq, hash, type, payload, timestamp, description FROM events "
                   "WHERE actor_key = ?1 AND seq >= ?2 ORDER BY seq;"));
  stmt.BindInt(1, actor_key);
  stmt.BindInt(2, static_cast<int64_t>(start));
  const std::string loading = "loading the chain of " + actor;
  for (;;) {
    THEATER_ASSIGN_OR_RETURN(bool row, stmt.Step(loading));
    if (!row) break;
    const size_t index = local.next_index;
    Result<Event> read = check == HashCheck::kChecked ? EventFromRow(stmt, index, previous)
                                                      : UncheckedEventFromRow(stmt, index);
    if (read.ok()) read->parent = previous;
    if (!read.ok()) {
      local.problem = read.status();
      break;
    }
    Event event = std::move(read).value();
    const Hash this_hash = event.hash;
    if (!visit(std::move(event), index)) {
      local.more = true;
      break;
    }
    previous = this_hash;
    local.next_index = index + 1;
  }
  if (report != nullptr) *report = local;
  return Status();
}

Status ChainStore::VisitChainBackward(
    std::string_view actor_id, const std::function<bool(Event&& event, size_t index)>& visit,
    BackwardVisitReport* report) {
  BackwardVisitReport local;
  MutexLock reader_lock(reader_mu_);
  if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
  THEATER_RETURN_IF_ERROR(reader_db_->Exec("BEGIN;"));
  EndRead end_read{*reader_db_};
  auto finish = [&]() {
    if (report != nullptr) *report = local;
    return Status();
  };
  THEATER_ASSIGN_OR_RETURN(std::optional<ChainStart> known, ReadChainStart(*reader_db_, actor_id));
  if (!known) return finish();
  Statement stmt;
  THEATER_RETURN_IF_ERROR(
      stmt.Prepare(*reader_db_,
                   "SELECT seq, hash, type, payload, timestamp, description FROM events "
                   "WHERE actor_key = ?1 ORDER BY seq DESC;"));
  stmt.BindInt(1, known->actor_key);
  // Rows come newest first: an event is checked and visited once the row before it has given
  // its parent.
  std::optional<Event> held;
  size_t held_index = 0;
  auto release = [&](const std::optional<Hash>& parent) -> bool {
    Status checked = LinkAndCheck(*held, held_index, parent);
    if (!checked.ok()) {
      local.problem = std::move(checked);
      return false;
    }
    return visit(std::move(*held), held_index);
  };
  const std::string reading = "reading the chain of " + std::string(actor_id);
  for (;;) {
    THEATER_ASSIGN_OR_RETURN(bool row, stmt.Step(reading));
    if (!row) break;
    // The head's index is whatever the newest row says; every older row must be the one before.
    const size_t index = held ? held_index - 1 : static_cast<size_t>(stmt.Int(0));
    Result<Event> event = UncheckedEventFromRow(stmt, index);
    if (!event.ok()) {
      local.problem = event.status();
      return finish();
    }
    if (!held) {
      local.found = true;
      local.next_index = index + 1;
      local.head = event->hash;
    } else if (!release(event->hash)) {
      return finish();
    }
    held = std::move(event).value();
    held_index = index;
  }
  if (!held) return finish();
  // The oldest stored event: its parent is the anchor of a pruned chain, else it has none.
  const std::optional<Anchor>& anchor = known->anchor;
  const size_t first = anchor ? anchor->first_index : 0;
  if (held_index != first) {
    local.problem = ValidationError("event #" + std::to_string(held_index - 1) + ": missing");
    return finish();
  }
  (void)release(anchor ? std::optional<Hash>(anchor->hash) : std::nullopt);
  return finish();
}

Result<std::vector<ActorRecord>> ChainStore::ListActors(bool count_events) {
  uint64_t registered = 0;
  {
    MutexLock lock(heads_mu_);
    registered = last_registry_ticket_;
  }
  // The rows queued before the call are part of the answer.
  if (registered > 0) THEATER_RETURN_IF_ERROR(WaitDurable(registered));
  MutexLock reader_lock(reader_mu_);
  if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
  THEATER_RETURN_IF_ERROR(reader_db_->Exec("BEGIN;"));
  auto list = [&]() THEATER_REQUIRES(reader_mu_) -> Result<std::vector<ActorRecord>> {
    std::map<std::string, ActorRecord> actors;
    std::vector<ActorRecord> in_order;  // without counts: in registration order
    Statement registry;
    THEATER_RETURN_IF_ERROR(
        registry.Prepare(*reader_db_,
                         "SELECT id, name, manifest, created, status, parent, recovery FROM "
                         "actors ORDER BY rowid;"));
    for (;;) {
      THEATER_ASSIGN_OR_RETURN(bool row, registry.Step("listing actors"));
      if (!row) break;
      ActorRecord record;
      record.actor_id = registry.Text(0);
      record.name = registry.Text(1);
      record.manifest = registry.Text(2);
      record.created_ms = static_cast<uint64_t>(registry.Int(3));
      record.status = registry.Text(4);
      if (!registry.IsNull(5)) record.parent_id = registry.Text(5);
      record.recovery = registry.Text(6);
      if (count_events) {
        actors[record.actor_id] = std::move(record);
      } else {
        in_order.push_back(std::move(record));
      }
    }
    if (!count_events) return in_order;
    Statement counts;
    THEATER_RETURN_IF_ERROR(
        counts.Prepare(*reader_db_,
                       "SELECT k.actor, c.n FROM (SELECT actor_key, COUNT(*) AS n FROM events "
                       "GROUP BY actor_key) c JOIN actor_keys k ON k.actor_key = c.actor_key;"));
    for (;;) {
      THEATER_ASSIGN_OR_RETURN(bool row, counts.Step("counting events"));
      if (!row) break;
      ActorRecord& record = actors[counts.Text(0)];
      record.actor_id = counts.Text(0);
      record.event_count = static_cast<uint64_t>(counts.Int(1));
    }
    std::vector<ActorRecord> out;
    out.reserve(actors.size());
    for (auto& [id, record] : actors) out.push_back(std::move(record));
    return out;
  }();
  reader_db_->Exec("COMMIT;").IgnoreError();
  return list;
}

}  // namespace theater::chain
