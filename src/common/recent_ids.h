// Theater: a WebAssembly actor runtime.
//
// RecentIds: remembers the last `capacity` ids added (by a 64-bit hash of each), in memory fixed
// when it is made: adding, forgetting and asking allocate nothing.
//
// For the places that answer "that actor has stopped" rather than "unknown actor": they see an
// id for every actor that stops, so a set of strings there grew with every stop until it was
// full (tens of megabytes, and an allocation per stop). Two different ids that hash alike are
// taken for the same one: with 64-bit hashes and 65,536 remembered ids, an unknown id is taken
// for a stopped one with a chance of about one in 3 x 10^14, and the cost is a misleading error.
//
// Thread-safety: none; callers lock. Ownership: plain value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace theater {

class RecentIds {
 public:
  explicit RecentIds(size_t capacity)
      : ring_(capacity == 0 ? 1 : capacity, 0), slots_(SlotsFor(ring_.size()), 0) {}

  // Remembers `id`, forgetting the oldest when full; false if it was remembered already.
  bool Add(std::string_view id) {
    const uint64_t key = Key(id);
    if (Find(key) != kNone) return false;
    if (ring_[next_] != 0) Remove(ring_[next_]);
    ring_[next_] = key;
    next_ = next_ + 1 == ring_.size() ? 0 : next_ + 1;
    size_t i = Home(key);
    while (slots_[i] != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = key;
    return true;
  }

  // Forgets `id`; false if it was not remembered.
  bool Forget(std::string_view id) {
    const uint64_t key = Key(id);
    if (Find(key) == kNone) return false;
    Remove(key);
    for (uint64_t& entry : ring_) {  // rare (a restarted actor): a scan is fine
      if (entry == key) entry = 0;
    }
    return true;
  }

  bool Contains(std::string_view id) const { return Find(Key(id)) != kNone; }

 private:
  static constexpr size_t kNone = SIZE_MAX;

  static size_t SlotsFor(size_t capacity) {
    size_t n = 2;
    while (n < capacity * 2) n *= 2;  // at most half full: short probe runs
    return n;
  }
  static uint64_t Key(std::string_view id) {
    const uint64_t h = std::hash<std::string_view>{}(id);
    return h == 0 ? 1 : h;  // 0 marks an empty slot
  }
  size_t Home(uint64_t key) const {
    return static_cast<size_t>(key * 0x9E3779B97F4A7C15ull >> 17) & (slots_.size() - 1);
  }
  size_t Find(uint64_t key) const {
    for (size_t i = Home(key);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i] == key) return i;
      if (slots_[i] == 0) return kNone;
    }
  }
  // Linear probing's deletion by backward shift: later entries of the run move into the hole,
  // so lookups never need tombstones.
  void Remove(uint64_t key) {
    size_t hole = Find(key);
    if (hole == kNone) return;
    const size_t mask = slots_.size() - 1;
    for (size_t i = (hole + 1) & mask; slots_[i] != 0; i = (i + 1) & mask) {
      const size_t home = Home(slots_[i]);
      // The entry at i may fill the hole if its home is not in (hole, i] (cyclically).
      const bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
      if (!stays) {
        slots_[hole] = slots_[i];
        hole = i;
      }
    }
    slots_[hole] = 0;
  }

  std::vector<uint64_t> ring_;   // keys in the order added; 0: empty or forgotten
  size_t next_ = 0;              // where the next key goes (the oldest is there when full)
  std::vector<uint64_t> slots_;  // open addressing, linear probing
};

}  // namespace theater
