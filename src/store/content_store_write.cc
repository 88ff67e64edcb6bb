// Theater: a WebAssembly actor runtime.
//
// ContentStore's writing (docs/store.md): the group commit of labels, stores, labelled content
// and rows of large content by whichever waiting caller finds the write connection idle
// (common/group_commit.h), content files; and the stores themselves.
#include "store/content_store_internal.h"

namespace theater::store {

// The helpers were file-local when the store was one file (content_store_internal.h).
using namespace content_internal;

// ---------------------------------------------------------------------------------------------
// Writing

Status ContentStore::Write(WriteOp& op) {
  // Every writer waits for its own write, and whichever waiter finds nobody committing commits
  // the oldest queued writes (common/group_commit.h: no thread hand-off per write).
  THEATER_ASSIGN_OR_RETURN(const uint64_t ticket,
                           writes_->Enqueue([&](WriteOp*& slot) { slot = &op; }));
  THEATER_RETURN_IF_ERROR(writes_->WaitCommitted(ticket));
  return op.status;
}

Status ContentStore::CommitWrites(std::span<WriteOp*> batch) {
  const BatchOutcome outcome = CommitBatch(batch);
  // Still holding the write path: the checkpointer may checkpoint here, with no commit running.
  checkpointer_->AfterCommit();
  MutexLock lock(stats_mu_);
  stats_.transactions += outcome.committed;
  stats_.failed_transactions += outcome.failed;
  for (const WriteOp* done : batch) {
    if (!done->status.ok()) continue;
    stats_.writes += done->kind == WriteOp::Kind::kIndex ? done->entries.size() : 1;
    if (done->kind == WriteOp::Kind::kPut) {
      stats_.puts++;
      if (done->changed) stats_.new_content++;
      if (done->changed && done->in_file) stats_.file_content++;
    }
  }
  // Each write's outcome is in its op; the batch as such never fails.
  return Status();
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
    ReaderLock lock(keys_mu_);
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
  WriterLock lock(keys_mu_);
  keys_.emplace(std::string(store_id), key);
  return key;
}

Status ContentStore::CreateStoreImpl(std::string_view store_id,
                                     std::optional<std::string_view> owner, bool must_be_new) {
  THEATER_RETURN_IF_ERROR(ValidateStoreId(store_id));
  THEATER_RETURN_IF_ERROR(IndexError());
  WriteOp op = WriteOp::On(WriteOp::Kind::kCreateStore, store_id);
  op.owner = owner;
  op.must_be_new = must_be_new;
  THEATER_RETURN_IF_ERROR(Write(op));
  WriterLock lock(keys_mu_);
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

}  // namespace theater::store
