// Theater: a WebAssembly actor runtime.
#include "common/blocking_pool.h"

#include <pthread.h>
#include <sched.h>

#include <string>

namespace theater {

BlockingPool::BlockingPool(Options options) : options_(options) {}

BlockingPool::~BlockingPool() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // A task still running may post more (it sees the refusal); the threads drain the queue first.
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (threads_.empty()) break;
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
    threads.clear();
  }
}

Status BlockingPool::Post(std::function<void()> task) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return FailedPrecondition("the blocking pool is shutting down");
  if (queue_.size() >= options_.max_queued) {
    return ResourceExhausted(std::to_string(queue_.size()) +
                             " tasks already wait for a blocking thread (the limit is " +
                             std::to_string(options_.max_queued) + ")");
  }
  ReapExited();
  queue_.push_back(std::move(task));
  // A new thread when none is idle to take the task: a queue behind a hung fetch would otherwise
  // wait for the fetch's deadline.
  if (idle_ < queue_.size() && live_ < options_.max_threads) {
    ++live_;
    threads_.emplace_back([this] { Loop(); });
  } else {
    lock.unlock();
    cv_.notify_one();
  }
  return Status::Ok();
}

void BlockingPool::Loop() {
  pthread_setname_np(pthread_self(), "theater-block");
  // SCHED_BATCH (same priority, no privilege needed): a woken pool thread does not preempt the
  // thread that posted to it. Otherwise the poster (a server's I/O thread, a spawning driver)
  // stops at each Post while the woken thread runs the task on its CPU, and the pool then finds
  // its queue empty again: one sleep and wake-up per task instead of runs of tasks
  // (docs/benchmarks.md, "Spawns in runs").
  sched_param param{};
  (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!queue_.empty()) {
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // its captures are released outside the lock
      lock.lock();
      continue;
    }
    if (stopping_) break;
    ++idle_;
    const bool woken =
        cv_.wait_for(lock, options_.idle, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    // The last thread stays, so a lone spawn after a quiet spell does not pay for a new thread.
    if (!woken && live_ > 1) {
      exited_.push_back(std::this_thread::get_id());
      break;
    }
  }
  --live_;
}

void BlockingPool::ReapExited() {
  // Each id was recorded under the lock as that thread's last act, so joining waits only for it
  // to return from Loop().
  for (std::thread::id id : exited_) {
    for (size_t i = 0; i < threads_.size(); ++i) {
      if (threads_[i].get_id() == id) {
        threads_[i].join();
        threads_[i] = std::move(threads_.back());
        threads_.pop_back();
        break;
      }
    }
  }
  exited_.clear();
}

}  // namespace theater
