// Theater: a WebAssembly actor runtime.
//
// ContentStore (include/theater/content_store.h, docs/store.md): content-addressed stores, small
// content appended to pack files (src/store/pack_set.h) and indexed in SQLite by a background
// writer (IndexLoop()); labels, stores, content stored with a label and rows of large content are
// committed by whichever waiting caller finds the write connection idle (group commit, Write());
// reads borrow a connection from a small pool (AcquireReader()).
#include "theater/content_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>

#include "common/bytes.h"
#include "common/utf8.h"
#include "common/sha256.h"
#include "common/sqlite_util.h"
#include "common/uuid.h"
#include "store/content_cache.h"
#include "store/key_filter.h"
#include "store/location_cache.h"
#include "store/pack_format.h"
#include "store/pack_set.h"

#include <sqlite3.h>

namespace theater::store {
namespace {

using sqlite::Connection;
using sqlite::ResetOnExit;
using sqlite::Statement;

// Version 2 added pack files: store_content's `pack` and `pack_offset`, and store_packs. Open()
// migrates a version-1 database in place (two ALTER TABLEs and the partial index; no row is
// rewritten), after which version-1 builds refuse it.
constexpr int64_t kSchemaVersion = 2;

// Every table is prefixed `store_`: the database is shared with ChainStore (docs/persistence.md)
// and possibly other components, each with its own tables and schema version.
//
// Why this shape (docs/store.md, "Where bytes live"):
// * store_content is the index of a store's content, clustered by (store, hash) WITHOUT ROWID so
//   that Exists, ListContent and TotalSize read small rows only. A row's bytes are in a pack
//   (`pack`, `pack_offset`: the record's pack id and offset), in store_blobs (`blob_id`: content
//   stored together with a label, and everything small from before packs), or in a file (both
//   NULL).
// * store_packs records, per pack, up to where every record has its index row committed: Open()
//   scans packs from there for records a crash left unindexed.
// * The partial index store_content_files lets Open() ask "does any row name this file?" for the
//   few rows whose content is in a file, without a scan.
// * Integer store keys keep the 36-character id out of every content and label row.
constexpr const char* kMetaSchema = R"sql(
CREATE TABLE IF NOT EXISTS store_meta (
  key TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
)sql";
constexpr const char* kSchema = R"sql(
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
  pack INTEGER,
  pack_offset INTEGER,
  PRIMARY KEY (store_key, hash)
) WITHOUT ROWID;
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
CREATE TABLE IF NOT EXISTS store_packs (
  pack_id INTEGER PRIMARY KEY,
  indexed_to INTEGER NOT NULL
);
)sql";
// From version 1: store_content gains the pack columns (NULL in every existing row: their bytes
// stay where they are), and the partial index of file rows must leave pack rows out.
constexpr const char* kMigrateFrom1 = R"sql(
ALTER TABLE store_content ADD COLUMN pack INTEGER;
ALTER TABLE store_content ADD COLUMN pack_offset INTEGER;
DROP INDEX IF EXISTS store_content_files;
)sql";
constexpr const char* kIndexes = R"sql(
CREATE INDEX IF NOT EXISTS store_content_files ON store_content (hash)
  WHERE blob_id IS NULL AND pack IS NULL;
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

// The digest a validated hash names.
Sha256Digest ParseDigest(std::string_view hash) {
  Sha256Digest digest{};
  for (size_t i = 0; i < digest.size(); ++i) {
    digest[i] = static_cast<uint8_t>(HexDigitValue(hash[2 * i]) << 4 | HexDigitValue(hash[2 * i + 1]));
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
  // Every Get validates a hash: checked without a branch per character first (random hex
  // digits make "digit or letter?" a coin toss for the branch predictor).
  bool valid = true;
  for (char c : hash) {
    const auto u = static_cast<unsigned char>(c);
    valid &= (static_cast<unsigned>(u - '0') < 10u) | (static_cast<unsigned>(u - 'a') < 6u);
  }
  if (valid) return Status();
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
    const size_t length = Utf8SequenceAt(label, i, &cp);
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
// Internal state

namespace internal {

// (store key, digest): the identity of a piece of content in the pending and foreign indexes.
struct ContentKey {
  int64_t store_key = 0;
  Sha256Digest digest{};
  bool operator==(const ContentKey&) const = default;
};
struct ContentKeyHash {
  size_t operator()(const ContentKey& key) const {
    // The digest is uniformly distributed already: its first bytes are a good hash.
    uint64_t bits = 0;
    std::memcpy(&bits, key.digest.data(), sizeof bits);
    return static_cast<size_t>(bits ^
                               (static_cast<uint64_t>(key.store_key) * 0x9e3779b97f4a7c15ULL));
  }
};
using LocationMap = std::unordered_map<ContentKey, PackLocation, ContentKeyHash>;

}  // namespace internal

using internal::ContentKey;
using internal::PackLocation;

// The pending index's mark for a pair a Put is appending right now (no pack has id 0).
constexpr uint32_t kReserved = 0;

struct ContentStore::PendingEntry {
  int64_t store_key = 0;
  Sha256Digest digest{};
  PackLocation location;
  uint64_t seq = 0;  // increasing in queue order
  std::chrono::steady_clock::time_point queued;
};

// The pending index and the index writer's state. A pair is in its shard's `pending` from the
// moment a Put reserves it until its row is committed (and it is in the shard's `filter`); its
// entry is in `queue` from its append until the writer takes it into a batch (and again if that
// batch fails). The pairs are spread over shards, each with its own lock, so that Puts, Gets and
// the writer's clean-up after a commit rarely wait for each other.
struct ContentStore::IndexState {
  struct Shard {
    std::mutex mu;
    internal::LocationMap pending;     // guarded by mu
    internal::KeyFilter filter;        // guarded by mu: committed pairs (that this instance knows)
    uint64_t filter_generation = 0;    // guarded by mu: bumped whenever `filter` gains pairs
    std::condition_variable resolved;  // a reservation here was resolved
    size_t reservation_waiters = 0;    // guarded by mu: Puts waiting for another Put of theirs
  };
  static constexpr size_t kShards = 16;
  std::array<Shard, kShards> shards;
  // The digest's last byte: independent of the bits the maps and filters hash.
  Shard& ShardOf(const Sha256Digest& digest) { return shards[digest[31] % kShards]; }
  std::atomic<size_t> pending_count{0};  // pairs in the shards' pending maps
  std::atomic<bool> failing{false};      // `error` is set
  std::atomic<bool> stopping{false};     // `stop` is set

  // The queue and the writer, guarded by `mu`.
  std::mutex mu;
  std::condition_variable wake;  // to the writer: entries queued, a flush wanted, stop
  std::condition_variable done;  // from the writer: a batch committed or failed, or it stopped
  std::vector<PendingEntry> queue;
  uint64_t next_seq = 1;
  uint64_t committed_seq = 0;  // every entry up to this one is committed
  uint64_t flush_to = 0;       // a caller waits for every entry up to this one
  bool running = false;        // the writer thread runs
  bool stop = false;           // Close(): commit what is queued (unless failing), then exit
  Status error;                // sticky: the last index commit failed
  std::chrono::steady_clock::time_point retry_at;
  uint64_t commits = 0;
  uint64_t rows = 0;
};

// Packs that other live instances append to, read as they grow, so that content another instance
// has acknowledged is found before that instance commits its index rows. All guarded by `mu`,
// which a catch-up holds throughout (one at a time).
struct ContentStore::ForeignState {
  struct Pack {
    std::shared_ptr<internal::PackFile> file;
    uint64_t scanned_to = 0;  // the records before this offset are in `entries` or indexed
  };
  std::mutex mu;
  std::map<uint32_t, Pack> packs;
  std::unordered_set<uint32_t> known;  // every pack id met (own, foreign, unreadable)
  internal::LocationMap entries;       // intact records not yet known to be indexed
};

struct ContentStore::Found {
  enum class Where { kNowhere, kPack, kInline, kFile };
  Where where = Where::kNowhere;
  uint64_t size = 0;
  PackLocation location;       // kPack
  std::vector<uint8_t> bytes;  // kInline, when asked for
};

// ---------------------------------------------------------------------------------------------
// Connections

struct ContentStore::WriteOp {
  enum class Kind { kCreateStore, kPut, kLabel, kRemoveLabel, kIndex };
  Kind kind = Kind::kPut;
  // Inputs: views of the caller's arguments, which outlive the op (the caller waits for it).
  std::string_view store_id;
  int64_t store_key = 0;
  std::optional<std::string_view> owner;  // kCreateStore
  bool must_be_new = false;               // kCreateStore: kAlreadyExists when it exists
  Sha256Digest digest{};                  // kPut, kLabel; kRemoveLabel when `compare`
  uint64_t size = 0;                      // kPut
  std::span<const uint8_t> data;          // kPut of content held in the database
  bool in_file = false;                   // kPut: the content's file is in place already
  // kPut, kLabel: the content is in a pack (its index row maybe not committed yet, in which case
  // the row is inserted in this transaction), synced as the durability mode asks.
  std::optional<PackLocation> location;
  std::string_view label;  // kLabel, kRemoveLabel; kPut unless kNone
  LabelMode label_mode = LabelMode::kNone;
  bool compare = false;                   // kRemoveLabel: only when the label points at `digest`
  std::span<const PendingEntry> entries;  // kIndex: the index rows to commit
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
      case Kind::kIndex:
        return "committing the index rows of " + std::to_string(entries.size()) + " pack records";
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
  Statement insert_pack_row;
  Statement update_pack;
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
    // OR IGNORE: a row may exist already (inserted with a label, by another instance, or by an
    // earlier run that crashed before it recorded how far its pack was indexed).
    THEATER_RETURN_IF_ERROR(insert_pack_row.Prepare(
        db,
        "INSERT OR IGNORE INTO store_content (store_key, hash, size, pack, pack_offset) "
        "VALUES (?1, ?2, ?3, ?4, ?5);"));
    THEATER_RETURN_IF_ERROR(update_pack.Prepare(
        db,
        "INSERT INTO store_packs (pack_id, indexed_to) VALUES (?1, ?2) ON CONFLICT (pack_id) "
        "DO UPDATE SET indexed_to = max(indexed_to, excluded.indexed_to);"));
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
  Statement locate;
  Statement content_info;
  Statement list_content;
  Statement total_size;
  Statement get_label;
  Statement list_labels;
  Statement file_referenced;
  Statement packs_indexed;
  Statement all_keys;

  Status Prepare() {
    THEATER_RETURN_IF_ERROR(
        find_store.Prepare(db, "SELECT store_key FROM store_stores WHERE id = ?1;"));
    THEATER_RETURN_IF_ERROR(
        store_owner.Prepare(db, "SELECT owner FROM store_stores WHERE id = ?1;"));
    THEATER_RETURN_IF_ERROR(
        list_stores.Prepare(db, "SELECT id, owner, created FROM store_stores ORDER BY id;"));
    // One statement, so the row and its bytes come from one snapshot. Columns: as `locate`,
    // then the bytes held in the database.
    THEATER_RETURN_IF_ERROR(get_content.Prepare(
        db,
        "SELECT c.size, c.blob_id, c.pack, c.pack_offset, b.data FROM store_content c "
        "LEFT JOIN store_blobs b ON b.blob_id = c.blob_id "
        "WHERE c.store_key = ?1 AND c.hash = ?2;"));
    THEATER_RETURN_IF_ERROR(
        locate.Prepare(db,
                       "SELECT size, blob_id, pack, pack_offset FROM store_content "
                       "WHERE store_key = ?1 AND hash = ?2;"));
    THEATER_RETURN_IF_ERROR(
        content_info.Prepare(db,
                             "SELECT size, blob_id IS NULL AND pack IS NULL FROM store_content "
                             "WHERE store_key = ?1 AND hash = ?2;"));
    THEATER_RETURN_IF_ERROR(list_content.Prepare(
        db, "SELECT hash FROM store_content WHERE store_key = ?1 ORDER BY hash;"));
    THEATER_RETURN_IF_ERROR(total_size.Prepare(
        db, "SELECT COALESCE(SUM(size), 0) FROM store_content WHERE store_key = ?1;"));
    THEATER_RETURN_IF_ERROR(get_label.Prepare(
        db, "SELECT hash FROM store_labels WHERE store_key = ?1 AND label = ?2;"));
    THEATER_RETURN_IF_ERROR(list_labels.Prepare(
        db, "SELECT label FROM store_labels WHERE store_key = ?1 ORDER BY label;"));
    THEATER_RETURN_IF_ERROR(file_referenced.Prepare(
        db,
        "SELECT 1 FROM store_content WHERE hash = ?1 AND blob_id IS NULL AND pack IS NULL "
        "LIMIT 1;"));
    THEATER_RETURN_IF_ERROR(
        packs_indexed.Prepare(db, "SELECT pack_id, indexed_to FROM store_packs;"));
    THEATER_RETURN_IF_ERROR(all_keys.Prepare(db, "SELECT store_key, hash FROM store_content;"));
    return Status();
  }

  // Fills `found` from a row of `locate` or `get_content` (`with_bytes`).
  Status FillFound(Statement& row, bool with_bytes, Found& found) {
    found.size = static_cast<uint64_t>(row.Int(0));
    if (!row.IsNull(2)) {
      found.where = Found::Where::kPack;
      found.location = PackLocation{static_cast<uint32_t>(row.Int(2)),
                                    static_cast<uint64_t>(row.Int(3)), found.size};
    } else if (!row.IsNull(1)) {
      found.where = Found::Where::kInline;
      if (with_bytes) {
        std::span<const uint8_t> bytes = row.Blob(4);
        if (bytes.size() != found.size) {
          return ValidationError(std::to_string(bytes.size()) +
                                 " bytes stored, but the content has " +
                                 std::to_string(found.size));
        }
        found.bytes.assign(bytes.begin(), bytes.end());
      }
    } else {
      found.where = Found::Where::kFile;
    }
    return Status();
  }

  // How far each pack's records are indexed.
  Result<std::unordered_map<uint32_t, uint64_t>> IndexedTo() {
    ResetOnExit reset(packs_indexed);
    std::unordered_map<uint32_t, uint64_t> out;
    for (;;) {
      THEATER_ASSIGN_OR_RETURN(bool row, packs_indexed.Step("reading how far packs are indexed"));
      if (!row) break;
      out[static_cast<uint32_t>(packs_indexed.Int(0))] =
          static_cast<uint64_t>(packs_indexed.Int(1));
    }
    return out;
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
      cache_(std::make_unique<internal::ContentCache>(options_.cache_bytes)),
      locations_(std::make_unique<internal::LocationCache>(options_.location_cache_entries)),
      index_(std::make_unique<IndexState>()),
      foreign_(std::make_unique<ForeignState>()) {}

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
  options.index_commit_delay_us = std::max(options.index_commit_delay_us, 0);
  options.index_batch_max = std::max<size_t>(options.index_batch_max, 1);
  options.max_pending = std::max(options.max_pending, options.index_batch_max);
  options.index_retry_ms = std::max(options.index_retry_ms, 1);
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
  pack_dir_ = options_.pack_dir.empty() ? dir / "store-packs" : options_.pack_dir;

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

  // The schema, in one transaction with the version check and the migration of older versions.
  THEATER_RETURN_IF_ERROR(writer->db.Exec("BEGIN IMMEDIATE;"));
  Status schema = [&]() -> Status {
    THEATER_RETURN_IF_ERROR(writer->db.Exec(kMetaSchema));
    {
      Statement version;
      THEATER_RETURN_IF_ERROR(version.Prepare(
          writer->db, "SELECT value FROM store_meta WHERE key = 'schema_version';"));
      ResetOnExit reset(version);
      THEATER_ASSIGN_OR_RETURN(bool found, version.Step("reading the store schema version"));
      if (found && version.Int(0) > kSchemaVersion) {
        return FailedPrecondition("store schema version " + std::to_string(version.Int(0)) +
                                  " is newer than this build supports (" +
                                  std::to_string(kSchemaVersion) + ")");
      }
    }
    THEATER_RETURN_IF_ERROR(writer->db.Exec(kSchema));
    bool has_pack_column = false;
    {
      Statement column;
      THEATER_RETURN_IF_ERROR(column.Prepare(
          writer->db, "SELECT 1 FROM pragma_table_info('store_content') WHERE name = 'pack';"));
      ResetOnExit reset(column);
      THEATER_ASSIGN_OR_RETURN(has_pack_column, column.Step("reading the store_content columns"));
    }
    if (!has_pack_column) THEATER_RETURN_IF_ERROR(writer->db.Exec(kMigrateFrom1));
    THEATER_RETURN_IF_ERROR(writer->db.Exec(kIndexes));
    const std::string set_version =
        "INSERT INTO store_meta (key, value) VALUES ('schema_version', " +
        std::to_string(kSchemaVersion) +
        ") ON CONFLICT (key) DO UPDATE SET value = excluded.value;";
    THEATER_RETURN_IF_ERROR(writer->db.Exec(set_version.c_str()));
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

  internal::PackSet::Options pack_options;
  pack_options.durability = options_.durability;
  pack_options.max_pack_bytes = options_.pack_max_bytes;
  // In kStrict every Put waits for an fdatasync of its pack: concurrent Puts should share one,
  // so they append to the same pack (the append itself is short next to the sync).
  pack_options.max_active = options_.durability == Durability::kStrict ? 1 : 4;
  THEATER_ASSIGN_OR_RETURN(std::unique_ptr<internal::PackSet> packs,
                           internal::PackSet::Open(pack_dir_, pack_options));
  {
    std::lock_guard lock(packs_mu_);
    packs_ = std::move(packs);
  }

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
      THEATER_RETURN_IF_ERROR(CleanPackDir());
      THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
      return CleanBlobDir(*reader);
    }();
    // Downgrade (not atomic: another instance may take the exclusive lock in between, which is
    // fine: it then cleans while this one has nothing in flight yet).
    if (::flock(lock_fd_, LOCK_SH) != 0) return ErrnoError("locking " + lock_path.string(), errno);
    THEATER_RETURN_IF_ERROR(cleaned);
  } else {
    if (errno != EWOULDBLOCK) return ErrnoError("locking " + lock_path.string(), errno);
    while (::flock(lock_fd_, LOCK_SH) != 0) {
      if (errno != EINTR) return ErrnoError("locking " + lock_path.string(), errno);
    }
  }

  // Small content: which pairs are stored, then the index writer, then what earlier runs left
  // unindexed in their packs (queued like fresh appends, committed before Open returns).
  THEATER_RETURN_IF_ERROR(LoadFilter());
  {
    std::lock_guard lock(index_->mu);
    index_->running = true;
  }
  index_thread_ = std::thread([this] { IndexLoop(); });
  THEATER_RETURN_IF_ERROR(RecoverPacks());
  // A failure here is the sticky index error: the store opens, reads work, writes report it.
  Flush().IgnoreError();
  return Status();
}

Status ContentStore::CleanPackDir() {
  std::error_code ec;
  uint64_t removed = 0;
  using Iterator = std::filesystem::directory_iterator;
  for (Iterator file(pack_dir_, ec); !ec && file != Iterator(); file.increment(ec)) {
    // A pack that was being created when its instance died (never linked to its final name).
    const std::string name = file->path().filename().string();
    if (name.starts_with("new.tmp.")) {
      if (::unlink(file->path().c_str()) != 0 && errno != ENOENT) {
        return ErrnoError("removing orphaned " + file->path().string(), errno);
      }
      ++removed;
    }
  }
  if (ec) return ErrnoError("listing " + pack_dir_.string(), ec.value());
  std::lock_guard lock(write_mu_);
  stats_.orphans_removed += removed;
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

Status ContentStore::LoadFilter() {
  // One pass over the index's keys (about 40 bytes a row): ~30 ms per million rows here.
  THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  Statement& keys = reader->all_keys;
  ResetOnExit reset(keys);
  for (;;) {
    THEATER_ASSIGN_OR_RETURN(bool row, keys.Step("reading the content index"));
    if (!row) break;
    std::span<const uint8_t> hash = keys.Blob(1);
    if (hash.size() != 32) continue;
    Sha256Digest digest;
    std::memcpy(digest.data(), hash.data(), digest.size());
    IndexState::Shard& shard = index_->ShardOf(digest);
    std::lock_guard lock(shard.mu);
    shard.filter.Insert(internal::KeyFilter::Fingerprint(keys.Int(0), digest));
  }
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
  // The index writer first: it commits what is pending (through the write path below), unless
  // it is failing, in which case Open() will index those records from the packs.
  if (index_thread_.joinable()) {
    {
      std::lock_guard lock(index_->mu);
      index_->stop = true;
      index_->stopping = true;
    }
    index_->wake.notify_all();
    index_->done.notify_all();
    index_thread_.join();
  }
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
  {
    std::lock_guard lock(foreign_->mu);
    foreign_->packs.clear();
    foreign_->entries.clear();
  }
  {
    // The last holder closes the descriptors, which releases the packs' locks.
    std::lock_guard lock(packs_mu_);
    packs_.reset();
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // releases the lock
    lock_fd_ = -1;
  }
}

ContentStore::Stats ContentStore::stats() const {
  Stats stats;
  {
    std::lock_guard lock(write_mu_);
    stats = stats_;
  }
  stats.gets = gets_.load(std::memory_order_relaxed);
  stats.cache_hits = cache_hits_.load(std::memory_order_relaxed);
  stats.location_hits = location_hits_.load(std::memory_order_relaxed);
  stats.puts += pack_puts_.load(std::memory_order_relaxed);
  stats.pack_content = pack_content_.load(std::memory_order_relaxed);
  stats.new_content += stats.pack_content;
  stats.recovered_records = recovered_.load(std::memory_order_relaxed);
  stats.damaged_records = damaged_.load(std::memory_order_relaxed);
  stats.truncated_bytes = truncated_bytes_.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(index_->mu);
    stats.index_commits = index_->commits;
    stats.index_rows = index_->rows;
  }
  if (std::shared_ptr<internal::PackSet> packs = Packs()) {
    stats.pack_bytes = packs->appended_bytes();
    stats.packs_created = packs->packs_created();
  }
  return stats;
}

std::shared_ptr<internal::PackSet> ContentStore::Packs() const {
  std::lock_guard lock(packs_mu_);
  return packs_;
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
        stats_.writes += done->kind == WriteOp::Kind::kIndex ? done->entries.size() : 1;
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
      if (!stored && op.in_file) {
        ResetOnExit reset(w.insert_content);
        w.insert_content.BindInt(1, op.store_key);
        w.insert_content.BindBlob(2, op.digest);
        w.insert_content.BindInt(3, static_cast<int64_t>(op.size));
        w.insert_content.BindNull(4);
        THEATER_RETURN_IF_ERROR(w.insert_content.Run("inserting the content's row"));
        op.changed = true;
      } else if (!stored) {
        // In a pack, its row not committed yet: found by the caller, or appended by a Put since
        // (then not synced yet), or (for a label) by another instance.
        std::optional<PackLocation> location = op.location;
        if (!location) location = FindPending(op.store_key, op.digest);
        if (!location && op.kind == WriteOp::Kind::kLabel) {
          THEATER_RETURN_IF_ERROR(CatchUpForeign());
          location = FindForeign(op.store_key, op.digest);
          if (!location) location = FindPending(op.store_key, op.digest);  // adopted
        }
        if (location) {
          // The row goes into the label's transaction, so the label never names content whose
          // row could be lost; the record must be as durable as the label first.
          if (!op.location) {
            Status synced = EnsureSynced(*location);
            if (!synced.ok()) {
              op.status = synced;
              return Status();
            }
          }
          THEATER_RETURN_IF_ERROR(InsertPackRow(op.store_key, op.digest, *location));
        } else if (op.kind == WriteOp::Kind::kLabel) {
          op.status = NotFound("store " + std::string(op.store_id) + " has no content " +
                               HexEncode(op.digest));
          return Status();
        } else {
          // Content stored with a label goes into the database, in the label's transaction: one
          // commit, atomic, and as durable as the label without a sync of its own.
          ResetOnExit reset(w.insert_content);
          w.insert_blob.BindBlob(1, op.data);
          THEATER_RETURN_IF_ERROR(w.insert_blob.Run("inserting the content's bytes"));
          w.insert_content.BindInt(1, op.store_key);
          w.insert_content.BindBlob(2, op.digest);
          w.insert_content.BindInt(3, static_cast<int64_t>(op.size));
          w.insert_content.BindInt(4, w.db.LastInsertRowid());
          THEATER_RETURN_IF_ERROR(w.insert_content.Run("inserting the content's row"));
          op.changed = true;
        }
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
    case WriteOp::Kind::kIndex: {
      // How far each pack is indexed once these rows commit: entries of one pack are queued in
      // append order and committed in that order, so the largest end covers every earlier one.
      std::map<uint32_t, uint64_t> ends;
      // Inserted in key order: consecutive rows then land in the same or the next B-tree leaf,
      // which is already in the page cache, instead of a random one each.
      std::vector<const PendingEntry*> order;
      order.reserve(op.entries.size());
      for (const PendingEntry& entry : op.entries) {
        order.push_back(&entry);
        uint64_t& end = ends[entry.location.pack];
        end = std::max(end, entry.location.end());
      }
      std::sort(order.begin(), order.end(), [](const PendingEntry* a, const PendingEntry* b) {
        return a->store_key != b->store_key ? a->store_key < b->store_key : a->digest < b->digest;
      });
      for (const PendingEntry* entry : order) {
        THEATER_RETURN_IF_ERROR(InsertPackRow(entry->store_key, entry->digest, entry->location));
      }
      for (const auto& [pack, end] : ends) {
        w.update_pack.BindInt(1, pack);
        w.update_pack.BindInt(2, static_cast<int64_t>(end));
        THEATER_RETURN_IF_ERROR(w.update_pack.Run("recording how far a pack is indexed"));
      }
      return Status();
    }
  }
  return InternalError("unknown write kind");
}

Status ContentStore::InsertPackRow(int64_t store_key, const Digest& digest,
                                   const PackLocation& location) {
  Statement& insert = writer_->insert_pack_row;
  insert.BindInt(1, store_key);
  insert.BindBlob(2, digest);
  insert.BindInt(3, static_cast<int64_t>(location.size));
  insert.BindInt(4, location.pack);
  insert.BindInt(5, static_cast<int64_t>(location.offset));
  return insert.Run("inserting the index row of a pack record");
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
  THEATER_RETURN_IF_ERROR(IndexError());
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
// The pending index and its writer

Status ContentStore::IndexError() {
  if (!index_->failing.load(std::memory_order_acquire)) return Status();
  std::lock_guard lock(index_->mu);
  if (index_->error.ok()) return Status();
  return index_->error.WithContext(
      "the content store could not commit its index (content stored before is safe in its "
      "packs; writes fail until a retry succeeds or the store is reopened)");
}

void ContentStore::EnqueuePending(int64_t store_key, const Digest& digest,
                                  const PackLocation& location) {
  {
    IndexState::Shard& shard = index_->ShardOf(digest);
    std::lock_guard lock(shard.mu);
    // Keeps the first location when one pair has several records (recovery of a pack written
    // by two instances, say); every record still gets queued, so that the pack's indexed offset
    // moves past all of them. A reservation (the Put appending it) is replaced.
    auto [it, inserted] = shard.pending.emplace(ContentKey{store_key, digest}, location);
    if (inserted) {
      index_->pending_count.fetch_add(1, std::memory_order_relaxed);
    } else if (it->second.pack == kReserved) {
      it->second = location;
      if (shard.reservation_waiters > 0) shard.resolved.notify_all();
    }
  }
  bool wake = false;
  {
    std::lock_guard lock(index_->mu);
    PendingEntry entry;
    entry.store_key = store_key;
    entry.digest = digest;
    entry.location = location;
    entry.seq = index_->next_seq++;
    entry.queued = std::chrono::steady_clock::now();
    index_->queue.push_back(entry);
    // The writer sleeps until the oldest entry is due: wake it only when it has to act sooner.
    wake = index_->queue.size() == 1 || index_->queue.size() == options_.index_batch_max;
  }
  if (wake) index_->wake.notify_one();
}

std::optional<PackLocation> ContentStore::FindPending(int64_t store_key, const Digest& digest) {
  IndexState::Shard& shard = index_->ShardOf(digest);
  std::lock_guard lock(shard.mu);
  auto it = shard.pending.find(ContentKey{store_key, digest});
  // A reservation: a Put is appending it and has not returned; as good as not there yet.
  if (it == shard.pending.end() || it->second.pack == kReserved) return std::nullopt;
  return it->second;
}

Status ContentStore::Flush() {
  if (closing_.load()) return FailedPrecondition("content store is closed");
  std::unique_lock lock(index_->mu);
  const uint64_t target = index_->next_seq - 1;
  while (index_->committed_seq < target) {
    if (!index_->error.ok()) {
      lock.unlock();
      return IndexError();
    }
    if (!index_->running) return FailedPrecondition("content store is closed");
    index_->flush_to = std::max(index_->flush_to, target);
    index_->wake.notify_one();
    index_->done.wait(lock);
  }
  return Status();
}

Status ContentStore::EnsureSynced(const PackLocation& location) {
  if (options_.durability == Durability::kNone) return Status();
  std::shared_ptr<internal::PackSet> packs = Packs();
  if (packs == nullptr) return FailedPrecondition("content store is closed");
  return packs->Sync(location.pack, location.end());
}

Status ContentStore::CommitIndex(std::span<const PendingEntry> entries) {
  // Unless kNone, the records must be on disk before rows naming them are: otherwise an OS crash
  // could leave rows (and labels) naming bytes that never reached the disk. One fdatasync per
  // pack per batch (in kStrict the Puts have synced already and this returns at once).
  if (options_.durability != Durability::kNone) {
    std::map<uint32_t, uint64_t> ends;
    for (const PendingEntry& entry : entries) {
      uint64_t& end = ends[entry.location.pack];
      end = std::max(end, entry.location.end());
    }
    std::shared_ptr<internal::PackSet> packs = Packs();
    if (packs == nullptr) return FailedPrecondition("content store is closed");
    for (const auto& [pack, end] : ends) THEATER_RETURN_IF_ERROR(packs->Sync(pack, end));
  }
  WriteOp op;
  op.kind = WriteOp::Kind::kIndex;
  op.entries = entries;
  return Write(op);
}

void ContentStore::IndexLoop() {
  using Clock = std::chrono::steady_clock;
  const auto delay = std::chrono::microseconds(options_.index_commit_delay_us);
  std::vector<PendingEntry> batch;
  std::array<std::vector<size_t>, IndexState::kShards> by_shard;
  std::unique_lock lock(index_->mu);
  for (;;) {
    IndexState& s = *index_;
    if (s.queue.empty()) {
      if (s.stop) break;
      s.wake.wait(lock);
      continue;
    }
    if (!s.error.ok()) {
      // Failing: never spin. Give up at Close (the records are in the packs, and the next Open
      // indexes them); otherwise try the same batch again at the next retry time.
      if (s.stop) break;
      if (Clock::now() < s.retry_at) {
        s.wake.wait_until(lock, s.retry_at);
        continue;
      }
    } else {
      // Group commit: wait for more rows until the oldest is due, unless somebody waits for
      // them or a full batch is ready.
      const auto due = s.queue.front().queued + delay;
      const bool now = s.stop || s.flush_to >= s.queue.front().seq ||
                       s.queue.size() >= options_.index_batch_max || Clock::now() >= due;
      if (!now) {
        s.wake.wait_until(lock, due);
        continue;
      }
    }
    if (s.queue.size() <= options_.index_batch_max) {
      batch.swap(s.queue);  // the usual case: everything queued, without copying under the lock
    } else {
      const auto end = s.queue.begin() + static_cast<ptrdiff_t>(options_.index_batch_max);
      batch.assign(s.queue.begin(), end);
      s.queue.erase(s.queue.begin(), end);
    }
    lock.unlock();
    Status status = CommitIndex(batch);
    if (status.ok()) {
      // Committed: readers find the rows in the database from now on, so the entries leave the
      // pending index (only now: a reader that misses them there then finds them here), one
      // shard at a time.
      for (auto& members : by_shard) members.clear();
      for (size_t i = 0; i < batch.size(); ++i) {
        by_shard[batch[i].digest[31] % IndexState::kShards].push_back(i);
      }
      size_t erased = 0;
      for (size_t k = 0; k < IndexState::kShards; ++k) {
        if (by_shard[k].empty()) continue;
        IndexState::Shard& shard = s.shards[k];
        std::lock_guard shard_lock(shard.mu);
        for (size_t i : by_shard[k]) {
          const PendingEntry& entry = batch[i];
          auto it = shard.pending.find(ContentKey{entry.store_key, entry.digest});
          if (it != shard.pending.end() && it->second.pack == entry.location.pack &&
              it->second.offset == entry.location.offset) {
            shard.pending.erase(it);
            ++erased;
          }
          shard.filter.Insert(internal::KeyFilter::Fingerprint(entry.store_key, entry.digest));
        }
        shard.filter_generation++;
      }
      s.pending_count.fetch_sub(erased, std::memory_order_relaxed);
      lock.lock();
      s.committed_seq = batch.back().seq;
      s.error = Status();
      s.failing = false;
      s.commits++;
      s.rows += batch.size();
    } else {
      lock.lock();
      s.queue.insert(s.queue.begin(), batch.begin(), batch.end());
      s.failing = true;
      s.error = status.WithContext("committing the index rows of " + std::to_string(batch.size()) +
                                   " pack records");
      s.retry_at = Clock::now() + std::chrono::milliseconds(options_.index_retry_ms);
    }
    batch.clear();
    s.done.notify_all();
  }
  index_->running = false;
  index_->done.notify_all();
}

// ---------------------------------------------------------------------------------------------
// Recovery, and other instances' packs

Result<uint64_t> ContentStore::RecoverPack(internal::PackFile& pack, uint64_t from) {
  std::shared_ptr<internal::PackSet> packs = Packs();
  if (packs == nullptr) return FailedPrecondition("content store is closed");
  THEATER_ASSIGN_OR_RETURN(uint64_t size, packs->FileSize(pack));
  // Rows may name records beyond the end of the file only after an OS crash with durability
  // none (the file lost its tail, the database did not): reads of those report the damage.
  from = std::min(std::max<uint64_t>(from, internal::kPackHeaderBytes), size);
  struct Record {
    std::array<char, internal::kStoreIdBytes> store_id;
    Sha256Digest digest;
    PackLocation location;
  };
  std::vector<Record> records;
  THEATER_ASSIGN_OR_RETURN(
      internal::ScanResult scan,
      internal::ScanRecords(
          pack.fd(), pack.salt(), from, size, options_.max_content_bytes,
          internal::ScanMode::kRecover,
          [&](const internal::RecordHeader& header, uint64_t offset, std::span<const uint8_t>) {
            records.push_back(Record{header.store_id, header.digest,
                                     PackLocation{pack.id(), offset, header.length}});
          }));
  damaged_.fetch_add(scan.damaged, std::memory_order_relaxed);
  if (scan.torn_tail) {
    THEATER_RETURN_IF_ERROR(packs->Truncate(pack, scan.end));
    truncated_bytes_.fetch_add(size - scan.end, std::memory_order_relaxed);
  }
  for (const Record& record : records) {
    const std::string_view store_id(record.store_id.data(), record.store_id.size());
    if (!ValidateStoreId(store_id).ok()) {
      damaged_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    Result<int64_t> key = StoreKey(store_id);
    if (!key.ok()) {
      if (key.status().code() != StatusCode::kNotFound) return key.status();
      // Content of a store this database does not know (packs copied without their database?):
      // nothing could ever name it.
      damaged_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    EnqueuePending(*key, record.digest, record.location);
    recovered_.fetch_add(1, std::memory_order_relaxed);
  }
  return scan.end;
}

Status ContentStore::RecoverPacks() {
  std::shared_ptr<internal::PackSet> packs = Packs();
  THEATER_ASSIGN_OR_RETURN(std::vector<uint32_t> ids, packs->ListIds());
  std::unordered_map<uint32_t, uint64_t> indexed;
  {
    THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
    THEATER_ASSIGN_OR_RETURN(indexed, reader->IndexedTo());
  }
  // Owned packs with room, newest last: appends go on in them rather than in new packs.
  std::vector<std::pair<std::shared_ptr<internal::PackFile>, uint64_t>> with_room;
  std::lock_guard lock(foreign_->mu);
  for (uint32_t id : ids) {
    foreign_->known.insert(id);
    Result<std::shared_ptr<internal::PackFile>> pack = packs->Get(id);
    if (!pack.ok()) {
      // A pack without an intact header (an OS crash right after it was created, with
      // durability none): no record in it can be verified. Left alone, never appended to.
      if (pack.status().code() == StatusCode::kValidationError) {
        damaged_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      return pack.status();
    }
    const uint64_t from = std::max<uint64_t>(internal::kPackHeaderBytes, indexed[id]);
    THEATER_ASSIGN_OR_RETURN(bool owned, packs->TryOwn(**pack));
    if (!owned) {
      // Another live instance appends to it: read its tail as it grows (CatchUpForeign).
      foreign_->packs[id] = ForeignState::Pack{*pack, from};
      continue;
    }
    THEATER_ASSIGN_OR_RETURN(uint64_t end, RecoverPack(**pack, from));
    if (end + internal::RecordBytes(0) < options_.pack_max_bytes)
      with_room.emplace_back(*pack, end);
  }
  // The newest first: SetActive fills the free appending slots and ignores the rest.
  for (auto it = with_room.rbegin(); it != with_room.rend(); ++it) {
    packs->SetActive(it->first, it->second);
  }
  return Status();
}

Status ContentStore::CatchUpForeign() {
  std::shared_ptr<internal::PackSet> packs = Packs();
  if (packs == nullptr) return FailedPrecondition("content store is closed");
  std::lock_guard lock(foreign_->mu);
  ForeignState& f = *foreign_;
  std::optional<std::unordered_map<uint32_t, uint64_t>> indexed;
  auto indexed_to = [&](uint32_t id) -> Result<uint64_t> {
    if (!indexed) {
      THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
      THEATER_ASSIGN_OR_RETURN(indexed, reader->IndexedTo());
    }
    auto it = indexed->find(id);
    return it == indexed->end() ? uint64_t{0} : it->second;
  };
  if (packs->MaybeNewPacks()) {
    THEATER_ASSIGN_OR_RETURN(std::vector<uint32_t> ids, packs->ListIds());
    for (uint32_t id : ids) {
      if (f.known.count(id) != 0) continue;
      Result<std::shared_ptr<internal::PackFile>> pack = packs->Get(id);
      if (!pack.ok()) {
        if (pack.status().code() == StatusCode::kValidationError) {
          f.known.insert(id);
          continue;
        }
        return pack.status();
      }
      f.known.insert(id);
      if ((*pack)->owned()) continue;  // one this instance created
      THEATER_ASSIGN_OR_RETURN(uint64_t from, indexed_to(id));
      f.packs[id] = ForeignState::Pack{*pack, std::max<uint64_t>(from, internal::kPackHeaderBytes)};
    }
  }
  if (f.packs.empty()) return Status();

  std::vector<uint32_t> adopted;
  for (auto& [pack_id, pack] : f.packs) {
    // (A lambda cannot capture a structured binding in every compiler the build supports.)
    const uint32_t id = pack_id;
    THEATER_ASSIGN_OR_RETURN(uint64_t size, packs->FileSize(*pack.file));
    if (size > pack.scanned_to) {
      std::vector<std::pair<ContentKey, PackLocation>> found;
      THEATER_ASSIGN_OR_RETURN(
          internal::ScanResult scan,
          internal::ScanRecords(
              pack.file->fd(), pack.file->salt(), pack.scanned_to, size, options_.max_content_bytes,
              internal::ScanMode::kStopAtDamage,
              [&](const internal::RecordHeader& header, uint64_t offset, std::span<const uint8_t>) {
                Result<int64_t> key = StoreKey(header.store());
                if (!key.ok()) return;  // a store unknown here: nothing can name it
                found.emplace_back(ContentKey{*key, header.digest},
                                   PackLocation{id, offset, header.length});
              }));
      for (const auto& [key, location] : found) f.entries.emplace(key, location);
      pack.scanned_to = scan.end;
    }
    // Its owner is gone (crashed, or closed without committing): adopt the pack, i.e. index
    // what it left, as recovery at Open would.
    THEATER_ASSIGN_OR_RETURN(bool owned, packs->TryOwn(*pack.file));
    if (!owned) continue;
    std::vector<std::pair<ContentKey, PackLocation>> left;
    for (auto it = f.entries.begin(); it != f.entries.end();) {
      if (it->second.pack == id) {
        left.emplace_back(it->first, it->second);
        it = f.entries.erase(it);
      } else {
        ++it;
      }
    }
    std::sort(left.begin(), left.end(),
              [](const auto& a, const auto& b) { return a.second.offset < b.second.offset; });
    for (const auto& [key, location] : left) {
      EnqueuePending(key.store_key, key.digest, location);
      recovered_.fetch_add(1, std::memory_order_relaxed);
    }
    THEATER_RETURN_IF_ERROR(RecoverPack(*pack.file, pack.scanned_to).status());
    adopted.push_back(id);
  }
  for (uint32_t id : adopted) f.packs.erase(id);

  // Entries whose rows their owner has committed since are found in the database now.
  if (!f.entries.empty()) {
    indexed.reset();
    for (auto it = f.entries.begin(); it != f.entries.end();) {
      THEATER_ASSIGN_OR_RETURN(uint64_t done, indexed_to(it->second.pack));
      if (it->second.end() <= done) {
        it = f.entries.erase(it);
      } else {
        ++it;
      }
    }
  }
  return Status();
}

std::optional<PackLocation> ContentStore::FindForeign(int64_t store_key, const Digest& digest) {
  std::lock_guard lock(foreign_->mu);
  auto it = foreign_->entries.find(ContentKey{store_key, digest});
  if (it == foreign_->entries.end()) return std::nullopt;
  return it->second;
}

Result<ContentStore::Found> ContentStore::Locate(int64_t key, const Digest& digest,
                                                 bool with_bytes) {
  Found found;
  // This instance's pending index first: an entry leaves it only after its row is committed, so
  // content missed here is in the database by the time the query below runs.
  if (std::optional<PackLocation> location = FindPending(key, digest)) {
    found.where = Found::Where::kPack;
    found.location = *location;
    found.size = location->size;
    return found;
  }
  auto query = [&]() -> Result<bool> {
    THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
    Statement& row = with_bytes ? reader->get_content : reader->locate;
    ResetOnExit reset(row);  // before the lease ends: the reader may be someone else's after
    row.BindInt(1, key);
    row.BindBlob(2, digest);
    THEATER_ASSIGN_OR_RETURN(bool hit, row.Step("looking up the content"));
    if (hit) THEATER_RETURN_IF_ERROR(reader->FillFound(row, with_bytes, found));
    return hit;
  };
  THEATER_ASSIGN_OR_RETURN(bool hit, query());
  if (hit) return found;
  // Not here: maybe another instance has stored it and not indexed it yet (if that instance is
  // gone, the catch-up adopts its records into this instance's pending index).
  THEATER_RETURN_IF_ERROR(CatchUpForeign());
  std::optional<PackLocation> location = FindForeign(key, digest);
  if (!location) location = FindPending(key, digest);
  if (location) {
    found.where = Found::Where::kPack;
    found.location = *location;
    found.size = location->size;
    return found;
  }
  // Or its owner committed it (and the catch-up dropped it) after the query above.
  THEATER_ASSIGN_OR_RETURN(hit, query());
  if (hit) return found;
  return Found{};
}

// ---------------------------------------------------------------------------------------------
// Content

Result<bool> ContentStore::PutInPack(std::string_view store_id, int64_t key, const Digest& digest,
                                     std::span<const uint8_t> content) {
  const ContentKey pair{key, digest};
  const uint32_t fingerprint = internal::KeyFilter::Fingerprint(key, digest);
  std::optional<PackLocation> location;
  // The filter said "maybe" and the database said no, as of this filter generation.
  std::optional<uint64_t> absent_as_of;
  IndexState::Shard& shard = index_->ShardOf(digest);
  for (;;) {
    bool maybe_committed = false;
    uint64_t generation = 0;
    if (index_->failing.load(std::memory_order_acquire)) return IndexError();
    if (index_->stopping.load(std::memory_order_acquire)) {
      return FailedPrecondition("content store is closed");
    }
    if (index_->pending_count.load(std::memory_order_relaxed) >= options_.max_pending) {
      // Back-pressure: the index writer cannot keep up with the disk.
      std::unique_lock lock(index_->mu);
      index_->wake.notify_one();
      index_->done.wait_for(lock, std::chrono::milliseconds(10));
      continue;
    }
    {
      std::unique_lock lock(shard.mu);
      auto it = shard.pending.find(pair);
      if (it != shard.pending.end()) {
        if (it->second.pack == kReserved) {
          // Another Put of the same bytes is appending them: wait for its outcome.
          shard.reservation_waiters++;
          shard.resolved.wait(lock);
          shard.reservation_waiters--;
          continue;
        }
        location = it->second;  // appended before, its row not committed yet
        break;
      }
      if (shard.filter.MaybeContains(fingerprint) && absent_as_of != shard.filter_generation) {
        maybe_committed = true;
        generation = shard.filter_generation;
      } else {
        // Certainly not stored: reserve the pair, so that a concurrent Put of the same bytes
        // waits for this one instead of appending them a second time.
        shard.pending.emplace(pair, PackLocation{kReserved, 0, 0});
        index_->pending_count.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (!maybe_committed) break;
    // Probably committed (or a fingerprint collision): ask the database.
    THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
    Statement& info = reader->content_info;
    ResetOnExit reset(info);
    info.BindInt(1, key);
    info.BindBlob(2, digest);
    THEATER_ASSIGN_OR_RETURN(bool stored, info.Step("looking up the content"));
    // Committed rows name records synced before the commit (or content in the database or a
    // file): nothing left to make durable.
    if (stored) return false;
    absent_as_of = generation;
  }
  const bool appended = !location.has_value();
  if (appended) {
    std::shared_ptr<internal::PackSet> packs = Packs();
    Result<PackLocation> added =
        packs == nullptr ? Result<PackLocation>(FailedPrecondition("content store is closed"))
                         : packs->Append(store_id, digest, content, [&](const PackLocation& where) {
                             // Still holding the pack: entries are queued in each pack's order.
                             EnqueuePending(key, digest, where);
                           });
    if (!added.ok()) {
      {
        std::lock_guard lock(shard.mu);
        shard.pending.erase(pair);
        index_->pending_count.fetch_sub(1, std::memory_order_relaxed);
        if (shard.reservation_waiters > 0) shard.resolved.notify_all();
      }
      return added.status().WithContext("storing content " + HexEncode(digest) + " in store " +
                                        std::string(store_id));
    }
    locations_->Insert(key, digest, *added);
    location = *added;
  }
  if (options_.durability == Durability::kStrict) {
    // Also when found pending: a concurrent Put may not have synced it yet.
    Status synced = EnsureSynced(*location);
    if (!synced.ok()) {
      return synced.WithContext("storing content " + HexEncode(digest) + " in store " +
                                std::string(store_id));
    }
  }
  return appended;
}

Result<std::string> ContentStore::PutImpl(std::string_view store_id, std::string_view label,
                                          LabelMode label_mode, std::span<const uint8_t> content,
                                          const Digest* known_digest) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  if (label_mode != LabelMode::kNone) THEATER_RETURN_IF_ERROR(ValidateLabel(label));
  if (content.size() > options_.max_content_bytes) {
    return ResourceExhausted("content of " + std::to_string(content.size()) +
                             " bytes exceeds the limit of " +
                             std::to_string(options_.max_content_bytes) + " bytes");
  }
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  if (closing_.load(std::memory_order_relaxed)) {
    return FailedPrecondition("content store is closed");
  }
  // Before any lock: hashing 1 GiB takes a while.
  const Sha256Digest digest = known_digest ? *known_digest : Sha256(content);
  const bool small = content.size() <= options_.inline_max_bytes;
  auto cache = [&] {
    if (small && options_.cache_bytes > 0 && content.size() <= options_.cache_max_item_bytes) {
      cache_->Insert(key, digest, cache_->Copy(content));
    }
  };
  if (small && label_mode == LabelMode::kNone) {
    THEATER_ASSIGN_OR_RETURN(bool appended, PutInPack(store_id, key, digest, content));
    pack_puts_.fetch_add(1, std::memory_order_relaxed);
    if (appended) pack_content_.fetch_add(1, std::memory_order_relaxed);
    cache();
    return HexEncode(digest);
  }
  THEATER_RETURN_IF_ERROR(IndexError());
  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.store_id = store_id;
  op.store_key = key;
  op.digest = digest;
  op.size = content.size();
  op.label = label;
  op.label_mode = label_mode;
  if (!small) {
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
    // Small content with a label. Already in a pack (a Put before this one, its row maybe not
    // committed): the transaction inserts that row with the label, once the record is as
    // durable as the label will be. Otherwise the bytes go into the database with the label.
    op.data = content;
    op.location = FindPending(key, digest);
    if (!op.location) op.location = FindForeign(key, digest);
    if (op.location) {
      Status synced = EnsureSynced(*op.location);
      if (!synced.ok()) return synced.WithContext(op.Describe());
    }
  }
  THEATER_RETURN_IF_ERROR(Write(op));
  if (op.changed) {
    IndexState::Shard& shard = index_->ShardOf(digest);
    std::lock_guard lock(shard.mu);
    shard.filter.Insert(internal::KeyFilter::Fingerprint(key, digest));
    shard.filter_generation++;
  }
  cache();
  return HexEncode(op.digest);
}

Result<std::string> ContentStore::Put(std::string_view store_id, std::span<const uint8_t> content) {
  return PutImpl(store_id, {}, LabelMode::kNone, content);
}

Result<std::string> ContentStore::PutHashed(std::string_view store_id,
                                            std::span<const uint8_t> content,
                                            const std::array<uint8_t, 32>& sha256) {
  return PutImpl(store_id, {}, LabelMode::kNone, content, &sha256);
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
  auto done = [&](std::vector<uint8_t> bytes, bool from_pack) {
    gets_.fetch_add(1, std::memory_order_relaxed);
    if (!from_pack && bytes.size() <= options_.cache_max_item_bytes) {
      cache_->Insert(key, digest, std::make_shared<const std::vector<uint8_t>>(bytes));
    }
    return bytes;
  };
  std::shared_ptr<internal::PackSet> packs = Packs();
  if (packs == nullptr) return FailedPrecondition("content store is closed");
  if (std::optional<PackLocation> hint = locations_->Find(key, digest)) {
    // Verified as it is read (store, digest, size, checksum); if it names something else, the
    // index below has the truth.
    Result<std::vector<uint8_t>> read = packs->Read(*hint, store_id, digest);
    if (read.ok()) {
      location_hits_.fetch_add(1, std::memory_order_relaxed);
      return done(std::move(*read), true);
    }
  }
  Result<Found> located = Locate(key, digest, /*with_bytes=*/true);
  if (!located.ok()) return located.status().WithContext(context());
  Found& found = *located;
  std::vector<uint8_t> bytes;
  switch (found.where) {
    case Found::Where::kNowhere:
      return NotFound("store " + std::string(store_id) + " has no content " + std::string(hash));
    case Found::Where::kInline:
      bytes = std::move(found.bytes);
      break;
    case Found::Where::kPack: {
      Result<std::vector<uint8_t>> read = packs->Read(found.location, store_id, digest);
      if (!read.ok()) return read.status().WithContext(context());
      locations_->Insert(key, digest, found.location);
      bytes = std::move(*read);
      break;
    }
    case Found::Where::kFile: {
      Result<std::vector<uint8_t>> read = ReadContentFile(BlobPath(digest), found.size);
      if (!read.ok()) return read.status().WithContext(context());
      gets_.fetch_add(1, std::memory_order_relaxed);
      return read;
    }
  }
  return done(std::move(bytes), found.where == Found::Where::kPack);
}

Result<uint64_t> ContentStore::ContentSize(std::string_view store_id, std::string_view hash) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_RETURN_IF_ERROR(ValidateHash(hash));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  Result<Found> found = Locate(key, ParseDigest(hash), /*with_bytes=*/false);
  if (!found.ok()) {
    return found.status().WithContext("looking up content " + std::string(hash) + " of store " +
                                      std::string(store_id));
  }
  if (found->where == Found::Where::kNowhere) {
    return NotFound("store " + std::string(store_id) + " has no content " + std::string(hash));
  }
  return found->size;
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

// The store's content whose rows may not be committed yet: this instance's pending index and
// what other instances appended. Taken before the database is read, so that an entry leaving
// the pending index meanwhile is in what the database returns.
std::map<Sha256Digest, uint64_t> ContentStore::Unindexed(int64_t key) {
  std::map<Sha256Digest, uint64_t> out;
  for (IndexState::Shard& shard : index_->shards) {
    std::lock_guard lock(shard.mu);
    for (const auto& [pair, location] : shard.pending) {
      if (pair.store_key == key && location.pack != kReserved) {
        out.emplace(pair.digest, location.size);
      }
    }
  }
  std::lock_guard lock(foreign_->mu);
  for (const auto& [pair, location] : foreign_->entries) {
    if (pair.store_key == key) out.emplace(pair.digest, location.size);
  }
  return out;
}

Result<std::vector<std::string>> ContentStore::ListContent(std::string_view store_id) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  const std::string what = "listing the content of store " + std::string(store_id);
  if (Status caught_up = CatchUpForeign(); !caught_up.ok()) return caught_up.WithContext(what);
  const std::map<Sha256Digest, uint64_t> unindexed = Unindexed(key);
  std::vector<std::string> hashes;
  {
    THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
    THEATER_ASSIGN_OR_RETURN(hashes,
                             CollectRows(reader->list_content, key, what,
                                         [](Statement& row) { return HexEncode(row.Blob(0)); }));
  }
  if (unindexed.empty()) return hashes;
  for (const auto& [digest, size] : unindexed) hashes.push_back(HexEncode(digest));
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  return hashes;
}

Result<uint64_t> ContentStore::TotalSize(std::string_view store_id) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  auto context = [&] { return "computing the size of store " + std::string(store_id); };
  if (Status caught_up = CatchUpForeign(); !caught_up.ok()) return caught_up.WithContext(context());
  const std::map<Sha256Digest, uint64_t> unindexed = Unindexed(key);
  THEATER_ASSIGN_OR_RETURN(ReaderLease reader, AcquireReader());
  // The sum and the checks of the unindexed pieces in one snapshot: a piece whose row is
  // committed meanwhile is counted once, by one or the other.
  if (!unindexed.empty()) THEATER_RETURN_IF_ERROR(reader->db.Exec("BEGIN;"));
  Result<uint64_t> total = [&]() -> Result<uint64_t> {
    Statement& sum = reader->total_size;
    uint64_t bytes = 0;
    {
      ResetOnExit reset(sum);
      sum.BindInt(1, key);
      THEATER_ASSIGN_OR_RETURN(bool row, sum.Step("summing content sizes"));
      if (row) bytes = static_cast<uint64_t>(sum.Int(0));
    }
    for (const auto& [digest, size] : unindexed) {
      Statement& info = reader->content_info;
      ResetOnExit reset(info);
      info.BindInt(1, key);
      info.BindBlob(2, digest);
      THEATER_ASSIGN_OR_RETURN(bool committed, info.Step("looking up the content"));
      if (!committed) bytes += size;
    }
    return bytes;
  }();
  if (!unindexed.empty()) reader->db.RollbackIfOpen();
  if (!total.ok()) return total.status().WithContext(context());
  return total;
}

// ---------------------------------------------------------------------------------------------
// Labels

Status ContentStore::LabelWrite(std::string_view store_id, std::string_view label,
                                std::string_view hash, LabelMode label_mode) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_RETURN_IF_ERROR(ValidateLabel(label));
  THEATER_RETURN_IF_ERROR(ValidateHash(hash));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  THEATER_RETURN_IF_ERROR(IndexError());
  WriteOp op;
  op.kind = WriteOp::Kind::kLabel;
  op.store_id = store_id;
  op.store_key = key;
  op.digest = ParseDigest(hash);
  op.label = label;
  op.label_mode = label_mode;
  // Content whose row is not committed: make its record as durable as the label before the
  // transaction inserts the row (here, outside the transaction, in the common case).
  op.location = FindPending(key, op.digest);
  if (!op.location) op.location = FindForeign(key, op.digest);
  if (op.location) {
    Status synced = EnsureSynced(*op.location);
    if (!synced.ok()) return synced.WithContext(op.Describe());
  }
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
  THEATER_RETURN_IF_ERROR(IndexError());
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
  THEATER_RETURN_IF_ERROR(IndexError());
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
