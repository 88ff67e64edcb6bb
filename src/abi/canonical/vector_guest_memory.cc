// Theater: a WebAssembly actor runtime.
#include "abi/canonical/vector_guest_memory.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace theater::abi {

VectorGuestMemory::VectorGuestMemory(uint32_t initial_size, uint64_t max_size)
    : bytes_(initial_size), max_size_(max_size) {}

VectorGuestMemory::VectorGuestMemory(std::span<const uint8_t> contents, uint64_t max_size)
    : bytes_(contents.begin(), contents.end()), max_size_(max_size) {
  if (bytes_.size() < kPageSize) bytes_.resize(kPageSize);
  heap_top_ = static_cast<uint32_t>(std::max<size_t>(kHeapBase, contents.size()));
}

Result<uint32_t> VectorGuestMemory::Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                            uint32_t new_size) {
  ++realloc_calls_;
  if (align == 0 || (align & (align - 1)) != 0) {
    return TrapError("cabi_realloc: alignment " + std::to_string(align) + " is not a power of 2");
  }
  if (old_ptr != 0 && uint64_t{old_ptr} + old_size > bytes_.size()) {
    return TrapError("cabi_realloc: old block is outside memory");
  }
  if (old_ptr != 0 && new_size <= old_size) return old_ptr;  // shrink in place
  const uint64_t start = (uint64_t{heap_top_} + align - 1) / align * align;
  const uint64_t end = start + new_size;
  if (end > max_size_ || end >= (uint64_t{1} << 32)) {
    return TrapError("cabi_realloc: out of memory allocating " + std::to_string(new_size) +
                     " bytes (limit " + std::to_string(max_size_) + ")");
  }
  if (end > bytes_.size()) {
    const uint64_t pages = (end + kPageSize - 1) / kPageSize;
    bytes_.resize(std::min<uint64_t>(pages * kPageSize, std::max<uint64_t>(max_size_, end)));
  }
  if (old_ptr != 0 && old_size > 0) {
    std::memmove(bytes_.data() + start, bytes_.data() + old_ptr, old_size);
  }
  heap_top_ = static_cast<uint32_t>(end);
  return static_cast<uint32_t>(start);
}

}  // namespace theater::abi
