// Theater: a WebAssembly actor runtime.
#include "engine/watchdog.h"

#include <signal.h>

#include <chrono>

#include "engine/wasm2c/runtime.h"

namespace theater::engine {
namespace {

constexpr auto kScanPeriod = std::chrono::milliseconds(1);
// Scans without finding any call with a deadline before the watchdog goes idle.
constexpr int kIdleAfterEmptyScans = 200;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Watchdog& Watchdog::Get() {
  // Intentionally leaked: the thread must outlive every call, including ones made by static
  // destructors.
  static Watchdog* watchdog = new Watchdog();
  return *watchdog;
}

Watchdog::Watchdog() {
  thread_ = std::thread([this] { Loop(); });
  thread_.detach();
}

void Watchdog::Wake() {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.store(false, std::memory_order_relaxed);
  cv_.notify_one();
}

void Watchdog::Loop() {
  int empty_scans = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return !idle_.load(std::memory_order_relaxed); });
    }
    std::this_thread::sleep_for(kScanPeriod);
    empty_scans = Scan() ? 0 : empty_scans + 1;
    if (empty_scans >= kIdleAfterEmptyScans) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        idle_.store(true, std::memory_order_relaxed);
      }
      std::atomic_thread_fence(std::memory_order_seq_cst);
      // A call may have published its deadline just before we went idle without seeing us idle.
      if (Scan()) {
        std::lock_guard<std::mutex> lock(mutex_);
        idle_.store(false, std::memory_order_relaxed);
      }
      empty_scans = 0;
    }
  }
}

bool Watchdog::Scan() {
  int64_t now = NowNs();
  bool any_deadline = false;
  rt::ForEachThreadSlot([&](rt::ThreadSlot& slot) {
    uint64_t id = slot.running_id.load(std::memory_order_acquire);
    int64_t deadline = slot.deadline_ns.load(std::memory_order_relaxed);
    if (id == 0 || deadline == 0) return;
    any_deadline = true;
    if (now < deadline || slot.kill_id.load(std::memory_order_relaxed) == id) return;
    slot.kill_id.store(id, std::memory_order_release);
    if (pthread_kill(slot.thread, SIGUSR1) == 0) interrupts_sent_.fetch_add(1);
  });
  return any_deadline;
}

}  // namespace theater::engine
