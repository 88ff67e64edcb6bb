/* Theater: a WebAssembly actor runtime.
 *
 * Theater's own wasm2c runtime interface. Modules translated by wabt 1.0.32's `wasm2c` include
 * "wasm-rt.h"; the compile pipeline puts this directory first on the include path, so they are
 * compiled against this header and linked (at dlopen time) against Theater's runtime
 * (src/engine/wasm2c/wasm_rt_impl.cc) instead of wabt's libwasm-rt-impl, which keeps its trap
 * state in globals and is not thread-safe.
 *
 * Layouts and enum values that generated code depends on are identical to wabt 1.0.32; what
 * differs is the execution model behind them:
 *   - All per-call state (trap jump target, call depth, interrupt flag, stack guard range) lives
 *     in a wasm_rt_call_state_t owned by the call (on the fiber stack or the caller's frame).
 *     Thread-local storage holds only a pointer to the current call's state, and is swapped by
 *     the scheduler when it switches fibers (wasm_rt_call_state_enter / _leave).
 *   - The call-depth counter used in bounds-check mode is thread-local and is saved/restored at
 *     fiber switches. Modules MUST be compiled with -ftls-model=initial-exec (checked by the
 *     compile pipeline) so that no TLS address is cached across a switch.
 *   - Import stubs call wasm_rt_host_enter()/wasm_rt_host_leave(): out of line, so that the stub
 *     frame itself never touches TLS.
 *   - Unless disabled (EngineOptions::preempt_slice = 0), every function entry and loop head
 *     runs WASM_RT_PREEMPT_CHECK(), so a call that used up its time slice yields its worker.
 *
 * Configuration macros (may be set with -D when compiling a module):
 *   WASM_RT_MEMCHECK_SIGNAL_HANDLER  1 (default): linear memory is an 8 GiB reservation with
 *                                    guard pages, out-of-bounds accesses fault and the SIGSEGV
 *                                    handler turns them into traps. 0: every access is checked.
 *   WASM_RT_MAX_CALL_STACK_DEPTH     bounds-check mode only: the depth counter limit (100000).
 *                                    The guard page handler protects the stack in both modes.
 */
#ifndef WASM_RT_H_
#define WASM_RT_H_

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef __has_builtin
#define __has_builtin(x) 0
#endif

#if __has_builtin(__builtin_expect)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define UNLIKELY(x) (x)
#define LIKELY(x) (x)
#endif

#if __has_builtin(__builtin_memcpy)
#define wasm_rt_memcpy __builtin_memcpy
#else
#define wasm_rt_memcpy memcpy
#endif

#if __has_builtin(__builtin_unreachable)
#define wasm_rt_unreachable __builtin_unreachable
#else
#define wasm_rt_unreachable abort
#endif

#ifndef WASM_RT_SKIP_SIGNAL_RECOVERY
#define WASM_RT_SKIP_SIGNAL_RECOVERY 0
#endif

#if UINTPTR_MAX <= 0xffffffff
#error "Theater's wasm2c runtime requires a 64-bit host"
#endif
#define WASM_RT_SIGNAL_RECOVERY_SUPPORTED 1

#ifndef WASM_RT_MEMCHECK_SIGNAL_HANDLER
#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 1
#endif

#ifndef WASM_RT_USE_STACK_DEPTH_COUNT
#if WASM_RT_MEMCHECK_SIGNAL_HANDLER
#define WASM_RT_USE_STACK_DEPTH_COUNT 0
#else
#define WASM_RT_USE_STACK_DEPTH_COUNT 1
#endif
#endif

/* The fiber stacks' guard pages and the host-stack reserve check catch every overflow in both
 * memory modes, so the bounds-check-mode depth counter is only a policy limit, set high enough
 * that the stack size, not this number, decides how deep a guest may recurse. */
#ifndef WASM_RT_MAX_CALL_STACK_DEPTH
#define WASM_RT_MAX_CALL_STACK_DEPTH 100000
#endif

#ifdef __cplusplus
#define WASM_RT_THREAD_LOCAL thread_local
#else
#define WASM_RT_THREAD_LOCAL _Thread_local
#endif

#ifdef __TINYC__
/* The fast tier's compiler (tcc, docs/compile-cache.md "Tiers") has no thread-local storage and
 * none of the bit-counting builtins the generated code calls. Its modules reach this thread's
 * counters through the runtime, one call per access (each call finds the thread it runs on, so a
 * fiber that moves to another worker reads that worker's counters), and count bits with the
 * instructions below. */
uint32_t* wasm_rt_call_stack_depth_slot(void);
volatile uint32_t* wasm_rt_preempt_flag_slot(void);
#define WASM_RT_TLS_BY_CALL 1
/* The generated code calls these with a nonzero argument only (I32_CLZ and friends test it). */
static inline int wasm_rt_tcc_clz32(uint32_t x) {
  uint32_t r;
  __asm__("bsrl %1, %0" : "=r"(r) : "r"(x));
  return (int)(r ^ 31);
}
static inline int wasm_rt_tcc_clz64(uint64_t x) {
  uint64_t r;
  __asm__("bsrq %1, %0" : "=r"(r) : "r"(x));
  return (int)(r ^ 63);
}
static inline int wasm_rt_tcc_ctz32(uint32_t x) {
  uint32_t r;
  __asm__("bsfl %1, %0" : "=r"(r) : "r"(x));
  return (int)r;
}
static inline int wasm_rt_tcc_ctz64(uint64_t x) {
  uint64_t r;
  __asm__("bsfq %1, %0" : "=r"(r) : "r"(x));
  return (int)r;
}
static inline int wasm_rt_tcc_popcount64(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return (int)((x * 0x0101010101010101ULL) >> 56);
}
static inline int wasm_rt_tcc_popcount32(uint32_t x) {
  return wasm_rt_tcc_popcount64(x);
}
/* math.h's NAN without GCC's builtin is 0.0f / 0.0f, which x86 computes as a NaN with its sign
 * bit set, where gcc's is positive. Both are NaNs wasm allows, but a replay may run the other
 * tier: the generated code's min and max must give the same bits in both. */
#include <math.h>
static inline float wasm_rt_tcc_nanf(void) {
  union {
    uint32_t bits;
    float value;
  } nan = {0x7fc00000u};
  return nan.value;
}
#undef NAN
#define NAN (wasm_rt_tcc_nanf())
/* Every load and store of the generated code copies its value with wasm_rt_memcpy and a constant
 * size; tcc calls memcpy for each. A plain (unaligned, which x86 allows) access instead; tcc folds
 * the size tests away. The arguments have no side effects (wasm2c's DEFINE_LOAD and DEFINE_STORE
 * are its only users). */
#undef wasm_rt_memcpy
#define wasm_rt_memcpy(d, s, n)                                                \
  ((n) == 8   ? (void)(*(uint64_t*)(d) = *(const uint64_t*)(s))               \
   : (n) == 4 ? (void)(*(uint32_t*)(d) = *(const uint32_t*)(s))               \
   : (n) == 2 ? (void)(*(uint16_t*)(d) = *(const uint16_t*)(s))               \
   : (n) == 1 ? (void)(*(uint8_t*)(d) = *(const uint8_t*)(s))                 \
              : (void)memcpy((d), (s), (n)))
#define __builtin_clz wasm_rt_tcc_clz32
#define __builtin_clzll wasm_rt_tcc_clz64
#define __builtin_ctz wasm_rt_tcc_ctz32
#define __builtin_ctzll wasm_rt_tcc_ctz64
#define __builtin_popcount wasm_rt_tcc_popcount32
#define __builtin_popcountll wasm_rt_tcc_popcount64
#define wasm_rt_call_stack_depth (*wasm_rt_call_stack_depth_slot())
#else
/* Thread-local; swapped per fiber by the scheduler. Declared in both modes so that the runtime
 * (built once) can serve modules of either mode. */
extern WASM_RT_THREAD_LOCAL uint32_t wasm_rt_call_stack_depth;
#endif

#define WASM_RT_NO_RETURN __attribute__((noreturn))
#define WASM_RT_MERGED_OOB_AND_EXHAUSTION_TRAPS 0

/* Values 0..8 are fixed by the generated code; the rest are Theater's. */
typedef enum {
  WASM_RT_TRAP_NONE,
  WASM_RT_TRAP_OOB,
  WASM_RT_TRAP_INT_OVERFLOW,
  WASM_RT_TRAP_DIV_BY_ZERO,
  WASM_RT_TRAP_INVALID_CONVERSION,
  WASM_RT_TRAP_UNREACHABLE,
  WASM_RT_TRAP_CALL_INDIRECT,
  WASM_RT_TRAP_UNCAUGHT_EXCEPTION,
  WASM_RT_TRAP_EXHAUSTION,
  /* Theater extensions. */
  WASM_RT_TRAP_INTERRUPTED = 100, /* deadline passed or the call was interrupted */
  WASM_RT_TRAP_CANCELLED,         /* a suspended call was cancelled */
  WASM_RT_TRAP_HOST,              /* a host import failed in a way that poisons the call */
} wasm_rt_trap_t;

typedef enum {
  WASM_RT_I32,
  WASM_RT_I64,
  WASM_RT_F32,
  WASM_RT_F64,
  WASM_RT_FUNCREF,
  WASM_RT_EXTERNREF,
} wasm_rt_type_t;

typedef void (*wasm_rt_function_ptr_t)(void);

typedef struct {
  uint32_t func_type;
  wasm_rt_function_ptr_t func;
  void* module_instance;
} wasm_rt_funcref_t;

static const wasm_rt_funcref_t wasm_rt_funcref_null_value = {0, NULL, NULL};

typedef void* wasm_rt_externref_t;
static const wasm_rt_externref_t wasm_rt_externref_null_value = NULL;

typedef struct {
  uint8_t* data;
  uint32_t pages, max_pages;
  uint32_t size;
  // Runtime-private: nonzero for a guard-page memory. It fills what was tail padding, so the
  // struct's size and layout are those modules compiled before it was added expect.
  uint32_t guarded;
} wasm_rt_memory_t;

typedef struct {
  wasm_rt_funcref_t* data;
  uint32_t max_size;
  uint32_t size;
} wasm_rt_funcref_table_t;

typedef struct {
  wasm_rt_externref_t* data;
  uint32_t max_size;
  uint32_t size;
} wasm_rt_externref_table_t;

/* ---- The interface generated code uses (wabt 1.0.32). ---- */

void wasm_rt_init(void);
bool wasm_rt_is_initialized(void);
void wasm_rt_free(void);
WASM_RT_NO_RETURN void wasm_rt_trap(wasm_rt_trap_t);
const char* wasm_rt_strerror(wasm_rt_trap_t trap);
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...);
uint32_t wasm_rt_register_tag(uint32_t size);
void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void* values);
WASM_RT_NO_RETURN void wasm_rt_throw(void);

#define WASM_RT_UNWIND_TARGET jmp_buf
WASM_RT_UNWIND_TARGET* wasm_rt_get_unwind_target(void);
void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET* target);
uint32_t wasm_rt_exception_tag(void);
uint32_t wasm_rt_exception_size(void);
void* wasm_rt_exception(void);

/* No signal mask save: a syscall per call otherwise. The runtime unblocks its signals after a
 * trap instead. */
#define WASM_RT_SETJMP(buf) sigsetjmp(buf, 0)
#define wasm_rt_try(target) WASM_RT_SETJMP(target)

void wasm_rt_allocate_memory(wasm_rt_memory_t*, uint32_t initial_pages, uint32_t max_pages);
uint32_t wasm_rt_grow_memory(wasm_rt_memory_t*, uint32_t pages);
void wasm_rt_free_memory(wasm_rt_memory_t*);
void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t*, uint32_t elements,
                                    uint32_t max_elements);
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t*);
void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t*, uint32_t elements,
                                      uint32_t max_elements);
void wasm_rt_free_externref_table(wasm_rt_externref_table_t*);
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t*, uint32_t delta,
                                    wasm_rt_funcref_t init);
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t*, uint32_t delta,
                                      wasm_rt_externref_t init);

/* ---- Theater extensions used by generated import shims. ---- */

/* Called by an import stub before it enters host code. Traps with EXHAUSTION when less than
 * the host reserve of stack is left, so host code never runs on a nearly full fiber stack. */
void wasm_rt_host_enter(void);
/* Called by an import stub when the host returns. Traps with `status` when non-zero, or with
 * INTERRUPTED when an interrupt arrived while the host code ran. */
void wasm_rt_host_leave(int status);

/* ---- Time slices (docs/engine.md, "Time slices"). ---- */

/* Non-zero when the call running on this thread has used up its time slice: set by the watchdog
 * (through the address each thread registers), cleared when a call starts or resumes on the
 * thread and by wasm_rt_preempt(). Read through %fs on every check (initial-exec TLS, volatile),
 * so no thread's address of it is ever kept across a fiber switch. */
#ifdef WASM_RT_TLS_BY_CALL
#define wasm_rt_preempt_flag (*wasm_rt_preempt_flag_slot())
#else
extern WASM_RT_THREAD_LOCAL volatile uint32_t wasm_rt_preempt_flag;
#endif
/* The slow path of a check: clears the flag and, when the running call may yield, suspends it
 * and queues it behind the calls waiting for a worker. Traps when the call was interrupted or
 * cancelled meanwhile. Out of line and cold, so a check costs a load and a branch. */
__attribute__((cold)) void wasm_rt_preempt(void);
/* Inserted by the compile pipeline (src/engine/compile/preempt_pass.h) at the entry of every
 * function and the head of every loop. */
#define WASM_RT_PREEMPT_CHECK()           \
  do {                                    \
    if (UNLIKELY(wasm_rt_preempt_flag)) { \
      wasm_rt_preempt();                  \
    }                                     \
  } while (0)

#ifdef __cplusplus
}
#endif

#endif /* WASM_RT_H_ */
