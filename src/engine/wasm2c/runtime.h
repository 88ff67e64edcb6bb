// Theater: a WebAssembly actor runtime.
//
// The host side of Theater's wasm2c runtime: the per-call state that replaces wabt's global trap
// state, and the entry point that runs guest code and turns traps into return codes.
//
// Execution model (see docs/engine.md and fibers.md):
//   - Every guest call owns a CallState. It lives on the stack of whoever drives the call (the
//     fiber for fiber calls, the caller's frame for direct calls) and holds the trap jump target,
//     the bounds-check depth counter, the interrupt flag and the guard range of the stack the call
//     runs on.
//   - A thread-local pointer names the CallState running on this thread. It is set by
//     EnterCallState() just before a call (or a fiber) starts or resumes on a thread, and cleared
//     by LeaveCallState() right after it returns or suspends — always from a frame that never
//     migrates between threads.
//   - RunGuest() may nest (guest -> host import -> guest's cabi_realloc): each level keeps its own
//     jump target inside the same CallState and restores the outer one on return.
//
// Thread-safety: a CallState is used by one thread at a time (the one running the call), except
// for `kill`, which the watchdog or a canceller may set from any thread.
//
// Time slices: EnterCallState() clears this thread's wasm_rt_preempt_flag and publishes the
// call's slice and start time in the thread slot; the watchdog sets the flag once the call has
// run past its slice; the check compiled into guest code then calls wasm_rt_preempt(), which
// suspends the call through CallState::yield (host code in between: none but that function).
#pragma once

#include <pthread.h>
#include <setjmp.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/clock.h"
#include "engine/wasm2c/memory_pool.h"
#include "engine/wasm2c/wasm-rt.h"

namespace theater::engine::rt {

struct CallState {
  // Where wasm_rt_trap() jumps; points into the innermost RunGuest() frame of this call.
  sigjmp_buf* jmp_target = nullptr;
  // Exception handling (only for modules translated with exceptions enabled).
  jmp_buf* unwind_target = nullptr;
  uint32_t exception_tag = 0;
  std::vector<uint8_t> exception_payload;

  // Bounds-check mode call depth, saved here while the call is off-thread.
  uint32_t depth = 0;
  // 1 while guest code runs, 0 inside host imports. Read by the signal handlers.
  volatile int in_guest = 0;
  // Set by the watchdog or a canceller; checked by the SIGUSR1 handler and by host_leave().
  std::atomic<int> kill{0};
  // The trap code to report when `kill` fires (interrupted by deadline vs. cancelled).
  std::atomic<int> kill_reason{WASM_RT_TRAP_INTERRUPTED};
  // A process-unique id, so that a stale interrupt aimed at an earlier call is ignored.
  uint64_t id = 0;

  // The stack this call runs on: [stack_lo, stack_hi) usable, [guard_lo, guard_hi) guard pages.
  // Zero when unknown (then only the depth counter and the thread's own guard protect it).
  uintptr_t stack_lo = 0;
  uintptr_t guard_lo = 0;
  uintptr_t guard_hi = 0;

  // Deadline in steady-clock nanoseconds; 0 = none. Read by the watchdog through the thread slot.
  int64_t deadline_ns = 0;

  // Time slice (docs/engine.md, "Time slices"): after running this long on a thread without a
  // break, the call is asked to yield at its next check; 0 = never. Set by the call's owner.
  int64_t slice_ns = 0;
  // When the call last started or resumed running on a thread (steady clock); set by its owner
  // before EnterCallState, which publishes it to the watchdog.
  int64_t run_start_ns = 0;
  // Suspends the call so that others may run, and returns when it has been resumed (possibly on
  // another thread). Null: the call cannot yield (a direct call, or one whose owner does not
  // reschedule it); the check then only clears the flag.
  void (*yield)(void* arg) = nullptr;
  void* yield_arg = nullptr;
};

// Host stack that must remain for a host import to run (checked in wasm_rt_host_enter()).
inline constexpr size_t kHostStackReserve = 16 * 1024;

// One-time process setup: signal handlers. Idempotent and thread-safe.
void InitProcess();

// Per-thread setup: alternate signal stack and watchdog slot. Idempotent; called lazily by
// EnterCallState(), so threads need not call it explicitly.
void InitThread();

// Makes `state` the current call of this thread (and visible to the watchdog), restoring its
// depth counter. Returns the previously current state so nested direct calls can restore it.
// Must be called from a frame that will not be migrated to another thread while `state` runs.
CallState* EnterCallState(CallState* state);
// Saves the depth counter into the current state and makes `previous` current again.
void LeaveCallState(CallState* previous);
// The current call of this thread, or nullptr.
CallState* CurrentCallState();

// Runs fn(instance, args, results) as guest code under the current CallState (which must be
// set). Returns WASM_RT_TRAP_NONE or the trap code. Re-entrant.
using GuestFn = void (*)(void* instance, const uint64_t* args, uint64_t* results);
int RunGuest(GuestFn fn, void* instance, const uint64_t* args, uint64_t* results);

// Limits applied by wasm_rt_allocate_memory / wasm_rt_grow_memory for the module being
// instantiated or run on this thread. Set by the host around instantiate and free.
struct MemoryConfig {
  bool guard_pages = true;     // the module's WASM_RT_MEMCHECK_SIGNAL_HANDLER
  uint32_t max_pages = 65536;  // cap on any memory the module allocates
  // The pages the module's first instance dirtied, made writable ahead in a fresh memory
  // (MemoryPool::Populate); null until learned. Owned by the module, which outlives this.
  const std::vector<PageRun>* dirty_runs = nullptr;
};
void SetMemoryConfig(const MemoryConfig& config);

// Asks the call with `call_id` to stop, if it is the one currently running on `thread`'s slot.
// Returns false when the thread runs another call (the request is then dropped).
bool InterruptThread(pthread_t thread, uint64_t call_id);

// Steady-clock time in nanoseconds, the unit of CallState::deadline_ns.
using theater::SteadyNowNs;
// The deadline `timeout` from now, or 0 (none) for a non-positive timeout.
inline int64_t DeadlineAfter(std::chrono::nanoseconds timeout) {
  return timeout.count() > 0 ? SteadyNowNs() + timeout.count() : 0;
}

// A new process-unique call id.
uint64_t NextCallId();

// Makes the watchdog see `state`'s current deadline_ns, when `state` is this thread's running
// call (after the deadline of a running call was changed).
void PublishDeadline(CallState* state);

// Fills in the stack bounds of the calling thread's own stack, for a direct (non-fiber) call:
// the host-reserve check and the guard-range classification then work as on a fiber.
void SetThreadStackBounds(CallState* state);

// The watchdog's view of one thread that runs guest code.
struct ThreadSlot {
  pthread_t thread;
  std::atomic<uint64_t> running_id{0};  // id of the CallState running here, 0 = none
  std::atomic<int64_t> deadline_ns{0};  // its deadline, 0 = none
  std::atomic<uint64_t> kill_id{0};     // the call the last interrupt was aimed at
  std::atomic<CallState*> running{nullptr};
  // Time slices: the running call's slice (0 = never preempted) and when it began running here;
  // the watchdog sets *preempt_flag (this thread's wasm_rt_preempt_flag) when it has run longer.
  std::atomic<int64_t> slice_ns{0};
  std::atomic<int64_t> run_start_ns{0};
  volatile uint32_t* preempt_flag = nullptr;
};
// Calls fn(slot) for every registered thread slot (under the registry lock).
template <typename Fn>
void ForEachThreadSlot(Fn&& fn);
void ForEachThreadSlotImpl(void (*fn)(ThreadSlot&, void*), void* arg);
template <typename Fn>
void ForEachThreadSlot(Fn&& fn) {
  ForEachThreadSlotImpl([](ThreadSlot& s, void* f) { (*static_cast<Fn*>(f))(s); }, &fn);
}

// Number of memories currently allocated by the runtime (leak checks in tests).
int64_t LiveMemoryCount();
// Bytes of address space reserved by live linear memories (not those pooled for reuse).
uint64_t ReservedAddressSpace();

}  // namespace theater::engine::rt
