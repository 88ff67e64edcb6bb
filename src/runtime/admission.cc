// Theater: a WebAssembly actor runtime.
#include "runtime/admission.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/clock.h"
#include "engine/wasm2c/runtime.h"

namespace theater::runtime {
namespace {

// x86-64 and AArch64 user space with 4-level page tables: mmap never hands out more without a
// hint above it.
constexpr uint64_t kUserAddressSpace = uint64_t{1} << 47;

std::string GiB(uint64_t bytes) {
  return std::to_string(bytes >> 30) + " GiB";
}

// MemAvailable from /proc/meminfo, in bytes; 0 when it cannot be read (then nothing is refused
// for memory).
uint64_t ReadMemAvailable() {
  FILE* f = std::fopen("/proc/meminfo", "re");
  if (!f) return 0;
  char line[256];
  uint64_t kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "MemAvailable:", 13) == 0) {
      kib = std::strtoull(line + 13, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kib * 1024;
}

}  // namespace

uint64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "re");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

Admission::Admission(uint64_t reservation_per_actor, uint64_t memory_floor,
                     uint64_t address_space_limit)
    : reservation_per_actor_(reservation_per_actor),
      memory_floor_(memory_floor),
      address_space_limit_(address_space_limit ? address_space_limit : AddressSpaceLimit()) {}

uint64_t Admission::AddressSpaceLimit() const {
  uint64_t total = kUserAddressSpace;
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    total = std::min<uint64_t>(total, limit.rlim_cur);
  }
  // A sixteenth (8 TiB of 128) for everything else: the heap, thread and fiber stacks, shared
  // objects, and the pool of idle reservations kept for reuse (at most 2 TiB).
  return total - total / 16;
}

uint64_t Admission::MemoryAvailable() const {
  static std::atomic<int64_t> read_at_ns{0};  // 0: never read
  static std::atomic<uint64_t> cached{0};
  const int64_t now = SteadyNowNs();
  const int64_t last = read_at_ns.load(std::memory_order_relaxed);
  if (last == 0 || now - last > 100'000'000) {
    cached.store(ReadMemAvailable(), std::memory_order_relaxed);
    read_at_ns.store(now, std::memory_order_relaxed);
  }
  return cached.load(std::memory_order_relaxed);
}

Status Admission::AdmitOne() const {
  const uint64_t reserved = engine::rt::ReservedAddressSpace();
  if (reserved + reservation_per_actor_ > address_space_limit_) {
    return ResourceExhausted("no room for another actor: the live actors' memories reserve " +
                             GiB(reserved) + " of the " + GiB(address_space_limit_) +
                             " of address space they may use, and one more needs " +
                             GiB(reservation_per_actor_) + " (stop actors, or run more processes)");
  }
  if (memory_floor_ > 0) {
    const uint64_t available = MemoryAvailable();
    if (available > 0 && available < memory_floor_) {
      return ResourceExhausted(
          "no room for another actor: the machine has " + std::to_string(available >> 20) +
          " MiB of memory available, below the floor of " + std::to_string(memory_floor_ >> 20) +
          " MiB (RuntimeOptions::min_free_memory_bytes)");
    }
  }
  return Status::Ok();
}

RuntimeCapacity Admission::Capacity(uint64_t live_actors) const {
  RuntimeCapacity c;
  c.address_space_reserved_bytes = engine::rt::ReservedAddressSpace();
  c.address_space_limit_bytes = address_space_limit_;
  c.reservation_per_actor_bytes = reservation_per_actor_;
  c.memory_available_bytes = MemoryAvailable();
  c.memory_floor_bytes = memory_floor_;
  const uint64_t room = address_space_limit_ > c.address_space_reserved_bytes
                            ? address_space_limit_ - c.address_space_reserved_bytes
                            : 0;
  uint64_t fit = reservation_per_actor_ ? room / reservation_per_actor_ : UINT64_MAX;
  if (c.memory_available_bytes > 0) {
    // What a live actor costs now, resident; at least 64 KiB, and 1 MiB before there is any.
    const uint64_t per_actor =
        live_actors ? std::max<uint64_t>(ResidentBytes() / live_actors, 64 << 10) : 1 << 20;
    const uint64_t spare =
        c.memory_available_bytes > memory_floor_ ? c.memory_available_bytes - memory_floor_ : 0;
    fit = std::min(fit, spare / per_actor);
  }
  c.actors_that_fit = fit;
  return c;
}

}  // namespace theater::runtime
