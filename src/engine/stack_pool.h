// Theater: a WebAssembly actor runtime.
//
// StackPool: guard-paged stacks for guest-call fibers, recycled instead of mapped per call.
//
// Each stack is one mapping: a PROT_NONE guard region at the low end (stacks grow down) and the
// usable stack above it. The guard must be at least as large as the largest single stack frame
// so that an overflow always lands in it; the SIGSEGV handler then reports stack exhaustion for
// guest code. Stacks released to the pool keep their pages; above a high-water mark of cached
// stacks, released stacks have their pages returned to the kernel (MADV_DONTNEED) so a burst of
// deep calls does not pin memory forever, and beyond a hard limit they are unmapped.
//
// Thread-safety: Acquire/Release may be called from any thread. A small per-thread cache in
// front of the shared free list keeps the common case lock-free; it is only touched from
// scheduler frames (never from a frame that migrates between threads). Pools live for the whole
// process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace theater::engine {

struct Stack {
  uintptr_t base = 0;  // lowest address of the mapping (start of the guard)
  size_t guard = 0;    // guard bytes at the bottom
  size_t size = 0;     // usable bytes above the guard
  uintptr_t top() const { return base + guard + size; }
  uintptr_t usable_lo() const { return base + guard; }
  explicit operator bool() const { return base != 0; }
};

class StackPool {
 public:
  static constexpr size_t kDefaultStackSize = 256 * 1024;
  static constexpr size_t kGuardSize = 64 * 1024;

  // The process-wide pool for stacks of `size` usable bytes (rounded up to whole pages).
  static StackPool& ForSize(size_t size);

  // A stack from the pool, or a new mapping; an empty Stack when the kernel refuses.
  Stack Acquire();
  void Release(const Stack& stack);
  // Release() without the per-thread cache (used when a thread's cache is torn down).
  void ReleaseShared(const Stack& stack);

  size_t stack_size() const { return size_; }
  // Stacks currently mapped by this pool (in use or cached).
  size_t mapped() const;

 private:
  explicit StackPool(size_t size) : size_(size) {}
  Stack Map() const;
  void Unmap(const Stack& stack) const;

  const size_t size_;
  mutable std::mutex mutex_;
  std::vector<Stack> free_;
  size_t mapped_ = 0;
};

}  // namespace theater::engine
