// Theater: a WebAssembly actor runtime.
#include "common/sqlite_util.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace theater::sqlite {

Status ErrorStatus(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  // The connection's message names the failure more precisely than the code's generic text.
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (sqlite code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return ResourceExhausted(std::move(message));
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

Connection::~Connection() {
  // _v2: closes once every statement is finalized, whatever the order of destruction.
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status Connection::Open(const std::filesystem::path& path, int busy_timeout_ms) {
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = ErrorStatus(db_, rc, "opening " + path.string());
    sqlite3_close_v2(db_);
    db_ = nullptr;
    return status;
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  return Status();
}

const char* SynchronousPragma(Durability durability) {
  switch (durability) {
    case Durability::kNone:
      return "PRAGMA synchronous=OFF;";
    case Durability::kBatched:
      return "PRAGMA synchronous=NORMAL;";
    case Durability::kStrict:
      return "PRAGMA synchronous=FULL;";
  }
  return "PRAGMA synchronous=FULL;";
}

Status OpenConfigured(Connection& connection, const std::filesystem::path& path,
                      const ConnectionSettings& settings) {
  THEATER_RETURN_IF_ERROR(connection.Open(path, settings.busy_timeout_ms));
  // 8 KiB pages: with large batches a commit writes fewer WAL frames and the B-trees are
  // shallower; measured ~10% less writer CPU than 4 KiB (docs/persistence.md, "Tuning").
  THEATER_RETURN_IF_ERROR(connection.Exec("PRAGMA page_size=8192;"));
  const auto give_up = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(std::max(settings.busy_timeout_ms, 0));
  for (;;) {
    Status wal = connection.Exec("PRAGMA journal_mode=WAL;");
    if (wal.ok()) break;
    if (wal.code() != StatusCode::kUnavailable || std::chrono::steady_clock::now() >= give_up) {
      return wal;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  THEATER_RETURN_IF_ERROR(connection.Exec(SynchronousPragma(settings.durability)));
  const std::string cache = "PRAGMA cache_size=-" + std::to_string(settings.cache_kib) + ";";
  THEATER_RETURN_IF_ERROR(connection.Exec(cache.c_str()));
  if (settings.max_page_count > 0) {
    const std::string limit =
        "PRAGMA max_page_count=" + std::to_string(settings.max_page_count) + ";";
    THEATER_RETURN_IF_ERROR(connection.Exec(limit.c_str()));
  }
  return Status();
}

Status Connection::Exec(const char* sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return Status();
  std::string what = std::string("executing '") + sql + "'";
  Status status =
      error != nullptr ? ErrorStatus(nullptr, rc, what + ": " + error) : ErrorStatus(db_, rc, what);
  sqlite3_free(error);
  return status;
}

void Connection::RollbackIfOpen() {
  if (db_ != nullptr && !sqlite3_get_autocommit(db_)) {
    // Nothing sensible to do when even the rollback fails: SQLite then rolls back itself when
    // the connection next starts a transaction or closes.
    sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
  }
}

int64_t Connection::LastInsertRowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int Connection::Changes() const {
  return sqlite3_changes(db_);
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Status Statement::Prepare(const Connection& connection, const char* sql) {
  db_ = connection.get();
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) return ErrorStatus(db_, rc, std::string("preparing '") + sql + "'");
  return Status();
}

void Statement::BindInt(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
}

void Statement::BindText(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

void Statement::BindBlob(int index, std::span<const uint8_t> bytes) {
  // A zero-length blob must still be a blob, not NULL (a null data pointer binds NULL).
  static const uint8_t kEmpty = 0;
  sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                      SQLITE_STATIC);
}

void Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
}

Result<bool> Statement::Step(std::string_view what) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return ErrorStatus(db_, rc, what);
}

Status Statement::Run(std::string_view what) {
  ResetOnExit reset(*this);
  THEATER_ASSIGN_OR_RETURN(bool row, Step(what));
  (void)row;
  return Status();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::Text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return text != nullptr ? std::string(reinterpret_cast<const char*>(text), size) : std::string();
}

std::span<const uint8_t> Statement::Blob(int column) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  int size = sqlite3_column_bytes(stmt_, column);
  return data != nullptr ? std::span<const uint8_t>(data, static_cast<size_t>(size))
                         : std::span<const uint8_t>();
}

}  // namespace theater::sqlite
