// Theater: a WebAssembly actor runtime.
#include "engine/stack_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <memory>

namespace theater::engine {
namespace {

// Cached stacks kept with their pages resident; beyond this, cached stacks are trimmed.
constexpr size_t kKeepResident = 64;
// Cached stacks kept at all; beyond this, released stacks are unmapped.
constexpr size_t kMaxCached = 4096;
// Bytes at the top of a trimmed stack kept resident: a fresh call touches about one page.
constexpr size_t kKeepTopBytes = 8 * 1024;

// A few stacks per thread in front of the shared free list, so that the common create-run-finish
// cycle of a fiber on one worker takes no lock. Only the pool of one stack size (the first one a
// thread uses, normally the default) is cached. Touched only from scheduler frames.
struct ThreadStackCache {
  static constexpr int kCapacity = 8;
  StackPool* pool = nullptr;
  Stack stacks[kCapacity];
  int count = 0;
  ~ThreadStackCache() {
    while (count > 0) pool->ReleaseShared(stacks[--count]);
  }
};
thread_local ThreadStackCache tls_cache;

size_t RoundUpToPage(size_t n) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

}  // namespace

StackPool& StackPool::ForSize(size_t size) {
  static std::mutex mutex;
  static std::map<size_t, std::unique_ptr<StackPool>> pools;
  size = RoundUpToPage(size < kKeepTopBytes * 2 ? kKeepTopBytes * 2 : size);
  std::lock_guard<std::mutex> lock(mutex);
  auto& pool = pools[size];
  if (!pool) pool.reset(new StackPool(size));
  return *pool;
}

Stack StackPool::Map() const {
  size_t total = kGuardSize + size_;
  void* base = mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return {};
  auto* usable = static_cast<char*>(base) + kGuardSize;
  if (mprotect(usable, size_, PROT_READ | PROT_WRITE) != 0) {
    munmap(base, total);
    return {};
  }
  return Stack{reinterpret_cast<uintptr_t>(base), kGuardSize, size_};
}

void StackPool::Unmap(const Stack& stack) const {
  munmap(reinterpret_cast<void*>(stack.base), stack.guard + stack.size);
}

Stack StackPool::Acquire() {
  if (tls_cache.pool == this && tls_cache.count > 0) return tls_cache.stacks[--tls_cache.count];
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      Stack s = free_.back();
      free_.pop_back();
      return s;
    }
  }
  Stack s = Map();
  if (s) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++mapped_;
  }
  return s;
}

void StackPool::Release(const Stack& stack) {
  if (tls_cache.pool == nullptr) tls_cache.pool = this;
  if (tls_cache.pool == this && tls_cache.count < ThreadStackCache::kCapacity) {
    tls_cache.stacks[tls_cache.count++] = stack;
    return;
  }
  ReleaseShared(stack);
}

void StackPool::ReleaseShared(const Stack& stack) {
  size_t cached;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cached = free_.size();
    if (cached >= kMaxCached) {
      --mapped_;
    }
  }
  if (cached >= kMaxCached) {
    Unmap(stack);
    return;
  }
  if (cached >= kKeepResident && stack.size > kKeepTopBytes) {
    madvise(reinterpret_cast<void*>(stack.usable_lo()), stack.size - kKeepTopBytes, MADV_DONTNEED);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(stack);
}

size_t StackPool::mapped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return mapped_;
}

}  // namespace theater::engine
