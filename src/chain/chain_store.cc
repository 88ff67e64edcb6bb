// Theater: a WebAssembly actor runtime.
//
// ChainStore: SQLite persistence of event chains (see include/theater/chain_store.h and
// docs/persistence.md). The writer thread owns `writer_db_`; everything else uses `reader_db_`
// under `reader_mu_`.
#include <pthread.h>

#include "theater/chain_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <system_error>
#include <utility>

#include "common/sqlite_util.h"

namespace theater::chain {
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

// The one mapping of SQLite codes onto Status codes (SQLITE_FULL is resource-exhausted).
Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  return sqlite::ErrorStatus(db, rc, what);
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status();
  std::string message = std::string("executing '") + sql + "': " + (err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return SqliteStatus(nullptr, rc, message);
}

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(stmt_); }

  Status Prepare(sqlite3* db, const char* sql) {
    db_ = db;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(db, rc, std::string("preparing '") + sql + "'");
    return Status();
  }
  void BindText(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  // Without SQLite's private copy, for bytes that stay put until the statement is stepped and
  // reset (the writer's batch): saves a malloc and a memcpy per column and row.
  void BindStaticText(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  void BindStaticBlob(int i, std::span<const uint8_t> b) {
    // A zero-length blob must still be a blob, not NULL.
    static const uint8_t kEmpty = 0;
    sqlite3_bind_blob(stmt_, i, b.empty() ? &kEmpty : b.data(), static_cast<int>(b.size()),
                      SQLITE_STATIC);
  }
  void BindInt(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }

  // SQLITE_ROW -> true, SQLITE_DONE -> false, anything else -> error.
  Result<bool> Step(std::string_view what) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteStatus(db_, rc, what);
  }

  // Steps a statement whose rows do not matter once, then resets it (keeping the bindings, which
  // the next use rebinds), so that it is not left active inside the transaction.
  Status Run(std::string_view what) {
    int rc = sqlite3_step(stmt_);
    Status status = rc == SQLITE_DONE || rc == SQLITE_ROW ? Status() : SqliteStatus(db_, rc, what);
    sqlite3_reset(stmt_);
    return status;
  }
  void ClearBindings() { sqlite3_clear_bindings(stmt_); }
  bool prepared() const { return stmt_ != nullptr; }

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
  }
  // The column's bytes, valid until the statement steps or is reset.
  std::span<const uint8_t> BlobView(int col) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::span<const uint8_t>(p, static_cast<size_t>(n)) : std::span<const uint8_t>();
  }
  std::vector<uint8_t> Blob(int col) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

Result<sqlite3*> OpenConnection(const std::filesystem::path& path, Durability durability,
                                int busy_timeout_ms) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = SqliteStatus(db, rc, "opening " + path.string());
    sqlite3_close(db);
    return status;
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  const char* sync = durability == Durability::kNone      ? "PRAGMA synchronous=OFF;"
                     : durability == Durability::kBatched ? "PRAGMA synchronous=NORMAL;"
                                                          : "PRAGMA synchronous=FULL;";
  // 8 KiB pages (a new database only: the page size is fixed once it is in WAL mode): with large
  // batches a commit then writes fewer WAL frames and the B-trees are shallower; measured ~10%
  // less writer CPU than 4 KiB (docs/persistence.md, "Tuning").
  Status status = Exec(db, "PRAGMA page_size=8192;");
  if (status.ok()) status = Exec(db, "PRAGMA journal_mode=WAL;");
  if (status.ok()) status = Exec(db, sync);
  if (status.ok()) status = Exec(db, "PRAGMA foreign_keys=ON;");
  // Every commit rewrites the index page each actor appends to: a large page cache keeps those
  // pages in memory, and fewer, larger checkpoints (64 MiB of WAL at 8 KiB pages) copy the WAL
  // back less often.
  if (status.ok()) status = Exec(db, "PRAGMA cache_size=-65536;");
  if (status.ok()) status = Exec(db, "PRAGMA wal_autocheckpoint=8192;");
  if (!status.ok()) {
    sqlite3_close(db);
    return status.WithContext("configuring " + path.string());
  }
  return db;
}

// The event's own hash; depends on nothing else, so Append checks it before taking the lock.
Status CheckHash(const Event& event) {
  Hash expected = HashEvent(event.parent, event.type, event.payload);
  if (expected != event.hash) {
    return ValidationError("hash mismatch: stored " + ShortHex(event.hash) + ", computed " +
                           ShortHex(expected));
  }
  return Status();
}

// The event in the current row of a `SELECT seq, hash, type, payload, timestamp, description`,
// expected at `index` after `previous`: kValidationError "event #N: ..." when the row is not
// what the chain needs there (a gap in the sequence, a malformed hash, a hash that does not
// match its contents).
// The event in the current row of `stmt` (seq, hash, type, payload, timestamp, description),
// which must be event #index, without its parent and not yet checked against it.
Result<Event> UncheckedEventFromRow(Stmt& stmt, size_t index) {
  auto row_problem = [&](const std::string& what) {
    return ValidationError("event #" + std::to_string(index) + ": " + what);
  };
  if (stmt.Int(0) != static_cast<int64_t>(index)) {
    return row_problem("stored with sequence number " + std::to_string(stmt.Int(0)) +
                       " (events missing)");
  }
  Event event;
  std::span<const uint8_t> hash = stmt.BlobView(1);
  if (hash.size() != event.hash.size()) {
    return row_problem("malformed hash (" + std::to_string(hash.size()) + " bytes)");
  }
  std::copy(hash.begin(), hash.end(), event.hash.begin());
  event.type = stmt.Text(2);
  event.payload = stmt.Blob(3);
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

Result<Event> EventFromRow(Stmt& stmt, size_t index, const std::optional<Hash>& previous) {
  THEATER_ASSIGN_OR_RETURN(Event event, UncheckedEventFromRow(stmt, index));
  THEATER_RETURN_IF_ERROR(LinkAndCheck(event, index, previous));
  return event;
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

// Ends a read transaction (BEGIN on the reader connection) when it goes out of scope.
struct EndRead {
  sqlite3* db;
  ~EndRead() { Exec(db, "COMMIT;").IgnoreError(); }
};

// The integer key of `actor_id`, or nullopt when it has none (no event was ever committed). Run
// inside the caller's read transaction.
Result<std::optional<int64_t>> ReadActorKey(sqlite3* db, std::string_view actor_id) {
  Stmt key;
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
Result<std::optional<Anchor>> ReadAnchor(sqlite3* db, int64_t actor_key,
                                         std::string_view actor_id) {
  Stmt anchor;
  THEATER_RETURN_IF_ERROR(
      anchor.Prepare(db, "SELECT seq, hash FROM anchors WHERE actor_key = ?1;"));
  anchor.BindInt(1, actor_key);
  THEATER_ASSIGN_OR_RETURN(bool found,
                           anchor.Step("reading the anchor of " + std::string(actor_id)));
  if (!found) return std::optional<Anchor>();
  std::vector<uint8_t> hash = anchor.Blob(1);
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
Result<std::optional<ChainStart>> ReadChainStart(sqlite3* db, std::string_view actor_id) {
  THEATER_ASSIGN_OR_RETURN(std::optional<int64_t> key, ReadActorKey(db, actor_id));
  if (!key) return std::optional<ChainStart>();
  ChainStart start;
  start.actor_key = *key;
  THEATER_ASSIGN_OR_RETURN(start.anchor, ReadAnchor(db, *key, actor_id));
  return std::optional<ChainStart>(std::move(start));
}

}  // namespace

ChainStore::ChainStore(Options options) : options_(options) {}

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
  THEATER_ASSIGN_OR_RETURN(writer_db_,
                           OpenConnection(db_path, options_.durability, options_.busy_timeout_ms));
  THEATER_ASSIGN_OR_RETURN(reader_db_,
                           OpenConnection(db_path, options_.durability, options_.busy_timeout_ms));
  THEATER_RETURN_IF_ERROR(Exec(writer_db_, "BEGIN IMMEDIATE;"));
  // Reads one integer (absent when there is no row or it is NULL).
  auto query_int = [&](const char* sql) -> Result<std::optional<int64_t>> {
    Stmt stmt;
    THEATER_RETURN_IF_ERROR(stmt.Prepare(writer_db_, sql));
    THEATER_ASSIGN_OR_RETURN(bool row, stmt.Step(sql));
    if (!row || stmt.IsNull(0)) return std::optional<int64_t>();
    return std::optional<int64_t>(stmt.Int(0));
  };
  Status status = [&]() -> Status {
    THEATER_RETURN_IF_ERROR(
        Exec(writer_db_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"));
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
      THEATER_RETURN_IF_ERROR(Exec(writer_db_, kRenameV2Tables).WithContext(upgrading));
    }
    THEATER_RETURN_IF_ERROR(Exec(writer_db_, kSchema));
    if (before_keys) {
      THEATER_RETURN_IF_ERROR(Exec(writer_db_, kCopyV2Tables).WithContext(upgrading));
    }
    if (upgrade) {
      // kSchema created the actors table with the new columns only when there was none.
      THEATER_ASSIGN_OR_RETURN(
          std::optional<int64_t> has_recovery,
          query_int("SELECT COUNT(*) FROM pragma_table_info('actors') WHERE name = 'recovery';"));
      if (has_recovery.value_or(0) == 0) {
        THEATER_RETURN_IF_ERROR(Exec(writer_db_, kAddV4Columns).WithContext(upgrading));
      }
    }
    if (version != kSchemaVersion) {
      std::string set =
          "DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (" +
          std::to_string(kSchemaVersion) + ");";
      THEATER_RETURN_IF_ERROR(Exec(writer_db_, set.c_str()));
    }
    // Past every key in use, also by rows no actor_keys row names (a damaged database): a new
    // actor must not inherit another's stray events or anchor.
    THEATER_ASSIGN_OR_RETURN(
        std::optional<int64_t> max_key,
        query_int("SELECT MAX(k) FROM (SELECT MAX(actor_key) AS k FROM actor_keys UNION ALL "
                  "SELECT MAX(actor_key) FROM events WHERE typeof(actor_key) = 'integer' "
                  "UNION ALL SELECT MAX(actor_key) FROM anchors);"));
    next_actor_key_ = max_key.value_or(0) + 1;
    return Status();
  }();
  if (!status.ok()) {
    Exec(writer_db_, "ROLLBACK;").IgnoreError();
    sqlite3_close(writer_db_);
    sqlite3_close(reader_db_);
    writer_db_ = reader_db_ = nullptr;
    return status;
  }
  THEATER_RETURN_IF_ERROR(Exec(writer_db_, "COMMIT;"));
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "theater-store");
    WriterLoop();
  });
  return Status();
}

ChainStore::~ChainStore() {
  Close().IgnoreError();
}

Status ChainStore::Close() {
  {
    std::unique_lock lock(mu_);
    if (closed_) return writer_error_;
    closing_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
  sqlite3_close(writer_db_);
  {
    std::lock_guard reader_lock(reader_mu_);
    sqlite3_close(reader_db_);
    reader_db_ = nullptr;
  }
  writer_db_ = nullptr;
  Status result;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    committed_cv_.notify_all();
    result = writer_error_;
  }
  RunDurableCallbacks();  // everything committed has run; the rest learns the store closed
  return result;
}

Result<ChainStore::Head> ChainStore::ReadHeadLocked(const std::string& actor_id) {
  std::lock_guard reader_lock(reader_mu_);
  if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
  Head head;
  Stmt key;
  THEATER_RETURN_IF_ERROR(
      key.Prepare(reader_db_, "SELECT actor_key FROM actor_keys WHERE actor = ?1;"));
  key.BindText(1, actor_id);
  THEATER_ASSIGN_OR_RETURN(bool known, key.Step("reading the key of " + actor_id));
  if (!known) return head;  // no events yet: the first one assigns the key
  head.actor_key = key.Int(0);
  Stmt stmt;
  THEATER_RETURN_IF_ERROR(stmt.Prepare(reader_db_,
                                       "SELECT seq, hash FROM events WHERE actor_key = ?1 "
                                       "ORDER BY seq DESC LIMIT 1;"));
  stmt.BindInt(1, head.actor_key);
  THEATER_ASSIGN_OR_RETURN(bool row, stmt.Step("reading chain head of " + actor_id));
  if (row) {
    head.next_seq = static_cast<uint64_t>(stmt.Int(0)) + 1;
    std::vector<uint8_t> hash = stmt.Blob(1);
    Hash h{};
    // A malformed stored hash leaves a head no valid event can link to.
    if (hash.size() == h.size()) std::copy(hash.begin(), hash.end(), h.begin());
    head.last_hash = h;
  }
  return head;
}

Result<uint64_t> ChainStore::Append(std::string_view actor_id, const Event& event) {
  THEATER_ASSIGN_OR_RETURN(uint64_t ticket, Enqueue(actor_id, event));
  if (options_.durability == Durability::kStrict) THEATER_RETURN_IF_ERROR(WaitDurable(ticket));
  return ticket;
}

void ChainStore::WhenDurable(uint64_t ticket, std::function<void(Status)> done) {
  Status now;
  {
    std::lock_guard lock(mu_);
    if (committed_ticket_ < ticket && writer_error_.ok() && !closed_) {
      durable_callbacks_.emplace(ticket, std::move(done));
      not_empty_.notify_one();  // someone waits now: the writer stops delaying
      return;
    }
    if (committed_ticket_ < ticket) {
      now = !writer_error_.ok() ? writer_error_
                                : FailedPrecondition("chain store closed before ticket " +
                                                     std::to_string(ticket) + " was committed");
    }
  }
  done(now);
}

Result<uint64_t> ChainStore::Prune(std::string_view actor_id, uint64_t before_seq) {
  std::unique_lock lock(mu_);
  if (closing_ || closed_) return FailedPrecondition("chain store is closed");
  if (!writer_error_.ok()) return writer_error_;
  auto it = heads_.find(actor_id);
  if (it == heads_.end() || before_seq == 0 || before_seq >= it->second.next_seq) {
    return InvalidArgument("pruning the chain of " + std::string(actor_id) + " before event #" +
                           std::to_string(before_seq) + ": it must keep at least one event");
  }
  not_full_.wait(
      lock, [&] { return QueuedLocked() < options_.max_queue || closing_ || !writer_error_.ok(); });
  if (closing_) return FailedPrecondition("chain store is closed");
  if (!writer_error_.ok()) return writer_error_;
  uint64_t ticket = next_ticket_++;
  Pending& prune = NextSlotLocked();
  prune.ticket = ticket;
  prune.actor_id = &it->first;
  prune.actor_key = it->second.actor_key;
  prune.new_key = false;
  prune.seq = 0;
  prune.prune_before = before_seq;  // the slot's event is left as it is: not used
  prune.registry = false;
  NotifyWriterLocked();
  return ticket;
}

size_t ChainStore::QueuedLocked() const {
  return queue_end_ - queue_head_;
}

ChainStore::Pending& ChainStore::NextSlotLocked() {
  if (queue_end_ == queue_.size()) queue_.emplace_back();
  return queue_[queue_end_++];
}

size_t ChainStore::BatchTarget() const {
  // A full batch, or a full queue when that is smaller (producers then block until it drains).
  return std::min(options_.max_batch, options_.max_queue);
}

void ChainStore::NotifyWriterLocked() {
  // Waking the writer for every event would cost a context switch each: only its conditions
  // (a first event, a full batch) are worth a wake-up.
  const size_t queued = QueuedLocked();
  if (queued == 1 || queued >= BatchTarget()) not_empty_.notify_one();
}

uint64_t ChainStore::LastTicket(std::string_view actor_id) const {
  std::lock_guard lock(mu_);
  auto it = heads_.find(actor_id);
  return it == heads_.end() ? 0 : it->second.last_ticket;
}

void ChainStore::RunDurableCallbacks() {
  std::vector<std::function<void(Status)>> ready;
  std::vector<std::function<void(Status)>> failed;
  Status failure;
  {
    std::lock_guard lock(mu_);
    auto end = durable_callbacks_.upper_bound(committed_ticket_);
    for (auto it = durable_callbacks_.begin(); it != end; ++it)
      ready.push_back(std::move(it->second));
    durable_callbacks_.erase(durable_callbacks_.begin(), end);
    if (!writer_error_.ok() || closed_) {
      failure = !writer_error_.ok() ? writer_error_ : FailedPrecondition("chain store closed");
      for (auto& [ticket, fn] : durable_callbacks_) failed.push_back(std::move(fn));
      durable_callbacks_.clear();
    }
  }
  for (auto& fn : ready) fn(Status());
  for (auto& fn : failed) fn(failure);
}

Result<uint64_t> ChainStore::Enqueue(std::string_view actor_id, const Event& event) {
  return EnqueueChecked(actor_id, event, /*check_hash=*/true);
}

Result<uint64_t> ChainStore::EnqueueTrusted(std::string_view actor_id, const Event& event) {
  return EnqueueChecked(actor_id, event, /*check_hash=*/false);
}

Result<uint64_t> ChainStore::EnqueueChecked(std::string_view actor_id, const Event& event,
                                            bool check_hash) {
  if (check_hash) {
    THEATER_RETURN_IF_ERROR_WITH_CONTEXT(CheckHash(event),
                                         "appending to the chain of " + std::string(actor_id));
  }
  uint64_t ticket = 0;
  {
    std::unique_lock lock(mu_);
    if (closing_ || closed_) return FailedPrecondition("chain store is closed");
    if (!writer_error_.ok()) return writer_error_;
    auto it = heads_.find(actor_id);
    if (it == heads_.end()) {
      std::string id(actor_id);
      THEATER_ASSIGN_OR_RETURN(Head head, ReadHeadLocked(id));
      it = heads_.emplace(std::move(id), head).first;
    }
    Status valid = CheckLink(event, it->second.next_seq, it->second.last_hash);
    if (!valid.ok()) {
      return valid.WithContext("appending to the chain of " + std::string(actor_id));
    }
    not_full_.wait(lock, [&] {
      return QueuedLocked() < options_.max_queue || closing_ || !writer_error_.ok();
    });
    if (closing_) return FailedPrecondition("chain store is closed");
    if (!writer_error_.ok()) return writer_error_;
    // Re-check: another thread may have appended to this actor while we waited.
    valid = CheckLink(event, it->second.next_seq, it->second.last_hash);
    if (!valid.ok()) {
      return valid.WithContext("appending to the chain of " + std::string(actor_id));
    }
    ticket = next_ticket_++;
    Head& head = it->second;
    // Keys are handed out here, in ticket order, and recorded by the writer with the actor's
    // first event; a failed commit stops the writer for good, so no key is handed out twice.
    const bool new_key = head.actor_key == 0;
    if (new_key) head.actor_key = next_actor_key_++;
    Pending& pending = NextSlotLocked();
    pending.ticket = ticket;
    pending.actor_id = &it->first;
    pending.actor_key = head.actor_key;
    pending.new_key = new_key;
    pending.seq = head.next_seq;
    pending.prune_before = 0;
    pending.registry = false;
    // Copy-assigning into a spent entry reuses its buffers: no allocation here, and no free on
    // the writer, in the steady state.
    pending.event = event;
    head.next_seq++;
    head.last_hash = event.hash;
    head.last_ticket = ticket;
    stats_.appended++;
    NotifyWriterLocked();
  }
  return ticket;
}

Status ChainStore::WaitDurable(uint64_t ticket) {
  std::unique_lock lock(mu_);
  if (ticket >= next_ticket_) {
    return InvalidArgument("ticket " + std::to_string(ticket) + " has not been issued");
  }
  if (committed_ticket_ < ticket) {
    durable_waiters_++;
    not_empty_.notify_one();  // the writer stops delaying
    committed_cv_.wait(
        lock, [&] { return committed_ticket_ >= ticket || !writer_error_.ok() || closed_; });
    durable_waiters_--;
  }
  if (committed_ticket_ >= ticket) return Status();
  if (!writer_error_.ok()) return writer_error_;
  return FailedPrecondition("chain store closed before ticket " + std::to_string(ticket) +
                            " was committed");
}

Status ChainStore::Flush() {
  uint64_t last;
  {
    std::lock_guard lock(mu_);
    last = next_ticket_ - 1;
  }
  if (last == 0) return Status();
  return WaitDurable(last);
}

// What spent queue entries keep for reuse: payload and description buffers up to
// kMaxKeptBuffer bytes, and at most kSpareEntries entries beyond the last batch. This bounds
// the memory a burst leaves behind to a few MiB beyond what the queue holds.
constexpr size_t kMaxKeptBuffer = 1024;
constexpr size_t kSpareEntries = 1024;

// Prepared once per writer thread and reused by every batch: preparing the insert per batch
// costs a parse and a schema lookup each time.
struct ChainStore::WriterStatements {
  Stmt insert;
  Stmt new_key;
  Stmt anchor;
  Stmt prune;
  Stmt upsert_actor;
};

void ChainStore::WriterLoop() {
  WriterStatements statements;  // finalized when the thread ends, before Close() closes the db
  // batch[0, batch_size) is the batch being committed; the rest are spent entries kept for
  // their buffers (see queue_).
  std::vector<Pending> batch;
  size_t batch_size = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      not_empty_.wait(lock, [&] { return QueuedLocked() > 0 || closing_; });
      if (options_.max_commit_delay_us > 0) {
        // Group commit: gather up to a full batch unless someone waits for the commit.
        not_empty_.wait_for(lock, std::chrono::microseconds(options_.max_commit_delay_us), [&] {
          return QueuedLocked() >= BatchTarget() || closing_ || durable_waiters_ > 0 ||
                 !durable_callbacks_.empty();
        });
      }
      const size_t queued = QueuedLocked();
      if (queued == 0) return;  // closing and drained
      if (queue_head_ == 0 && queued <= options_.max_batch) {
        // The common case: take everything by swapping the vectors; the queue gets the previous
        // batch, all spent. mu_ is held only briefly.
        batch.swap(queue_);
        batch_size = queued;
        queue_end_ = 0;
      } else {
        batch_size = std::min(queued, options_.max_batch);
        if (batch.size() < batch_size) batch.resize(batch_size);
        for (size_t i = 0; i < batch_size; ++i) std::swap(batch[i], queue_[queue_head_ + i]);
        queue_head_ += batch_size;
        if (queue_head_ == queue_end_) {
          queue_head_ = queue_end_ = 0;
        } else if (queue_head_ >= queue_end_ / 2) {
          // Move the queued entries to the front now and then: amortised O(1) per event.
          std::rotate(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(queue_head_),
                      queue_.begin() + static_cast<ptrdiff_t>(queue_end_));
          queue_end_ -= queue_head_;
          queue_head_ = 0;
        }
      }
      not_full_.notify_all();
    }
    const std::span<Pending> taken(batch.data(), batch_size);
    Status status = CommitBatch(taken, statements);
    for (Pending& p : taken) {
      if (p.event.payload.capacity() > kMaxKeptBuffer) std::vector<uint8_t>().swap(p.event.payload);
      if (p.event.description && p.event.description->capacity() > kMaxKeptBuffer) {
        p.event.description.reset();
      }
    }
    if (batch.size() > batch_size + kSpareEntries) {
      batch.erase(batch.begin() + static_cast<ptrdiff_t>(batch_size + kSpareEntries), batch.end());
    }
    bool failed = false;
    {
      std::lock_guard lock(mu_);
      if (!status.ok()) {
        writer_error_ =
            status.WithContext("committing " + std::to_string(taken.size()) + " events (tickets " +
                               std::to_string(taken.front().ticket) + ".." +
                               std::to_string(taken.back().ticket) + ")");
        // Nothing after a failed batch can link to the chain heads any more: drop it.
        queue_head_ = queue_end_ = 0;
        not_full_.notify_all();
        failed = true;
      } else {
        committed_ticket_ = taken.back().ticket;
        stats_.committed += taken.size();
        stats_.transactions++;
      }
      committed_cv_.notify_all();
    }
    RunDurableCallbacks();  // outside the lock: callbacks may append again
    if (failed) return;
  }
}

Status ChainStore::CommitPrune(const Pending& p, WriterStatements& st) {
  // The anchor is the hash of the last deleted event, which the first kept event names as its
  // parent: the chain verifies from there. (When that event is already gone, an earlier prune
  // went further and its anchor stays.)
  if (!st.anchor.prepared()) {
    THEATER_RETURN_IF_ERROR(st.anchor.Prepare(
        writer_db_,
        "INSERT OR REPLACE INTO anchors (actor_key, seq, hash) SELECT actor_key, seq + 1, hash "
        "FROM events WHERE actor_key = ?1 AND seq = ?2 - 1;"));
    THEATER_RETURN_IF_ERROR(
        st.prune.Prepare(writer_db_, "DELETE FROM events WHERE actor_key = ?1 AND seq < ?2;"));
  }
  st.anchor.BindInt(1, p.actor_key);
  st.anchor.BindInt(2, static_cast<int64_t>(p.prune_before));
  THEATER_RETURN_IF_ERROR(st.anchor.Run("anchoring the chain of " + *p.actor_id));
  st.prune.BindInt(1, p.actor_key);
  st.prune.BindInt(2, static_cast<int64_t>(p.prune_before));
  return st.prune.Run("pruning the chain of " + *p.actor_id);
}

Status ChainStore::CommitBatch(std::span<const Pending> batch, WriterStatements& st) {
  if (!st.insert.prepared()) {
    THEATER_RETURN_IF_ERROR(st.insert.Prepare(
        writer_db_,
        "INSERT INTO events (actor_key, seq, hash, type, payload, timestamp, description) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7);"));
    THEATER_RETURN_IF_ERROR(st.new_key.Prepare(
        writer_db_, "INSERT INTO actor_keys (actor_key, actor) VALUES (?1, ?2);"));
  }
  THEATER_RETURN_IF_ERROR(Exec(writer_db_, "BEGIN IMMEDIATE;"));
  Status status = [&]() -> Status {
    for (const Pending& p : batch) {
      if (p.prune_before) {
        THEATER_RETURN_IF_ERROR(CommitPrune(p, st));
        continue;
      }
      if (p.registry) {
        THEATER_RETURN_IF_ERROR(CommitRegistryRow(p.record, st));
        continue;
      }
      if (p.new_key) {
        st.new_key.BindInt(1, p.actor_key);
        st.new_key.BindStaticText(2, *p.actor_id);
        THEATER_RETURN_IF_ERROR(st.new_key.Run("recording the key of " + *p.actor_id));
      }
      // `batch` outlives every step below: the bytes need no copy.
      Stmt& insert = st.insert;
      insert.BindInt(1, p.actor_key);
      insert.BindInt(2, static_cast<int64_t>(p.seq));
      insert.BindStaticBlob(3, p.event.hash);
      insert.BindStaticText(4, p.event.type);
      insert.BindStaticBlob(5, p.event.payload);
      insert.BindInt(6, static_cast<int64_t>(p.event.timestamp_ms));
      if (p.event.description) {
        insert.BindStaticText(7, *p.event.description);
      } else {
        insert.BindNull(7);
      }
      Status inserted = insert.Run("inserting an event");
      if (!inserted.ok()) {
        return inserted.WithContext("event #" + std::to_string(p.seq) + " of " + *p.actor_id);
      }
    }
    return Exec(writer_db_, "COMMIT;");
  }();
  // No statement may keep pointers into `batch` once it is gone.
  st.insert.ClearBindings();
  st.new_key.ClearBindings();
  if (!status.ok()) Exec(writer_db_, "ROLLBACK;").IgnoreError();
  return status;
}

Result<std::vector<Event>> ChainStore::LoadChain(std::string_view actor_id, LoadReport* report) {
  std::vector<Event> events;
  LoadReport local;
  {
    std::lock_guard reader_lock(reader_mu_);
    if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
    // The key, the anchor and the rows are read in one read transaction: one consistent
    // snapshot, even while the writer commits (or prunes).
    THEATER_RETURN_IF_ERROR(Exec(reader_db_, "BEGIN;"));
    EndRead end_read{reader_db_};
    THEATER_ASSIGN_OR_RETURN(std::optional<ChainStart> known,
                             ReadChainStart(reader_db_, actor_id));
    // No key: the actor never had an event committed (an empty chain).
    const int64_t actor_key = known ? known->actor_key : 0;
    Stmt stmt;
    THEATER_RETURN_IF_ERROR(
        stmt.Prepare(reader_db_,
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
  std::lock_guard reader_lock(reader_mu_);
  if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
  // One read transaction: one consistent snapshot, as LoadChain.
  THEATER_RETURN_IF_ERROR(Exec(reader_db_, "BEGIN;"));
  EndRead end_read{reader_db_};
  const std::string actor(actor_id);
  THEATER_ASSIGN_OR_RETURN(std::optional<ChainStart> known, ReadChainStart(reader_db_, actor_id));
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
    Stmt before;
    THEATER_RETURN_IF_ERROR(
        before.Prepare(reader_db_, "SELECT hash FROM events WHERE actor_key = ?1 AND seq = ?2;"));
    before.BindInt(1, actor_key);
    before.BindInt(2, static_cast<int64_t>(start - 1));
    THEATER_ASSIGN_OR_RETURN(bool found, before.Step("reading the chain of " + actor));
    if (!found) {
      // Past the end, or after a missing row (where a reader coming page by page stopped with
      // the problem already): nothing to visit.
      if (report != nullptr) *report = local;
      return Status();
    }
    std::vector<uint8_t> hash = before.Blob(0);
    if (hash.size() != Hash{}.size()) {
      local.problem = ValidationError("event #" + std::to_string(start - 1) + ": malformed hash (" +
                                      std::to_string(hash.size()) + " bytes)");
      if (report != nullptr) *report = local;
      return Status();
    }
    previous.emplace();
    std::copy(hash.begin(), hash.end(), previous->begin());
  }
  Stmt stmt;
  THEATER_RETURN_IF_ERROR(
      stmt.Prepare(reader_db_,
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
  std::lock_guard reader_lock(reader_mu_);
  if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
  THEATER_RETURN_IF_ERROR(Exec(reader_db_, "BEGIN;"));
  EndRead end_read{reader_db_};
  auto finish = [&]() {
    if (report != nullptr) *report = local;
    return Status();
  };
  THEATER_ASSIGN_OR_RETURN(std::optional<ChainStart> known, ReadChainStart(reader_db_, actor_id));
  if (!known) return finish();
  Stmt stmt;
  THEATER_RETURN_IF_ERROR(
      stmt.Prepare(reader_db_,
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

Status ChainStore::TruncateChain(std::string_view actor_id, size_t keep) {
  THEATER_RETURN_IF_ERROR(Flush());
  std::lock_guard lock(mu_);
  if (closing_ || closed_) return FailedPrecondition("chain store is closed");
  for (size_t i = queue_head_; i < queue_end_; ++i) {
    if (*queue_[i].actor_id == actor_id) {
      return FailedPrecondition("truncating the chain of " + std::string(actor_id) +
                                ": appends to it are still queued");
    }
  }
  {
    std::lock_guard reader_lock(reader_mu_);
    Stmt stmt;
    THEATER_RETURN_IF_ERROR(stmt.Prepare(
        reader_db_,
        "DELETE FROM events WHERE actor_key = (SELECT actor_key FROM actor_keys WHERE actor = ?1) "
        "AND seq >= ?2;"));
    stmt.BindText(1, actor_id);
    stmt.BindInt(2, static_cast<int64_t>(keep));
    THEATER_ASSIGN_OR_RETURN(bool row,
                             stmt.Step("truncating the chain of " + std::string(actor_id)));
    (void)row;
  }
  // Re-read the head from the database. The entry itself stays: queued Pendings point at its key.
  auto it = heads_.find(actor_id);
  if (it != heads_.end()) {
    THEATER_ASSIGN_OR_RETURN(Head head, ReadHeadLocked(it->first));
    head.last_ticket = it->second.last_ticket;
    it->second = head;
  }
  return Status();
}

Status ChainStore::UpsertActor(const ActorRecord& record) {
  std::unique_lock lock(mu_);
  if (closing_ || closed_) return FailedPrecondition("chain store is closed");
  if (!writer_error_.ok()) return writer_error_;
  not_full_.wait(
      lock, [&] { return QueuedLocked() < options_.max_queue || closing_ || !writer_error_.ok(); });
  if (closing_) return FailedPrecondition("chain store is closed");
  if (!writer_error_.ok()) return writer_error_;
  static const std::string kNoChain;  // a registry row belongs to no chain in the queue
  const uint64_t ticket = next_ticket_++;
  Pending& pending = NextSlotLocked();
  pending.ticket = ticket;
  pending.actor_id = &kNoChain;
  pending.actor_key = 0;
  pending.new_key = false;
  pending.seq = 0;
  pending.prune_before = 0;
  pending.registry = true;
  pending.record = record;
  last_registry_ticket_ = ticket;
  NotifyWriterLocked();
  return Status();
}

namespace {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Status ChainStore::CommitRegistryRow(const ActorRecord& record, WriterStatements& st) {
  if (!st.upsert_actor.prepared()) {
    THEATER_RETURN_IF_ERROR(st.upsert_actor.Prepare(
        writer_db_,
        "INSERT INTO actors (id, name, manifest, created, status, parent, recovery) VALUES (?1, "
        "?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET name = excluded.name, manifest = "
        "excluded.manifest, status = excluded.status, parent = excluded.parent, recovery = "
        "excluded.recovery;"));
  }
  Stmt& stmt = st.upsert_actor;
  // The batch outlives the step: the text needs no copy.
  stmt.BindStaticText(1, record.actor_id);
  stmt.BindStaticText(2, record.name);
  stmt.BindStaticText(3, record.manifest);
  stmt.BindInt(4, static_cast<int64_t>(record.created_ms ? record.created_ms : NowMs()));
  stmt.BindStaticText(5, record.status);
  if (record.parent_id) {
    stmt.BindStaticText(6, *record.parent_id);
  } else {
    stmt.BindNull(6);
  }
  stmt.BindStaticText(7, record.recovery);
  Status ran = stmt.Run("registering actor " + record.actor_id);
  stmt.ClearBindings();
  return ran;
}

Result<std::vector<ActorRecord>> ChainStore::ListActors(bool count_events) {
  uint64_t registered = 0;
  {
    std::lock_guard lock(mu_);
    registered = last_registry_ticket_;
  }
  // The rows queued before the call are part of the answer.
  if (registered > 0) THEATER_RETURN_IF_ERROR(WaitDurable(registered));
  std::lock_guard reader_lock(reader_mu_);
  if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
  THEATER_RETURN_IF_ERROR(Exec(reader_db_, "BEGIN;"));
  auto list = [&]() -> Result<std::vector<ActorRecord>> {
    std::map<std::string, ActorRecord> actors;
    std::vector<ActorRecord> in_order;  // without counts: in registration order
    Stmt registry;
    THEATER_RETURN_IF_ERROR(
        registry.Prepare(reader_db_,
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
    Stmt counts;
    THEATER_RETURN_IF_ERROR(
        counts.Prepare(reader_db_,
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
  Exec(reader_db_, "COMMIT;").IgnoreError();
  return list;
}

ChainStore::Stats ChainStore::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace theater::chain
