// Theater: a WebAssembly actor runtime.
//
// Executor: a fixed pool of worker threads that run GuestCalls to completion, resuming each
// wherever a worker is free after a host import suspended it.
//
// Each worker owns a run queue. A call started or woken by a worker goes to that worker's own
// queue (it is warm in its cache, and nobody has to be woken to run it); one started or woken
// from another thread goes to the queue the caller chose, else round robin. A worker resumes one
// call at a time from its own queue and, when that is empty, steals the oldest call of another
// worker's queue before it sleeps; a worker that queues a call while another sleeps wakes that
// one to steal it, unless it queued it between calls into its own empty queue (it runs it next
// itself: a request and its reply between idle actors stay on one worker and wake nobody). So a
// call suspended on worker A may well continue on worker B.
//
// Every call gets the executor's time slice (docs/engine.md, "Time slices"): one that runs past it
// yields at its next check and goes to the back of its worker's queue of yielded calls. A worker
// serves calls that are new or were woken before yielded ones, except that after
// kFreshBeforeYielded of those in a row it takes a yielded one; so a few guests that never stop
// delay the others by about one slice, and cannot themselves be starved.
//
// This is the execution substrate the actor scheduler builds on; it knows nothing of actors.
//
// Thread-safety: Start() may be called from any thread, including from inside publish callbacks.
// The destructor stops the workers after the calls already queued have finished or suspended;
// calls still suspended then are cancelled and driven to completion.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "theater/engine.h"

namespace theater::engine {

class Executor {
 public:
  // Called on the worker thread when a call finishes; receives ownership of the call.
  using DoneFn = std::function<void(std::unique_ptr<GuestCall>)>;

  // `slice`: the time slice of every call started here; zero lets calls run until they return
  // or suspend.
  explicit Executor(int threads, std::chrono::nanoseconds slice = kDefaultPreemptSlice);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs `call` on worker `worker` (or any when -1) until it finishes, then calls `done`.
  void Start(std::unique_ptr<GuestCall> call, DoneFn done, int worker = -1);

  int worker_count() const { return static_cast<int>(workers_.size()); }
  // Index of the calling worker thread, or -1 when called from another thread.
  static int CurrentWorker();

 private:
  struct Task {
    std::unique_ptr<GuestCall> call;
    DoneFn done;
  };
  // Calls taken from the fresh queue in a row, while yielded ones wait, before one of those.
  static constexpr int kFreshBeforeYielded = 8;

  struct Worker {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<Task*> queue;            // new calls and woken ones
    std::deque<Task*> yielded;          // calls that yielded their slice
    int fresh_in_a_row = 0;             // guarded by mutex
    std::atomic<size_t> queued{0};      // queue.size() + yielded.size(), readable without the mutex
    std::atomic<bool> sleeping{false};  // waiting on cv (or about to)
    bool wake = false;                  // guarded by mutex: woken to steal
    std::thread thread;
  };

  void Enqueue(Task* task, int worker, bool yielded = false);
  void Loop(int index);
  Task* PopOwn(Worker& w);
  Task* Steal(int thief);
  bool AnyQueued() const;
  // Wakes a sleeping worker other than `except`, if there is one.
  void WakeIdle(int except);

  std::chrono::nanoseconds slice_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<unsigned> next_{0};
  std::atomic<bool> stopping_{false};
  std::mutex live_mutex_;
  std::set<Task*> live_;  // tasks not yet finished (suspended ones included)
};

}  // namespace theater::engine
