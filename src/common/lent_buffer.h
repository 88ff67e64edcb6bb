// Theater: a WebAssembly actor runtime.
//
// LentBuffer: a vector kept for reuse, lent to one user at a time. A hot path that needs a
// scratch vector per call (the flat core values of a guest call) borrows it with Lease and
// allocates nothing once the vector has grown to its size; a user that comes while it is lent
// (a nested call: a guest's cabi_realloc calling back into the host, or another operation
// while one is suspended) gets an empty vector of its own instead, so no two users ever share
// one.
//
// Thread-safety: none; a LentBuffer belongs to one owner that is used by one thread at a time
// (an actor's host). Ownership: the buffer owns its vector; a Lease must not outlive the buffer.
#pragma once

#include <vector>

namespace theater {

template <typename T>
class LentBuffer {
 public:
  class Lease {
   public:
    // Takes the buffer's vector, emptied (capacity kept), or, when it is lent, a new one.
    explicit Lease(LentBuffer& buffer) : buffer_(buffer), owner_(!buffer.lent_) {
      if (owner_) {
        buffer.lent_ = true;
        buffer.values_.clear();
      }
    }
    ~Lease() {
      if (owner_) buffer_.lent_ = false;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    std::vector<T>& values() { return owner_ ? buffer_.values_ : own_; }
    // Whether this lease has the buffer's own vector (false: a vector of its own).
    bool borrowed() const { return owner_; }

   private:
    LentBuffer& buffer_;
    const bool owner_;
    std::vector<T> own_;
  };

  bool lent() const { return lent_; }

 private:
  std::vector<T> values_;
  bool lent_ = false;
};

}  // namespace theater
