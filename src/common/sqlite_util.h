// Theater: a WebAssembly actor runtime.
//
// Thin RAII wrappers over the SQLite C API — a connection, a prepared statement — and the one
// mapping of SQLite result codes onto Status codes that the chain store and the content store
// share.
//
// Thread-safety: none of their own. A Connection and its Statements are used by one thread at a
// time (the store hands connections out under its own locks; connections are opened with
// SQLITE_OPEN_NOMUTEX).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "theater/durability.h"
#include "theater/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace theater::sqlite {

// A Status for SQLite result code `rc`, with `what` and the connection's message:
// SQLITE_FULL -> kResourceExhausted, SQLITE_BUSY/LOCKED -> kUnavailable, SQLITE_CORRUPT/NOTADB ->
// kValidationError, SQLITE_CONSTRAINT -> kAlreadyExists, anything else -> kIOError.
Status ErrorStatus(sqlite3* db, int rc, std::string_view what);

// An open database connection, closed on destruction (after its statements: sqlite3_close_v2).
class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Opens (creating) `path` read-write with SQLITE_OPEN_NOMUTEX and sets the busy timeout.
  Status Open(const std::filesystem::path& path, int busy_timeout_ms);
  // Runs one or more statements whose rows do not matter.
  Status Exec(const char* sql);
  // Rolls back the open transaction, if any (SQLite ends some transactions itself on errors
  // such as SQLITE_FULL or SQLITE_IOERR, so there may be none).
  void RollbackIfOpen();

  sqlite3* get() const { return db_; }
  int64_t LastInsertRowid() const;
  int Changes() const;

 private:
  sqlite3* db_ = nullptr;
};

// How a store sets up its connections to the runtime's database (shared by the chain store and
// the content store, which may open the same file).
struct ConnectionSettings {
  Durability durability = Durability::kBatched;  // -> PRAGMA synchronous
  int busy_timeout_ms = 10000;
  int cache_kib = 32768;       // the page cache, per connection
  int64_t max_page_count = 0;  // > 0: the database may not grow past this many pages
};

// `PRAGMA synchronous=...;` for the durability mode: OFF, NORMAL, FULL.
const char* SynchronousPragma(Durability durability);

// Opens `path` (Connection::Open) and configures it: 8 KiB pages (a new database only: the page
// size is fixed once in WAL mode), WAL, the durability's `synchronous`, the cache and the page
// limit. Switching a new database to WAL takes an exclusive lock that SQLite refuses at once,
// without its busy handler, while another connection holds a lock: that step is retried for as
// long as the busy timeout allows.
Status OpenConfigured(Connection& connection, const std::filesystem::path& path,
                      const ConnectionSettings& settings);

// A prepared statement, finalized on destruction. Bound text and blobs are NOT copied: they must
// stay valid until Reset(), which also clears the bindings (use a ResetOnExit).
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Status Prepare(const Connection& connection, const char* sql);

  void BindInt(int index, int64_t value);
  void BindText(int index, std::string_view text);
  void BindBlob(int index, std::span<const uint8_t> bytes);
  void BindNull(int index);

  // SQLITE_ROW -> true, SQLITE_DONE -> false, anything else -> the error, described by `what`.
  Result<bool> Step(std::string_view what);
  // Step() for a statement without result rows; also resets it.
  Status Run(std::string_view what);
  // Ends the statement (and with it an implicit read transaction) and clears its bindings.
  void Reset();

  bool IsNull(int column) const;
  int64_t Int(int column) const;
  std::string Text(int column) const;
  // The column's bytes, valid until the next Step/Reset.
  std::span<const uint8_t> Blob(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends, whatever path leaves it.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) : statement_(statement) {}
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;
  ~ResetOnExit() { statement_.Reset(); }

 private:
  Statement& statement_;
};

}  // namespace theater::sqlite
