// Theater: a WebAssembly actor runtime.
//
// The linear-memory pool: released ranges come back zeroed, are reused without system calls
// that change page tables, keep guard pages where they must, and give memory back past their
// thresholds.
#include "engine/wasm2c/memory_pool.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace theater::engine::rt {
namespace {

constexpr uint64_t kWasmPage = 65536;
constexpr uint64_t kGuardReserve = 8ull << 30;

// Whether the page at `p` may be written, from /proc/self/maps (no fault needed to find out).
bool Writable(const void* p) {
  FILE* maps = std::fopen("/proc/self/maps", "re");
  if (!maps) return false;
  char line[512];
  const auto addr = reinterpret_cast<uintptr_t>(p);
  bool writable = false;
  while (std::fgets(line, sizeof line, maps)) {
    unsigned long lo = 0, hi = 0;
    char perms[5] = {};
    if (std::sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi) {
      writable = perms[1] == 'w';
      break;
    }
  }
  std::fclose(maps);
  return writable;
}

// Each test uses a reservation size of its own, so that ranges other tests (or earlier
// instances in this process) left in the pool do not answer for it.
TEST(MemoryPoolTest, AReleasedGuardRangeIsReusedZeroedWithoutSystemCalls) {
  MemoryPool& pool = MemoryPool::Get();
  const uint64_t reserve = kGuardReserve;  // guard-page reservations all have this size
  const uint64_t bytes = 2 * kWasmPage;
  MemoryReservation first;
  ASSERT_TRUE(pool.Acquire(reserve, bytes, /*guard=*/true, &first));
  ASSERT_EQ(first.accessible, bytes);
  std::memset(first.base, 0xAB, bytes);
  pool.Release(first, bytes);

  // The next acquisitions of this shape come from the pool: none of them maps, protects or
  // advises, and each sees only zeros.
  const MemoryPoolCounters before = pool.counters();
  for (int i = 0; i < 50; ++i) {
    MemoryReservation again;
    ASSERT_TRUE(pool.Acquire(reserve, bytes, true, &again));
    ASSERT_TRUE(AllZero(again.base, bytes)) << "round " << i;
    std::memset(again.base + 4096, 0x5A, 3 * 4096);  // dirty a few pages, leave others alone
    again.base[bytes - 1] = 1;
    pool.Release(again, bytes);
  }
  const MemoryPoolCounters after = pool.counters();
  EXPECT_EQ(after.maps, before.maps);
  EXPECT_EQ(after.unmaps, before.unmaps);
  EXPECT_EQ(after.protects, before.protects);
  EXPECT_EQ(after.advises, before.advises);
  EXPECT_EQ(after.reused - before.reused, 50u);
  // Only the pages written were written again: 4 pages a round, not the whole 128 KiB.
  EXPECT_EQ(after.zeroed_bytes - before.zeroed_bytes, 50u * 4 * 4096);
}

TEST(MemoryPoolTest, AGuardRangeIsFittedToTheNewMemorysSize) {
  MemoryPool& pool = MemoryPool::Get();
  MemoryReservation big;
  ASSERT_TRUE(pool.Acquire(kGuardReserve, 4 * kWasmPage, true, &big));
  std::memset(big.base, 7, 4 * kWasmPage);
  pool.Release(big, 4 * kWasmPage);

  // Whatever range comes back for a one-page memory, exactly one page of it is accessible.
  MemoryReservation small;
  ASSERT_TRUE(pool.Acquire(kGuardReserve, kWasmPage, true, &small));
  EXPECT_EQ(small.accessible, kWasmPage);
  EXPECT_TRUE(Writable(small.base));
  EXPECT_TRUE(Writable(small.base + kWasmPage - 1));
  EXPECT_FALSE(Writable(small.base + kWasmPage)) << "the guard region starts at the memory's end";
  EXPECT_TRUE(AllZero(small.base, kWasmPage));

  // Growing opens exactly the new pages, which read as zero.
  ASSERT_TRUE(pool.Grow(&small, 3 * kWasmPage));
  EXPECT_TRUE(Writable(small.base + 3 * kWasmPage - 1));
  EXPECT_FALSE(Writable(small.base + 3 * kWasmPage));
  EXPECT_TRUE(AllZero(small.base, 3 * kWasmPage));
  EXPECT_FALSE(pool.Grow(&small, kGuardReserve + kWasmPage)) << "past the reservation";
  pool.Release(small, 3 * kWasmPage);
}

TEST(MemoryPoolTest, ABoundsCheckedRangeIsWritableThroughoutAndGrowsWithoutSystemCalls) {
  MemoryPool& pool = MemoryPool::Get();
  const uint64_t reserve = 37 * kWasmPage;  // a size no other test uses
  MemoryReservation r;
  ASSERT_TRUE(pool.Acquire(reserve, kWasmPage, /*guard=*/false, &r));
  EXPECT_EQ(r.accessible, reserve);
  const MemoryPoolCounters before = pool.counters();
  ASSERT_TRUE(pool.Grow(&r, 20 * kWasmPage));
  EXPECT_EQ(pool.counters().protects, before.protects);
  r.base[reserve - 1] = 9;  // the generated code checks bounds; the range itself is all usable
  std::memset(r.base, 3, 20 * kWasmPage);
  pool.Release(r, reserve);
  MemoryReservation again;
  ASSERT_TRUE(pool.Acquire(reserve, kWasmPage, false, &again));
  EXPECT_TRUE(AllZero(again.base, reserve));
  pool.Release(again, kWasmPage);
}

TEST(MemoryPoolTest, NewRangesAreMappedInSlabs) {
  MemoryPool& pool = MemoryPool::Get();
  const uint64_t reserve = 41 * kWasmPage;  // a size no other test uses
  const MemoryPoolCounters before = pool.counters();
  std::vector<MemoryReservation> live(20);
  for (auto& r : live) ASSERT_TRUE(pool.Acquire(reserve, kWasmPage, false, &r));
  // Slabs of 4, 8, 16: 20 live ranges took three mappings, not twenty.
  EXPECT_EQ(pool.counters().maps - before.maps, 3u);
  for (size_t i = 0; i < live.size(); ++i) {
    for (size_t j = i + 1; j < live.size(); ++j) {
      const bool apart = live[i].base + reserve <= live[j].base ||
                         live[j].base + reserve <= live[i].base;
      ASSERT_TRUE(apart) << "ranges " << i << " and " << j << " overlap";
    }
  }
  for (auto& r : live) pool.Release(r, kWasmPage);
}

TEST(MemoryPoolTest, MemoriesPastTheKeepThresholdGiveTheirTailBack) {
  MemoryPool& pool = MemoryPool::Get();
  const uint64_t reserve = 43 * kWasmPage;  // a size no other test uses
  const uint64_t used = 40 * kWasmPage;     // 2.5 MiB: past kKeepResidentBytes
  static_assert(40 * kWasmPage > MemoryPool::kKeepResidentBytes);
  MemoryReservation r;
  ASSERT_TRUE(pool.Acquire(reserve, used, false, &r));
  std::memset(r.base, 1, used);
  const MemoryPoolCounters before = pool.counters();
  pool.Release(r, used);
  const MemoryPoolCounters after = pool.counters();
  EXPECT_EQ(after.advises - before.advises, 1u) << "the part past the threshold is given back";
  EXPECT_EQ(after.zeroed_bytes - before.zeroed_bytes, MemoryPool::kKeepResidentBytes);
  // The tail is no longer resident.
  const uint64_t tail_pages = (used - MemoryPool::kKeepResidentBytes) / 4096;
  std::vector<unsigned char> resident(tail_pages);
  ASSERT_EQ(mincore(r.base + MemoryPool::kKeepResidentBytes, used - MemoryPool::kKeepResidentBytes,
                    resident.data()),
            0);
  for (unsigned char page : resident) ASSERT_EQ(page & 1, 0);
  MemoryReservation again;
  ASSERT_TRUE(pool.Acquire(reserve, used, false, &again));
  EXPECT_TRUE(AllZero(again.base, used));
  pool.Release(again, used);
}

// Pages of the `bytes` at `base` that are resident, one flag each.
std::vector<bool> Resident(const uint8_t* base, uint64_t bytes) {
  std::vector<unsigned char> flags(bytes / 4096);
  EXPECT_EQ(mincore(const_cast<uint8_t*>(base), bytes, flags.data()), 0);
  return std::vector<bool>(flags.begin(), flags.end());
}

TEST(MemoryPoolTest, DirtyRunsAreThePagesWrittenNotThoseOnlyRead) {
  MemoryPool& pool = MemoryPool::Get();
  const uint64_t reserve = 53 * kWasmPage;  // a size no other test uses
  MemoryReservation r;
  ASSERT_TRUE(pool.Acquire(reserve, kWasmPage, false, &r));
  EXPECT_TRUE(r.fresh);
  r.base[0] = 1;
  r.base[4096 + 17] = 2;
  // Read only: mapped (to the kernel's zero page) but not written.
  EXPECT_EQ(reinterpret_cast<volatile uint8_t*>(r.base)[3 * 4096], 0);
  r.base[5 * 4096 + 4095] = 3;
  const std::vector<PageRun> runs = MemoryPool::DirtyRuns(r.base, 8 * 4096);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].first, 0u);
  EXPECT_EQ(runs[0].count, 2u);
  EXPECT_EQ(runs[1].first, 5u);
  EXPECT_EQ(runs[1].count, 1u);
  pool.Release(r, kWasmPage);

  // Back from the pool it has pages resident: it is not fresh, and nothing in it is dirty.
  MemoryReservation again;
  ASSERT_TRUE(pool.Acquire(reserve, kWasmPage, false, &again));
  EXPECT_FALSE(again.fresh);
  EXPECT_TRUE(MemoryPool::DirtyRuns(again.base, kWasmPage).empty());
  pool.Release(again, kWasmPage);
}

TEST(MemoryPoolTest, PopulateFaultsInTheRunsWithinTheAccessiblePrefixAndKeepsThemZero) {
  MemoryPool& pool = MemoryPool::Get();
  const uint64_t reserve = 59 * kWasmPage;  // a size no other test uses
  MemoryReservation r;
  ASSERT_TRUE(pool.Acquire(reserve, kWasmPage, false, &r));
  ASSERT_TRUE(r.fresh);
  const MemoryPoolCounters before = pool.counters();
  pool.Populate(r.base, 4 * 4096, {{1, 2}, {3, 4}, {6, 1}});
  EXPECT_EQ(pool.counters().populated_pages - before.populated_pages, 3u)
      << "pages 1-3: the rest lie past the 4 accessible pages";
  const std::vector<bool> resident = Resident(r.base, 8 * 4096);
  EXPECT_EQ(resident, (std::vector<bool>{false, true, true, true, false, false, false, false}));
  EXPECT_TRUE(AllZero(r.base, 8 * 4096));
  EXPECT_EQ(pool.counters().advises, before.advises) << "written ahead, not asked of the kernel";
  pool.Release(r, kWasmPage);
}

}  // namespace
}  // namespace theater::engine::rt
