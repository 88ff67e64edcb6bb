// Theater: a WebAssembly actor runtime.
//
// RingQueue: a FIFO (with push at the front too) on a ring buffer that holds no memory while it is
// empty: it allocates when the first element comes and frees when the last one goes.
//
// For queues that are empty nearly all the time and exist by the hundred thousand, such as an
// actor's mailbox: std::deque allocates its map and a 512-byte block on construction and keeps
// a block while empty, which is a few hundred bytes per idle actor. A queue used as a steady
// stream allocates once per burst (growing by doubling), not per element.
//
// Thread-safety: none; callers lock. Ownership: owns its elements.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace theater {

template <typename T>
class RingQueue {
 public:
  RingQueue() = default;
  RingQueue(RingQueue&& other) noexcept { *this = std::move(other); }
  RingQueue& operator=(RingQueue&& other) noexcept {
    slots_ = std::move(other.slots_);
    capacity_ = std::exchange(other.capacity_, 0);
    head_ = std::exchange(other.head_, 0);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // Elements it has room for without allocating (0 while empty).
  size_t capacity() const { return capacity_; }

  T& front() { return slots_[head_]; }
  const T& front() const { return slots_[head_]; }

  void push_back(T value) {
    if (size_ == capacity_) Grow();
    slots_[(head_ + size_) & (capacity_ - 1)] = std::move(value);
    ++size_;
  }

  void push_front(T value) {
    if (size_ == capacity_) Grow();
    head_ = (head_ + capacity_ - 1) & (capacity_ - 1);
    slots_[head_] = std::move(value);
    ++size_;
  }

  void pop_front() {
    slots_[head_] = T();  // what the element held goes now, not when the slot is reused
    head_ = (head_ + 1) & (capacity_ - 1);
    if (--size_ == 0) clear();
  }

  void clear() {
    slots_.reset();
    capacity_ = head_ = size_ = 0;
  }

 private:
  void Grow() {
    const size_t capacity = capacity_ == 0 ? 4 : capacity_ * 2;  // a power of two
    std::unique_ptr<T[]> slots(new T[capacity]);
    for (size_t i = 0; i < size_; ++i) slots[i] = std::move(slots_[(head_ + i) & (capacity_ - 1)]);
    slots_ = std::move(slots);
    capacity_ = capacity;
    head_ = 0;
  }

  std::unique_ptr<T[]> slots_;
  size_t capacity_ = 0;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace theater
