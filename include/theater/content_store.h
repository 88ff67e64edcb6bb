// Theater: a WebAssembly actor runtime.
//
// ContentStore: the runtime's content-addressed stores (the `store` interface of wit/store.wit),
// persisted in one SQLite database shared with other components (docs/store.md).
//
// A database holds any number of *stores*, each named by a lowercase UUID. A store holds
// immutable *content* named by the SHA-256 of its bytes (64 lowercase hex digits; storing the
// same bytes twice keeps one copy per store) and mutable *labels*: a label names one content hash
// and can be moved. Small content lives in a BLOB column of the database; content larger than
// Options::inline_max_bytes lives in a file of its own beside it (`<db dir>/store-blobs/`), written
// and synced before the row that names it is committed, so a committed row never names a missing
// or partial file.
//
// Every write waits until its transaction is committed and reports that commit's outcome: a call
// that returns OK is committed (with the durability of Options::durability), a call that fails
// changed nothing. Concurrent writes are committed together (group commit): the first waiting
// caller commits every write queued so far in one transaction while the others wait for it. File
// content is written and synced by the calling thread before it queues its (small) row, so a large
// Put never holds up other callers' commits while its bytes are written. A background thread
// copies the write-ahead log back into the database (checkpoints), so that commits do not wait
// for those syncs.
//
// Thread-safety: every method may be called from any thread concurrently. Reads use a small pool
// of read connections and never wait for the writer (SQLite WAL mode); recently written or read
// small content is served from a bounded in-memory cache. Several ContentStore instances (also in
// other processes) may share a database file; SQLite serialises their writes
// (Options::busy_timeout_ms) and an advisory lock on the blob directory keeps one instance's
// start-up cleanup from touching files another instance is writing.
//
// Ownership: the store owns its SQLite connections, its checkpoint thread, its cache and its lock
// on the blob directory; Close() (or the destructor) waits for queued writes and borrowed
// connections and releases them; calls made after Close() fail. Destroy the store only once no
// call is in progress. Byte spans passed in are only read during the call; results are owned by
// the caller.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "theater/durability.h"
#include "theater/status.h"

struct sqlite3;

namespace theater::store {

namespace internal {
class ContentCache;  // src/store/content_cache.h
}  // namespace internal

// How hard the store works to keep committed writes across crashes (theater/durability.h). With
// kNone content files are not synced either; otherwise they are synced before their rows commit.
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
    // Content of at most this many bytes is stored in the database, larger content in a file.
    // 256 KiB measured best on a 2-core VM (docs/store.md, "Where bytes live").
    size_t inline_max_bytes = 256 * 1024;
    // Larger content is refused with kResourceExhausted (checked before it is hashed).
    uint64_t max_content_bytes = uint64_t{1} << 30;
    // Where content files go; empty: `<directory of the database>/store-blobs`.
    std::filesystem::path blob_dir;
    int busy_timeout_ms = 10000;
    // Recently written and read content of at most cache_max_item_bytes is kept in memory, up to
    // cache_bytes in all (0: no cache), and Get() serves it from there.
    size_t cache_bytes = 32 << 20;
    size_t cache_max_item_bytes = 64 << 10;
    // Read connections kept open (at least 1); more concurrent readers wait for one.
    size_t max_readers = 4;
    // Writes committed in one transaction at most (at least 1), and inline bytes per transaction
    // at most (a single larger write still commits alone).
    size_t max_batch = 1024;
    size_t max_batch_bytes = 16 << 20;
    // Group commit's gathering window, in microseconds. A committing caller that has seen
    // concurrent writers (the previous batch held several writes, or writes arrived while it was
    // committed) waits up to this long for as many writes as the previous batch held (plus one)
    // before it commits; a lone writer never waits. Worth it when a commit costs much more than
    // the callers' work between writes (kStrict: a sync per commit; +9% with 2 writers), not
    // otherwise (kBatched: -1%, kNone: -19% with 2 writers; docs/store.md). -1: 200 in kStrict,
    // 0 (commit whatever is queued at once) otherwise.
    int commit_window_us = -1;
    // WAL checkpoints. Committing only appends to the write-ahead log; copying the log back into
    // the database (and, unless kNone, syncing both) is a checkpoint. A background thread runs
    // one whenever a commit leaves more than checkpoint_wal_pages pages in the log, so callers do
    // not wait for those syncs. When the log still grows past max_wal_pages (the disk cannot keep
    // up), the committing caller waits for a complete checkpoint before returning: writers slow
    // down to the disk's pace instead of the log growing without bound. Both stay below
    // ChainStore's own threshold (8192 pages), so its writer rarely checkpoints for us.
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
    uint64_t writes = 0;        // write operations committed (puts, label changes, stores)
    uint64_t transactions = 0;  // transactions committed for them (writes / transactions = the
                                // mean group-commit batch)
    uint64_t failed_transactions = 0;  // transactions that failed and were rolled back
    uint64_t orphans_removed = 0;      // temporary and unreferenced files deleted by Open()
    uint64_t gets = 0;                 // successful Get calls
    uint64_t cache_hits = 0;           // of which served from the cache
  };

  // Opens (creating as needed) the database at `db_path` and the store tables in it, and removes
  // orphaned temporary files from the blob directory (and content files no row names) when no
  // other instance has the directory open. Fails with kFailedPrecondition when the tables have a
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
  [[nodiscard]] Result<std::string> Put(std::string_view store_id,
                                        std::span<const uint8_t> content);
  // The content with `hash`; kNotFound when the store does not hold it. Content read from a file
  // is checked to have its recorded size (not re-hashed): kValidationError otherwise, kIOError
  // when the file is missing.
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

  Stats stats() const;
  // The options given to Open(), with defaults resolved (e.g. commit_window_us).
  const Options& options() const { return options_; }
  const std::filesystem::path& blob_dir() const { return blob_dir_; }

  // Waits for calls in progress, then closes the database. Later calls fail with
  // kFailedPrecondition. Idempotent.
  void Close();

 private:
  using Digest = std::array<uint8_t, 32>;
  // What a write does with a label besides its main effect.
  enum class LabelMode {
    kNone,     // nothing
    kSet,      // create or move the label
    kReplace,  // move the label, which must exist (kNotFound otherwise, and nothing changes)
  };
  struct WriteOp;       // a queued write (content_store.cc)
  struct Reader;        // a read connection and its prepared statements
  struct Checkpointer;  // the background checkpointer's connection
  struct Writer;        // the write connection and its prepared statements
  class ReaderLease;    // a Reader borrowed from the pool

  explicit ContentStore(Options options);
  Status Init(const std::filesystem::path& db_path);
  Status CleanBlobDir(Reader& reader);

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
  BatchOutcome CommitBatch(std::span<WriteOp* const> batch);
  Status RunTransaction(std::span<WriteOp* const> ops);
  Status Apply(WriteOp& op);

  Status CreateStoreImpl(std::string_view store_id, std::optional<std::string_view> owner,
                         bool must_be_new);
  // Put, PutAtLabel and ReplaceContentAtLabel; `label_mode` as WriteOp's.
  Result<std::string> PutImpl(std::string_view store_id, std::string_view label,
                              LabelMode label_mode, std::span<const uint8_t> content);
  // SetLabel and ReplaceAtLabel.
  Status LabelWrite(std::string_view store_id, std::string_view label, std::string_view hash,
                    LabelMode label_mode);
  // Called by SQLite after each commit of writer_ with the number of pages in the log.
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int pages);
  // After a batch, by the committing caller: wakes the checkpointer, or checkpoints itself.
  void MaybeCheckpoint();
  void CheckpointLoop();
  std::filesystem::path BlobPath(const Digest& digest) const;
  Status WriteBlobFile(const Digest& digest, std::span<const uint8_t> content);

  const Options options_;
  std::filesystem::path blob_dir_;
  std::filesystem::path db_path_;
  int lock_fd_ = -1;  // the advisory lock on the blob directory (shared while open)

  // The write path (group commit): write_queue_ holds writes not yet taken by a committer;
  // writer_active_ is true while some caller is committing a batch with writer_.
  mutable std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::vector<WriteOp*> write_queue_;
  std::vector<WriteOp*> batch_;  // the batch being committed; only the committing caller uses it
  bool writer_active_ = false;
  bool write_closed_ = false;
  bool gathering_ = false;              // the committing caller waits on gather_cv_
  std::condition_variable gather_cv_;   // a write was queued while gathering_
  size_t last_batch_ = 1;               // writes in the previous batch
  bool arrived_during_commit_ = false;  // writes were queued while it was committed
  std::unique_ptr<Writer> writer_;      // used only by the caller that set writer_active_
  Stats stats_;                         // guarded by write_mu_
  std::atomic<int> wal_pages_{0};       // pages in the log after writer_'s last commit
  std::unique_ptr<internal::ContentCache> cache_;
  std::atomic<bool> closing_{false};  // set first thing in Close(): the cache serves no more
  std::atomic<uint64_t> gets_{0};
  std::atomic<uint64_t> cache_hits_{0};

  // The background checkpointer: its thread, its own connection, and its wake-up.
  std::unique_ptr<Checkpointer> checkpointer_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;  // guarded by checkpoint_mu_
  bool checkpoint_stop_ = false;    // guarded by checkpoint_mu_
  std::thread checkpoint_thread_;

  // The read connections not in use, and how many exist (in use or not).
  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Reader>> idle_readers_;
  size_t open_readers_ = 0;
  bool closed_ = false;

  // Store id -> integer key, for stores known to exist. Never shrinks: stores are not deleted
  // (a future delete must erase its entry here).
  std::shared_mutex keys_mu_;
  struct IdHash {
    using is_transparent = void;  // look up by string_view without building a string
    size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  std::unordered_map<std::string, int64_t, IdHash, std::equal_to<>> keys_;
};

}  // namespace theater::store
