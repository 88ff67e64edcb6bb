// Theater: a WebAssembly actor runtime.
#include <pthread.h>

#include "runtime/timers.h"

namespace theater::runtime {

TimerService::TimerService()
    : thread_([this] {
        pthread_setname_np(pthread_self(), "theater-timer");
        Loop();
      }) {}

TimerService::~TimerService() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

TimerService::TimerId TimerService::Schedule(Clock::time_point when, std::function<void()> fn) {
  MutexLock lock(mu_);
  TimerId id = next_id_++;
  timers_.emplace(std::make_pair(when, id), std::move(fn));
  by_id_.emplace(id, when);
  if (when < loop_wakes_at_) {
    loop_wakes_at_ = when;  // the loop re-reads it when it wakes
    cv_.notify_all();
  }
  return id;
}

bool TimerService::Cancel(TimerId id) {
  MutexLock lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return false;
  timers_.erase({it->second, id});
  by_id_.erase(it);
  return true;
}

size_t TimerService::pending() const {
  MutexLock lock(mu_);
  return timers_.size();
}

void TimerService::Loop() {
  MutexLock lock(mu_);
  for (;;) {
    if (stopping_) {
      // Run what is already due (deliveries scheduled "now"); drop the future ones.
      while (!timers_.empty() && timers_.begin()->first.first <= Clock::now()) {
        std::function<void()> fn = std::move(timers_.begin()->second);
        by_id_.erase(timers_.begin()->first.second);
        timers_.erase(timers_.begin());
        lock.Unlock();
        fn();
        lock.Lock();
      }
      return;
    }
    if (timers_.empty()) {
      loop_wakes_at_ = Clock::time_point::max();
      lock.Wait(cv_);
      continue;
    }
    auto first = timers_.begin();
    // Copied: while we wait, Cancel() may erase this timer, and wait_until keeps reading the
    // time point it was given.
    const Clock::time_point when = first->first.first;
    if (Clock::now() < when) {
      loop_wakes_at_ = when;
      lock.WaitUntil(cv_, when);
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    by_id_.erase(first->first.second);
    timers_.erase(first);
    lock.Unlock();
    fn();
    lock.Lock();
  }
}

}  // namespace theater::runtime
