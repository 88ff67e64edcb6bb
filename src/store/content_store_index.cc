// Theater: a WebAssembly actor runtime.
//
// ContentStore's pending index (docs/store.md, "Where bytes live"): pack records whose index rows
// are not committed yet, the background writer that commits them, recovery of what a crash left
// unindexed, and the packs other live instances append to.
#include "store/content_store_internal.h"

namespace theater::store {

// The helpers were file-local when the store was one file (content_store_internal.h).
using namespace content_internal;

// ---------------------------------------------------------------------------------------------
// The pending index and its writer

Status ContentStore::IndexError() {
  if (!index_writer_->failing()) return Status();
  Status error = index_writer_->error();
  if (error.ok()) return Status();
  return error.WithContext(
      "the content store could not commit its index (content stored before is safe in its "
      "packs; writes fail until a retry succeeds or the store is reopened)");
}

void ContentStore::EnqueuePending(int64_t store_key, const Digest& digest,
                                  const PackLocation& location) {
  {
    IndexState::Shard& shard = index_->ShardOf(digest);
    MutexLock lock(shard.mu);
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
  // The index writer's queue has no bound of its own: the pending index's (max_pending) holds
  // Puts back before they append. Fails only once the store is closing: the record is in its
  // pack, and the next Open() indexes it.
  index_writer_
      ->Enqueue([&](PendingEntry& entry) {
        entry.store_key = store_key;
        entry.digest = digest;
        entry.location = location;
      })
      .status()
      .IgnoreError();
}

std::optional<PackLocation> ContentStore::FindPending(int64_t store_key, const Digest& digest) {
  IndexState::Shard& shard = index_->ShardOf(digest);
  MutexLock lock(shard.mu);
  auto it = shard.pending.find(ContentKey{store_key, digest});
  // A reservation: a Put is appending it and has not returned; as good as not there yet.
  if (it == shard.pending.end() || it->second.pack == kReserved) return std::nullopt;
  return it->second;
}

Status ContentStore::Flush() {
  if (closing_.load()) return FailedPrecondition("content store is closed");
  Status flushed = index_writer_->Flush();
  if (flushed.ok() || !index_writer_->failing()) return flushed;
  return IndexError();
}

Status ContentStore::EnsureSynced(const PackLocation& location) {
  if (options_.durability == Durability::kNone) return Status();
  std::shared_ptr<internal::PackSet> packs = Packs();
  if (packs == nullptr) return FailedPrecondition("content store is closed");
  return packs->Sync(location.pack, location.end());
}

Status ContentStore::CommitIndex(std::span<PendingEntry> entries) {
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
  THEATER_RETURN_IF_ERROR(Write(op));
  ForgetCommitted(entries);
  return Status();
}

void ContentStore::ForgetCommitted(std::span<const PendingEntry> entries) {
  // Committed: readers find the rows in the database from now on, so the entries leave the
  // pending index (only now: a reader that misses them there then finds them here), one shard at
  // a time.
  std::array<std::vector<size_t>, IndexState::kShards> by_shard;
  for (size_t i = 0; i < entries.size(); ++i) {
    by_shard[entries[i].digest[31] % IndexState::kShards].push_back(i);
  }
  size_t erased = 0;
  for (size_t k = 0; k < IndexState::kShards; ++k) {
    if (by_shard[k].empty()) continue;
    IndexState::Shard& shard = index_->shards[k];
    MutexLock shard_lock(shard.mu);
    for (size_t i : by_shard[k]) {
      const PendingEntry& entry = entries[i];
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
  index_->pending_count.fetch_sub(erased, std::memory_order_relaxed);
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
  MutexLock lock(foreign_->mu);
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
  ForeignState& f = *foreign_;
  MutexLock lock(f.mu);
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
  MutexLock lock(foreign_->mu);
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

}  // namespace theater::store
