// Theater: a WebAssembly actor runtime.
//
// Await: how a host function waits without holding a worker thread (the runtime's side of
// ActorContext::Suspend, include/theater/host_api.h). It suspends the guest call it serves (the
// actor's fiber) and hands a Waker to whatever will finish the wait — a timer, a reply from
// another actor, a child's `init`. The worker goes on running other actors; the wake makes the
// call runnable again on whichever worker is free.
//
// Thread-safety: Await runs on the fiber; Waker::Wake may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "theater/engine.h"
#include "theater/host_api.h"
#include "theater/mutex.h"
#include "theater/status.h"

namespace theater {

// The suspended call a Waker refers to; cleared when the wait ends.
struct Waker::Slot {
  explicit Slot(engine::GuestCall* waiting) : call(waiting) {}
  Mutex mu;
  engine::GuestCall* call THEATER_GUARDED_BY(mu);
};

namespace runtime {

// Suspends the GuestCall running on `instance` and calls `arm(waker)` once it has switched away
// (so an immediate wake is safe). Returns the wake value, a kCancelled status when the call was
// cancelled while waiting, or kFailedPrecondition when the instance is not running a GuestCall
// (a direct call cannot suspend). Must be called from a host function, on the fiber.
Result<uint64_t> Await(engine::Instance& instance, const std::function<void(Waker)>& arm);

}  // namespace runtime
}  // namespace theater
