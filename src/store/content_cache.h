// Theater: a WebAssembly actor runtime.
//
// ContentCache: a bounded LRU cache of small content for ContentStore
// (src/store/content_store_read.cc), keyed by (store key, SHA-256 digest). Content is immutable
// and never deleted, so an entry can never go stale: a hit is always the stored bytes. (Were
// deletion ever added, it would have to erase the entry here too.)
//
// Why: content just written or read is the most likely to be read again (an actor reading back
// its state); serving it from memory costs a hash lookup and a copy, against a pread and a
// checksum for content in a pack, or an index lookup and a B-tree walk for content in SQLite.
//
// Cheap enough to be consulted and filled on every Put and Get: entries live in one vector (no
// allocation per entry besides the bytes), linked into the LRU order by index, and are found
// through an open-addressing table of entry indexes (linear probing, deletion by backward shift,
// so no tombstones), a few cache lines per operation.
//
// Thread-safety: every method may be called from any thread (one mutex; the critical sections
// are a lookup and a relinking; bytes are shared, never copied, under the lock).
//
// Ownership: entries hold shared_ptrs to immutable byte vectors; a caller holding one keeps its
// bytes alive after eviction.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "common/sha256.h"
#include "theater/mutex.h"

namespace theater::store::internal {

class ContentCache {
 public:
  using Bytes = std::shared_ptr<const std::vector<uint8_t>>;

  // Holds at most `capacity_bytes` of content (0: caches nothing).
  explicit ContentCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}
  ContentCache(const ContentCache&) = delete;
  ContentCache& operator=(const ContentCache&) = delete;

  // The cached bytes, or null; a hit becomes the most recently used entry.
  Bytes Find(int64_t store_key, const Sha256Digest& digest) {
    if (capacity_ == 0) return nullptr;
    MutexLock lock(mu_);
    const uint32_t index = Lookup(store_key, digest);
    if (index == kNone) return nullptr;
    MoveToFront(index);
    return entries_[index].bytes;
  }

  // `bytes` as Bytes for Insert, in the storage of an evicted entry nobody holds any more when
  // there is one: a cache filled on every Put would otherwise allocate and free a buffer per Put
  // (and, with a few thousand 4 KiB pieces coming and going, make malloc grow and trim its heap
  // with mprotect calls).
  Bytes Copy(std::span<const uint8_t> bytes) {
    {
      MutexLock lock(mu_);
      for (size_t i = spare_.size(); i-- > 0;) {
        if (spare_[i]->capacity() < bytes.size() || spare_[i]->capacity() > 2 * bytes.size() + 64) {
          continue;  // too small, or much larger than needed
        }
        Bytes reused = std::move(spare_[i]);
        spare_[i] = std::move(spare_.back());
        spare_.pop_back();
        // Sole owner (checked when it was set aside): nobody else can see it change.
        auto* vector = const_cast<std::vector<uint8_t>*>(reused.get());
        vector->assign(bytes.begin(), bytes.end());
        return reused;
      }
    }
    return std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end());
  }

  // Adds (or refreshes) an entry, evicting the least recently used ones beyond the capacity.
  void Insert(int64_t store_key, const Sha256Digest& digest, Bytes bytes) {
    if (bytes == nullptr || bytes->size() > capacity_) return;
    MutexLock lock(mu_);
    uint32_t index = Lookup(store_key, digest);
    if (index != kNone) {
      MoveToFront(index);
      return;  // the same digest: the same bytes
    }
    while (size_ + bytes->size() > capacity_ && tail_ != kNone) Remove(tail_);
    if (free_ != kNone) {
      index = free_;
      free_ = entries_[index].next;
    } else {
      index = static_cast<uint32_t>(entries_.size());
      entries_.emplace_back();
    }
    // Grown before the new entry is linked in: Rehash places every linked entry.
    if ((count_ + 1) * 2 > table_.size()) Rehash(std::max<size_t>(64, table_.size() * 2));
    Entry& entry = entries_[index];
    entry.store_key = store_key;
    entry.digest = digest;
    size_ += bytes->size();
    entry.bytes = std::move(bytes);
    LinkFront(index);
    PlaceInTable(index);
    ++count_;
  }

  size_t size_bytes() const {
    MutexLock lock(mu_);
    return size_;
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr size_t kMaxSpare = 16;
  struct Entry {
    int64_t store_key = 0;
    Sha256Digest digest{};
    Bytes bytes;  // null while the entry is on the free list
    uint32_t prev = kNone;
    uint32_t next = kNone;  // also the free list's link
  };

  static size_t Hash(int64_t store_key, const Sha256Digest& digest) {
    // The digest is uniformly distributed already: its first bytes are a good hash.
    uint64_t bits = 0;
    std::memcpy(&bits, digest.data(), sizeof bits);
    return static_cast<size_t>(bits ^ (static_cast<uint64_t>(store_key) * 0x9e3779b97f4a7c15ULL));
  }
  size_t Home(const Entry& entry) const THEATER_REQUIRES(mu_) {
    return Hash(entry.store_key, entry.digest) & (table_.size() - 1);
  }

  uint32_t Lookup(int64_t store_key, const Sha256Digest& digest) const THEATER_REQUIRES(mu_) {
    if (table_.empty()) return kNone;
    const size_t mask = table_.size() - 1;
    for (size_t slot = Hash(store_key, digest) & mask;; slot = (slot + 1) & mask) {
      const uint32_t index = table_[slot];
      if (index == kNone) return kNone;
      const Entry& entry = entries_[index];
      if (entry.store_key == store_key && entry.digest == digest) return index;
    }
  }

  void PlaceInTable(uint32_t index) THEATER_REQUIRES(mu_) {
    const size_t mask = table_.size() - 1;
    size_t slot = Home(entries_[index]);
    while (table_[slot] != kNone) slot = (slot + 1) & mask;
    table_[slot] = index;
  }

  void Rehash(size_t slots) THEATER_REQUIRES(mu_) {
    table_.assign(slots, kNone);
    for (uint32_t index = head_; index != kNone; index = entries_[index].next) PlaceInTable(index);
  }

  // Unlinks, frees and unindexes an entry.
  void Remove(uint32_t index) THEATER_REQUIRES(mu_) {
    Entry& entry = entries_[index];
    const size_t mask = table_.size() - 1;
    size_t slot = Home(entry);
    while (table_[slot] != index) slot = (slot + 1) & mask;
    // Backward-shift deletion: move later members of the probe run into the hole when their
    // home position allows it, so that lookups never need tombstones.
    for (size_t next = (slot + 1) & mask; table_[next] != kNone; next = (next + 1) & mask) {
      const size_t home = Home(entries_[table_[next]]);
      const bool movable =
          slot <= next ? (home <= slot || home > next) : (home <= slot && home > next);
      if (movable) {
        table_[slot] = table_[next];
        slot = next;
      }
    }
    table_[slot] = kNone;
    Unlink(index);
    size_ -= entry.bytes->size();
    // Kept for Copy when nobody else holds it (a reader that got it from Find may still be
    // copying it out; the cache can hand it out no more, so the count can only go down).
    if (entry.bytes.use_count() == 1 && spare_.size() < kMaxSpare) {
      spare_.push_back(std::move(entry.bytes));
    }
    entry.bytes.reset();
    entry.next = free_;
    free_ = index;
    --count_;
  }

  void Unlink(uint32_t index) THEATER_REQUIRES(mu_) {
    Entry& entry = entries_[index];
    (entry.prev != kNone ? entries_[entry.prev].next : head_) = entry.next;
    (entry.next != kNone ? entries_[entry.next].prev : tail_) = entry.prev;
    entry.prev = entry.next = kNone;
  }

  void LinkFront(uint32_t index) THEATER_REQUIRES(mu_) {
    Entry& entry = entries_[index];
    entry.prev = kNone;
    entry.next = head_;
    if (head_ != kNone) entries_[head_].prev = index;
    head_ = index;
    if (tail_ == kNone) tail_ = index;
  }

  void MoveToFront(uint32_t index) THEATER_REQUIRES(mu_) {
    if (head_ == index) return;
    Unlink(index);
    LinkFront(index);
  }

  const size_t capacity_;
  mutable Mutex mu_;
  // Live entries and free slots.
  std::vector<Entry> entries_ THEATER_GUARDED_BY(mu_);
  // Entry indexes, a power of two in size, at most half full.
  std::vector<uint32_t> table_ THEATER_GUARDED_BY(mu_);
  uint32_t head_ THEATER_GUARDED_BY(mu_) = kNone;     // most recently used
  uint32_t tail_ THEATER_GUARDED_BY(mu_) = kNone;     // least recently used
  uint32_t free_ THEATER_GUARDED_BY(mu_) = kNone;     // a free slot of entries_
  size_t count_ THEATER_GUARDED_BY(mu_) = 0;          // live entries
  std::vector<Bytes> spare_ THEATER_GUARDED_BY(mu_);  // evicted buffers nobody holds, for Copy
  size_t size_ THEATER_GUARDED_BY(mu_) = 0;           // bytes of content held
};

}  // namespace theater::store::internal
