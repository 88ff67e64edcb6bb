// Theater: a WebAssembly actor runtime.
//
// BlockingPool: threads for work that may block for long (reading a manifest, fetching a URL,
// compiling a module), so that neither the management server's I/O thread nor an executor
// worker ever waits on it.
//
// How many threads run at once: at most `concurrency` tasks run side by side (by default one per
// CPU), and a thread that finishes a task takes the next queued one without sleeping, so a burst
// of short tasks (cached spawns) costs no wake-up per task. A task that has run longer than
// `stall` is taken to be blocked (a hung fetch, a long compile) and no longer counts: the tasks
// queued behind it start on other threads, up to `max_threads`. While tasks wait for a running
// slot, one idle thread stands by and looks again every `stall`, so a task that blocks after it
// started does not hold up the queue. Threads beyond the first exit after `idle` without work.
// The threads are scheduled as SCHED_BATCH, so that waking one does not preempt the poster.
// Past `max_queued` waiting tasks, Post() refuses.
//
// Thread-safety: Post() from any thread, including from inside a task. The destructor runs the
// tasks already queued (a task must not wait for one queued after it), then joins the threads.
// Ownership: the pool owns its threads and the tasks it has accepted.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "theater/status.h"

namespace theater {

class BlockingPool {
 public:
  struct Options {
    size_t max_threads = 16;
    size_t max_queued = 4096;
    std::chrono::milliseconds idle{10'000};
    // Tasks run side by side that have not yet stalled; 0: one per CPU.
    size_t concurrency = 0;
    // Long enough that a task only descheduled on a busy machine is not taken for a blocked one
    // (each thread started for it would grow a malloc arena of its own).
    std::chrono::milliseconds stall{100};
    // The threads' name (pthread_setname_np, at most 15 characters), for profiles and debuggers.
    const char* thread_name = "theater-block";
  };

  explicit BlockingPool(Options options);
  BlockingPool() : BlockingPool(Options{}) {}
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Queues `task`. kResourceExhausted naming the limit when max_queued tasks already wait;
  // kFailedPrecondition once the pool is being destroyed.
  [[nodiscard]] Status Post(std::function<void()> task);

 private:
  using Clock = std::chrono::steady_clock;
  void Loop(size_t slot);
  // Joins the threads that left for idleness (under mu_), so threads_ holds only live ones.
  void ReapExited();
  // Whether one more task may start now: fewer than `concurrency` tasks run that have not
  // stalled (under mu_).
  bool MayStartLocked(Clock::time_point now) const;
  // After the queue changed (under mu_): makes sure some thread will take its first task, now
  // or when a running one finishes or stalls, starting a thread if every one is busy. True when
  // an idle thread is to be woken (cv_.notify_one(), outside the lock).
  bool ArrangeForQueueLocked();

  const Options options_;
  const size_t concurrency_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;     // started and not yet reaped
  std::vector<std::thread::id> exited_;  // threads that left Loop() for idleness, to be joined
  // Per thread slot (max_threads of them): when its current task started, or Clock::time_point
  // max() while it runs none; and whether a live thread holds the slot.
  std::vector<Clock::time_point> busy_since_;
  std::vector<bool> slot_taken_;
  size_t live_ = 0;     // threads still looping
  size_t starting_ = 0;  // of those, started and not yet looking at the queue
  size_t idle_ = 0;     // of those, waiting for work
  size_t standby_ = 0;  // of the idle, those looking again every `stall` (tasks are waiting)
  bool stopping_ = false;
};

}  // namespace theater
