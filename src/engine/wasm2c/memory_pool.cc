// Theater: a WebAssembly actor runtime.
#include "engine/wasm2c/memory_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace theater::engine::rt {
namespace {

constexpr uint64_t kOsPage = 4096;
constexpr uint32_t kFirstSlab = 4;  // reservations in the first slab of a size
constexpr uint32_t kMaxSlab = 64;   // ... doubling up to this
// How far from the back of a size's idle list to look for a range whose accessible prefix is
// already the wanted size (guard-page mode), before settling for an adjustment.
constexpr int kExactSearch = 8;

}  // namespace

bool AllZero(const uint8_t* p, size_t n) {
  return p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0;
}

MemoryPool& MemoryPool::Get() {
  static MemoryPool* pool = new MemoryPool();  // never destroyed: memories are freed during exit
  return *pool;
}

bool MemoryPool::Protect(uint8_t* at, uint64_t bytes, bool writable) {
  protects_.fetch_add(1, std::memory_order_relaxed);
  return mprotect(at, bytes, writable ? PROT_READ | PROT_WRITE : PROT_NONE) == 0;
}

void MemoryPool::Advise(uint8_t* at, uint64_t bytes) {
  advises_.fetch_add(1, std::memory_order_relaxed);
  // Cannot fail on a private anonymous mapping we own; the pages read as zero afterwards.
  (void)madvise(at, bytes, MADV_DONTNEED);
}

bool MemoryPool::Acquire(uint64_t reserve, uint64_t bytes, bool guard, MemoryReservation* out) {
  bool found = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idle_.find(reserve);
    if (it != idle_.end() && !it->second.empty()) {
      std::vector<Idle>& list = it->second;
      size_t pick = list.size() - 1;
      if (guard) {
        for (size_t i = list.size(), seen = 0; i-- > 0 && seen < kExactSearch; ++seen) {
          if (list[i].range.accessible == bytes) {
            pick = i;
            break;
          }
        }
      }
      *out = list[pick].range;
      out->fresh = list[pick].resident == 0;
      idle_resident_ -= list[pick].resident;
      list[pick] = list.back();
      list.pop_back();
      --idle_count_;
      idle_address_space_ -= reserve;
      found = true;
    }
  }
  if (found) {
    reused_.fetch_add(1, std::memory_order_relaxed);
  } else if (!MapSlab(reserve, guard, out)) {
    return false;
  }
  if (!guard || out->accessible == bytes) return true;
  // Fit the accessible prefix to this memory: open what it needs, close what it must not see.
  // Pages being closed were zeroed when the range was released, so nothing leaks either way.
  bool ok = bytes > out->accessible
                ? Protect(out->base + out->accessible, bytes - out->accessible, true)
                : Protect(out->base + bytes, out->accessible - bytes, false);
  if (!ok) {
    unmaps_.fetch_add(1, std::memory_order_relaxed);
    munmap(out->base, out->reserve);
    *out = {};
    return false;
  }
  out->accessible = bytes;
  return true;
}

bool MemoryPool::Grow(MemoryReservation* r, uint64_t bytes) {
  if (bytes <= r->accessible) return true;
  if (bytes > r->reserve) return false;
  if (!Protect(r->base + r->accessible, bytes - r->accessible, true)) return false;
  r->accessible = bytes;
  return true;
}

bool MemoryPool::MapSlab(uint64_t reserve, bool guard, MemoryReservation* out) {
  uint32_t count;
  {
    std::lock_guard<std::mutex> lock(mu_);
    uint32_t& next = slab_size_[reserve];
    count = next == 0 ? kFirstSlab : next;
    next = std::min(count * 2, kMaxSlab);
    // The ranges kept beside the one handed out must fit the idle address-space budget.
    const uint64_t room = kIdleAddressSpaceBudget > idle_address_space_
                              ? (kIdleAddressSpaceBudget - idle_address_space_) / reserve
                              : 0;
    count = static_cast<uint32_t>(std::min<uint64_t>(count, room + 1));
    idle_address_space_ += (count - 1) * reserve;
  }
  const int prot = guard ? PROT_NONE : PROT_READ | PROT_WRITE;
  void* base = MAP_FAILED;
  if (reserve <= UINT64_MAX / count) {
    maps_.fetch_add(1, std::memory_order_relaxed);
    base = mmap(nullptr, count * reserve, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  }
  if (base == MAP_FAILED && count > 1) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      idle_address_space_ -= (count - 1) * reserve;
    }
    count = 1;
    maps_.fetch_add(1, std::memory_order_relaxed);
    base = mmap(nullptr, reserve, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  }
  if (base == MAP_FAILED) return false;
  auto* first = static_cast<uint8_t*>(base);
  if (!guard) {
    // Read-write throughout: transparent huge pages would make each small memory's first touch
    // cost 2 MiB of resident memory. Once per slab, and it changes no page table.
    advises_.fetch_add(1, std::memory_order_relaxed);
    (void)madvise(first, count * reserve, MADV_NOHUGEPAGE);
  }
  const uint64_t accessible = guard ? 0 : reserve;
  *out = {first, reserve, accessible, /*fresh=*/true};
  if (count > 1) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Idle>& list = idle_[reserve];
    for (uint32_t i = count; i-- > 1;) {
      list.push_back({{first + i * reserve, reserve, accessible}, 0});
    }
    idle_count_ += count - 1;
  }
  return true;
}

int64_t MemoryPool::ZeroResident(uint8_t* base, uint64_t keep) {
  unsigned char resident[kKeepResidentBytes / kOsPage];
  const uint64_t pages = keep / kOsPage;
  if (pages == 0) return 0;
  if (mincore(base, keep, resident) != 0) return -1;
  uint64_t kept = 0, zeroed = 0;
  for (uint64_t i = 0; i < pages; ++i) {
    if (!(resident[i] & 1)) continue;
    uint8_t* page = base + i * kOsPage;
    kept += kOsPage;
    // A page that reads as zero is left alone: it may be the kernel's shared zero page, which a
    // write would replace with a private copy.
    if (!AllZero(page, kOsPage)) {
      std::memset(page, 0, kOsPage);
      zeroed += kOsPage;
    }
  }
  zeroed_bytes_.fetch_add(zeroed, std::memory_order_relaxed);
  return static_cast<int64_t>(kept);
}

void MemoryPool::Release(const MemoryReservation& r, uint64_t used) {
  used = std::min(used, r.accessible);
  uint64_t keep = std::min(used, kKeepResidentBytes);
  bool pooled, keep_resident;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pooled = idle_address_space_ + r.reserve <= kIdleAddressSpaceBudget;
    if (pooled) idle_address_space_ += r.reserve;
    keep_resident = pooled && idle_resident_ + keep <= kIdleResidentBudget;
    if (keep_resident) idle_resident_ += keep;  // charged now, corrected below
  }
  if (!pooled) {
    unmaps_.fetch_add(1, std::memory_order_relaxed);
    munmap(r.base, r.reserve);
    return;
  }
  int64_t resident = keep_resident ? ZeroResident(r.base, keep) : -1;
  const uint64_t charged = keep_resident ? keep : 0;
  if (resident < 0) {
    keep = 0;  // give everything back instead
    resident = 0;
  }
  if (used > keep) Advise(r.base + keep, used - keep);
  std::lock_guard<std::mutex> lock(mu_);
  idle_resident_ = idle_resident_ - charged + static_cast<uint64_t>(resident);
  idle_[r.reserve].push_back({r, static_cast<uint64_t>(resident)});
  ++idle_count_;
}

std::vector<PageRun> MemoryPool::DirtyRuns(const uint8_t* base, uint64_t bytes) {
  unsigned char resident[kKeepResidentBytes / kOsPage];
  const uint64_t pages = std::min(bytes, kKeepResidentBytes) / kOsPage;
  std::vector<PageRun> runs;
  if (pages == 0 || mincore(const_cast<uint8_t*>(base), pages * kOsPage, resident) != 0) {
    return runs;
  }
  for (uint32_t i = 0; i < pages; ++i) {
    if (!(resident[i] & 1) || AllZero(base + uint64_t{i} * kOsPage, kOsPage)) continue;
    if (!runs.empty() && runs.back().first + runs.back().count == i) {
      ++runs.back().count;
    } else {
      runs.push_back({i, 1});
    }
  }
  return runs;
}

void MemoryPool::Populate(uint8_t* base, uint64_t accessible, const std::vector<PageRun>& runs) {
  // A write (never a read) faults each page in as a private zeroed page of its own. Cheaper
  // here than madvise(MADV_POPULATE_WRITE): a small actor's pages lie in several runs, and a
  // system call per run cost more on a VM than the faults it saved.
  const uint64_t pages = accessible / kOsPage;
  uint64_t touched = 0;
  for (const PageRun& run : runs) {
    if (run.first >= pages) break;
    const uint64_t end = std::min<uint64_t>(uint64_t{run.first} + run.count, pages);
    for (uint64_t i = run.first; i < end; ++i) {
      reinterpret_cast<volatile uint8_t*>(base)[i * kOsPage] = 0;
    }
    touched += end - run.first;
  }
  populated_pages_.fetch_add(touched, std::memory_order_relaxed);
}

MemoryPoolCounters MemoryPool::counters() const {
  MemoryPoolCounters c;
  c.maps = maps_.load(std::memory_order_relaxed);
  c.unmaps = unmaps_.load(std::memory_order_relaxed);
  c.protects = protects_.load(std::memory_order_relaxed);
  c.advises = advises_.load(std::memory_order_relaxed);
  c.reused = reused_.load(std::memory_order_relaxed);
  c.zeroed_bytes = zeroed_bytes_.load(std::memory_order_relaxed);
  c.populated_pages = populated_pages_.load(std::memory_order_relaxed);
  return c;
}

size_t MemoryPool::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_count_;
}

}  // namespace theater::engine::rt
