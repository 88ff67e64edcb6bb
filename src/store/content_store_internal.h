// Theater: a WebAssembly actor runtime.
//
// What the content store's source files share (content_store.cc: opening, closing, validation;
// content_store_write.cc: the group-commit writer and stores; content_store_index.cc: the pending
// index, its writer and recovery; content_store_read.cc: content and labels): the definitions of
// ContentStore's private parts and a few helpers. Private to src/store; include it only there.
//
// Thread-safety: as each part's comment says; the helpers are pure or act on their arguments.
#pragma once

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
#include "common/group_commit.h"
#include "common/sha256.h"
#include "common/sqlite_util.h"
#include "common/utf8.h"
#include "common/uuid.h"
#include "common/wal_checkpointer.h"
#include "store/content_cache.h"
#include "store/key_filter.h"
#include "store/location_cache.h"
#include "store/pack_format.h"
#include "store/pack_set.h"

#include <sqlite3.h>

namespace theater::store {

using sqlite::Connection;
using sqlite::ResetOnExit;
using sqlite::Statement;
using internal::SyncDirectory;

namespace content_internal {

inline constexpr size_t kMaxLabelBytes = 255;

// A caller-supplied value for a message: quoted, at most 64 bytes of it, every byte outside
// printable ASCII (and the quote and backslash) escaped, so that a hostile label cannot forge
// or garble a log line.
std::string Quote(std::string_view text);
bool IsLowerHex(char c);
// Unicode's White_Space characters that are not control characters (those are refused anyway),
// plus U+0085 (NEXT LINE), which is both.
bool IsWhitespace(char32_t cp);
// The digest a validated hash names.
Sha256Digest ParseDigest(std::string_view hash);
int64_t NowMs();
// Closes a file descriptor at the end of a scope (for read paths, where a failing close() has
// nothing to report).
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};
Status WriteAll(int fd, std::span<const uint8_t> bytes, const std::filesystem::path& path);
// The whole content file, which must have `size` bytes.
Result<std::vector<uint8_t>> ReadContentFile(const std::filesystem::path& path, uint64_t size);

}  // namespace content_internal

using content_internal::Quote;  // the write descriptions below quote labels

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
};

// The pending index. A pair is in its shard's `pending` from the moment a Put reserves it until
// its row is committed (and it is in the shard's `filter`); its entry is queued in the index writer
// (ContentStore::index_writer_) from its append until a batch with it commits (a failed batch is
// retried). The pairs are spread over shards, each with its own lock, so that Puts, Gets and the
// writer's clean-up after a commit rarely wait for each other.
struct ContentStore::IndexState {
  struct Shard {
    Mutex mu;
    internal::LocationMap pending THEATER_GUARDED_BY(mu);
    // Committed pairs (that this instance knows).
    internal::KeyFilter filter THEATER_GUARDED_BY(mu);
    // Bumped whenever `filter` gains pairs.
    uint64_t filter_generation THEATER_GUARDED_BY(mu) = 0;
    std::condition_variable resolved;  // a reservation here was resolved
    // Puts waiting for another Put of theirs.
    size_t reservation_waiters THEATER_GUARDED_BY(mu) = 0;
  };
  static constexpr size_t kShards = 16;
  std::array<Shard, kShards> shards;
  // The digest's last byte: independent of the bits the maps and filters hash.
  Shard& ShardOf(const Sha256Digest& digest) { return shards[digest[31] % kShards]; }
  std::atomic<size_t> pending_count{0};  // pairs in the shards' pending maps
};

// Packs that other live instances append to, read as they grow, so that content another instance
// has acknowledged is found before that instance commits its index rows. All guarded by `mu`,
// which a catch-up holds throughout (one at a time).
struct ContentStore::ForeignState {
  struct Pack {
    std::shared_ptr<internal::PackFile> file;
    uint64_t scanned_to = 0;  // the records before this offset are in `entries` or indexed
  };
  Mutex mu;
  std::map<uint32_t, Pack> packs THEATER_GUARDED_BY(mu);
  // Every pack id met (own, foreign, unreadable).
  std::unordered_set<uint32_t> known THEATER_GUARDED_BY(mu);
  // Intact records not yet known to be indexed.
  internal::LocationMap entries THEATER_GUARDED_BY(mu);
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
  // Outputs, written by the committing caller before it publishes the commit (GroupCommit).
  Status status;
  bool changed = false;  // kCreateStore: created; kPut: new content stored; kRemoveLabel: removed
  int64_t new_key = 0;   // kCreateStore: the store's key

  // An op of `kind` on one store; the caller sets the inputs the kind reads.
  static WriteOp On(Kind kind, std::string_view store_id, int64_t store_key = 0) {
    WriteOp op;
    op.kind = kind;
    op.store_id = store_id;
    op.store_key = store_key;
    return op;
  }

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

}  // namespace theater::store
