// Theater: a WebAssembly actor runtime.
//
// BackgroundCompiles: the thread on which an engine compiles the optimized objects of modules
// that already run from the fast tier (docs/compile-cache.md, "Tiers"). Jobs run one at a time,
// in the order given, at the lowest CPU priority: the thread sets its nice value to 19, and the
// compiler processes it starts inherit it, so actors and foreground compiles come first.
//
// Thread-safety: Add() and WaitIdle() may be called from any thread. The destructor sets the
// flag every job is given (a compile then kills its tools within 200 ms and returns), drops
// the jobs not started and joins the thread. Owns its jobs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace theater::engine {

class BackgroundCompiles {
 public:
  // A job's `cancel` turns true when the owner is destroyed; it should return soon after.
  using Job = std::function<void(const std::atomic<bool>& cancel)>;

  BackgroundCompiles() = default;
  BackgroundCompiles(const BackgroundCompiles&) = delete;
  BackgroundCompiles& operator=(const BackgroundCompiles&) = delete;
  ~BackgroundCompiles();

  // Queues `job`; the thread starts with the first one.
  void Add(Job job);
  // Jobs queued or running.
  size_t pending() const;
  // Waits until no job is queued or running; false when `timeout` passes first.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Job> jobs_;  // guarded by mu_
  size_t running_ = 0;    // guarded by mu_: 1 while a job runs
  bool stopping_ = false; // guarded by mu_
  std::atomic<bool> cancel_{false};
  std::thread thread_;  // started by the first Add()
};

}  // namespace theater::engine
