// Theater: a WebAssembly actor runtime.
//
// Theater's implementation of the wasm2c runtime interface (wasm-rt.h), thread- and fiber-safe.
// Generated modules resolve these symbols from the host executable when they are dlopen()ed.
//
// Rules this file follows (fibers.md):
//   - No TLS address is held across a call into guest code: every TLS access is in a small
//     out-of-line function, and per-call state is reached through the CallState pointer.
//   - Trap jump buffers live on the stack of the call they belong to, never in TLS.
//   - The SIGSEGV/SIGBUS handler only turns faults into traps while guest code runs; a fault in
//     host code is re-raised with the previous disposition (a real crash stays a crash).
//   - Interrupts are aimed at calls (by id), not threads; a stale signal is ignored.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "common/sanitizers.h"
#include "engine/wasm2c/memory_pool.h"
#include "engine/wasm2c/runtime.h"
#if THEATER_ADDRESS_SANITIZER
#include <sanitizer/asan_interface.h>
#endif

namespace theater::engine::rt {
namespace {

constexpr uint64_t kPageSize = 65536;
// Guard-page mode: a 32-bit index plus a 32-bit offset stays inside 8 GiB.
constexpr uint64_t kGuardReservation = 8ull << 30;
constexpr size_t kAltStackSize = 64 * 1024;

thread_local CallState* tls_current = nullptr;
thread_local ThreadSlot* tls_slot = nullptr;
thread_local MemoryConfig tls_memory_config;
thread_local uintptr_t tls_stack_lo = 0;  // lowest usable address of this thread's stack

std::atomic<uint64_t> g_next_call_id{1};
std::atomic<int64_t> g_live_memories{0};
// Address space reserved by live linear memories (admission control reads it; the reuse pool's
// idle reservations are not counted: the next memories take them).
std::atomic<uint64_t> g_reserved_bytes{0};

struct sigaction g_prev_segv;
struct sigaction g_prev_bus;

std::mutex& SlotMutex() {
  static std::mutex m;
  return m;
}
std::vector<ThreadSlot*>& Slots() {
  static std::vector<ThreadSlot*> slots;
  return slots;
}

// Owns this thread's alternate signal stack and watchdog slot.
struct ThreadResources {
  void* alt_stack = nullptr;
  ThreadSlot* slot = nullptr;
  ~ThreadResources() {
    if (slot) {
      std::lock_guard<std::mutex> lock(SlotMutex());
      auto& slots = Slots();
      for (auto it = slots.begin(); it != slots.end(); ++it) {
        if (*it == slot) {
          slots.erase(it);
          break;
        }
      }
      delete slot;
      tls_slot = nullptr;
    }
    if (alt_stack) {
      stack_t ss{};
      ss.ss_flags = SS_DISABLE;
      sigaltstack(&ss, nullptr);
      munmap(alt_stack, kAltStackSize);
    }
  }
};
thread_local ThreadResources tls_resources;

[[noreturn]] void JumpToTrap(CallState* state, int code) {
  siglongjmp(*state->jmp_target, code);
}

void Reraise(int sig, const struct sigaction& prev, siginfo_t* info, void* uctx) {
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) {
      prev.sa_sigaction(sig, info, uctx);
      return;
    }
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
    return;
  }
  // Restore the default action; returning re-executes the faulting instruction, which now kills
  // the process with the right signal (and a core dump) instead of a misleading trap.
  signal(sig, SIG_DFL);
}

void FaultHandler(int sig, siginfo_t* info, void* uctx) {
  CallState* state = tls_current;
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  bool in_guard =
      state && state->guard_hi != 0 && addr >= state->guard_lo && addr < state->guard_hi;
  if (state && state->in_guest && state->jmp_target) {
    // Guest code faulted: a guard-page hit is stack exhaustion, anything else an out-of-bounds
    // access to the linear memory reservation.
    JumpToTrap(state, in_guard ? WASM_RT_TRAP_EXHAUSTION : WASM_RT_TRAP_OOB);
  }
  if (in_guard) {
    static const char kMsg[] =
        "theater: host code overflowed a guest call's fiber stack (raise the actor's "
        "stack_size_kb or reduce host recursion)\n";
    ssize_t ignored = write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
    (void)ignored;
  }
  Reraise(sig, sig == SIGBUS ? g_prev_bus : g_prev_segv, info, uctx);
}

void InterruptHandler(int, siginfo_t*, void*) {
  CallState* state = tls_current;
  ThreadSlot* slot = tls_slot;
  if (!state || !slot) return;  // nothing running: a stale signal
  if (slot->kill_id.load(std::memory_order_acquire) == state->id) {
    state->kill.store(1, std::memory_order_relaxed);
  }
  if (state->kill.load(std::memory_order_relaxed) && state->in_guest && state->jmp_target) {
    JumpToTrap(state, state->kill_reason.load(std::memory_order_relaxed));
  }
  // In host code: wasm_rt_host_leave() traps when the import returns.
}

void InstallHandlers() {
  struct sigaction sa {};
  sa.sa_sigaction = FaultHandler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_prev_segv);
  sigaction(SIGBUS, &sa, &g_prev_bus);
  struct sigaction irq {};
  irq.sa_sigaction = InterruptHandler;
  irq.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&irq.sa_mask);
  sigaction(SIGUSR1, &irq, nullptr);
}

void UnblockTrapSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGSEGV);
  sigaddset(&set, SIGBUS);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

struct FuncType {
  std::vector<wasm_rt_type_t> params, results;
  bool operator==(const FuncType&) const = default;
};
std::mutex g_types_mutex;
std::vector<FuncType>& FuncTypes() {
  static std::vector<FuncType> types;
  return types;
}
std::atomic<uint32_t> g_next_tag{0};

}  // namespace

void InitProcess() {
  static std::once_flag once;
  std::call_once(once, InstallHandlers);
}

void InitThread() {
  if (tls_slot) return;
  InitProcess();
  void* alt =
      mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (alt != MAP_FAILED) {
    stack_t ss{};
    ss.ss_sp = alt;
    ss.ss_size = kAltStackSize;
    if (sigaltstack(&ss, nullptr) == 0) {
      tls_resources.alt_stack = alt;
    } else {
      munmap(alt, kAltStackSize);
    }
  }
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0)
      tls_stack_lo = reinterpret_cast<uintptr_t>(addr);
    pthread_attr_destroy(&attr);
  }
  auto* slot = new ThreadSlot();
  slot->thread = pthread_self();
  // This thread's instance of the flag; the watchdog writes it through this address for as long
  // as the slot is registered (the slot goes away with the thread, under the registry lock).
  slot->preempt_flag = &wasm_rt_preempt_flag;
  {
    std::lock_guard<std::mutex> lock(SlotMutex());
    Slots().push_back(slot);
  }
  tls_resources.slot = slot;
  tls_slot = slot;
}

__attribute__((noinline)) CallState* EnterCallState(CallState* state) {
  if (!tls_slot) InitThread();
  CallState* previous = tls_current;
  if (previous) previous->depth = wasm_rt_call_stack_depth;
  tls_current = state;
  wasm_rt_call_stack_depth = state->depth;
  // A new run starts a new slice: a request left over from the previous run on this thread is
  // not this call's.
  wasm_rt_preempt_flag = 0;
  ThreadSlot* slot = tls_slot;
  slot->running.store(state, std::memory_order_relaxed);
  slot->deadline_ns.store(state->deadline_ns, std::memory_order_relaxed);
  slot->slice_ns.store(state->slice_ns, std::memory_order_relaxed);
  slot->run_start_ns.store(state->run_start_ns, std::memory_order_relaxed);
  slot->running_id.store(state->id, std::memory_order_release);
  return previous;
}

__attribute__((noinline)) void PublishDeadline(CallState* state) {
  if (tls_current == state && tls_slot) {
    tls_slot->deadline_ns.store(state->deadline_ns, std::memory_order_relaxed);
  }
}

__attribute__((noinline)) void LeaveCallState(CallState* previous) {
  CallState* state = tls_current;
  if (state) state->depth = wasm_rt_call_stack_depth;
  tls_current = previous;
  ThreadSlot* slot = tls_slot;
  if (previous) {
    wasm_rt_call_stack_depth = previous->depth;
    slot->running.store(previous, std::memory_order_relaxed);
    slot->deadline_ns.store(previous->deadline_ns, std::memory_order_relaxed);
    slot->slice_ns.store(previous->slice_ns, std::memory_order_relaxed);
    slot->running_id.store(previous->id, std::memory_order_release);
  } else {
    wasm_rt_call_stack_depth = 0;
    slot->running_id.store(0, std::memory_order_release);
    slot->deadline_ns.store(0, std::memory_order_relaxed);
    slot->running.store(nullptr, std::memory_order_relaxed);
  }
}

__attribute__((noinline)) CallState* CurrentCallState() {
  return tls_current;
}

__attribute__((noinline)) int RunGuest(GuestFn fn, void* instance, const uint64_t* args,
                                       uint64_t* results) {
  // The state is this call's, wherever the guest later resumes; read TLS once, here, before any
  // guest code runs.
  CallState* const state = tls_current;
  // An interrupt that arrived while host code ran (e.g. between the guest calls of a task) is
  // honoured before any more guest code starts.
  if (state->kill.load(std::memory_order_acquire)) {
    return state->kill_reason.load(std::memory_order_acquire);
  }
  sigjmp_buf buf;
  sigjmp_buf* const outer_target = state->jmp_target;
  const int outer_in_guest = state->in_guest;
  state->jmp_target = &buf;
  int code = sigsetjmp(buf, 0);
  if (code == 0) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    state->in_guest = 1;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    fn(instance, args, results);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    // Left by siglongjmp, possibly from a signal handler that ran with these signals blocked.
    UnblockTrapSignals();
#if THEATER_ADDRESS_SANITIZER
    // The frames siglongjmp skipped lie below this one, on the call's own stack (a fiber's),
    // whose bounds ASan does not know: it cannot clear their poisoned shadow itself, and a later
    // frame at those addresses would be reported as a use after scope.
    char here = 0;
    const uintptr_t top = reinterpret_cast<uintptr_t>(&here);
    if (state->stack_lo != 0 && top > state->stack_lo) {
      ASAN_UNPOISON_MEMORY_REGION(reinterpret_cast<void*>(state->stack_lo), top - state->stack_lo);
    }
#endif
  }
  state->in_guest = outer_in_guest;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  state->jmp_target = outer_target;
  return code;
}

void SetMemoryConfig(const MemoryConfig& config) {
  tls_memory_config = config;
}

bool InterruptThread(pthread_t thread, uint64_t call_id) {
  bool sent = false;
  std::lock_guard<std::mutex> lock(SlotMutex());
  for (ThreadSlot* slot : Slots()) {
    if (pthread_equal(slot->thread, thread) &&
        slot->running_id.load(std::memory_order_acquire) == call_id) {
      slot->kill_id.store(call_id, std::memory_order_release);
      sent = pthread_kill(thread, SIGUSR1) == 0;
    }
  }
  return sent;
}

void SetThreadStackBounds(CallState* state) {
  if (!tls_slot) InitThread();
  uintptr_t lo = tls_stack_lo;
  if (lo == 0) return;
  // The kernel keeps a guard gap below a thread's stack; a fault just below `lo` is an overflow.
  constexpr uintptr_t kAssumedGuard = 64 * 1024;
  state->stack_lo = lo;
  state->guard_lo = lo > kAssumedGuard ? lo - kAssumedGuard : 0;
  state->guard_hi = lo;
}

// Ids are handed out to threads in blocks, so that creating a call takes no locked instruction.
// Out of line, and only called from frames that do not span a fiber switch, so the TLS access is
// safe.
__attribute__((noinline)) uint64_t NextCallId() {
  constexpr uint64_t kBlock = 1024;
  thread_local uint64_t next = 0;
  thread_local uint64_t end = 0;
  if (next == end) {
    next = g_next_call_id.fetch_add(kBlock, std::memory_order_relaxed);
    end = next + kBlock;
  }
  return next++;
}

void ForEachThreadSlotImpl(void (*fn)(ThreadSlot&, void*), void* arg) {
  std::lock_guard<std::mutex> lock(SlotMutex());
  for (ThreadSlot* slot : Slots()) fn(*slot, arg);
}

int64_t LiveMemoryCount() {
  return g_live_memories.load();
}

uint64_t ReservedAddressSpace() {
  return g_reserved_bytes.load(std::memory_order_relaxed);
}

}  // namespace theater::engine::rt

namespace theater::engine::rt {
namespace {
template <typename Table, typename Elem>
void AllocateTable(Table* table, uint32_t elements, uint32_t max_elements) {
  table->size = elements;
  table->max_size = max_elements;
  table->data = nullptr;
  if (elements) {
    table->data = static_cast<Elem*>(std::calloc(elements, sizeof(Elem)));
    if (!table->data) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
  }
}

template <typename Table>
void FreeTable(Table* table) {
  std::free(table->data);
  table->data = nullptr;
  table->size = 0;
}

template <typename Table, typename Elem>
uint32_t GrowTable(Table* table, uint32_t delta, Elem init) {
  uint32_t old_size = table->size;
  uint64_t new_size = static_cast<uint64_t>(old_size) + delta;
  if (delta == 0) return old_size;
  // Tables are small in practice; a million entries is far beyond what actors need.
  if (new_size > table->max_size || new_size > (1u << 20)) return UINT32_MAX;
  auto* data = static_cast<Elem*>(std::realloc(table->data, new_size * sizeof(Elem)));
  if (!data) return UINT32_MAX;
  for (uint64_t i = old_size; i < new_size; ++i) data[i] = init;
  table->data = data;
  table->size = static_cast<uint32_t>(new_size);
  return old_size;
}
}  // namespace
}  // namespace theater::engine::rt

using theater::engine::rt::CallState;
using theater::engine::rt::tls_current;

extern "C" {

WASM_RT_THREAD_LOCAL uint32_t wasm_rt_call_stack_depth = 0;
WASM_RT_THREAD_LOCAL volatile uint32_t wasm_rt_preempt_flag = 0;

// For modules of the fast tier, whose compiler has no thread-local storage (wasm-rt.h).
uint32_t* wasm_rt_call_stack_depth_slot(void) {
  return &wasm_rt_call_stack_depth;
}
volatile uint32_t* wasm_rt_preempt_flag_slot(void) {
  return &wasm_rt_preempt_flag;
}

void wasm_rt_init(void) {
  theater::engine::rt::InitProcess();
}
bool wasm_rt_is_initialized(void) {
  return true;
}
void wasm_rt_free(void) {}

void wasm_rt_trap(wasm_rt_trap_t code) {
  CallState* state = tls_current;
  if (!state || !state->jmp_target) {
    std::fprintf(stderr, "theater: wasm trap (%s) outside of a guest call\n",
                 wasm_rt_strerror(code));
    std::abort();
  }
  siglongjmp(*state->jmp_target, code == WASM_RT_TRAP_NONE ? WASM_RT_TRAP_HOST : code);
}

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE:
      return "no error";
    case WASM_RT_TRAP_OOB:
      return "out-of-bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW:
      return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO:
      return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION:
      return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE:
      return "unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT:
      return "invalid indirect call (null, out of range or wrong type)";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION:
      return "uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION:
      return "call stack exhausted";
    case WASM_RT_TRAP_INTERRUPTED:
      return "interrupted (deadline exceeded)";
    case WASM_RT_TRAP_CANCELLED:
      return "cancelled";
    case WASM_RT_TRAP_HOST:
      return "host function failed";
  }
  return "unknown trap";
}

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  theater::engine::rt::FuncType type;
  va_list args;
  va_start(args, results);
  for (uint32_t i = 0; i < params; ++i)
    type.params.push_back(static_cast<wasm_rt_type_t>(va_arg(args, int)));
  for (uint32_t i = 0; i < results; ++i)
    type.results.push_back(static_cast<wasm_rt_type_t>(va_arg(args, int)));
  va_end(args);
  std::lock_guard<std::mutex> lock(theater::engine::rt::g_types_mutex);
  auto& types = theater::engine::rt::FuncTypes();
  for (uint32_t i = 0; i < types.size(); ++i) {
    if (types[i] == type) return i;
  }
  types.push_back(std::move(type));
  return static_cast<uint32_t>(types.size() - 1);
}

uint32_t wasm_rt_register_tag(uint32_t) {
  return theater::engine::rt::g_next_tag.fetch_add(1, std::memory_order_relaxed);
}

void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void* values) {
  CallState* state = tls_current;
  state->exception_tag = tag;
  const auto* bytes = static_cast<const uint8_t*>(values);
  state->exception_payload.assign(bytes, bytes + size);
}

void wasm_rt_throw(void) {
  CallState* state = tls_current;
  if (!state->unwind_target) wasm_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
  longjmp(*state->unwind_target, WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
}

WASM_RT_UNWIND_TARGET* wasm_rt_get_unwind_target(void) {
  return tls_current->unwind_target;
}
void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET* target) {
  tls_current->unwind_target = target;
}
uint32_t wasm_rt_exception_tag(void) {
  return tls_current->exception_tag;
}
uint32_t wasm_rt_exception_size(void) {
  return static_cast<uint32_t>(tls_current->exception_payload.size());
}
void* wasm_rt_exception(void) {
  return tls_current->exception_payload.data();
}

// Linear memory. Both modes reserve address space up front, so `data` never moves: guard-page
// mode reserves 8 GiB (no bounds checks needed), bounds-check mode only up to the (capped)
// maximum. The ranges come from, and go back to, the MemoryPool (memory_pool.h).
namespace theater::engine::rt {
namespace {
uint64_t ReservationFor(bool guarded, uint32_t max_pages) {
  uint64_t reserve = guarded ? kGuardReservation
                                        : static_cast<uint64_t>(max_pages) * kPageSize;
  return reserve == 0 ? kPageSize : reserve;  // a zero-page memory still needs an address
}
}  // namespace
}  // namespace theater::engine::rt

void wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial_pages, uint32_t max_pages) {
  namespace rt = theater::engine::rt;
  const auto& config = rt::tls_memory_config;
  uint32_t cap = max_pages < config.max_pages ? max_pages : config.max_pages;
  memory->data = nullptr;
  memory->pages = 0;
  memory->size = 0;
  memory->max_pages = cap;
  memory->guarded = config.guard_pages ? 1 : 0;
  if (initial_pages > cap) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
  const uint64_t reserve = rt::ReservationFor(config.guard_pages, cap);
  const uint64_t bytes = static_cast<uint64_t>(initial_pages) * rt::kPageSize;
  rt::MemoryReservation range;
  if (!rt::MemoryPool::Get().Acquire(reserve, bytes, config.guard_pages, &range)) {
    wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
  }
  if (range.fresh && config.dirty_runs) {
    rt::MemoryPool::Get().Populate(range.base, bytes, *config.dirty_runs);
  }
  rt::g_reserved_bytes.fetch_add(reserve, std::memory_order_relaxed);
  memory->data = range.base;
  memory->pages = initial_pages;
  memory->size = static_cast<uint32_t>(bytes);
  rt::g_live_memories.fetch_add(1, std::memory_order_relaxed);
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* memory, uint32_t delta) {
  namespace rt = theater::engine::rt;
  uint32_t old_pages = memory->pages;
  uint64_t new_pages = static_cast<uint64_t>(old_pages) + delta;
  if (delta == 0) return old_pages;
  if (new_pages > memory->max_pages || new_pages > 65536) return UINT32_MAX;
  uint64_t new_bytes = new_pages * rt::kPageSize;
  // Not tls_memory_config: that names the module last instantiated or freed on this thread,
  // which need not be the one running.
  if (memory->guarded) {
    rt::MemoryReservation range{memory->data, rt::kGuardReservation,
                                static_cast<uint64_t>(old_pages) * rt::kPageSize};
    if (!rt::MemoryPool::Get().Grow(&range, new_bytes)) return UINT32_MAX;
  }
  // Bounds-check mode: the whole reservation is read-write already.
  memory->pages = static_cast<uint32_t>(new_pages);
  // A 4 GiB memory has a size that does not fit in 32 bits; wasm2c 1.0.32 shares that limit.
  memory->size = new_bytes > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(new_bytes);
  return old_pages;
}

void wasm_rt_free_memory(wasm_rt_memory_t* memory) {
  namespace rt = theater::engine::rt;
  if (!memory->data) return;
  const uint64_t reserve = rt::ReservationFor(memory->guarded, memory->max_pages);
  const uint64_t used = static_cast<uint64_t>(memory->pages) * rt::kPageSize;
  rt::MemoryPool::Get().Release({memory->data, reserve, memory->guarded ? used : reserve}, used);
  rt::g_reserved_bytes.fetch_sub(reserve, std::memory_order_relaxed);
  memory->data = nullptr;
  memory->size = 0;
  memory->pages = 0;
  rt::g_live_memories.fetch_sub(1, std::memory_order_relaxed);
}

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* table, uint32_t elements,
                                    uint32_t max_elements) {
  theater::engine::rt::AllocateTable<wasm_rt_funcref_table_t, wasm_rt_funcref_t>(table, elements,
                                                                                 max_elements);
}
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* table) {
  theater::engine::rt::FreeTable(table);
}
void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* table, uint32_t elements,
                                      uint32_t max_elements) {
  theater::engine::rt::AllocateTable<wasm_rt_externref_table_t, wasm_rt_externref_t>(
      table, elements, max_elements);
}
void wasm_rt_free_externref_table(wasm_rt_externref_table_t* table) {
  theater::engine::rt::FreeTable(table);
}
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* table, uint32_t delta,
                                    wasm_rt_funcref_t init) {
  return theater::engine::rt::GrowTable(table, delta, init);
}
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* table, uint32_t delta,
                                      wasm_rt_externref_t init) {
  return theater::engine::rt::GrowTable(table, delta, init);
}

void wasm_rt_host_enter(void) {
  CallState* state = tls_current;
  if (state->stack_lo) {
    char probe;
    auto sp = reinterpret_cast<uintptr_t>(&probe);
    if (sp < state->stack_lo + theater::engine::rt::kHostStackReserve) {
      wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
    }
  }
  state->in_guest = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

void wasm_rt_preempt(void) {
  wasm_rt_preempt_flag = 0;
  CallState* const state = tls_current;
  if (!state || !state->yield) return;  // nobody to give the worker to: run on
  if (state->stack_lo) {
    // Yielding needs little stack, but the switch must not start on a nearly full one; the guest
    // then runs on and is asked again at its next check.
    char probe;
    if (reinterpret_cast<uintptr_t>(&probe) <
        state->stack_lo + theater::engine::rt::kHostStackReserve) {
      return;
    }
  }
  // Host code from here on, as inside an import: an interrupt does not unwind it but is honoured
  // below.
  state->in_guest = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  state->yield(state->yield_arg);
  // Possibly on another thread now: only `state`, no thread-local storage.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  state->in_guest = 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (state->kill.load(std::memory_order_relaxed)) {
    wasm_rt_trap(static_cast<wasm_rt_trap_t>(state->kill_reason.load(std::memory_order_relaxed)));
  }
}

void wasm_rt_host_leave(int status) {
  // The import may have suspended and resumed on another thread: read TLS afresh.
  CallState* state = tls_current;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  state->in_guest = 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (status != 0) wasm_rt_trap(static_cast<wasm_rt_trap_t>(status));
  if (state->kill.load(std::memory_order_relaxed)) {
    wasm_rt_trap(static_cast<wasm_rt_trap_t>(state->kill_reason.load(std::memory_order_relaxed)));
  }
}

}  // extern "C"
