// Theater: a WebAssembly actor runtime.
//
// MemoryPool: the address ranges that wasm2c instances use as linear memory, recycled so that
// spawning and stopping a small actor changes no page table.
//
// Why: on virtual machines the kernel's memory-mapping work is expensive. Unmapping or
// `madvise(MADV_DONTNEED)` shoots down the TLBs of every CPU the process runs on (an IPI each),
// mapping allocates page-table pages, and each fresh page is cleared by the kernel and faulted
// in again at the hypervisor. A spawn and stop of a small actor used to do all of these. Here a
// released memory keeps its pages: the host writes zeros over those the instance touched
// (`mincore` says which) and hands the range to the next instance as it is. Only past a
// threshold (a memory larger than kKeepResidentBytes, or more idle resident bytes in the pool
// than kIdleResidentBudget) are pages given back with `madvise`. New reservations are mapped
// in slabs of several at a time, so that spawning many live actors maps once per slab.
//
// A fresh range (no page resident) is where a live spawn's first touches land. A page the guest
// reads before it writes (a zeroed global such as the allocator's state) is first mapped to the
// kernel's shared zero page and then copied on the write, and that copy flushes the TLB of every
// CPU the process runs on: on a VM, one such IPI per spawn cost more than the rest of the
// instantiation. So a module learns which pages its first instance dirtied (DirtyRuns) and each
// later fresh memory has them written ahead by the host (Populate): each faults in once, as a
// private page, with no zero page, no copy and no IPI. A reused range skips this (its pages are
// resident already).
//
// Two shapes of reservation, chosen by the module's memory mode:
//   - guard pages: `reserve` is 8 GiB; the first `accessible` bytes are read-write and the rest
//     inaccessible, so an access past the memory's end faults. A reused range whose accessible
//     prefix differs from the new memory's size is adjusted with `mprotect` (rare: instances of
//     one module start at the same size, and the pool prefers a range of the right size).
//   - bounds checks: `reserve` is the memory's maximum; the generated code checks every access
//     against the memory's size, so the whole range is read-write from the start and growing
//     the memory needs no system call.
//
// Thread-safety: every member may be called from any thread. Ownership: a MemoryReservation
// belongs to the memory it was acquired for until it is released; the pool lives for the whole
// process (it is used during exit).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace theater::engine::rt {

// Whether the `n` (> 0) bytes at `p` are all zero.
bool AllZero(const uint8_t* p, size_t n);

struct MemoryReservation {
  uint8_t* base = nullptr;
  uint64_t reserve = 0;     // bytes of address space at `base`
  uint64_t accessible = 0;  // bytes at the start that are read-write
  bool fresh = false;       // Acquire: no page of the range is resident
};

// Consecutive 4 KiB pages of a memory, by index.
struct PageRun {
  uint32_t first = 0;
  uint32_t count = 0;
};

// What the pool has asked of the kernel since the process started (tests and benchmarks
// read it to show that steady-state spawning maps nothing).
struct MemoryPoolCounters {
  uint64_t maps = 0;         // mmap calls (one per slab)
  uint64_t unmaps = 0;       // munmap calls
  uint64_t protects = 0;     // mprotect calls
  uint64_t advises = 0;      // madvise calls
  uint64_t reused = 0;       // acquisitions served by a released reservation
  uint64_t zeroed_bytes = 0;  // bytes the host wrote zeros over on release
  uint64_t populated_pages = 0;  // pages of fresh ranges written ahead (Populate)
};

class MemoryPool {
 public:
  // A released memory keeps at most this much of itself resident (zeroed) for the next one.
  static constexpr uint64_t kKeepResidentBytes = 1 << 20;
  // Idle reservations in the pool hold at most this many resident bytes altogether.
  static constexpr uint64_t kIdleResidentBudget = 256ull << 20;
  // Idle reservations hold at most this much address space (guard-page mode: 256 ranges).
  static constexpr uint64_t kIdleAddressSpaceBudget = 2ull << 40;

  static MemoryPool& Get();

  // A range of `reserve` bytes whose first `bytes` are read-write and read as zero. With
  // `guard`, exactly `bytes` are accessible; without, all of `reserve` is. False when the
  // kernel refuses (address space or mappings exhausted).
  [[nodiscard]] bool Acquire(uint64_t reserve, uint64_t bytes, bool guard, MemoryReservation* out);
  // Makes the first `bytes` (> r->accessible) of `r` read-write. False when the kernel refuses.
  [[nodiscard]] bool Grow(MemoryReservation* r, uint64_t bytes);
  // Returns `r` to the pool (zeroed) or to the kernel. `used`: the bytes the memory had when it
  // was freed (its pages times 64 KiB); nothing past them was touched.
  void Release(const MemoryReservation& r, uint64_t used);

  // Gives the pages of `bytes` at `at`, part of a memory in use, back to the kernel (they read
  // as zero afterwards): a hibernating instance's (memory_image.h).
  void Trim(uint8_t* at, uint64_t bytes) { Advise(at, bytes); }

  // The runs of pages among the first `bytes` (at most kKeepResidentBytes are looked at) at
  // `base` that are resident and not all zero: what an instance has written. Empty when the
  // kernel cannot say.
  static std::vector<PageRun> DirtyRuns(const uint8_t* base, uint64_t bytes);
  // Faults in, writable, the pages of `runs` that lie within the first `accessible` bytes of the
  // fresh range at `base`, without changing what they read (zero).
  void Populate(uint8_t* base, uint64_t accessible, const std::vector<PageRun>& runs);

  MemoryPoolCounters counters() const;
  // Ranges kept for reuse right now.
  size_t idle() const;

 private:
  struct Idle {
    MemoryReservation range;
    uint64_t resident = 0;  // bytes still resident (all zero)
  };

  MemoryPool() = default;
  // Maps a slab of reservations of `reserve` bytes, keeps all but one, and returns that one
  // with nothing accessible; false when the kernel refuses even a single reservation.
  bool MapSlab(uint64_t reserve, bool guard, MemoryReservation* out);
  // Zeroes the resident pages among the first `keep` (<= kKeepResidentBytes) bytes at `base`;
  // returns the bytes that stay resident, or -1 when the kernel cannot say which are.
  int64_t ZeroResident(uint8_t* base, uint64_t keep);
  bool Protect(uint8_t* at, uint64_t bytes, bool writable);
  void Advise(uint8_t* at, uint64_t bytes);

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<Idle>> idle_;  // by reserve size
  size_t idle_count_ = 0;
  uint64_t idle_address_space_ = 0;
  uint64_t idle_resident_ = 0;
  // Slabs mapped per reserve size so far: each new slab is twice the last (at most 64 ranges).
  std::unordered_map<uint64_t, uint32_t> slab_size_;
  std::atomic<uint64_t> maps_{0}, unmaps_{0}, protects_{0}, advises_{0}, reused_{0},
      zeroed_bytes_{0}, populated_pages_{0};
};

}  // namespace theater::engine::rt
