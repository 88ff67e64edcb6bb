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

namespace theater::chain {
namespace {

// 2: the anchors table (pruned chains). A version-1 database is upgraded in place by creating
// it; a version-1 build refuses a version-2 database, which may hold pruned chains it cannot
// verify.
constexpr int kSchemaVersion = 2;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  actor TEXT NOT NULL,
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL,
  parent BLOB,
  type TEXT NOT NULL,
  payload BLOB NOT NULL,
  timestamp INTEGER NOT NULL,
  description TEXT,
  PRIMARY KEY (actor, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS anchors (
  actor TEXT PRIMARY KEY NOT NULL,
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS actors (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  manifest TEXT NOT NULL,
  created INTEGER NOT NULL,
  status TEXT NOT NULL
);
)sql";

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (sqlite code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ValidationError(std::move(message));
    case SQLITE_CONSTRAINT:
      return AlreadyExists(std::move(message));
    default:
      return IOError(std::move(message));
  }
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
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  void BindText(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int i, std::span<const uint8_t> b) {
    // A zero-length blob must still be a blob, not NULL.
    static const uint8_t kEmpty = 0;
    sqlite3_bind_blob(stmt_, i, b.empty() ? &kEmpty : b.data(), static_cast<int>(b.size()),
                      SQLITE_TRANSIENT);
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

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
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
  Status status = Exec(db, "PRAGMA journal_mode=WAL;");
  if (status.ok()) status = Exec(db, sync);
  if (status.ok()) status = Exec(db, "PRAGMA foreign_keys=ON;");
  // Chains of many actors interleave in one B-tree: a larger page cache keeps the pages being
  // appended to in memory, and fewer, larger checkpoints copy the WAL back less often.
  if (status.ok()) status = Exec(db, "PRAGMA cache_size=-65536;");
  if (status.ok()) status = Exec(db, "PRAGMA wal_autocheckpoint=16384;");
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

}  // namespace

std::string_view DurabilityName(Durability durability) {
  switch (durability) {
    case Durability::kNone:
      return "none";
    case Durability::kBatched:
      return "batched";
    case Durability::kStrict:
      return "strict";
  }
  return "unknown";
}

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
  Status status = Exec(writer_db_, kSchema);
  std::optional<int64_t> version;
  if (status.ok()) {
    Stmt stmt;
    status = stmt.Prepare(writer_db_, "SELECT MAX(version) FROM schema_version;");
    if (status.ok()) {
      Result<bool> row = stmt.Step("reading schema version");
      if (!row.ok()) {
        status = row.status();
      } else if (*row && !stmt.IsNull(0)) {
        version = stmt.Int(0);
      }
    }
  }
  if (status.ok() && (!version || *version < kSchemaVersion)) {
    // New, or version 1 (whose missing table kSchema has just created).
    std::string insert =
        "INSERT INTO schema_version (version) VALUES (" + std::to_string(kSchemaVersion) + ");";
    status = Exec(writer_db_, insert.c_str());
    version = kSchemaVersion;
  }
  if (status.ok() && *version > kSchemaVersion) {
    status = FailedPrecondition("database schema version " + std::to_string(*version) +
                                " is newer than this build supports (" +
                                std::to_string(kSchemaVersion) + ")");
  }
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
  Stmt stmt;
  THEATER_RETURN_IF_ERROR(stmt.Prepare(reader_db_,
                                       "SELECT seq, hash FROM events WHERE actor = ?1 "
                                       "ORDER BY seq DESC LIMIT 1;"));
  stmt.BindText(1, actor_id);
  THEATER_ASSIGN_OR_RETURN(bool row, stmt.Step("reading chain head of " + actor_id));
  Head head;
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
      lock, [&] { return queue_.size() < options_.max_queue || closing_ || !writer_error_.ok(); });
  if (closing_) return FailedPrecondition("chain store is closed");
  if (!writer_error_.ok()) return writer_error_;
  uint64_t ticket = next_ticket_++;
  Pending prune{ticket, it->first, 0, Event{}};
  prune.prune_before = before_seq;
  queue_.push_back(std::move(prune));
  not_empty_.notify_one();
  return ticket;
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
  THEATER_RETURN_IF_ERROR(
      CheckHash(event).WithContext("appending to the chain of " + std::string(actor_id)));
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
      return queue_.size() < options_.max_queue || closing_ || !writer_error_.ok();
    });
    if (closing_) return FailedPrecondition("chain store is closed");
    if (!writer_error_.ok()) return writer_error_;
    // Re-check: another thread may have appended to this actor while we waited.
    valid = CheckLink(event, it->second.next_seq, it->second.last_hash);
    if (!valid.ok()) {
      return valid.WithContext("appending to the chain of " + std::string(actor_id));
    }
    ticket = next_ticket_++;
    queue_.push_back(Pending{ticket, it->first, it->second.next_seq, event});
    it->second.next_seq++;
    it->second.last_hash = event.hash;
    it->second.last_ticket = ticket;
    stats_.appended++;
    not_empty_.notify_one();
  }
  return ticket;
}

Status ChainStore::WaitDurable(uint64_t ticket) {
  std::unique_lock lock(mu_);
  if (ticket >= next_ticket_) {
    return InvalidArgument("ticket " + std::to_string(ticket) + " has not been issued");
  }
  committed_cv_.wait(lock,
                     [&] { return committed_ticket_ >= ticket || !writer_error_.ok() || closed_; });
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

void ChainStore::WriterLoop() {
  std::vector<Pending> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mu_);
      not_empty_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing and drained
      size_t n = std::min(queue_.size(), options_.max_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      not_full_.notify_all();
    }
    Status status = CommitBatch(batch);
    bool failed = false;
    {
      std::lock_guard lock(mu_);
      if (!status.ok()) {
        writer_error_ =
            status.WithContext("committing " + std::to_string(batch.size()) + " events (tickets " +
                               std::to_string(batch.front().ticket) + ".." +
                               std::to_string(batch.back().ticket) + ")");
        // Nothing after a failed batch can link to the chain heads any more: drop it.
        queue_.clear();
        not_full_.notify_all();
        failed = true;
      } else {
        committed_ticket_ = batch.back().ticket;
        stats_.committed += batch.size();
        stats_.transactions++;
      }
      committed_cv_.notify_all();
    }
    RunDurableCallbacks();  // outside the lock: callbacks may append again
    if (failed) return;
  }
}

Status ChainStore::CommitPrune(const Pending& p) {
  // The anchor is the parent of the first kept event: the chain verifies from there.
  Stmt anchor;
  THEATER_RETURN_IF_ERROR(anchor.Prepare(
      writer_db_,
      "INSERT OR REPLACE INTO anchors (actor, seq, hash) SELECT actor, seq, parent FROM events "
      "WHERE actor = ?1 AND seq = ?2 AND parent IS NOT NULL;"));
  anchor.BindText(1, p.actor_id);
  anchor.BindInt(2, static_cast<int64_t>(p.prune_before));
  THEATER_RETURN_IF_ERROR(anchor.Step("anchoring the chain of " + p.actor_id).status());
  Stmt remove;
  THEATER_RETURN_IF_ERROR(
      remove.Prepare(writer_db_, "DELETE FROM events WHERE actor = ?1 AND seq < ?2;"));
  remove.BindText(1, p.actor_id);
  remove.BindInt(2, static_cast<int64_t>(p.prune_before));
  return remove.Step("pruning the chain of " + p.actor_id).status();
}

Status ChainStore::CommitBatch(const std::vector<Pending>& batch) {
  THEATER_RETURN_IF_ERROR(Exec(writer_db_, "BEGIN IMMEDIATE;"));
  Status status = [&]() -> Status {
    Stmt insert;
    THEATER_RETURN_IF_ERROR(insert.Prepare(
        writer_db_,
        "INSERT INTO events (actor, seq, hash, parent, type, payload, timestamp, description) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8);"));
    for (const Pending& p : batch) {
      if (p.prune_before) {
        THEATER_RETURN_IF_ERROR(CommitPrune(p));
        continue;
      }
      insert.Reset();
      insert.BindText(1, p.actor_id);
      insert.BindInt(2, static_cast<int64_t>(p.seq));
      insert.BindBlob(3, p.event.hash);
      if (p.event.parent) {
        insert.BindBlob(4, *p.event.parent);
      } else {
        insert.BindNull(4);
      }
      insert.BindText(5, p.event.type);
      insert.BindBlob(6, p.event.payload);
      insert.BindInt(7, static_cast<int64_t>(p.event.timestamp_ms));
      if (p.event.description) {
        insert.BindText(8, *p.event.description);
      } else {
        insert.BindNull(8);
      }
      THEATER_ASSIGN_OR_RETURN(
          bool row, insert.Step("inserting event #" + std::to_string(p.seq) + " of " + p.actor_id));
      (void)row;
    }
    return Exec(writer_db_, "COMMIT;");
  }();
  if (!status.ok()) Exec(writer_db_, "ROLLBACK;").IgnoreError();
  return status;
}

Result<std::vector<Event>> ChainStore::LoadChain(std::string_view actor_id, LoadReport* report) {
  std::vector<Event> events;
  LoadReport local;
  {
    std::lock_guard reader_lock(reader_mu_);
    if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
    Stmt stmt;
    THEATER_RETURN_IF_ERROR(
        stmt.Prepare(reader_db_,
                     "SELECT seq, hash, parent, type, payload, timestamp, description FROM events "
                     "WHERE actor = ?1 ORDER BY seq;"));
    stmt.BindText(1, actor_id);
    // The anchor and the rows are read in one read transaction: one consistent snapshot, even
    // while the writer commits (or prunes).
    THEATER_RETURN_IF_ERROR(Exec(reader_db_, "BEGIN;"));
    struct EndRead {
      sqlite3* db;
      ~EndRead() { Exec(db, "COMMIT;").IgnoreError(); }
    } end_read{reader_db_};
    std::optional<Hash> previous;
    {
      Stmt anchor;
      THEATER_RETURN_IF_ERROR(
          anchor.Prepare(reader_db_, "SELECT seq, hash FROM anchors WHERE actor = ?1;"));
      anchor.BindText(1, actor_id);
      THEATER_ASSIGN_OR_RETURN(bool found,
                               anchor.Step("reading the anchor of " + std::string(actor_id)));
      if (found) {
        std::vector<uint8_t> hash = anchor.Blob(1);
        if (hash.size() != Hash{}.size()) {
          return ValidationError("the anchor of " + std::string(actor_id) + " is malformed");
        }
        previous.emplace();
        std::copy(hash.begin(), hash.end(), previous->begin());
        local.first_index = static_cast<size_t>(anchor.Int(0));
        local.anchor = previous;
      }
    }
    for (;;) {
      THEATER_ASSIGN_OR_RETURN(bool row,
                               stmt.Step("loading the chain of " + std::string(actor_id)));
      if (!row) break;
      local.stored++;
      if (!local.problem.ok()) continue;  // counting the rejected tail
      const size_t index = local.first_index + events.size();
      Event event;
      auto row_problem = [&](const std::string& what) {
        return ValidationError("event #" + std::to_string(index) + ": " + what);
      };
      if (stmt.Int(0) != static_cast<int64_t>(index)) {
        local.problem = row_problem("stored with sequence number " + std::to_string(stmt.Int(0)) +
                                    " (events missing)");
        continue;
      }
      std::vector<uint8_t> hash = stmt.Blob(1);
      if (hash.size() != event.hash.size()) {
        local.problem = row_problem("malformed hash (" + std::to_string(hash.size()) + " bytes)");
        continue;
      }
      std::copy(hash.begin(), hash.end(), event.hash.begin());
      if (!stmt.IsNull(2)) {
        std::vector<uint8_t> parent = stmt.Blob(2);
        if (parent.size() != Hash{}.size()) {
          local.problem =
              row_problem("malformed parent hash (" + std::to_string(parent.size()) + " bytes)");
          continue;
        }
        event.parent.emplace();
        std::copy(parent.begin(), parent.end(), event.parent->begin());
      }
      event.type = stmt.Text(3);
      event.payload = stmt.Blob(4);
      event.timestamp_ms = static_cast<uint64_t>(stmt.Int(5));
      if (!stmt.IsNull(6)) event.description = stmt.Text(6);
      Status ok = CheckHash(event).WithContext("event #" + std::to_string(index));
      if (ok.ok()) ok = CheckLink(event, index, previous);
      if (!ok.ok()) {
        local.problem = ok;
        continue;
      }
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

Status ChainStore::TruncateChain(std::string_view actor_id, size_t keep) {
  THEATER_RETURN_IF_ERROR(Flush());
  std::lock_guard lock(mu_);
  if (closing_ || closed_) return FailedPrecondition("chain store is closed");
  for (const Pending& p : queue_) {
    if (p.actor_id == actor_id) {
      return FailedPrecondition("truncating the chain of " + std::string(actor_id) +
                                ": appends to it are still queued");
    }
  }
  {
    std::lock_guard reader_lock(reader_mu_);
    Stmt stmt;
    THEATER_RETURN_IF_ERROR(
        stmt.Prepare(reader_db_, "DELETE FROM events WHERE actor = ?1 AND seq >= ?2;"));
    stmt.BindText(1, actor_id);
    stmt.BindInt(2, static_cast<int64_t>(keep));
    THEATER_ASSIGN_OR_RETURN(bool row,
                             stmt.Step("truncating the chain of " + std::string(actor_id)));
    (void)row;
  }
  auto it = heads_.find(actor_id);
  if (it != heads_.end()) heads_.erase(it);  // re-read from the database on the next append
  return Status();
}

Status ChainStore::UpsertActor(const ActorRecord& record) {
  std::lock_guard reader_lock(reader_mu_);
  if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
  Stmt stmt;
  THEATER_RETURN_IF_ERROR(stmt.Prepare(
      reader_db_,
      "INSERT INTO actors (id, name, manifest, created, status) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (id) DO UPDATE SET name = excluded.name, manifest = excluded.manifest, "
      "status = excluded.status;"));
  stmt.BindText(1, record.actor_id);
  stmt.BindText(2, record.name);
  stmt.BindText(3, record.manifest);
  stmt.BindInt(4, static_cast<int64_t>(record.created_ms));
  stmt.BindText(5, record.status);
  THEATER_ASSIGN_OR_RETURN(bool row, stmt.Step("registering actor " + record.actor_id));
  (void)row;
  return Status();
}

Result<std::vector<ActorRecord>> ChainStore::ListActors() {
  std::lock_guard reader_lock(reader_mu_);
  if (reader_db_ == nullptr) return FailedPrecondition("chain store is closed");
  THEATER_RETURN_IF_ERROR(Exec(reader_db_, "BEGIN;"));
  auto list = [&]() -> Result<std::vector<ActorRecord>> {
    std::map<std::string, ActorRecord> actors;
    Stmt registry;
    THEATER_RETURN_IF_ERROR(
        registry.Prepare(reader_db_, "SELECT id, name, manifest, created, status FROM actors;"));
    for (;;) {
      THEATER_ASSIGN_OR_RETURN(bool row, registry.Step("listing actors"));
      if (!row) break;
      ActorRecord record{registry.Text(0), registry.Text(1),
                         registry.Text(2), static_cast<uint64_t>(registry.Int(3)),
                         registry.Text(4), 0};
      actors[record.actor_id] = std::move(record);
    }
    Stmt counts;
    THEATER_RETURN_IF_ERROR(
        counts.Prepare(reader_db_, "SELECT actor, COUNT(*) FROM events GROUP BY actor;"));
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
