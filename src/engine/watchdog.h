// Theater: a WebAssembly actor runtime.
//
// Watchdog: interrupts guest calls that run past their deadline.
//
// Every thread that runs guest code publishes, in its runtime thread slot, the id and deadline of
// the call it is running (rt::EnterCallState). The watchdog thread sleeps until the earliest
// published deadline (at most a second at a time while any deadline exists, indefinitely while
// none does), then sends each overdue call's thread SIGUSR1 aimed at that call's id; the
// runtime's handler unwinds the guest (or, if the thread is in host code, the import traps when
// it returns). A call that already left its thread is not affected.
//
// A call whose deadline is earlier than the watchdog's planned wake-up wakes it (Arm). The
// watchdog re-scans after publishing its plan, so a call published concurrently is never missed:
// either the call sees the plan (and wakes the watchdog if its deadline is earlier) or the
// re-scan sees the call.
//
// Time slices (docs/engine.md): a thread slot also publishes its running call's slice and when
// that run began. While any sliced call runs, or one began since the last look, the watchdog
// "ticks": it looks again when the earliest running call's slice ends (at most a slice later), and
// sets the preemption flag of every thread whose call has run a whole slice; the call yields at
// its next check. With nothing sliced running for a whole look it stops ticking, and the next
// sliced call to start wakes it (Arm). So an idle process has no wake-ups, and a busy one about
// one per slice, never one per call.
//
// Thread-safety: Arm() may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <thread>

namespace theater::engine {

class Watchdog {
 public:
  // The process-wide watchdog, started on first use.
  static Watchdog& Get();

  // Announces that a call with `deadline_ns` (steady clock; 0 = none) and, when `sliced`, a time
  // slice is running; wakes the watchdog if it plans to sleep past the deadline, or is not
  // ticking and the call has a slice. Must be called after the call was published in its thread
  // slot (rt::EnterCallState): the fence pairs with the one in Loop().
  void Arm(int64_t deadline_ns, bool sliced = false) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if ((deadline_ns != 0 && deadline_ns < next_wake_ns_.load(std::memory_order_relaxed)) ||
        (sliced && !ticking_.load(std::memory_order_relaxed))) {
      Wake();
    }
  }

  // Number of interrupts sent and slot scans made so far (tests).
  uint64_t interrupts_sent() const { return interrupts_sent_.load(); }
  uint64_t scans() const { return scans_.load(); }
  // Number of times a call was asked to yield because it ran past its slice (tests).
  uint64_t preemptions_requested() const { return preemptions_requested_.load(); }

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  Watchdog();
  void Wake();
  void Loop();
  // What one look at the thread slots found.
  struct Plan {
    int64_t deadline = kNever;    // the earliest deadline of the calls still running
    int64_t slice_look = kNever;  // when to look again for calls past their slice
    bool ticking = false;         // a sliced call runs, or one began since the previous look
  };
  // Interrupts overdue calls and asks calls past their slice to yield.
  Plan Scan(int64_t now_ns);

  std::mutex mutex_;
  std::condition_variable cv_;
  bool wake_pending_ = false;                  // guarded by mutex_
  std::atomic<int64_t> next_wake_ns_{kNever};  // when the watchdog will next look
  std::atomic<bool> ticking_{false};           // it looks at least once a slice (see above)
  int64_t last_scan_ns_ = 0;                   // watchdog thread only
  std::atomic<uint64_t> preemptions_requested_{0};
  std::atomic<uint64_t> interrupts_sent_{0};
  std::atomic<uint64_t> scans_{0};
  std::thread thread_;
};

}  // namespace theater::engine
