// Theater: a WebAssembly actor runtime.
//
// Watchdog: interrupts guest calls that run past their deadline.
//
// Every thread that runs guest code publishes, in its runtime thread slot, the id and deadline of
// the call it is running (rt::EnterCallState). The watchdog thread scans the slots while any call
// with a deadline may be running and, for an overdue call, sends that thread SIGUSR1 aimed at the
// call's id; the runtime's handler unwinds the guest (or, if the thread is in host code, the
// import traps when it returns). A call that already left the thread is not affected.
//
// The scan period (1 ms) bounds the stop latency well under the 50 ms the runtime promises, and
// the thread sleeps without a timeout when no call has armed it for a while.
//
// Thread-safety: Arm() may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace theater::engine {

class Watchdog {
 public:
  // The process-wide watchdog, started on first use.
  static Watchdog& Get();

  // Announces that a call with a deadline is running; wakes the watchdog if it is idle. Must be
  // called after the call was published in its thread slot (rt::EnterCallState): the fence pairs
  // with the one in Loop() so that either the watchdog sees the slot or this sees it idle.
  void Arm() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (idle_.load(std::memory_order_relaxed)) Wake();
  }

  // Number of interrupts sent so far (tests).
  uint64_t interrupts_sent() const { return interrupts_sent_.load(); }

 private:
  Watchdog();
  void Wake();
  void Loop();
  // Interrupts overdue calls; returns whether any running call has a deadline.
  bool Scan();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> idle_{true};
  std::atomic<uint64_t> interrupts_sent_{0};
  std::thread thread_;
};

}  // namespace theater::engine
