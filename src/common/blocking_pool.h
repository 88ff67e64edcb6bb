// Theater: a WebAssembly actor runtime.
//
// BlockingPool: threads for work that may block for long (reading a manifest, compiling a
// module; the runtime fetches URLs on its I/O loop instead, runtime/spawn_fetcher.h), so that
// neither the management server's I/O thread nor an executor worker ever waits on it. The pool
// grows on demand up to `max_threads`, so one slow task (a large compile, a slow disk) does not
// hold up the spawns queued behind it; threads beyond the first exit
// after `idle` without work. Past `max_queued` waiting tasks, Post() refuses. The threads (named
// theater-block) are scheduled as SCHED_BATCH, so that waking one does not preempt the poster.
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
  void Loop();
  // Joins the threads that left for idleness (under mu_), so threads_ holds only live ones.
  void ReapExited();

  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;     // started and not yet reaped
  std::vector<std::thread::id> exited_;  // threads that left Loop() for idleness, to be joined
  size_t live_ = 0;                      // threads still looping
  size_t idle_ = 0;                      // of those, waiting for work
  bool stopping_ = false;
};

}  // namespace theater
