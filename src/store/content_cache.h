// Theater: a WebAssembly actor runtime.
//
// ContentCache: a bounded LRU cache of small content for ContentStore (src/store/content_store.cc),
// keyed by (store key, SHA-256 digest). Content is immutable and never deleted, so an entry can
// never go stale: a hit is always the stored bytes. (Were deletion ever added, it would have to
// erase the entry here too.)
//
// Why: a read connection's SQLite page cache is dropped whenever another connection has committed
// since its last read (WAL mode), so under a steady stream of writes every Get re-reads 5-6 B-tree
// pages with one system call each. Content just written or read is the most likely to be read
// again (an actor reading back its state); serving it from memory costs a hash lookup and a copy.
//
// Thread-safety: every method may be called from any thread (one mutex; the critical sections
// are a lookup and a list splice, bytes are shared, never copied, under the lock).
//
// Ownership: entries hold shared_ptrs to immutable byte vectors; a caller holding one keeps its
// bytes alive after eviction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/sha256.h"

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
    std::lock_guard lock(mu_);
    auto it = index_.find(Key{store_key, digest});
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->bytes;
  }

  // Adds (or refreshes) an entry, evicting the least recently used ones beyond the capacity.
  void Insert(int64_t store_key, const Sha256Digest& digest, Bytes bytes) {
    if (bytes == nullptr || bytes->size() > capacity_) return;
    std::lock_guard lock(mu_);
    const Key key{store_key, digest};
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return;  // the same digest: the same bytes
    }
    size_ += bytes->size();
    lru_.push_front(Entry{key, std::move(bytes)});
    index_.emplace(key, lru_.begin());
    while (size_ > capacity_) {
      const Entry& last = lru_.back();
      size_ -= last.bytes->size();
      index_.erase(last.key);
      lru_.pop_back();
    }
  }

  size_t size_bytes() const {
    std::lock_guard lock(mu_);
    return size_;
  }

 private:
  struct Key {
    int64_t store_key;
    Sha256Digest digest;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& key) const {
      // The digest is uniformly distributed already: its first bytes are a good hash.
      uint64_t h = 0;
      std::memcpy(&h, key.digest.data(), sizeof h);
      return static_cast<size_t>(h ^
                                 (static_cast<uint64_t>(key.store_key) * 0x9e3779b97f4a7c15ULL));
    }
  };
  struct Entry {
    Key key;
    Bytes bytes;
  };

  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index_;
  size_t size_ = 0;  // bytes of content held
};

}  // namespace theater::store::internal
