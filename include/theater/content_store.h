// Theater: a WebAssembly actor runtime.
//
// ContentStore: the runtime's content-addressed stores (the `store` interface of wit/store.wit),
// persisted beside and in one SQLite database shared with other components (docs/store.md).
//
// A database holds any number of *stores*, each named by a lowercase UUID. A store holds
// immutable *content* named by the SHA-256 of its bytes (64 lowercase hex digits; storing the
// same bytes twice keeps one copy per store) and mutable *labels*: a label names one content hash
// and can be moved.
//
// Where bytes go. Small content (at most Options::inline_max_bytes) stored by Put() is appended
// to a *pack file* (`<db dir>/store-packs/NNNNNNNN.pack`) by the calling thread, one write per
// Put; its index row, (store, hash) -> (pack, offset, size), is committed to SQLite later by a
// background thread, many rows per transaction. Until then an in-memory *pending index* serves
// it, so every read sees every Put that has returned. Content stored together with a label
// (PutAtLabel, ReplaceContentAtLabel) is written inside the label's transaction, in the database,
// as everything small was before packs. Content larger than inline_max_bytes lives in a file of
// its own (`<db dir>/store-blobs/`), written and synced before the row that names it is
// committed. At Open, records appended to packs but never indexed (a crash) are found, verified
// and indexed; a torn last record is cut off.
//
// What a returned call guarantees (Options::durability; docs/store.md, "Durability"): a Put that
// returned survives a crash of the process in every mode; kBatched also keeps the index from
// ever naming pack bytes that are not on disk; kStrict makes the bytes durable before Put
// returns. A label never names content that a crash covered by the mode could lose. Label and
// store changes are committed before they return, as before. A call that fails changed nothing,
// with one exception: a kStrict Put whose fdatasync fails has appended its bytes, which stay
// readable (the failed sync also fails the index writer, see below: reopen to go on).
//
// Index commit failures are sticky: once the background commit of index rows fails (the disk is
// full, the database stays locked), every later write (Put, labels, stores) fails with that
// error, while every read (listings included) goes on being served, until a retry (every
// Options::index_retry_ms) commits them; or reopen, which indexes them from the packs.
//
// Thread-safety: every method may be called from any thread concurrently. Reads use a small pool
// of read connections and never wait for the writers; content just stored, and small content
// read from the database, is served from a bounded in-memory cache, and the places of recently
// stored or read pack records from a location cache. Several ContentStore instances (also in other
// processes) may share a database file: each appends to packs of its own (an exclusive flock on
// each), reads every instance's packs, and sees what another instance's Put has returned for by
// reading the tails of its packs.
//
// Ownership: the store owns its SQLite connections, its threads (index writer, checkpointer), its
// pack files and locks, its cache; Close() (or the destructor) commits the pending index, waits
// for calls in progress and releases everything; calls made after Close() fail. Destroy the store
// only once no call is in progress. Byte spans passed in are only read during the call; results
// are owned by the caller.
#pragma once

#include <array>
#include <atomic>
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

#include "theater/durability.h"
#include "theater/mutex.h"
#include "theater/status.h"
#include "theater/string_hash.h"

namespace theater {
template <typename Item>
class GroupCommit;  // src/common/group_commit.h
namespace sqlite {
class WalCheckpointer;  // src/common/wal_checkpointer.h
}  // namespace sqlite
}  // namespace theater

namespace theater::store {

namespace internal {
class ContentCache;   // src/store/content_cache.h
class KeyFilter;      // src/store/key_filter.h
class LocationCache;  // src/store/location_cache.h
class PackSet;        // src/store/pack_set.h
class PackFile;       // src/store/pack_set.h
struct PackLocation;
}  // namespace internal

// How hard the store works to keep what it has acknowledged across crashes
// (theater/durability.h, docs/store.md "Durability"). kNone: no fsync at all; kBatched: the
// index writer syncs packs before it commits rows naming them; kStrict: Put syncs its pack
// record before returning. Content files are synced before their rows commit unless kNone.
using theater::Durability;
using theater::DurabilityName;
using theater::ParseDurability;

// Validation of caller-supplied names; every ContentStore method applies these and fails with
// kInvalidArgument (a message that quotes the offending value, shortened and escaped) on the first
// one that does not hold. docs/store.md states the exact rules.
//
// A store id: 36 characters, 8-4-4-4-12 lowercase hex digits separated by '-' (the form NewUuid()
// produces; the version and variant bits are not checked).
Status ValidateStoreId(std::string_view id);
// A content hash: exactly 64 lowercase hex digits.
Status ValidateHash(std::string_view hash);
// A label: 1-255 bytes of valid UTF-8 (shortest form, no surrogates, at most U+10FFFF), no
// control character (bytes 0x00-0x1f and 0x7f), no leading or trailing whitespace (U+0020, U+0085,
// U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). Any other character,
// '/' included, is allowed: labels never touch the file system.
Status ValidateLabel(std::string_view label);

// A row of ListStores().
struct StoreInfo {
  std::string id;
  std::optional<std::string> owner;  // as given to CreateStore (e.g. the creating actor's id)
  uint64_t created_ms = 0;           // milliseconds since the Unix epoch

  friend bool operator==(const StoreInfo&, const StoreInfo&) = default;
};

class ContentStore {
 public:
  struct Options {
    Durability durability = Durability::kBatched;
    // Content of at most this many bytes is appended to pack files (or, stored together with a
    // label, written into the database); larger content goes to a file of its own. 256 KiB:
    // docs/store.md, "Where bytes live".
    size_t inline_max_bytes = 256 * 1024;
    // Larger content is refused with kResourceExhausted (checked before it is hashed).
    uint64_t max_content_bytes = uint64_t{1} << 30;
    // Where content files go; empty: `<directory of the database>/store-blobs`.
    std::filesystem::path blob_dir;
    // Where pack files go; empty: `<directory of the database>/store-packs`. Pack ids are kept
    // in the database, so a database must always be opened with the same pack directory.
    std::filesystem::path pack_dir;
    // A pack is closed and a new one started once the next record would take it past this size.
    uint64_t pack_max_bytes = uint64_t{256} << 20;
    // The index writer commits pending index rows once the oldest has waited this long, once
    // index_batch_max rows are pending, or as soon as a caller needs them committed (Flush,
    // Close). Longer delays mean fewer, larger commits: each commit rewrites every index page it
    // touches, and invalidates the page caches of the read connections (docs/store.md).
    int index_commit_delay_us = 20000;
    size_t index_batch_max = 16384;
    // Back-pressure: Put waits while this many index rows are pending (memory: about 150 bytes
    // each), i.e. while the index writer cannot keep up with the disk.
    size_t max_pending = 262144;
    // After a failed index commit the index writer tries again this often (the error is sticky
    // meanwhile; see the class comment).
    int index_retry_ms = 1000;
    int busy_timeout_ms = 10000;
    // Recently written and read content of at most cache_max_item_bytes is kept in memory, up to
    // cache_bytes in all (0: no cache), and Get() serves it from there.
    size_t cache_bytes = 32 << 20;
    size_t cache_max_item_bytes = 64 << 10;
    // Where the pack records of this many recently stored or read pieces are (16 bytes each;
    // 0: none), so that Get reads them without an index lookup.
    size_t location_cache_entries = size_t{1} << 20;
    // Read connections kept open (at least 1); more concurrent readers wait for one.
    size_t max_readers = 4;
    // Synchronous writes (labels, stores, content with a label, rows of large content, and the
    // index writer's batches) committed in one transaction at most (at least 1), and inline bytes
    // per transaction at most (a single larger write still commits alone).
    size_t max_batch = 1024;
    size_t max_batch_bytes = 16 << 20;
    // Group commit's gathering window for those writes, in microseconds. A committing caller that
    // has seen concurrent writers (the previous batch held several writes, or writes arrived
    // while it was committed) waits up to this long for as many writes as the previous batch held
    // (plus one) before it commits; a lone writer never waits. -1: 200 in kStrict, 0 otherwise.
    int commit_window_us = -1;
    // WAL checkpoints. Committing only appends to the write-ahead log; copying the log back into
    // the database (and, unless kNone, syncing both) is a checkpoint. A background thread runs
    // one whenever a commit leaves more than checkpoint_wal_pages pages in the log, so callers do
    // not wait for those syncs. When the log still grows past max_wal_pages (the disk cannot keep
    // up), the committing caller waits for a complete checkpoint before returning: writers slow
    // down to the disk's pace instead of the log growing without bound (sqlite::WalCheckpointer,
    // which ChainStore uses too, with thresholds of its own).
    int checkpoint_wal_pages = 2048;
    int max_wal_pages = 8000;
    // PRAGMA max_page_count for the writing connection when > 0: caps the database size so that
    // commits fail with SQLITE_FULL. For tests of the failure paths; 0 in production.
    int64_t max_page_count = 0;
  };

  struct Stats {
    uint64_t puts = 0;          // successful Put/PutAtLabel/ReplaceContentAtLabel calls
    uint64_t new_content = 0;   // of which stored new content (the rest found it already stored)
    uint64_t file_content = 0;  // new content written to a file
    uint64_t pack_content = 0;  // new content appended to a pack
    uint64_t writes = 0;        // writes committed (index rows, label changes, stores, rows of
                                // content stored with a label or in a file)
    uint64_t transactions = 0;  // transactions committed for them (writes / transactions = the
                                // mean group-commit batch)
    uint64_t failed_transactions = 0;  // transactions that failed and were rolled back
    uint64_t index_commits = 0;        // transactions of the index writer
    uint64_t index_rows = 0;           // index rows they committed
    uint64_t pack_bytes = 0;           // bytes appended to packs (record headers included)
    uint64_t packs_created = 0;
    uint64_t recovered_records = 0;  // unindexed pack records found intact and indexed (Open,
                                     // or a dead instance's packs)
    uint64_t damaged_records = 0;    // damaged records or regions skipped, never indexed
    uint64_t truncated_bytes = 0;    // torn pack tails cut off
    uint64_t orphans_removed = 0;    // temporary and unreferenced files deleted by Open()
    uint64_t gets = 0;               // successful Get calls
    uint64_t cache_hits = 0;         // of which served from the cache
    uint64_t location_hits = 0;      // of which read from a pack found by the location cache
  };

  // Opens (creating as needed) the database at `db_path` and the store tables in it (migrating
  // tables of an older schema in place), indexes pack records a crash left unindexed, and removes
  // orphaned temporary files from the blob and pack directories (and content files no row names)
  // when no other instance has them open. Fails with kFailedPrecondition when the tables have a
  // newer schema version than this build knows, with the SQLite message for any SQLite error.
  [[nodiscard]] static Result<std::unique_ptr<ContentStore>> Open(
      const std::filesystem::path& db_path, Options options);
  [[nodiscard]] static Result<std::unique_ptr<ContentStore>> Open(
      const std::filesystem::path& db_path) {
    return Open(db_path, Options{});
  }

  ContentStore(const ContentStore&) = delete;
  ContentStore& operator=(const ContentStore&) = delete;
  ~ContentStore();

  // --- Stores -----------------------------------------------------------------------------------

  // Creates a new, empty store with a fresh id and returns the id. `owner` (e.g. the id of the
  // actor creating it) is recorded as given, for access rules.
  [[nodiscard]] Result<std::string> CreateStore(std::optional<std::string_view> owner = {});
  // Creates a store with a chosen id (the runtime's own stores); kAlreadyExists when it exists.
  [[nodiscard]] Status CreateStoreWithId(std::string_view store_id,
                                         std::optional<std::string_view> owner = {});
  // Creates the store unless it exists (then its owner is left as it is). Idempotent.
  [[nodiscard]] Status EnsureStore(std::string_view store_id,
                                   std::optional<std::string_view> owner = {});
  [[nodiscard]] Result<bool> StoreExists(std::string_view store_id);
  // The owner recorded when the store was created (none when none was given).
  [[nodiscard]] Result<std::optional<std::string>> StoreOwner(std::string_view store_id);
  // Every store, sorted by id.
  [[nodiscard]] Result<std::vector<StoreInfo>> ListStores();

  // Every method below fails with kInvalidArgument for a malformed store id, hash or label, and
  // with kNotFound ("store <id> does not exist") for a well-formed id of a store never created.

  // --- Content ----------------------------------------------------------------------------------

  // Stores `content` and returns its hash. Storing bytes the store already holds stores nothing
  // and returns the same hash. kResourceExhausted when larger than Options::max_content_bytes.
  // Small content is appended to a pack and readable by every call from the moment Put returns;
  // its index row is committed in the background (see the class comment).
  [[nodiscard]] Result<std::string> Put(std::string_view store_id,
                                        std::span<const uint8_t> content);
  // Put of content whose SHA-256 the caller has just computed from these same bytes (the runtime
  // does, to record a large byte list in a chain by digest): skips hashing them again. A digest
  // of other bytes would file the content under a wrong name, so pass only one computed from
  // `content` itself.
  [[nodiscard]] Result<std::string> PutHashed(std::string_view store_id,
                                              std::span<const uint8_t> content,
                                              const std::array<uint8_t, 32>& sha256);
  // The content with `hash`; kNotFound when the store does not hold it. Content read from a pack
  // is checked against its SHA-256 (kValidationError when damaged: wrong bytes are never
  // returned); content read from a file is checked to have its recorded size (not re-hashed):
  // kValidationError otherwise, kIOError when the file is missing.
  [[nodiscard]] Result<std::vector<uint8_t>> Get(std::string_view store_id, std::string_view hash);
  [[nodiscard]] Result<bool> Exists(std::string_view store_id, std::string_view hash);
  // The size in bytes of the content with `hash`; kNotFound when the store does not hold it.
  [[nodiscard]] Result<uint64_t> ContentSize(std::string_view store_id, std::string_view hash);
  // The hash of every piece of content in the store, sorted.
  [[nodiscard]] Result<std::vector<std::string>> ListContent(std::string_view store_id);
  // The sum of the sizes of the store's content, each piece counted once.
  [[nodiscard]] Result<uint64_t> TotalSize(std::string_view store_id);

  // --- Labels -----------------------------------------------------------------------------------

  // Points `label` at `hash`, creating the label or moving it; kNotFound when the store does not
  // hold the content.
  [[nodiscard]] Status SetLabel(std::string_view store_id, std::string_view label,
                                std::string_view hash);
  // The hash `label` points at; none when the label does not exist.
  [[nodiscard]] Result<std::optional<std::string>> GetLabel(std::string_view store_id,
                                                            std::string_view label);
  // Deletes `label` (the content stays). Deleting a label that does not exist is not an error.
  [[nodiscard]] Status RemoveLabel(std::string_view store_id, std::string_view label);
  // Deletes `label` only if it points at `hash` (compare-and-delete); returns whether it did.
  // A label pointing elsewhere or missing is left alone, and that is not an error.
  [[nodiscard]] Result<bool> RemoveLabelIf(std::string_view store_id, std::string_view label,
                                           std::string_view hash);
  // Stores `content` and points `label` at it, in one transaction. Returns the hash.
  [[nodiscard]] Result<std::string> PutAtLabel(std::string_view store_id, std::string_view label,
                                               std::span<const uint8_t> content);
  // Stores `content` and moves the existing `label` to it, in one transaction; kNotFound (and
  // nothing stored) when the label does not exist. Returns the hash.
  [[nodiscard]] Result<std::string> ReplaceContentAtLabel(std::string_view store_id,
                                                          std::string_view label,
                                                          std::span<const uint8_t> content);
  // Moves the existing `label` to `hash`; kNotFound when the label does not exist or the store
  // does not hold the content.
  [[nodiscard]] Status ReplaceAtLabel(std::string_view store_id, std::string_view label,
                                      std::string_view hash);
  // Every label of the store, sorted (bytewise).
  [[nodiscard]] Result<std::vector<std::string>> ListLabels(std::string_view store_id);

  // --- The store itself -------------------------------------------------------------------------

  // Waits until the index row of every Put that returned before the call is committed to the
  // database. Not needed for correctness (reads see pending content, and Open indexes what a
  // crash left behind); for tests, benchmarks, and callers that copy the database file. Fails
  // with the sticky index error, or kFailedPrecondition once closed.
  [[nodiscard]] Status Flush();

  Stats stats() const;
  // The options given to Open(), with defaults resolved (e.g. commit_window_us).
  const Options& options() const { return options_; }
  const std::filesystem::path& blob_dir() const { return blob_dir_; }
  const std::filesystem::path& pack_dir() const { return pack_dir_; }

  // Commits the pending index, waits for calls in progress, then closes the database. Later
  // calls fail with kFailedPrecondition. Idempotent.
  void Close();

 private:
  using Digest = std::array<uint8_t, 32>;
  // What a write does with a label besides its main effect.
  enum class LabelMode {
    kNone,     // nothing
    kSet,      // create or move the label
    kReplace,  // move the label, which must exist (kNotFound otherwise, and nothing changes)
  };
  struct WriteOp;       // a queued synchronous write (src/store/content_store_internal.h)
  struct Reader;        // a read connection and its prepared statements
  struct Writer;        // the write connection and its prepared statements
  class ReaderLease;    // a Reader borrowed from the pool
  struct PendingEntry;  // a pack record whose index row is not committed yet
  struct IndexState;    // the pending index
  struct ForeignState;  // packs other live instances append to, and their unindexed records
  // Where a piece of content is, as the lookups below find it.
  struct Found;

  explicit ContentStore(Options options);
  Status Init(const std::filesystem::path& db_path);
  Status CleanBlobDir(Reader& reader);
  Status CleanPackDir();
  Status LoadFilter();
  Status RecoverPacks();
  // The pack set, or null once closed. Calls in progress keep it (and its descriptors) alive.
  std::shared_ptr<internal::PackSet> Packs() const;

  // The integer key of a store (cached; stores are never deleted), or kNotFound.
  Result<int64_t> StoreKey(std::string_view store_id);
  Result<ReaderLease> AcquireReader();
  void ReleaseReader(std::unique_ptr<Reader> reader);

  // Queues `op` and returns once it is committed (or failed); see the class comment.
  Status Write(WriteOp& op);
  struct BatchOutcome {
    uint64_t committed = 0;  // transactions committed
    uint64_t failed = 0;     // transactions rolled back
  };
  // The synchronous writes' commit (writes_): each write's outcome goes to its op.
  Status CommitWrites(std::span<WriteOp*> batch);
  BatchOutcome CommitBatch(std::span<WriteOp* const> batch);
  Status RunTransaction(std::span<WriteOp* const> ops);
  Status Apply(WriteOp& op);
  // Inside Apply: inserts the index row of content found in a pack but not yet in the database.
  Status InsertPackRow(int64_t store_key, const Digest& digest,
                       const internal::PackLocation& location);

  Status CreateStoreImpl(std::string_view store_id, std::optional<std::string_view> owner,
                         bool must_be_new);
  // Put, PutAtLabel and ReplaceContentAtLabel; `label_mode` as WriteOp's.
  // `known_digest`: the content's SHA-256 when the caller has it (PutHashed), else computed here.
  Result<std::string> PutImpl(std::string_view store_id, std::string_view label,
                              LabelMode label_mode, std::span<const uint8_t> content,
                              const Digest* known_digest = nullptr);
  // Put of small content: the pack path. Returns whether it appended the bytes (false: the store
  // held them already).
  Result<bool> PutInPack(std::string_view store_id, int64_t key, const Digest& digest,
                         std::span<const uint8_t> content);
  // RemoveLabel and (with `hash`) RemoveLabelIf: whether a label was removed.
  Result<bool> RemoveLabelImpl(std::string_view store_id, std::string_view label,
                               std::optional<std::string_view> hash);
  // SetLabel and ReplaceAtLabel.
  Status LabelWrite(std::string_view store_id, std::string_view label, std::string_view hash,
                    LabelMode label_mode);

  // The pending index and the index writer.
  // The sticky index error (OK when there is none), ready to return from a write.
  Status IndexError();
  void EnqueuePending(int64_t store_key, const Digest& digest,
                      const internal::PackLocation& location);
  std::optional<internal::PackLocation> FindPending(int64_t store_key, const Digest& digest);
  // The index writer's commit (index_writer_): the rows, then the entries leave the pending
  // index.
  Status CommitIndex(std::span<PendingEntry> entries);
  void ForgetCommitted(std::span<const PendingEntry> entries);
  // Makes a pack record durable as the durability mode asks before a label may name it.
  Status EnsureSynced(const internal::PackLocation& location);

  // Other instances' packs: reads what they appended since the last call, adopts (recovers and
  // indexes) the packs of instances that are gone. Cheap when nothing changed.
  Status CatchUpForeign();
  std::optional<internal::PackLocation> FindForeign(int64_t store_key, const Digest& digest);
  // The store's content (digest -> size) whose rows may not be committed: this instance's
  // pending index and what other instances appended (ListContent, TotalSize).
  std::map<Digest, uint64_t> Unindexed(int64_t key);
  // Scans an owned pack from `from` (recovery mode), cutting off a torn tail, and queues its
  // intact records for indexing. Returns where appends to it may continue.
  Result<uint64_t> RecoverPack(internal::PackFile& pack, uint64_t from);
  // Where the content is: this instance's pending index, else the database, else (after catching
  // up with them) other instances' packs. `with_bytes`: also read content held in the database.
  Result<Found> Locate(int64_t key, const Digest& digest, bool with_bytes);

  std::filesystem::path BlobPath(const Digest& digest) const;
  Status WriteBlobFile(const Digest& digest, std::span<const uint8_t> content);

  const Options options_;
  std::filesystem::path blob_dir_;
  std::filesystem::path pack_dir_;
  std::filesystem::path db_path_;
  int lock_fd_ = -1;  // the advisory lock on the blob directory (shared while open)

  // The synchronous write path: group commit by the waiting callers (common/group_commit.h),
  // on writer_, used only by the committing caller.
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<GroupCommit<WriteOp*>> writes_;
  mutable Mutex stats_mu_;
  Stats stats_ THEATER_GUARDED_BY(stats_mu_);  // the counters of synchronous writes
  std::unique_ptr<internal::ContentCache> cache_;
  std::unique_ptr<internal::LocationCache> locations_;
  std::atomic<uint64_t> location_hits_{0};
  std::atomic<bool> closing_{false};  // set first thing in Close(): the cache serves no more
  std::atomic<uint64_t> gets_{0};
  std::atomic<uint64_t> cache_hits_{0};
  std::atomic<uint64_t> pack_puts_{0};     // Put calls served by the pack path
  std::atomic<uint64_t> pack_content_{0};  // of which appended new content
  std::atomic<uint64_t> recovered_{0};
  std::atomic<uint64_t> damaged_{0};
  std::atomic<uint64_t> truncated_bytes_{0};

  // Small content: the packs, the check-then-append lock, the pending index and its writer.
  std::shared_ptr<internal::PackSet> packs_ THEATER_GUARDED_BY(packs_mu_);  // null once closed
  mutable Mutex packs_mu_;
  std::unique_ptr<IndexState> index_;
  // The index writer: a group commit with a thread of its own (common/group_commit.h).
  std::unique_ptr<GroupCommit<PendingEntry>> index_writer_;
  std::unique_ptr<ForeignState> foreign_;

  // Checkpoints writer_'s log in the background (common/wal_checkpointer.h).
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;

  // The read connections not in use, and how many exist (in use or not).
  Mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Reader>> idle_readers_ THEATER_GUARDED_BY(readers_mu_);
  size_t open_readers_ THEATER_GUARDED_BY(readers_mu_) = 0;
  bool closed_ THEATER_GUARDED_BY(readers_mu_) = false;

  // Store id -> integer key, for stores known to exist. Never shrinks: stores are not deleted
  // (a future delete must erase its entry here).
  SharedMutex keys_mu_;
  // Looked up by string_view without building a string.
  std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>> keys_
      THEATER_GUARDED_BY(keys_mu_);
};

}  // namespace theater::store
