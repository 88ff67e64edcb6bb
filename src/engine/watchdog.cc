// Theater: a WebAssembly actor runtime.
#include <pthread.h>

#include "engine/watchdog.h"

#include <signal.h>

#include <algorithm>
#include <chrono>

#include "engine/wasm2c/runtime.h"

namespace theater::engine {
namespace {

// Longest sleep while any call has a deadline. The re-scan after publishing a plan already closes
// the race with concurrently published calls; this is a safety net, cheap at one wake-up a second.
constexpr int64_t kMaxSleepNs = 1'000'000'000;
// Looks for slices are at least this far apart (a quarter of the slice): calls that began at
// nearly the same time are then handled by one wake-up instead of one each.
constexpr int64_t kSliceLookDivisor = 4;

}  // namespace

Watchdog& Watchdog::Get() {
  // Intentionally leaked: the thread must outlive every call, including ones made by static
  // destructors.
  static Watchdog* watchdog = new Watchdog();
  return *watchdog;
}

Watchdog::Watchdog() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "theater-watch");
    Loop();
  });
  thread_.detach();
}

void Watchdog::Wake() {
  std::lock_guard<std::mutex> lock(mutex_);
  wake_pending_ = true;
  cv_.notify_one();
}

void Watchdog::Loop() {
  for (;;) {
    int64_t now = rt::SteadyNowNs();
    Plan plan = Scan(now);
    int64_t planned = plan.deadline == kNever ? kNever : std::min(plan.deadline, now + kMaxSleepNs);
    planned = std::min(planned, plan.slice_look);
    ticking_.store(plan.ticking, std::memory_order_relaxed);
    next_wake_ns_.store(planned, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // A call published before our plan became visible did not see it and will not wake us.
    Plan again = Scan(rt::SteadyNowNs());
    if (again.deadline < planned || again.slice_look < planned ||
        (again.ticking && !plan.ticking)) {
      continue;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (planned == kNever) {
      cv_.wait(lock, [this] { return wake_pending_; });
    } else {
      auto until = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(planned));
      cv_.wait_until(lock, until, [this] { return wake_pending_; });
    }
    wake_pending_ = false;
  }
}

Watchdog::Plan Watchdog::Scan(int64_t now) {
  scans_.fetch_add(1, std::memory_order_relaxed);
  Plan plan;
  const int64_t previous_look = last_scan_ns_;
  rt::ForEachThreadSlot([&](rt::ThreadSlot& slot) {
    uint64_t id = slot.running_id.load(std::memory_order_acquire);
    int64_t deadline = slot.deadline_ns.load(std::memory_order_relaxed);
    if (id != 0 && deadline != 0 && slot.kill_id.load(std::memory_order_relaxed) != id) {
      if (now < deadline) {
        plan.deadline = std::min(plan.deadline, deadline);
      } else {
        slot.kill_id.store(id, std::memory_order_release);
        if (pthread_kill(slot.thread, SIGUSR1) == 0) interrupts_sent_.fetch_add(1);
      }
    }
    const int64_t slice = slot.slice_ns.load(std::memory_order_relaxed);
    if (slice <= 0) return;
    const int64_t start = slot.run_start_ns.load(std::memory_order_relaxed);
    const int64_t min_gap = slice / kSliceLookDivisor;
    if (start > previous_look) {
      // A sliced call began here since the last look (it may be over already): keep ticking, so
      // that a steady stream of short calls never has to wake the watchdog.
      plan.ticking = true;
      plan.slice_look = std::min(plan.slice_look, now + slice);
    }
    if (id == 0) return;
    plan.ticking = true;
    int64_t due = start + slice;
    if (now >= due) {
      // A whole slice without a break: ask it to yield at its next check. If it cannot (it is in
      // host code, or its owner does not reschedule it), ask again a slice later.
      if (slot.preempt_flag != nullptr) __atomic_store_n(slot.preempt_flag, 1u, __ATOMIC_RELAXED);
      preemptions_requested_.fetch_add(1, std::memory_order_relaxed);
      due = now + slice;
    }
    plan.slice_look = std::min(plan.slice_look, std::max(due, now + min_gap));
  });
  last_scan_ns_ = now;
  return plan;
}

}  // namespace theater::engine
