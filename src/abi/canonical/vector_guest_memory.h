// Theater: a WebAssembly actor runtime.
//
// VectorGuestMemory: a GuestMemory over a std::vector, with a bump allocator standing in for the
// guest's cabi_realloc. For tests, the fuzzer and benchmarks: it lets the canonical ABI be
// exercised without an engine.
//
// Memory grows in 64 KiB pages, like memory.grow, up to a configurable limit; an allocation that
// would pass the limit fails like a guest whose cabi_realloc traps. Growing reallocates the vector,
// so the span returned by Bytes() moves, which is exactly the hazard lowering must survive.
//
// Thread-safety: none; one instance per test or fuzz input. Owns its bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "theater/abi/canonical.h"
#include "theater/status.h"

namespace theater::abi {

class VectorGuestMemory : public GuestMemory {
 public:
  static constexpr uint32_t kPageSize = 64 * 1024;
  // Allocations start here, so that 0 is never a valid allocation (as in a real guest, whose low
  // memory holds the stack and data).
  static constexpr uint32_t kHeapBase = 1024;

  explicit VectorGuestMemory(uint32_t initial_size = kPageSize,
                             uint64_t max_size = uint64_t{256} << 20);
  // Memory initialised with `contents` (at least one page is kept), heap after it.
  VectorGuestMemory(std::span<const uint8_t> contents, uint64_t max_size);

  std::span<uint8_t> Bytes() override { return bytes_; }
  Result<uint32_t> Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                           uint32_t new_size) override;

  // Where the next allocation starts; tests reset it to reuse memory across iterations.
  uint32_t heap_top() const { return heap_top_; }
  void set_heap_top(uint32_t top) { heap_top_ = top; }
  uint64_t realloc_calls() const { return realloc_calls_; }

 private:
  std::vector<uint8_t> bytes_;
  uint64_t max_size_;
  uint32_t heap_top_ = kHeapBase;
  uint64_t realloc_calls_ = 0;
};

}  // namespace theater::abi
