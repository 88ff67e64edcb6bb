// Theater: a WebAssembly actor runtime.
//
// ContentStore's content and labels: Put, Get and the queries over a store's content; labels
// and their removal.
#include "store/content_store_internal.h"

namespace theater::store {

// The helpers were file-local when the store was one file (content_store_internal.h).
using namespace content_internal;

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
    if (index_writer_->failing()) return IndexError();
    if (closing_.load(std::memory_order_acquire)) {
      return FailedPrecondition("content store is closed");
    }
    if (index_->pending_count.load(std::memory_order_relaxed) >= options_.max_pending) {
      // Back-pressure: the index writer cannot keep up with the disk.
      index_writer_->AwaitProgress(std::chrono::milliseconds(10));
      continue;
    }
    {
      MutexLock lock(shard.mu);
      auto it = shard.pending.find(pair);
      if (it != shard.pending.end()) {
        if (it->second.pack == kReserved) {
          // Another Put of the same bytes is appending them: wait for its outcome.
          shard.reservation_waiters++;
          lock.Wait(shard.resolved);
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
        MutexLock lock(shard.mu);
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
  WriteOp op = WriteOp::On(WriteOp::Kind::kPut, store_id, key);
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
    MutexLock lock(shard.mu);
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
    MutexLock lock(shard.mu);
    for (const auto& [pair, location] : shard.pending) {
      if (pair.store_key == key && location.pack != kReserved) {
        out.emplace(pair.digest, location.size);
      }
    }
  }
  MutexLock lock(foreign_->mu);
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
  WriteOp op = WriteOp::On(WriteOp::Kind::kLabel, store_id, key);
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
  return RemoveLabelImpl(store_id, label, std::nullopt).status();
}

Result<bool> ContentStore::RemoveLabelIf(std::string_view store_id, std::string_view label,
                                         std::string_view hash) {
  return RemoveLabelImpl(store_id, label, hash);
}

Result<bool> ContentStore::RemoveLabelImpl(std::string_view store_id, std::string_view label,
                                           std::optional<std::string_view> hash) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_RETURN_IF_ERROR(ValidateLabel(label));
  if (hash) THEATER_RETURN_IF_ERROR(ValidateHash(*hash));
  THEATER_ASSIGN_OR_RETURN(int64_t key, StoreKey(store_id));
  THEATER_RETURN_IF_ERROR(IndexError());
  WriteOp op = WriteOp::On(WriteOp::Kind::kRemoveLabel, store_id, key);
  op.label = label;
  if (hash) {
    op.compare = true;
    op.digest = ParseDigest(*hash);
  }
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
