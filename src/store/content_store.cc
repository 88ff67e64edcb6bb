// Theater: a WebAssembly actor runtime.
//
// ContentStore (include/theater/content_store.h, docs/store.md): content-addressed stores, small
// content appended to pack files (src/store/pack_set.h) and indexed in SQLite by a background
// writer (index_writer_, CommitIndex(), content_store_index.cc); labels, stores, content stored
// with a label and rows of large content are committed by whichever waiting caller finds the
// write connection idle (writes_, Write(), content_store_write.cc), both common/group_commit.h; reads borrow a connection from a small
// pool (AcquireReader()). This file: the schema, opening and closing, the reader pool,
// validation and the shared helpers (content_store_internal.h).
#include "store/content_store_internal.h"

namespace theater::store {

// The helpers were file-local when the store was one file (content_store_internal.h).
using namespace content_internal;
namespace {

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

}  // namespace

namespace content_internal {

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
    digest[i] =
        static_cast<uint8_t>(HexDigitValue(hash[2 * i]) << 4 | HexDigitValue(hash[2 * i + 1]));
  }
  return digest;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}


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

}  // namespace content_internal

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
      return InvalidArgument("invalid label " + Quote(label) + ": control character " +
                             HexNumber(cp, 2) + " at byte " + std::to_string(i));
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
  // 8 KiB pages and WAL, as ChainStore sets them (whichever opens a new database first sets the
  // page size; it is fixed from then on). WAL lets the read connections run beside the writer.
  sqlite::ConnectionSettings settings;
  settings.durability = options_.durability;
  settings.busy_timeout_ms = options_.busy_timeout_ms;
  settings.cache_kib = 32768;
  settings.max_page_count = options_.max_page_count;
  THEATER_RETURN_IF_ERROR(sqlite::OpenConfigured(writer->db, db_path, settings));

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
  sqlite::WalCheckpointer::Options checkpoints;
  checkpoints.checkpoint_pages = options_.checkpoint_wal_pages;
  checkpoints.max_pages = options_.max_wal_pages;
  checkpoints.thread_name = "store-ckpt";
  THEATER_ASSIGN_OR_RETURN(checkpointer_,
                           sqlite::WalCheckpointer::Start(db_path, writer->db, settings, checkpoints));
  writer_ = std::move(writer);
  GroupCommitOptions writes;
  writes.name = "content store";
  writes.item_noun = "writes";
  writes.max_batch = options_.max_batch;
  writes.max_batch_bytes = options_.max_batch_bytes;
  writes.waited_window = std::chrono::microseconds(options_.commit_window_us);
  writes.own_thread = false;
  writes_ = std::make_unique<GroupCommit<WriteOp*>>(
      writes, [this](std::span<WriteOp*> batch) { return CommitWrites(batch); },
      [](WriteOp* const& op) { return op->data.size(); });

  internal::PackSet::Options pack_options;
  pack_options.durability = options_.durability;
  pack_options.max_pack_bytes = options_.pack_max_bytes;
  // In kStrict every Put waits for an fdatasync of its pack: concurrent Puts should share one,
  // so they append to the same pack (the append itself is short next to the sync).
  pack_options.max_active = options_.durability == Durability::kStrict ? 1 : 4;
  THEATER_ASSIGN_OR_RETURN(std::unique_ptr<internal::PackSet> packs,
                           internal::PackSet::Open(pack_dir_, pack_options));
  {
    MutexLock lock(packs_mu_);
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
  GroupCommitOptions index;
  index.name = "content store";
  index.item_noun = "index rows of pack records";
  index.max_batch = options_.index_batch_max;
  index.hold = std::chrono::microseconds(options_.index_commit_delay_us);
  index.retry_after = std::chrono::milliseconds(options_.index_retry_ms);
  index.thread_name = "store-index";
  index_writer_ = std::make_unique<GroupCommit<PendingEntry>>(
      index, [this](std::span<PendingEntry> batch) { return CommitIndex(batch); });
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
  MutexLock lock(stats_mu_);
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
  MutexLock lock(stats_mu_);
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
    MutexLock lock(shard.mu);
    shard.filter.Insert(internal::KeyFilter::Fingerprint(keys.Int(0), digest));
  }
  return Status();
}

Result<ContentStore::ReaderLease> ContentStore::AcquireReader() {
  MutexLock lock(readers_mu_);
  for (;;) {
    if (closed_) return FailedPrecondition("content store is closed");
    if (!idle_readers_.empty()) {
      std::unique_ptr<Reader> reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(this, std::move(reader));
    }
    if (open_readers_ < options_.max_readers) break;
    lock.Wait(readers_cv_);
  }
  ++open_readers_;
  lock.Unlock();
  // Opened outside the lock: opening reads the schema.
  auto reader = std::make_unique<Reader>();
  Status status = [&]() -> Status {
    THEATER_RETURN_IF_ERROR(reader->db.Open(db_path_, options_.busy_timeout_ms));
    // query_only: a read connection must never write, whatever a bug asks of it.
    THEATER_RETURN_IF_ERROR(reader->db.Exec("PRAGMA query_only=1; PRAGMA cache_size=-4096;"));
    return reader->Prepare();
  }();
  if (!status.ok()) {
    lock.Lock();
    --open_readers_;
    readers_cv_.notify_all();
    return status.WithContext("opening a read connection");
  }
  return ReaderLease(this, std::move(reader));
}

void ContentStore::ReleaseReader(std::unique_ptr<Reader> reader) {
  MutexLock lock(readers_mu_);
  idle_readers_.push_back(std::move(reader));
  // Close() waits for every reader, AcquireReader() for any: wake both kinds.
  readers_cv_.notify_all();
}

void ContentStore::Close() {
  closing_.store(true);
  // The index writer first: it commits what is pending (through the write path below), unless
  // it is failing, in which case Open() will index those records from the packs.
  if (index_writer_ != nullptr) index_writer_->Close().IgnoreError();
  // Then the write path: the writes in progress finish; later ones fail.
  if (writes_ != nullptr) writes_->Close().IgnoreError();
  checkpointer_.reset();  // before the connection it hooks
  writer_.reset();
  {
    MutexLock lock(readers_mu_);
    closed_ = true;
    readers_cv_.notify_all();  // acquirers waiting for a connection fail now
    lock.Wait(readers_cv_, [&]() THEATER_REQUIRES(readers_mu_) {
      return idle_readers_.size() == open_readers_;
    });
    idle_readers_.clear();
    open_readers_ = 0;
  }
  {
    MutexLock lock(foreign_->mu);
    foreign_->packs.clear();
    foreign_->entries.clear();
  }
  {
    // The last holder closes the descriptors, which releases the packs' locks.
    MutexLock lock(packs_mu_);
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
    MutexLock lock(stats_mu_);
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
  if (index_writer_ != nullptr) {
    const GroupCommit<PendingEntry>::Stats index = index_writer_->stats();
    stats.index_commits = index.batches;
    stats.index_rows = index.committed;
  }
  if (std::shared_ptr<internal::PackSet> packs = Packs()) {
    stats.pack_bytes = packs->appended_bytes();
    stats.packs_created = packs->packs_created();
  }
  return stats;
}

std::shared_ptr<internal::PackSet> ContentStore::Packs() const {
  MutexLock lock(packs_mu_);
  return packs_;
}

}  // namespace theater::store
