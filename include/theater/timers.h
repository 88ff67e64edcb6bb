// Theater: a WebAssembly actor runtime.
//
// Timers: the host's timer service as handlers and the messaging client see it (the runtime's
// TimerService implements it; HostServices::timers() hands it out).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace theater {

// Runs callbacks at steady-clock deadlines, on a thread of the host's: the wake-ups of sleeps and
// the timeouts of waits. Callbacks must be quick (typically a Waker::Wake).
//
// Thread-safety: every method may be called from any thread.
class Timers {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = uint64_t;
  virtual ~Timers() = default;
  // Runs `fn` at (or soon after) `when`; a time in the past runs it as soon as possible.
  virtual TimerId Schedule(Clock::time_point when, std::function<void()> fn) = 0;
  // Drops a timer that has not fired. Returns false when it already ran (or never existed).
  virtual bool Cancel(TimerId id) = 0;
};

}  // namespace theater
