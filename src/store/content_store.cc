// Theater: a WebAssembly actor runtime.
//
// ContentStore (include/theater/content_store.h, docs/store.md): content-addressed stores in
// SQLite. Writes are committed by whichever waiting caller finds the write connection idle
// (group commit, Write()); reads borrow a connection from a small pool (AcquireReader()).
#include "theater/content_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <system_error>
#include <thread>
#include <utility>

#include "common/bytes.h"
#include "common/sha256.h"
#include "common/sqlite_util.h"
#include "common/uuid.h"
#include "store/content_cache.h"

#include <sqlite3.h>

namespace theater::store {
namespace {

using sqlite::Connection;
using sqlite::ResetOnExit;
using sqlite::Statement;

constexpr int64_t kSchemaVersion = 1;

// Every table is prefixed `store_`: the database is shared with ChainStore (docs/persistence.md)
// and possibly other components, each with its own tables and schema version.
//
// Why this shape (docs/store.md, "Schema"):
// * store_content is the index of a store's content, clustered by (store, hash) WITHOUT ROWID so
//   that Exists, ListContent and TotalSize read small rows only; the bytes are in store_blobs,
//   appended in commit order (rowid table: pages filled and written once), or in a file.
// * The partial index store_content_files lets Open() ask "does any row name this file?" for the
//   few rows whose content is in a file, without a scan.
// * Integer store keys keep the 36-character id out of every content and label row.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS store_meta (
  key TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS store_stores (
  store_key INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  owner TEXT,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS store_content (
  store_key INTEGER NOT NULL,
  hash BLOB NOT NULL,
  size INTEGER NOT NULL,
  blob_id INTEGER,
  PRIMARY KEY (store_key, hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS store_content_files ON store_content (hash) WHERE blob_id IS NULL;
CREATE TABLE IF NOT EXISTS store_blobs (
  blob_id INTEGER PRIMARY KEY,
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS store_labels (
  store_key INTEGER NOT NULL,
  label TEXT NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (store_key, label)
) WITHOUT ROWID;
)sql";

constexpr size_t kMaxLabelBytes = 255;

// A caller-supplied value for a message: quoted, at most 64 bytes of it, every byte outside
// printable ASCII (and the quote and backslash) escaped, so that a hostile label cannot forge
// or garble a log line.
std::string Quote(std::string_view text) {
  constexpr size_t kShown = 64;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    }
  }
  out += "'";
  if (text.size() > kShown) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// Decodes the UTF-8 character starting at text[i] into `cp` and returns its length in bytes, or
// 0 when it is malformed: a stray continuation byte, a truncated sequence, an overlong form, a
// surrogate or a value above U+10FFFF.
size_t DecodeUtf8(std::string_view text, size_t i, char32_t& cp) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t length = 0;
  char32_t minimum = 0;
  if (lead < 0x80) {
    cp = lead;
    return 1;
  } else if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, cp = lead & 0x1f, minimum = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, cp = lead & 0x0f, minimum = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, cp = lead & 0x07, minimum = 0x10000;
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  for (size_t k = 1; k < length; ++k) {
    const auto c = static_cast<unsigned char>(text[i + k]);
    if ((c & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < minimum || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return length;
}

// Unicode's White_Space characters that are not control characters (those are refused anyway),
// plus U+0085 (NEXT LINE), which is both.
bool IsWhitespace(char32_t cp) {
  switch (cp) {
    case 0x20:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200a;
  }
}

int HexValue(char c) {
  return c <= '9' ? c - '0' : c - 'a' + 10;
}

// The digest a validated hash names.
Sha256Digest ParseDigest(std::string_view hash) {
  Sha256Digest digest{};
  for (size_t i = 0; i < digest.size(); ++i) {
    digest[i] = static_cast<uint8_t>(HexValue(hash[2 * i]) << 4 | HexValue(hash[2 * i + 1]));
  }
  return digest;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Closes a file descriptor at the end of a scope (for read paths, where a failing close() has
// nothing to report).
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

Status WriteAll(int fd, std::span<const uint8_t> bytes, const std::filesystem::path& path) {
  size_t written = 0;
  while (written < bytes.size()) {
    const size_t chunk = std::min<size_t>(bytes.size() - written, size_t{1} << 30);
    const ssize_t n = ::write(fd, bytes.data() + written, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("writing " + path.string(), errno);
    }
    written += static_cast<size_t>(n);
  }
  return Status();
}

// Makes the directory's entries (a rename into it, a new subdirectory) durable.
Status SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening directory " + dir.string() + " to sync it", errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("syncing directory " + dir.string(), error);
  return Status();
}

// The whole content file, which must have `size` bytes.
Result<std::vector<uint8_t>> ReadContentFile(const std::filesystem::path& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return IOError("content file " + path.string() + " is missing");
    return ErrnoError("opening content file " + path.string(), errno);
  }
  FdCloser closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0) return ErrnoError("examining content file " + path.string(), errno);
  if (static_cast<uint64_t>(info.st_size) != size) {
    return ValidationError("content file " + path.string() + " has " +
                           std::to_string(info.st_size) + " bytes, but the content has " +
                           std::to_string(size));
  }
  std::vector<uint8_t> bytes(size);
  size_t done = 0;
  while (done < size) {
    const size_t chunk = std::min<size_t>(size - done, size_t{1} << 30);
    const ssize_t n = ::read(fd, bytes.data() + done, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("reading content file " + path.string(), errno);
    }
    if (n == 0) {
      return ValidationError("content file " + path.string() + " ended after " +
                             std::to_string(done) + " of " + std::to_string(size) + " bytes");
    }
    done += static_cast<size_t>(n);
  }
  return bytes;
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

}  // namespace

Status ValidateStoreId(std::string_view id) {
  bool valid = id.size() == 36;
  for (size_t i = 0; valid && i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    valid = dash ? id[i] == '-' : IsLowerHex(id[i]);
  }
  if (valid) return Status();
  return InvalidArgument("invalid store id " + Quote(id) +
                         ": expected a lowercase UUID (8-4-4-4-12 hex digits a-f, 0-9)");
}

Status ValidateHash(std::string_view hash) {
  if (hash.size() != 64) {
    return InvalidArgument("invalid content hash " + Quote(hash) + ": " +
                           std::to_string(hash.size()) +
                           " characters, expected 64 lowercase hex digits (SHA-256)");
  }
  for (size_t i = 0; i < hash.size(); ++i) {
    if (!IsLowerHex(hash[i])) {
      return InvalidArgument("invalid content hash " + Quote(hash) + ": character " +
                             std::to_string(i) + " is not a lowercase hex digit");
    }
  }
  return Status();
}

Status ValidateLabel(std::string_view label) {
  if (label.empty()) return InvalidArgument("invalid label: empty (a label has 1 to 255 bytes)");
  if (label.size() > kMaxLabelBytes) {
    return InvalidArgument("invalid label " + Quote(label) + ": " + std::to_string(label.size()) +
                           " bytes long, at most " + std::to_string(kMaxLabelBytes) + " allowed");
  }
  char32_t first = 0;
  char32_t last = 0;
  for (size_t i = 0; i < label.size();) {
    char32_t cp = 0;
    const size_t length = DecodeUtf8(label, i, cp);
    if (length == 0) {
      return InvalidArgument("invalid label " + Quote(label) + ": not valid UTF-8 at byte " +
                             std::to_string(i));
    }
    if (cp < 0x20 || cp == 0x7f) {
      char code[5];
      std::snprintf(code, sizeof code, "0x%02x", static_cast<unsigned>(cp));
      return InvalidArgument("invalid label " + Quote(label) + ": control character " + code +
                             " at byte " + std::to_string(i));
    }
    if (i == 0) first = cp;
    last = cp;
    i += length;
  }
  if (IsWhitespace(first)) {
    return InvalidArgument("invalid label " + Quote(label) + ": begins with whitespace");
  }
  if (IsWhitespace(last)) {
    return InvalidArgument("invalid label " + Quote(label) + ": ends with whitespace");
  }
  return Status();
}

// ---------------------------------------------------------------------------------------------
// Connections

struct ContentStore::WriteOp {
  enum class Kind { kCreateStore, kPut, kLabel, kRemoveLabel };
  Kind kind = Kind::kPut;
  // Inputs: views of the caller's arguments, which outlive the op (the caller waits for it).
  std::string_view store_id;
  int64_t store_key = 0;
  std::optional<std::string_view> owner;  // kCreateStore
  bool must_be_new = false;               // kCreateStore: kAlreadyExists when it exists
  Sha256Digest digest{};                  // kPut, kLabel; kRemoveLabel when `compare`
  uint64_t size = 0;                      // kPut
  std::span<const uint8_t> data;          // kPut of inline content
  bool in_file = false;                   // kPut: the content's file is in place already
  std::string_view label;                 // kLabel, kRemoveLabel; kPut unless kNone
  LabelMode label_mode = LabelMode::kNone;
  bool compare = false;  // kRemoveLabel: only when the label points at `digest`
  // Outputs, written by the committing caller before it sets `done` under write_mu_.
  Status status;
  bool changed = false;  // kCreateStore: created; kPut: new content stored; kRemoveLabel: removed
  int64_t new_key = 0;   // kCreateStore: the store's key
  bool done = false;

  // What the write does, for the context of its storage errors.
  std::string Describe() const {
    const std::string store = "store " + std::string(store_id);
    switch (kind) {
      case Kind::kCreateStore:
        return "creating " + store;
      case Kind::kPut:
        return "storing content " + HexEncode(digest) + " in " + store +
               (label_mode == LabelMode::kNone ? "" : " at label " + Quote(label));
      case Kind::kLabel:
        return "pointing label " + Quote(label) + " of " + store + " at " + HexEncode(digest);
      case Kind::kRemoveLabel:
        return "removing label " + Quote(label) + " of " + store;
    }
    return "writing to " + store;
  }
};

// `db` first: destroyed last, after the statements.
struct ContentStore::Writer {
  Connection db;
  Statement begin;
  Statement commit;
  Statement find_store;
  Statement insert_store;
  Statement has_content;
  Statement insert_blob;
  Statement insert_content;
  Statement has_label;
  Statement set_label;
  Statement delete_label;
  Statement delete_label_if;

  Status Prepare() {
    THEATER_RETURN_IF_ERROR(begin.Prepare(db, "BEGIN IMMEDIATE;"));
    THEATER_RETURN_IF_ERROR(commit.Prepare(db, "COMMIT;"));
    THEATER_RETURN_IF_ERROR(
        find_store.Prepare(db, "SELECT store_key FROM store_stores WHERE id = ?1;"));
    THEATER_RETURN_IF_ERROR(insert_store.Prepare(
        db, "INSERT INTO store_stores (id, owner, created) VALUES (?1, ?2, ?3);"));
    THEATER_RETURN_IF_ERROR(
        has_content.Prepare(db, "SELECT 1 FROM store_content WHERE store_key = ?1 AND hash = ?2;"));
    THEATER_RETURN_IF_ERROR(insert_blob.Prepare(db, "INSERT INTO store_blobs (data) VALUES (?1);"));
    THEATER_RETURN_IF_ERROR(insert_content.Prepare(
        db, "INSERT INTO store_content (store_key, hash, size, blob_id) VALUES (?1, ?2, ?3, ?4);"));
    THEATER_RETURN_IF_ERROR(
        has_label.Prepare(db, "SELECT 1 FROM store_labels WHERE store_key = ?1 AND label = ?2;"));
    THEATER_RETURN_IF_ERROR(
        set_label.Prepare(db,
                          "INSERT INTO store_labels (store_key, label, hash) VALUES (?1, ?2, ?3) "
                          "ON CONFLICT (store_key, label) DO UPDATE SET hash = excluded.hash;"));
    THEATER_RETURN_IF_ERROR(
        delete_label.Prepare(db, "DELETE FROM store_labels WHERE store_key = ?1 AND label = ?2;"));
    THEATER_RETURN_IF_ERROR(delete_label_if.Prepare(
        db, "DELETE FROM store_labels WHERE store_key = ?1 AND label = ?2 AND hash = ?3;"));
    return Status();
  }
};

struct ContentStore::Checkpointer {
  Connection db;
};

struct ContentStore::Reader {
  Connection db;
  Statement find_store;
  Statement store_owner;
  Statement list_stores;
  Statement get_content;
  Statement content_info;
  Statement list_content;
  Statement total_size;
  Statement get_label;
  Statement list_labels;
  Statement file_referenced;

  Status Prepare() {
    THEATER_RETURN_IF_ERROR(
        find_store.Prepare(db, "SELECT store_key FROM store_stores WHERE id = ?1;"));
    THEATER_RETURN_IF_ERROR(
        store_owner.Prepare(db, "SELECT owner FROM store_stores WHERE id = ?1;"));
    THEATER_RETURN_IF_ERROR(
        list_stores.Prepare(db, "SELECT id, owner, created FROM store_stores ORDER BY id;"));
    // One statement, so the row and its bytes come from one snapshot.
    THEATER_RETURN_IF_ERROR(
        get_content.Prepare(db,
                            "SELECT c.size, c.blob_id, b.data FROM store_content c "
                            "LEFT JOIN store_blobs b ON b.blob_id = c.blob_id "
                            "WHERE c.store_key = ?1 AND c.hash = ?2;"));
    THEATER_RETURN_IF_ERROR(content_info.Prepare(
        db, "SELECT size, blob_id IS NULL FROM store_content WHERE store_key = ?1 AND hash = ?2;"));
    THEATER_RETURN_IF_ERROR(list_content.Prepare(
        db, "SELECT hash FROM store_content WHERE store_key = ?1 ORDER BY hash;"));
    THEATER_RETURN_IF_ERROR(total_size.Prepare(
        db, "SELECT COALESCE(SUM(size), 0) FROM store_content WHERE store_key = ?1;"));
    THEATER_RETURN_IF_ERROR(get_label.Prepare(
        db, "SELECT hash FROM store_labels WHERE store_key = ?1 AND label = ?2;"));
    THEATER_RETURN_IF_ERROR(list_labels.Prepare(
        db, "SELECT label FROM store_labels WHERE store_key = ?1 ORDER BY label;"));
    THEATER_RETURN_IF_ERROR(file_referenced.Prepare(
        db, "SELECT 1 FROM store_content WHERE hash = ?1 AND blob_id IS NULL LIMIT 1;"));
    return Status();
  }
};

// A Reader borrowed from the pool; returned when the lease ends (or at Release()).
class ContentStore::ReaderLease {
 public:
  ReaderLease(ContentStore* store, std::unique_ptr<Reader> reader)
      : store_(store), reader_(std::move(reader)) {}
  ReaderLease(ReaderLease&&) noexcept = default;
  ReaderLease& operator=(ReaderLease&&) = delete;
  ~ReaderLease() { Release(); }

  Reader* operator->() const { return reader_.get(); }
  Reader& operator*() const { return *reader_; }
  void Release() {
    if (reader_) store_->ReleaseReader(std::move(reader_));
  }

 private:
  ContentStore* store_;
  std::unique_ptr<Reader> reader_;
};

ContentStore::ContentStore(Options options)
    : options_(std::move(options)),
      cache_(std::make_unique<internal::ContentCache>(options_.cache_bytes)) {}

ContentStore::~ContentStore() {
  Close();
}

Result<std::unique_ptr<ContentStore>> ContentStore::Open(const std::filesystem::path& db_path,
                                                         Options options) {
  options.max_readers = std::max<size_t>(options.max_readers, 1);
  options.max_batch = std::max<size_t>(options.max_batch, 1);
  if (options.commit_window_us < 0) {
    options.commit_window_us = options.durability == Durability::kStrict ? 200 : 0;
  }
  options.checkpoint_wal_pages = std::max(options.checkpoint_wal_pages, 1);
  options.max_wal_pages = std::max(options.max_wal_pages, options.checkpoint_wal_pages);
  std::unique_ptr<ContentStore> store(new ContentStore(std::move(options)));
  Status status = store->Init(db_path);
  if (!status.ok()) return status.WithContext("opening content store " + db_path.string());
  return store;
}

Status ContentStore::Init(const std::filesystem::path& db_path) {
  db_path_ = db_path;
  std::error_code ec;
  const std::filesystem::path dir = db_path.parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return ErrnoError("creating directory " + dir.string(), ec.value());
  }
  blob_dir_ = options_.blob_dir.empty() ? dir / "store-blobs" : options_.blob_dir;

  auto writer = std::make_unique<Writer>();
  THEATER_RETURN_IF_ERROR(writer->db.Open(db_path, options_.busy_timeout_ms));
  // 8 KiB pages and WAL, as ChainStore sets them (whichever opens a new database first sets the
  // page size; it is fixed from then on). WAL lets the read connections run beside the writer.
  THEATER_RETURN_IF_ERROR(writer->db.Exec("PRAGMA page_size=8192;"));
  // Switching a new database to WAL needs an exclusive lock, and SQLite reports SQLITE_BUSY at
  // once, without its busy handler, while another connection (another process creating the same
  // file) holds a lock: retry for as long as the busy timeout allows.
  const auto give_up = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(std::max(options_.busy_timeout_ms, 0));
  for (;;) {
    Status wal = writer->db.Exec("PRAGMA journal_mode=WAL;");
    if (wal.ok()) break;
    if (wal.code() != StatusCode::kUnavailable || std::chrono::steady_clock::now() >= give_up) {
      return wal;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  THEATER_RETURN_IF_ERROR(writer->db.Exec(SynchronousPragma(options_.durability)));
  THEATER_RETURN_IF_ERROR(writer->db.Exec("PRAGMA cache_size=-32768;"));
  if (options_.max_page_count > 0) {
    const std::string pragma =
        "PRAGMA max_page_count=" + std::to_string(options_.max_page_count) + ";";
    THEATER_RETURN_IF_ERROR(writer->db.Exec(pragma.c_str()));
  }

  // The schema, in one transaction with the version check.
  THEATER_RETURN_IF_ERROR(writer->db.Exec("BEGIN IMMEDIATE;"));
  Status schema = [&]() -> Status {
    THEATER_RETURN_IF_ERROR(writer->db.Exec(kSchema));
    Statement version;
    THEATER_RETURN_IF_ERROR(
        version.Prepare(writer->db, "SELECT value FROM store_meta WHERE key = 'schema_version';"));
    ResetOnExit reset(version);
    THEATER_ASSIGN_OR_RETURN(bool found, version.Step("reading the store schema version"));
    if (found && version.Int(0) > kSchemaVersion) {
      return FailedPrecondition("store schema version " + std::to_string(version.Int(0)) +
                                " is newer than this build supports (" +
                                std::to_string(kSchemaVersion) + ")");
    }
    if (!found) {
      const std::string insert = "INSERT INTO store_meta (key, value) VALUES ('schema_version', " +
                                 std::to_string(kSchemaVersion) + ");";
      THEATER_RETURN_IF_ERROR(writer->db.Exec(insert.c_str()));
    }
    return writer->db.Exec("COMMIT;");
  }();
  if (!schema.ok()) {
    writer->db.RollbackIfOpen();
    return schema;
  }
  THEATER_RETURN_IF_ERROR(writer->Prepare());
  // Replaces SQLite's automatic checkpoints on this connection (MaybeCheckpoint() runs them).
  sqlite3_wal_hook(writer->db.get(), &ContentStore::OnWalCommit, this);
  writer_ = std::move(writer);

  auto checkpointer = std::make_unique<Checkpointer>();
  THEATER_RETURN_IF_ERROR(checkpointer->db.Open(db_path, options_.busy_timeout_ms));
  // A checkpoint syncs as its own connection's synchronous setting says.
  THEATER_RETURN_IF_ERROR(checkpointer->db.Exec(SynchronousPragma(options_.durability)));
  checkpointer_ = std::move(checkpointer);
  checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });

  // The blob directory and its lock. Every open instance holds a shared lock; the start-up
  // cleanup deletes files only under the exclusive lock, i.e. when no other instance (which
  // could be writing a temporary file or about to commit the row of a new file) has it open.
  std::filesystem::create_directories(blob_dir_, ec);
  if (ec) return ErrnoError("creating blob directory " + blob_dir_.string(), ec.value());
  const std::filesystem::path lock_path = blob_dir_ / ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return ErrnoError("opening " + lock_path.string(), errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0) {
    Status cleaned = [&]() -> Status {
      THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
      return CleanBlobDir(*reader);
    }();
    // Downgrade (not atomic: another instance may take the exclusive lock in between, which is
    // fine: it then cleans while this one has nothing in flight yet).
    if (::flock(lock_fd_, LOCK_SH) != 0) return ErrnoError("locking " + lock_path.string(), errno);
    return cleaned;
  }
  if (errno != EWOULDBLOCK) return ErrnoError("locking " + lock_path.string(), errno);
  while (::flock(lock_fd_, LOCK_SH) != 0) {
    if (errno != EINTR) return ErrnoError("locking " + lock_path.string(), errno);
  }
  return Status();
}

Status ContentStore::CleanBlobDir(Reader& reader) {
  std::error_code ec;
  uint64_t removed = 0;
  auto remove_file = [&](const std::filesystem::path& path) -> Status {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError("removing orphaned " + path.string(), errno);
    }
    ++removed;
    return Status();
  };
  // Explicit increment(ec): the range-for's operator++ would throw on an error.
  using Iterator = std::filesystem::directory_iterator;
  for (Iterator shard(blob_dir_, ec); !ec && shard != Iterator(); shard.increment(ec)) {
    const std::string shard_name = shard->path().filename().string();
    std::error_code type_ec;
    if (shard_name.size() != 2 || !IsLowerHex(shard_name[0]) || !IsLowerHex(shard_name[1]) ||
        !shard->is_directory(type_ec)) {
      continue;  // not ours (e.g. the lock file)
    }
    std::error_code shard_ec;
    for (Iterator file(shard->path(), shard_ec); !shard_ec && file != Iterator();
         file.increment(shard_ec)) {
      const std::string name = file->path().filename().string();
      if (name.find(".tmp.") != std::string::npos) {
        // A temporary file of a write that never completed (a crash, or a failed write).
        THEATER_RETURN_IF_ERROR(remove_file(file->path()));
      } else if (ValidateHash(name).ok()) {
        // A content file whose row was never committed (a crash or a failed commit after the
        // rename).
        Statement& referenced = reader.file_referenced;
        ResetOnExit reset(referenced);
        const Sha256Digest digest = ParseDigest(name);
        referenced.BindBlob(1, digest);
        THEATER_ASSIGN_OR_RETURN(bool used, referenced.Step("looking up a content file's row"));
        if (!used) THEATER_RETURN_IF_ERROR(remove_file(file->path()));
      }
    }
    if (shard_ec) return ErrnoError("listing " + shard->path().string(), shard_ec.value());
  }
  if (ec) return ErrnoError("listing " + blob_dir_.string(), ec.value());
  std::lock_guard lock(write_mu_);
  stats_.orphans_removed += removed;
  return Status();
}

Result<ContentStore::ReaderLease> ContentStore::AcquireReader() {
  std::unique_lock lock(readers_mu_);
  for (;;) {
    if (closed_) return FailedPrecondition("content store is closed");
    if (!idle_readers_.empty()) {
      std::unique_ptr<Reader> reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(this, std::move(reader));
    }
    if (open_readers_ < options_.max_readers) break;
    readers_cv_.wait(lock);
  }
  ++open_readers_;
  lock.unlock();
  // Opened outside the lock: opening reads the schema.
  auto reader = std::make_unique<Reader>();
  Status status = [&]() -> Status {
    THEATER_RETURN_IF_ERROR(reader->db.Open(db_path_, options_.busy_timeout_ms));
    // query_only: a read connection must never write, whatever a bug asks of it.
    THEATER_RETURN_IF_ERROR(reader->db.Exec("PRAGMA query_only=1; PRAGMA cache_size=-4096;"));
    return reader->Prepare();
  }();
  if (!status.ok()) {
    lock.lock();
    --open_readers_;
    readers_cv_.notify_all();
    return status.WithContext("opening a read connection");
  }
  return ReaderLease(this, std::move(reader));
}

void ContentStore::ReleaseReader(std::unique_ptr<Reader> reader) {
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(std::move(reader));
  // Close() waits for every reader, AcquireReader() for any: wake both kinds.
  readers_cv_.notify_all();
}

void ContentStore::Close() {
  closing_.store(true);
  if (checkpoint_thread_.joinable()) {
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    checkpoint_thread_.join();
  }
  checkpointer_.reset();
  {
    std::unique_lock lock(write_mu_);
    write_closed_ = true;
    gather_cv_.notify_all();
    write_cv_.wait(lock, [&] { return !writer_active_ && write_queue_.empty(); });
    writer_.reset();
  }
  {
    std::unique_lock lock(readers_mu_);
    closed_ = true;
    readers_cv_.notify_all();  // acquirers waiting for a connection fail now
    readers_cv_.wait(lock, [&] { return idle_readers_.size() == open_readers_; });
    idle_readers_.clear();
    open_readers_ = 0;
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // releases the lock
    lock_fd_ = -1;
  }
}

ContentStore::Stats ContentStore::stats() const {
  std::lock_guard lock(write_mu_);
  Stats stats = stats_;
  stats.gets = gets_.load(std::memory_order_relaxed);
  stats.cache_hits = cache_hits_.load(std::memory_order_relaxed);
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Writing

Status ContentStore::Write(WriteOp& op) {
  std::unique_lock lock(write_mu_);
  if (write_closed_) return FailedPrecondition("content store is closed");
  write_queue_.push_back(&op);
  if (gathering_) gather_cv_.notify_one();
  while (!op.done) {
    if (writer_active_) {
      write_cv_.wait(lock);
      continue;
    }
    // Nobody is committing: this caller commits the oldest queued writes (its own among them
    // unless the batch limits cut before it; then it loops and commits again).
    writer_active_ = true;
    // Writers that wait for their commit each have one write in flight at most, so a batch
    // grows only if the committer waits for the others. It does so only after seeing them (a
    // batch of several, or writes queued during the last commit), for as many as last time
    // plus one, and never longer than the window: a lone writer never waits, and the target
    // shrinks back as soon as fewer writers show up.
    const size_t target =
        std::min(options_.max_batch, last_batch_ + (arrived_during_commit_ ? 1 : 0));
    if (options_.commit_window_us > 0 && target > 1 && write_queue_.size() < target) {
      gathering_ = true;
      gather_cv_.wait_for(lock, std::chrono::microseconds(options_.commit_window_us),
                          [&] { return write_queue_.size() >= target || write_closed_; });
      gathering_ = false;
    }
    size_t count = 0;
    size_t bytes = 0;
    while (count < write_queue_.size() && count < options_.max_batch) {
      const size_t next = write_queue_[count]->data.size();
      if (count > 0 && bytes + next > options_.max_batch_bytes) break;
      bytes += next;
      ++count;
    }
    batch_.assign(write_queue_.begin(), write_queue_.begin() + static_cast<ptrdiff_t>(count));
    write_queue_.erase(write_queue_.begin(), write_queue_.begin() + static_cast<ptrdiff_t>(count));
    lock.unlock();
    const BatchOutcome outcome = CommitBatch(batch_);
    MaybeCheckpoint();
    lock.lock();
    last_batch_ = count;
    arrived_during_commit_ = !write_queue_.empty();
    stats_.transactions += outcome.committed;
    stats_.failed_transactions += outcome.failed;
    for (WriteOp* done : batch_) {
      if (done->status.ok()) {
        stats_.writes++;
        if (done->kind == WriteOp::Kind::kPut) {
          stats_.puts++;
          if (done->changed) stats_.new_content++;
          if (done->changed && done->in_file) stats_.file_content++;
        }
      }
      done->done = true;  // from here on its caller may return and destroy it
    }
    batch_.clear();
    writer_active_ = false;
    write_cv_.notify_all();
  }
  return op.status;
}

int ContentStore::OnWalCommit(void* self, sqlite3* /*db*/, const char* /*name*/, int pages) {
  static_cast<ContentStore*>(self)->wal_pages_.store(pages, std::memory_order_relaxed);
  return SQLITE_OK;
}

void ContentStore::MaybeCheckpoint() {
  const int pages = wal_pages_.load(std::memory_order_relaxed);
  if (pages >= options_.max_wal_pages) {
    // The background checkpoints do not keep up. Still holding the write path (no writer of
    // this instance appends meanwhile), wait for a complete checkpoint, after which the next
    // commit starts the log from the beginning again: RESTART waits (busy timeout) for a running
    // checkpoint and for readers of older snapshots. Failing (the timeout expired) is harmless:
    // it is tried again after the next commit.
    int log_pages = 0;
    int copied = 0;
    if (sqlite3_wal_checkpoint_v2(writer_->db.get(), nullptr, SQLITE_CHECKPOINT_RESTART, &log_pages,
                                  &copied) == SQLITE_OK) {
      wal_pages_.store(0, std::memory_order_relaxed);
    }
    return;
  }
  if (pages >= options_.checkpoint_wal_pages) {
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_wanted_ = true;
    }
    checkpoint_cv_.notify_one();
  }
}

void ContentStore::CheckpointLoop() {
  std::unique_lock lock(checkpoint_mu_);
  for (;;) {
    checkpoint_cv_.wait(lock, [&] { return checkpoint_wanted_ || checkpoint_stop_; });
    if (checkpoint_stop_) return;
    checkpoint_wanted_ = false;
    lock.unlock();
    // PASSIVE: copies what it can without waiting for readers or writers. Errors (SQLITE_BUSY
    // while another checkpoint runs) only postpone the work to the next request.
    int log_pages = 0;
    int copied = 0;
    sqlite3_wal_checkpoint_v2(checkpointer_->db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                              &log_pages, &copied);
    lock.lock();
  }
}

ContentStore::BatchOutcome ContentStore::CommitBatch(std::span<WriteOp* const> batch) {
  Status status = RunTransaction(batch);
  if (status.ok()) return {1, 0};
  if (batch.size() == 1) {
    batch[0]->status = status.WithContext(batch[0]->Describe());
    return {0, 1};
  }
  // One write's failure (SQLITE_FULL for a large row, say) must not fail the others, and each
  // caller must learn the outcome of its own write: commit them one by one.
  BatchOutcome outcome{0, 1};
  for (WriteOp* op : batch) {
    Status alone = RunTransaction(std::span<WriteOp* const>(&op, 1));
    if (alone.ok()) {
      outcome.committed++;
    } else {
      op->status = alone.WithContext(op->Describe());
      outcome.failed++;
    }
  }
  return outcome;
}

Status ContentStore::RunTransaction(std::span<WriteOp* const> ops) {
  Writer& writer = *writer_;
  for (WriteOp* op : ops) {
    op->status = Status();
    op->changed = false;
    op->new_key = 0;
  }
  THEATER_RETURN_IF_ERROR(writer.begin.Run("beginning a transaction"));
  for (WriteOp* op : ops) {
    Status applied = Apply(*op);
    if (!applied.ok()) {
      writer.db.RollbackIfOpen();
      return applied;
    }
  }
  Status committed = writer.commit.Run("committing");
  if (!committed.ok()) writer.db.RollbackIfOpen();
  return committed;
}

// Applies one write inside the open transaction. Returns an error only when SQLite fails (the
// transaction is then rolled back); the write's own outcome (e.g. kNotFound for a missing label)
// goes to op.status, and such a write changes nothing.
Status ContentStore::Apply(WriteOp& op) {
  Writer& w = *writer_;
  switch (op.kind) {
    case WriteOp::Kind::kCreateStore: {
      {
        ResetOnExit reset(w.find_store);
        w.find_store.BindText(1, op.store_id);
        THEATER_ASSIGN_OR_RETURN(bool found, w.find_store.Step("looking up the store"));
        if (found) {
          op.new_key = w.find_store.Int(0);
          if (op.must_be_new) {
            op.status = AlreadyExists("store " + std::string(op.store_id) + " already exists");
          }
          return Status();
        }
      }
      w.insert_store.BindText(1, op.store_id);
      if (op.owner) {
        w.insert_store.BindText(2, *op.owner);
      } else {
        w.insert_store.BindNull(2);
      }
      w.insert_store.BindInt(3, NowMs());
      THEATER_RETURN_IF_ERROR(w.insert_store.Run("inserting the store"));
      op.new_key = w.db.LastInsertRowid();
      op.changed = true;
      return Status();
    }
    case WriteOp::Kind::kPut:
    case WriteOp::Kind::kLabel: {
      if (op.label_mode == LabelMode::kReplace) {
        ResetOnExit reset(w.has_label);
        w.has_label.BindInt(1, op.store_key);
        w.has_label.BindText(2, op.label);
        THEATER_ASSIGN_OR_RETURN(bool exists, w.has_label.Step("looking up the label"));
        if (!exists) {
          op.status = NotFound("label " + Quote(op.label) + " does not exist in store " +
                               std::string(op.store_id));
          return Status();
        }
      }
      bool stored = false;
      {
        ResetOnExit reset(w.has_content);
        w.has_content.BindInt(1, op.store_key);
        w.has_content.BindBlob(2, op.digest);
        THEATER_ASSIGN_OR_RETURN(stored, w.has_content.Step("looking up the content"));
      }
      if (!stored) {
        if (op.kind == WriteOp::Kind::kLabel) {
          op.status = NotFound("store " + std::string(op.store_id) + " has no content " +
                               HexEncode(op.digest));
          return Status();
        }
        ResetOnExit reset(w.insert_content);
        if (op.in_file) {
          w.insert_content.BindNull(4);
        } else {
          w.insert_blob.BindBlob(1, op.data);
          THEATER_RETURN_IF_ERROR(w.insert_blob.Run("inserting the content's bytes"));
          w.insert_content.BindInt(4, w.db.LastInsertRowid());
        }
        w.insert_content.BindInt(1, op.store_key);
        w.insert_content.BindBlob(2, op.digest);
        w.insert_content.BindInt(3, static_cast<int64_t>(op.size));
        THEATER_RETURN_IF_ERROR(w.insert_content.Run("inserting the content's row"));
        op.changed = true;
      }
      if (op.label_mode != LabelMode::kNone) {
        w.set_label.BindInt(1, op.store_key);
        w.set_label.BindText(2, op.label);
        w.set_label.BindBlob(3, op.digest);
        THEATER_RETURN_IF_ERROR(w.set_label.Run("setting the label"));
      }
      return Status();
    }
    case WriteOp::Kind::kRemoveLabel: {
      Statement& remove = op.compare ? w.delete_label_if : w.delete_label;
      remove.BindInt(1, op.store_key);
      remove.BindText(2, op.label);
      if (op.compare) remove.BindBlob(3, op.digest);
      THEATER_RETURN_IF_ERROR(remove.Run("deleting the label"));
      op.changed = w.db.Changes() > 0;
      return Status();
    }
  }
  return InternalError("unknown write kind");
}

std::filesystem::path ContentStore::BlobPath(const Digest& digest) const {
  const std::string hex = HexEncode(digest);
  return blob_dir_ / hex.substr(0, 2) / hex;
}

Status ContentStore::WriteBlobFile(const Digest& digest, std::span<const uint8_t> content) {
  const std::filesystem::path final_path = BlobPath(digest);
  const std::filesystem::path dir = final_path.parent_path();
  const bool sync = options_.durability != Durability::kNone;
  std::error_code ec;
  const bool new_dir = std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoError("creating content directory " + dir.string(), ec.value());
  if (new_dir && sync) THEATER_RETURN_IF_ERROR(SyncDirectory(blob_dir_));
  // A unique temporary name in the final directory: the rename is then atomic, concurrent
  // writers of the same content do not collide, and a crash before the rename leaves a file
  // that the next Open() recognises (".tmp.") and deletes.
  const std::filesystem::path temp = dir / (final_path.filename().string() + ".tmp." + NewUuid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("creating " + temp.string(), errno);
  Status status = WriteAll(fd, content, temp);
  if (status.ok() && sync && ::fdatasync(fd) != 0)
    status = ErrnoError("syncing " + temp.string(), errno);
  if (::close(fd) != 0 && status.ok()) status = ErrnoError("closing " + temp.string(), errno);
  // Replacing an existing file is fine: it can only hold the same bytes (another store's copy,
  // or an orphan of a failed commit), and readers keep the inode they opened.
  if (status.ok() && ::rename(temp.c_str(), final_path.c_str()) != 0) {
    status = ErrnoError("renaming " + temp.string() + " to " + final_path.string(), errno);
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  if (sync) return SyncDirectory(dir);
  return Status();
}

// ---------------------------------------------------------------------------------------------
// Stores

Result<int64_t> ContentStore::StoreKey(std::string_view store_id) {
  {
    std::shared_lock lock(keys_mu_);
    auto it = keys_.find(store_id);
    if (it != keys_.end()) return it->second;
  }
  THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  Statement& find = reader->find_store;
  ResetOnExit reset(find);
  find.BindText(1, store_id);
  Result<bool> found = find.Step("looking up the store");
  if (!found.ok()) {
    return found.status().WithContext("looking up store " + std::string(store_id));
  }
  if (!*found) return NotFound("store " + std::string(store_id) + " does not exist");
  const int64_t key = find.Int(0);
  std::unique_lock lock(keys_mu_);
  keys_.emplace(std::string(store_id), key);
  return key;
}

Status ContentStore::CreateStoreImpl(std::string_view store_id,
                                     std::optional<std::string_view> owner, bool must_be_new) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  WriteOp op;
  op.kind = WriteOp::Kind::kCreateStore;
  op.store_id = store_id;
  op.owner = owner;
  op.must_be_new = must_be_new;
  THEATER_RETURN_IF_ERROR(Write(op));
  std::unique_lock lock(keys_mu_);
  keys_.emplace(std::string(store_id), op.new_key);
  return Status();
}

Result<std::string> ContentStore::CreateStore(std::optional<std::string_view> owner) {
  std::string id = NewUuid();
  THEATER_RETURN_IF_ERROR(CreateStoreImpl(id, owner, /*must_be_new=*/true));
  return id;
}

Status ContentStore::CreateStoreWithId(std::string_view store_id,
                                       std::optional<std::string_view> owner) {
  return CreateStoreImpl(store_id, owner, /*must_be_new=*/true);
}

Status ContentStore::EnsureStore(std::string_view store_id, std::optional<std::string_view> owner) {
  return CreateStoreImpl(store_id, owner, /*must_be_new=*/false);
}

Result<bool> ContentStore::StoreExists(std::string_view store_id) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  Result<int64_t> key = StoreKey(store_id);
  if (key.ok()) return true;
  if (key.status().code() == StatusCode::kNotFound) return false;
  return key.status();
}

Result<std::optional<std::string>> ContentStore::StoreOwner(std::string_view store_id) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  Statement& owner = reader->store_owner;
  ResetOnExit reset(owner);
  owner.BindText(1, store_id);
  Result<bool> found = owner.Step("reading the owner");
  if (!found.ok()) {
    return found.status().WithContext("reading the owner of store " + std::string(store_id));
  }
  if (!*found) return NotFound("store " + std::string(store_id) + " does not exist");
  if (owner.IsNull(0)) return std::optional<std::string>();
  return std::optional<std::string>(owner.Text(0));
}

Result<std::vector<StoreInfo>> ContentStore::ListStores() {
  THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  Statement& list = reader->list_stores;
  ResetOnExit reset(list);
  std::vector<StoreInfo> stores;
  for (;;) {
    Result<bool> row = list.Step("listing stores");
    if (!row.ok()) return row.status();
    if (!*row) break;
    StoreInfo info;
    info.id = list.Text(0);
    if (!list.IsNull(1)) info.owner = list.Text(1);
    info.created_ms = static_cast<uint64_t>(list.Int(2));
    stores.push_back(std::move(info));
  }
  return stores;
}

// ---------------------------------------------------------------------------------------------
// Content

Result<std::string> ContentStore::PutImpl(std::string_view store_id, std::string_view label,
                                          LabelMode label_mode, std::span<const uint8_t> content) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  if (label_mode != LabelMode::kNone) THEATER_RETURN_IF_ERROR(ValidateLabel(label));
  if (content.size() > options_.max_content_bytes) {
    return ResourceExhausted("content of " + std::to_string(content.size()) +
                             " bytes exceeds the limit of " +
                             std::to_string(options_.max_content_bytes) + " bytes");
  }
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.store_id = store_id;
  op.store_key = key;
  op.digest = Sha256(content);  // before any lock: hashing 1 GiB takes a while
  op.size = content.size();
  op.label = label;
  op.label_mode = label_mode;
  if (content.size() > options_.inline_max_bytes) {
    // Large content: its file is written and synced here, by the caller, before the row is
    // queued; no lock is held meanwhile. Skipped when the store already has the content, and
    // for a replace of a missing label (which would fail and leave an orphan behind).
    op.in_file = true;
    bool write_file = true;
    {
      THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
      Statement& info = reader->content_info;
      ResetOnExit reset_info(info);
      info.BindInt(1, key);
      info.BindBlob(2, op.digest);
      THEATER_ASSIGN_OR_RETURN(bool stored, info.Step("looking up the content"));
      // Stored in a file: rewrite the file anyway when it is missing or has the wrong size, so
      // that storing the bytes again repairs what Get() reports as damaged.
      write_file = !stored;
      if (stored && info.Int(1) != 0) {
        struct stat file_info;
        write_file = ::stat(BlobPath(op.digest).c_str(), &file_info) != 0 ||
                     static_cast<uint64_t>(file_info.st_size) != content.size();
      }
      if (label_mode == LabelMode::kReplace) {
        Statement& get_label = reader->get_label;
        ResetOnExit reset_label(get_label);
        get_label.BindInt(1, key);
        get_label.BindText(2, label);
        THEATER_ASSIGN_OR_RETURN(bool exists, get_label.Step("looking up the label"));
        if (!exists) {
          return NotFound("label " + Quote(label) + " does not exist in store " +
                          std::string(store_id));
        }
      }
    }
    if (write_file) {
      Status written = WriteBlobFile(op.digest, content);
      if (!written.ok()) {
        return written.WithContext("storing content " + HexEncode(op.digest) + " in store " +
                                   std::string(store_id));
      }
    }
  } else {
    op.data = content;
  }
  THEATER_RETURN_IF_ERROR(Write(op));
  if (!op.in_file && content.size() <= options_.cache_max_item_bytes) {
    cache_->Insert(key, op.digest,
                   std::make_shared<const std::vector<uint8_t>>(content.begin(), content.end()));
  }
  return HexEncode(op.digest);
}

Result<std::string> ContentStore::Put(std::string_view store_id, std::span<const uint8_t> content) {
  return PutImpl(store_id, {}, LabelMode::kNone, content);
}

Result<std::string> ContentStore::PutAtLabel(std::string_view store_id, std::string_view label,
                                             std::span<const uint8_t> content) {
  return PutImpl(store_id, label, LabelMode::kSet, content);
}

Result<std::string> ContentStore::ReplaceContentAtLabel(std::string_view store_id,
                                                        std::string_view label,
                                                        std::span<const uint8_t> content) {
  return PutImpl(store_id, label, LabelMode::kReplace, content);
}

Result<std::vector<uint8_t>> ContentStore::Get(std::string_view store_id, std::string_view hash) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_RETURN_IF_ERROR(ValidateHash(hash));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  const Sha256Digest digest = ParseDigest(hash);
  if (closing_.load(std::memory_order_relaxed)) {
    return FailedPrecondition("content store is closed");
  }
  if (internal::ContentCache::Bytes cached = cache_->Find(key, digest)) {
    gets_.fetch_add(1, std::memory_order_relaxed);
    cache_hits_.fetch_add(1, std::memory_order_relaxed);
    return std::vector<uint8_t>(*cached);
  }
  auto context = [&] {
    return "reading content " + std::string(hash) + " of store " + std::string(store_id);
  };
  uint64_t size = 0;
  std::optional<std::vector<uint8_t>> inline_content;
  {
    THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
    Statement& get = reader->get_content;
    ResetOnExit reset(get);  // before the lease ends: the reader may be someone else's after
    get.BindInt(1, key);
    get.BindBlob(2, digest);
    Result<bool> found = get.Step("reading the content");
    if (!found.ok()) return found.status().WithContext(context());
    if (!*found) {
      return NotFound("store " + std::string(store_id) + " has no content " + std::string(hash));
    }
    size = static_cast<uint64_t>(get.Int(0));
    if (!get.IsNull(1)) {
      std::span<const uint8_t> bytes = get.Blob(2);
      if (bytes.size() != size) {
        return ValidationError(context() + ": " + std::to_string(bytes.size()) +
                               " bytes stored, but the content has " + std::to_string(size));
      }
      inline_content.emplace(bytes.begin(), bytes.end());
    }
  }
  if (inline_content) {
    gets_.fetch_add(1, std::memory_order_relaxed);
    if (size <= options_.cache_max_item_bytes) {
      cache_->Insert(key, digest, std::make_shared<const std::vector<uint8_t>>(*inline_content));
    }
    return std::move(*inline_content);
  }
  // In a file: read with the connection back in the pool.
  Result<std::vector<uint8_t>> bytes = ReadContentFile(BlobPath(digest), size);
  if (!bytes.ok()) return bytes.status().WithContext(context());
  gets_.fetch_add(1, std::memory_order_relaxed);
  return bytes;
}

Result<uint64_t> ContentStore::ContentSize(std::string_view store_id, std::string_view hash) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_RETURN_IF_ERROR(ValidateHash(hash));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  const Sha256Digest digest = ParseDigest(hash);
  THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  Statement& info = reader->content_info;
  ResetOnExit reset(info);
  info.BindInt(1, key);
  info.BindBlob(2, digest);
  Result<bool> found = info.Step("looking up the content");
  if (!found.ok()) {
    return found.status().WithContext("looking up content " + std::string(hash) + " of store " +
                                      std::string(store_id));
  }
  if (!*found) {
    return NotFound("store " + std::string(store_id) + " has no content " + std::string(hash));
  }
  return static_cast<uint64_t>(info.Int(0));
}

Result<bool> ContentStore::Exists(std::string_view store_id, std::string_view hash) {
  Result<uint64_t> size = ContentSize(store_id, hash);
  if (size.ok()) return true;
  // kNotFound for a missing store must stay an error: only missing content is "false".
  if (size.status().code() == StatusCode::kNotFound) {
    THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
    (void)key;
    return false;
  }
  return size.status();
}

namespace {

// Steps a per-store list statement bound to `key` and turns each row into a string.
template <typename RowToString>
Result<std::vector<std::string>> CollectRows(Statement& list, int64_t key, const std::string& what,
                                             RowToString row_to_string) {
  ResetOnExit reset(list);
  list.BindInt(1, key);
  std::vector<std::string> out;
  for (;;) {
    Result<bool> row = list.Step(what);
    if (!row.ok()) return row.status().WithContext(what);
    if (!*row) break;
    out.push_back(row_to_string(list));
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> ContentStore::ListContent(std::string_view store_id) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  return CollectRows(reader->list_content, key,
                     "listing the content of store " + std::string(store_id),
                     [](Statement& row) { return HexEncode(row.Blob(0)); });
}

Result<uint64_t> ContentStore::TotalSize(std::string_view store_id) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  Statement& total = reader->total_size;
  ResetOnExit reset(total);
  total.BindInt(1, key);
  Result<bool> row = total.Step("summing content sizes");
  if (!row.ok()) {
    return row.status().WithContext("computing the size of store " + std::string(store_id));
  }
  return static_cast<uint64_t>(total.Int(0));
}

// ---------------------------------------------------------------------------------------------
// Labels

Status ContentStore::LabelWrite(std::string_view store_id, std::string_view label,
                                std::string_view hash, LabelMode label_mode) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_RETURN_IF_ERROR(ValidateLabel(label));
  THEATER_RETURN_IF_ERROR(ValidateHash(hash));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  WriteOp op;
  op.kind = WriteOp::Kind::kLabel;
  op.store_id = store_id;
  op.store_key = key;
  op.digest = ParseDigest(hash);
  op.label = label;
  op.label_mode = label_mode;
  return Write(op);
}

Status ContentStore::SetLabel(std::string_view store_id, std::string_view label,
                              std::string_view hash) {
  return LabelWrite(store_id, label, hash, LabelMode::kSet);
}

Status ContentStore::ReplaceAtLabel(std::string_view store_id, std::string_view label,
                                    std::string_view hash) {
  return LabelWrite(store_id, label, hash, LabelMode::kReplace);
}

Result<std::optional<std::string>> ContentStore::GetLabel(std::string_view store_id,
                                                          std::string_view label) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_RETURN_IF_ERROR(ValidateLabel(label));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  Statement& get = reader->get_label;
  ResetOnExit reset(get);
  get.BindInt(1, key);
  get.BindText(2, label);
  Result<bool> found = get.Step("reading the label");
  if (!found.ok()) {
    return found.status().WithContext("reading label " + Quote(label) + " of store " +
                                      std::string(store_id));
  }
  if (!*found) return std::optional<std::string>();
  return std::optional<std::string>(HexEncode(get.Blob(0)));
}

Status ContentStore::RemoveLabel(std::string_view store_id, std::string_view label) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_RETURN_IF_ERROR(ValidateLabel(label));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  WriteOp op;
  op.kind = WriteOp::Kind::kRemoveLabel;
  op.store_id = store_id;
  op.store_key = key;
  op.label = label;
  return Write(op);
}

Result<bool> ContentStore::RemoveLabelIf(std::string_view store_id, std::string_view label,
                                         std::string_view hash) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_RETURN_IF_ERROR(ValidateLabel(label));
  THEATER_RETURN_IF_ERROR(ValidateHash(hash));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  WriteOp op;
  op.kind = WriteOp::Kind::kRemoveLabel;
  op.store_id = store_id;
  op.store_key = key;
  op.label = label;
  op.compare = true;
  op.digest = ParseDigest(hash);
  THEATER_RETURN_IF_ERROR(Write(op));
  return op.changed;
}

Result<std::vector<std::string>> ContentStore::ListLabels(std::string_view store_id) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  return CollectRows(reader->list_labels, key,
                     "listing the labels of store " + std::string(store_id),
                     [](Statement& row) { return row.Text(0); });
}

}  // namespace theater::store
