// Theater: a WebAssembly actor runtime.
//
// Await: how a host function waits without holding a worker thread. It suspends the guest call
// it serves (the actor's fiber) and hands a Waker to whatever will finish the wait — a timer, a
// reply from another actor, a child's `init`. The worker goes on running other actors; the wake
// makes the call runnable again on whichever worker is free.
//
// A Waker may outlive the call it wakes (a timer that fires after the call was cancelled): waking
// then does nothing. Waking twice does nothing the second time.
//
// Thread-safety: Waker::Wake may be called from any thread, any number of times.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "theater/engine.h"
#include "theater/status.h"

namespace theater::runtime {

class Waker {
 public:
  Waker() = default;
  // Makes the suspended call runnable with `value` as Await's result. Returns false when the call
  // is already awake, cancelled or finished.
  bool Wake(uint64_t value = 0) const;
  explicit operator bool() const { return slot_ != nullptr; }

  struct Slot {
    std::mutex mu;
    engine::GuestCall* call = nullptr;  // cleared when the wait ends
  };

 private:
  friend Result<uint64_t> Await(engine::Instance&, const std::function<void(Waker)>&);
  explicit Waker(std::shared_ptr<Slot> slot) : slot_(std::move(slot)) {}
  std::shared_ptr<Slot> slot_;
};

// Suspends the GuestCall running on `instance` and calls `arm(waker)` once it has switched away
// (so an immediate wake is safe). Returns the wake value, a kCancelled status when the call was
// cancelled while waiting, or kFailedPrecondition when the instance is not running a GuestCall
// (a direct call cannot suspend). Must be called from a host function, on the fiber.
Result<uint64_t> Await(engine::Instance& instance, const std::function<void(Waker)>& arm);

}  // namespace theater::runtime
