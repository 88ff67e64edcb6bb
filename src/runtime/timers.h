// Theater: a WebAssembly actor runtime.
//
// TimerService: one thread that runs callbacks at steady-clock deadlines — the wake-ups of
// sleeping actors (timing.sleep, timing.deadline) and of waits with timeouts. Callbacks run on
// the timer thread and must be quick (typically a Waker::Wake).
//
// Thread-safety: every method may be called from any thread. Ownership: the destructor runs the
// timers that are already due, drops the others without running them, and joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>

#include "theater/host_api.h"
#include "theater/mutex.h"

namespace theater::runtime {

// The runtime's Timers (include/theater/host_api.h), which handlers reach through HostServices.
class TimerService final : public Timers {
 public:
  TimerService();
  ~TimerService();
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  // Runs `fn` at (or soon after) `when`; a time in the past runs it as soon as possible.
  TimerId Schedule(Clock::time_point when, std::function<void()> fn) override;
  // Drops a timer that has not fired. Returns false when it already ran (or never existed).
  bool Cancel(TimerId id) override;
  size_t pending() const;

 private:
  void Loop() THEATER_EXCLUDES(mu_);

  mutable Mutex mu_;
  std::condition_variable cv_;
  // Ordered by (deadline, id): ties fire in scheduling order.
  std::map<std::pair<Clock::time_point, TimerId>, std::function<void()>> timers_
      THEATER_GUARDED_BY(mu_);
  std::map<TimerId, Clock::time_point> by_id_ THEATER_GUARDED_BY(mu_);
  TimerId next_id_ THEATER_GUARDED_BY(mu_) = 1;
  // When the loop wakes next on its own (time_point::max() while it waits for work): a timer due
  // later needs no notify. A wait with a timeout, such as each request's, then costs the
  // scheduling thread no futex wake and the timer thread no context switch; a cancelled timer
  // costs one spurious wake at its deadline instead.
  Clock::time_point loop_wakes_at_ THEATER_GUARDED_BY(mu_) = Clock::time_point::max();
  bool stopping_ THEATER_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace theater::runtime
