// Theater: a WebAssembly actor runtime.
#include "common/blocking_pool.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <string>

namespace theater {

BlockingPool::BlockingPool(Options options)
    : options_(options),
      concurrency_(options.concurrency > 0
                       ? options.concurrency
                       : std::max<size_t>(1, std::thread::hardware_concurrency())),
      busy_since_(std::max<size_t>(1, options.max_threads), Clock::time_point::max()),
      slot_taken_(std::max<size_t>(1, options.max_threads), false) {}

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

bool BlockingPool::MayStartLocked(Clock::time_point now) const {
  size_t running = 0;
  for (Clock::time_point since : busy_since_) {
    if (since != Clock::time_point::max() && now - since < options_.stall) ++running;
  }
  return running < concurrency_;
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
  const bool wake = ArrangeForQueueLocked();
  lock.unlock();
  if (wake) cv_.notify_one();
  return Status::Ok();
}

bool BlockingPool::ArrangeForQueueLocked() {
  if (queue_.empty()) return false;
  if (idle_ + starting_ == 0) {
    // Every thread is busy: a new one takes the task, or stands by if the running ones are
    // enough (a queue behind a hung fetch would otherwise wait for the fetch's deadline). One
    // that is starting will do the same, so a burst of posts starts one thread, not one each.
    if (live_ < slot_taken_.size()) {
      const size_t slot = static_cast<size_t>(
          std::find(slot_taken_.begin(), slot_taken_.end(), false) - slot_taken_.begin());
      slot_taken_[slot] = true;
      ++live_;
      ++starting_;
      threads_.emplace_back([this, slot] { Loop(slot); });
    }
    return false;
  }
  if (idle_ == 0) return false;  // a starting thread will look at the queue
  // An idle thread is woken when a task may start now, or to stand by when none does yet.
  // Otherwise a running thread takes the task when it finishes its own, with no wake-up.
  return MayStartLocked(Clock::now()) || standby_ == 0;
}

void BlockingPool::Loop(size_t slot) {
  pthread_setname_np(pthread_self(), options_.thread_name);
  // SCHED_BATCH (same priority, no privilege needed): a woken pool thread does not preempt the
  // thread that posted to it. Otherwise the poster (a server's I/O thread, a spawning driver)
  // stops at each Post while the woken thread runs the task on its CPU, and the pool then finds
  // its queue empty again: one sleep and wake-up per task instead of runs of tasks
  // (docs/benchmarks.md, "Spawns in runs").
  sched_param param{};
  (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
  std::unique_lock<std::mutex> lock(mu_);
  --starting_;
  // Just finished a task: the thread keeps its running place and takes the next one at once.
  bool running = false;
  for (;;) {
    if (!queue_.empty() && (running || stopping_ || MayStartLocked(Clock::now()))) {
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      busy_since_[slot] = Clock::now();
      // The tasks behind this one need a thread too: if this one blocks, no one else would look.
      const bool wake = ArrangeForQueueLocked();
      lock.unlock();
      if (wake) cv_.notify_one();
      task();
      task = nullptr;  // its captures are released outside the lock
      lock.lock();
      busy_since_[slot] = Clock::time_point::max();
      running = true;
      continue;
    }
    running = false;
    if (stopping_ && queue_.empty()) break;
    // Tasks waiting for a running place: stand by, and look again when a running task may have
    // stalled. Otherwise wait to be posted to, and leave after `idle` without work.
    const bool standby = !queue_.empty();
    ++idle_;
    if (standby) ++standby_;
    const std::cv_status waited =
        cv_.wait_for(lock, standby ? std::chrono::milliseconds(options_.stall) : options_.idle);
    --idle_;
    if (standby) --standby_;
    // The last thread stays, so a lone spawn after a quiet spell does not pay for a new thread.
    if (waited == std::cv_status::timeout && !standby && queue_.empty() && !stopping_ &&
        live_ > 1) {
      exited_.push_back(std::this_thread::get_id());
      break;
    }
  }
  slot_taken_[slot] = false;
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
