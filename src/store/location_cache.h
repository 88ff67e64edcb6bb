// Theater: a WebAssembly actor runtime.
//
// LocationCache: where recently stored or read pack records are, (store key, content hash) ->
// (pack, offset, size), so that ContentStore::Get of such content reads its pack directly instead
// of first looking up its index row in SQLite (src/store/content_store_read.cc, docs/store.md
// "Reads").
//
// Why: the background index commits keep invalidating the read connections' page caches, so an
// index lookup re-reads B-tree pages with a system call each (5-10 µs here, as much as the rest of
// a Get). The content cache (content_cache.h) holds few pieces (32 MiB of bytes); a location
// costs 16 bytes, so a million recent pieces fit in 16 MiB.
//
// A lossy, lock-free, 4-way set-associative table: a slot is two 64-bit words (a 32-bit tag of
// the pair's fingerprint and the pack id; offset and size), written and read with relaxed atomics.
// A reader can therefore see a slot half-overwritten, or a tag shared by another pair (one in a
// billion): a hit is only a hint, and callers must verify the record they read against the store
// and digest they asked for (PackSet::Read does) and fall back to the index when it does not
// match. Entries are never invalidated: content is immutable and records never move.
//
// Thread-safety: every method may be called from any thread.
// Ownership: owns its table.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>

#include "common/sha256.h"
#include "store/pack_set.h"

namespace theater::store::internal {

class LocationCache {
 public:
  // Room for about `entries` locations (rounded up to a power of two; 0: caches nothing).
  explicit LocationCache(size_t entries) {
    if (entries == 0) return;
    size_t sets = 1;
    while (sets * kWays < entries) sets *= 2;
    slots_ = std::make_unique<Slot[]>(sets * kWays);
    set_mask_ = sets - 1;
  }
  LocationCache(const LocationCache&) = delete;
  LocationCache& operator=(const LocationCache&) = delete;

  // The location last inserted for the pair, or none (possibly wrong: verify what it names).
  std::optional<PackLocation> Find(int64_t store_key, const Sha256Digest& digest) const {
    if (slots_ == nullptr) return std::nullopt;
    const uint64_t fingerprint = Fingerprint(store_key, digest);
    const Slot* set = &slots_[(fingerprint & set_mask_) * kWays];
    const uint64_t tag = Tag(fingerprint);
    for (size_t way = 0; way < kWays; ++way) {
      const uint64_t head = set[way].head.load(std::memory_order_acquire);
      if ((head >> 32) != tag) continue;
      const uint64_t place = set[way].place.load(std::memory_order_relaxed);
      return PackLocation{static_cast<uint32_t>(head), place >> kSizeBits,
                          place & ((uint64_t{1} << kSizeBits) - 1)};
    }
    return std::nullopt;
  }

  void Insert(int64_t store_key, const Sha256Digest& digest, const PackLocation& location) {
    if (slots_ == nullptr || location.size >> kSizeBits != 0 ||
        location.offset >> (64 - kSizeBits) != 0) {
      return;  // does not fit a slot (a 16 MiB record, a 1 TiB pack): simply not cached
    }
    const uint64_t fingerprint = Fingerprint(store_key, digest);
    Slot* set = &slots_[(fingerprint & set_mask_) * kWays];
    const uint64_t tag = Tag(fingerprint);
    size_t victim = kWays;
    for (size_t way = 0; way < kWays && victim == kWays; ++way) {
      const uint64_t head = set[way].head.load(std::memory_order_relaxed);
      if ((head >> 32) == tag || head == 0) victim = way;
    }
    if (victim == kWays) victim = next_way_.fetch_add(1, std::memory_order_relaxed) % kWays;
    set[victim].place.store(location.offset << kSizeBits | location.size,
                            std::memory_order_relaxed);
    set[victim].head.store(tag << 32 | location.pack, std::memory_order_release);
  }

 private:
  static constexpr size_t kWays = 4;
  static constexpr int kSizeBits = 24;  // sizes below 16 MiB; offsets below 1 TiB
  struct Slot {
    std::atomic<uint64_t> head{0};   // tag << 32 | pack id; 0: empty
    std::atomic<uint64_t> place{0};  // offset << 24 | size
  };

  static uint64_t Fingerprint(int64_t store_key, const Sha256Digest& digest) {
    uint64_t bits = 0;
    std::memcpy(&bits, digest.data() + 8, sizeof bits);  // other bits than KeyFilter's
    return bits ^ (static_cast<uint64_t>(store_key) * 0x9e3779b97f4a7c15ULL);
  }
  // The fingerprint's upper half, never 0 (0 marks an empty slot).
  static uint64_t Tag(uint64_t fingerprint) {
    const uint64_t tag = fingerprint >> 32;
    return tag == 0 ? 1 : tag;
  }

  std::unique_ptr<Slot[]> slots_;
  size_t set_mask_ = 0;
  std::atomic<uint32_t> next_way_{0};
};

}  // namespace theater::store::internal
