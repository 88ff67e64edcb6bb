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
    int64_t earliest = Scan(now);
    int64_t planned = earliest == kNever ? kNever : std::min(earliest, now + kMaxSleepNs);
    next_wake_ns_.store(planned, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // A call published before our plan became visible did not see it and will not wake us.
    if (Scan(rt::SteadyNowNs()) < planned) continue;
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

int64_t Watchdog::Scan(int64_t now) {
  scans_.fetch_add(1, std::memory_order_relaxed);
  int64_t earliest = kNever;
  rt::ForEachThreadSlot([&](rt::ThreadSlot& slot) {
    uint64_t id = slot.running_id.load(std::memory_order_acquire);
    int64_t deadline = slot.deadline_ns.load(std::memory_order_relaxed);
    if (id == 0 || deadline == 0 || slot.kill_id.load(std::memory_order_relaxed) == id) return;
    if (now < deadline) {
      earliest = std::min(earliest, deadline);
      return;
    }
    slot.kill_id.store(id, std::memory_order_release);
    if (pthread_kill(slot.thread, SIGUSR1) == 0) interrupts_sent_.fetch_add(1);
  });
  return earliest;
}

}  // namespace theater::engine
