// Theater: a WebAssembly actor runtime.
//
// PinnedList: an append-only list whose elements never move, so the addresses of its elements can
// be handed out (to bindings that point at them) for as long as the list lives.
//
// std::deque gives the same promise, but allocates its map and a 512-byte block when it is
// constructed, even if it stays empty; a list made per actor spawn then costs two allocations and
// most of a kilobyte for nothing. This one allocates nothing until the first element, then blocks
// of `first_block` elements and twice as many each time after that.
//
// Thread-safety: none; one owner. Ownership: owns its elements, destroyed newest first.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace theater {

template <typename T>
class PinnedList {
 public:
  explicit PinnedList(size_t first_block = 4) : next_block_(first_block == 0 ? 1 : first_block) {}
  PinnedList(const PinnedList&) = delete;
  PinnedList& operator=(const PinnedList&) = delete;
  ~PinnedList() {
    for (size_t i = size_; i-- > 0;) At(i).~T();
    if (first_.items != nullptr) Free(first_);
    for (Block& b : more_) Free(b);
  }

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    Block* block = more_.empty() ? &first_ : &more_.back();
    if (block->used == block->capacity) {
      Block fresh{
          static_cast<T*>(::operator new (next_block_ * sizeof(T), std::align_val_t{alignof(T)})),
          0, next_block_};
      next_block_ *= 2;
      if (first_.items == nullptr) {
        first_ = fresh;
        block = &first_;
      } else {
        block = &more_.emplace_back(fresh);
      }
    }
    T* item = new (block->items + block->used) T(std::forward<Args>(args)...);
    ++block->used;
    ++size_;
    return *item;
  }
  T& push_back(T value) { return emplace_back(std::move(value)); }

  // The i-th element appended (i < size()); a walk over the few blocks.
  T& operator[](size_t i) { return At(i); }
  const T& operator[](size_t i) const { return const_cast<PinnedList*>(this)->At(i); }
  T& back() { return At(size_ - 1); }

 private:
  struct Block {
    T* items = nullptr;
    size_t used = 0;
    size_t capacity = 0;
  };
  static void Free(Block& b) { ::operator delete (b.items, std::align_val_t{alignof(T)}); }
  T& At(size_t i) {
    if (i < first_.used) return first_.items[i];
    i -= first_.used;
    for (Block& b : more_) {
      if (i < b.used) return b.items[i];
      i -= b.used;
    }
    std::abort();  // i >= size(): a caller's bug
  }

  Block first_;              // the first block: most lists never need another
  std::vector<Block> more_;  // the others, each twice the size of the one before
  size_t size_ = 0;
  size_t next_block_;
};

}  // namespace theater
