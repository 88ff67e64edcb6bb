// Theater: a WebAssembly actor runtime.
//
// KeyFilter: an in-memory set of 32-bit fingerprints of the (store, content hash) pairs whose index
// rows are committed, so that ContentStore::Put can tell "certainly not stored yet" without asking
// SQLite (src/store/content_store_read.cc, docs/store.md "Dedup").
//
// Why: every Put of new content must first make sure the store does not hold it. Asked of SQLite,
// that is a B-tree lookup on a read connection whose page cache the index commits keep
// invalidating: 5-20 µs, as much as the whole rest of a Put. A fingerprint table answers in a
// few hundred nanoseconds. A miss is certain; a hit is only "maybe" (another pair with the same
// 32 bits: about one lookup in a billion with a million pieces) and the caller confirms it with
// SQLite. Fingerprints are kept, not a Bloom filter, so that the table can grow by rehashing
// itself without re-reading the index: open addressing, linear probing, at most 70% full,
// 4 bytes a slot (6-12 bytes per piece of content).
//
// Thread-safety: none; ContentStore guards it with its pending-index mutex.
// Ownership: a value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/sha256.h"

namespace theater::store::internal {

class KeyFilter {
 public:
  // The fingerprint of a pair; never 0 (0 marks an empty slot). The digest is uniformly
  // distributed already, so some of its bits, mixed with the store key, make a good one.
  static uint32_t Fingerprint(int64_t store_key, const Sha256Digest& digest) {
    uint64_t bits = 0;
    std::memcpy(&bits, digest.data(), sizeof bits);
    bits ^= static_cast<uint64_t>(store_key) * 0x9e3779b97f4a7c15ULL;
    const auto fingerprint = static_cast<uint32_t>(bits ^ (bits >> 32));
    return fingerprint == 0 ? 1 : fingerprint;
  }

  // False: the pair was never inserted. True: it may have been.
  bool MaybeContains(uint32_t fingerprint) const {
    if (slots_.empty()) return false;
    for (size_t i = fingerprint & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == fingerprint) return true;
      if (slots_[i] == 0) return false;
    }
  }

  void Insert(uint32_t fingerprint) {
    if ((count_ + 1) * 10 > slots_.size() * 7) Grow();
    for (size_t i = fingerprint & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == fingerprint) return;  // the same pair, or one sharing its fingerprint
      if (slots_[i] == 0) {
        slots_[i] = fingerprint;
        ++count_;
        return;
      }
    }
  }

  size_t size() const { return count_; }
  size_t memory_bytes() const { return slots_.size() * sizeof(uint32_t); }

 private:
  void Grow() {
    std::vector<uint32_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
    mask_ = slots_.size() - 1;
    count_ = 0;
    for (uint32_t fingerprint : old) {
      if (fingerprint != 0) Insert(fingerprint);
    }
  }

  std::vector<uint32_t> slots_;  // a power of two in size; 0 = empty
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace theater::store::internal
