/* hostile: a guest that misbehaves on purpose, for the engine's and the host's containment tests.
 *
 * Plain core exports (no WIT; the core signature is given with each) and typed canonical-ABI
 * liars (`theater:test/hostile#...`, typed in hostile.wit). Every export states its expected
 * outcome. In every case the host process must survive, report the failure with its cause, and
 * be able to discard the instance and create a fresh one.
 *
 * Values the compiler must not see through are read from volatile globals, so the misbehaviour
 * happens at run time instead of being folded away (or turned into `unreachable`) at -O2.
 */
#include <theater/abi.h>
#include <theater/runtime.h>

#define CORE(name) THEATER_EXPORT(name)
#define TYPED(name) THEATER_EXPORT("theater:test/hostile#" name)

static volatile uint32_t kFarAway = 0xfffffff0u; /* an address past any wasm32 memory */
static volatile int32_t kZero = 0;
static volatile int32_t kMinusOne = -1;
static volatile int32_t kIntMin = INT32_MIN;

/* ---- traps --------------------------------------------------------------------------------- */

/* () -> i32. TRAP: out-of-bounds memory access (a 4-byte load at 0xfffffff0). */
CORE("trap-oob") int32_t trap_oob(void) {
  return *(volatile int32_t*)(uintptr_t)kFarAway;
}

/* () -> (). TRAP: unreachable executed. */
CORE("trap-unreachable") void trap_unreachable(void) {
  __builtin_trap();
}

/* () -> i32. TRAP: call stack exhausted. The recursion uses no linear memory (no shadow-stack
 * frame), only the engine's native stack, and its base case is a volatile value it never
 * reaches; its result is squared, so neither clang nor gcc (which compiles the wasm2c
 * output) can turn it into a loop. The engine's call-depth limit or stack guard must stop it. */
__attribute__((noinline)) static int32_t exhaust(int32_t n) {
  if (n == kMinusOne) return 0;
  /* Squaring the result keeps the recursion non-linear: gcc turns `f(n + 1) * 3 + n` (an
   * accumulator form) into a loop when it compiles the wasm2c output. */
  int32_t r = exhaust(n + 1);
  return r * r + n;
}
CORE("trap-stack-exhaustion") int32_t trap_stack_exhaustion(void) {
  return exhaust(0);
}

/* () -> i32. TRAP. Unbounded recursion with a volatile 64-byte frame on the shadow stack (in
 * linear memory). Whichever limit comes first stops it: the engine's call-depth limit (stack
 * exhaustion) or, once the shadow-stack pointer has run below address 0 and wrapped, an
 * out-of-bounds store. On the way down it overwrites the module's own data: harmless, since a
 * trapped instance is discarded. */
__attribute__((noinline)) static int32_t shadow_recurse(int32_t n) {
  volatile int32_t frame[16];
  frame[n & 15] = n;
  if (n == kMinusOne) return 0;
  return shadow_recurse(n + 1) + frame[n & 15];
}
CORE("trap-shadow-stack-overflow") int32_t trap_shadow_stack_overflow(void) {
  return shadow_recurse(0);
}

/* call_indirect targets. The table index of takes_two is stored in a volatile, so the calls
 * below really go through call_indirect with a run-time index. */
typedef int32_t (*unary_fn)(int32_t);
static int32_t takes_two(int32_t a, int32_t b) {
  return a + b;
}
static volatile uintptr_t kTwoArgFn = (uintptr_t)&takes_two;
static volatile uintptr_t kNullSlot = 0;             /* wasm-ld keeps table slot 0 empty */
static volatile uintptr_t kSlotPastEnd = 0x7fffffff; /* far beyond the table's size */

/* () -> i32. TRAP: indirect call signature mismatch ((i32)->i32 through an (i32,i32)->i32). */
CORE("trap-bad-indirect-call") int32_t trap_bad_indirect_call(void) {
  return ((unary_fn)kTwoArgFn)(1);
}
/* () -> i32. TRAP: indirect call through a null (uninitialized) table element. */
CORE("trap-null-indirect-call") int32_t trap_null_indirect_call(void) {
  return ((unary_fn)kNullSlot)(1);
}
/* () -> i32. TRAP: indirect call to a table index out of range. */
CORE("trap-indirect-call-oob") int32_t trap_indirect_call_oob(void) {
  return ((unary_fn)kSlotPastEnd)(1);
}

/* () -> i32. TRAP: integer divide by zero (i32.div_s). */
CORE("trap-div-zero") int32_t trap_div_zero(void) {
  return 7 / kZero;
}

/* () -> i32. TRAP: integer overflow (INT32_MIN / -1 in i32.div_s). */
CORE("trap-div-overflow") int32_t trap_div_overflow(void) {
  return kIntMin / kMinusOne;
}

/* ---- runaway loops ------------------------------------------------------------------------- */

/* () -> (). NEVER RETURNS: a pure loop (a volatile counter, no calls). Only the watchdog's
 * interrupt (deadline) can stop it; expected outcome: a deadline/interrupt error. */
CORE("spin") void spin(void) {
  volatile uint32_t x = 0;
  for (;;) x++;
}

/* () -> (). NEVER RETURNS: loops calling runtime.log("spin"). Expected outcome: a
 * deadline/interrupt error, delivered in the guest or at an import boundary, with every log call
 * up to then recorded. */
CORE("spin-with-imports") void spin_with_imports(void) {
  for (;;) theater_runtime_log("spin", 4);
}

/* ---- memory growth ------------------------------------------------------------------------- */

/* () -> i32. MUST NOT TRAP: grows memory (in 64 MiB steps, halving the step on refusal down to
 * one page) until memory.grow refuses, and returns how many 64 KiB pages it obtained. With a
 * per-actor memory cap, that is the cap minus the initial size; growth failure is a -1 result of
 * memory.grow, never a trap. */
CORE("memory-bomb") int32_t memory_bomb(void) {
  int32_t got = 0;
  for (size_t step = 1024; step >= 1;) {
    if (__builtin_wasm_memory_grow(0, step) == (size_t)-1) {
      step /= 2;
    } else {
      got += (int32_t)step;
    }
  }
  return got;
}

/* (i32 pages) -> i32. MUST NOT TRAP: returns what memory.grow returned (the old size in pages,
 * or -1 when the growth is refused). */
CORE("grow-once") int32_t grow_once(int32_t pages) {
  return (int32_t)__builtin_wasm_memory_grow(0, (size_t)(uint32_t)pages);
}

/* ---- canonical-ABI liars (typed in hostile.wit) -------------------------------------------- */

/* Result areas are static, like a real guest's, with the alignment the result type needs. */
static _Alignas(8) uint32_t area[4];
static _Alignas(8) uint8_t buffer[16] = "abc";
static uint32_t addr(const volatile void* p) {
  return (uint32_t)(uintptr_t)p;
}

static uint32_t* list_result(uint32_t ptr, uint32_t len) {
  area[0] = ptr;
  area[1] = len;
  return area;
}
static uint32_t* string_from(const char* bytes, uint32_t len) {
  memcpy(buffer, bytes, len);
  return list_result(addr(buffer), len);
}

/* Each: () -> i32 (a result-area pointer). TRAP when the host lifts the result. */
TYPED("string-oob") uint32_t* string_oob(void) {
  return list_result(0xffffff00u, 16);
}
TYPED("string-huge-len") uint32_t* string_huge_len(void) {
  return list_result(addr(buffer), 0xffffffffu);
}
TYPED("string-wrap") uint32_t* string_wrap(void) {
  return list_result(kFarAway, 0x20);
}
TYPED("string-bad-utf8") uint32_t* string_bad_utf8(void) {
  return string_from("ab\xc3\x28", 4);
}
TYPED("string-utf8-surrogate") uint32_t* string_utf8_surrogate(void) {
  return string_from("\xed\xa0\x80", 3);
}
TYPED("string-utf8-overlong") uint32_t* string_utf8_overlong(void) {
  return string_from("\xc0\xaf", 2);
}
/* 0x20000001 * 8 = 0x100000008: a host computing the byte length in 32 bits sees 8 bytes, which
 * fit in `buffer`; the real length is far beyond memory. */
TYPED("list-u64-overflow") uint32_t* list_u64_overflow(void) {
  return list_result(addr(buffer), 0x20000001u);
}
TYPED("list-u32-misaligned") uint32_t* list_u32_misaligned(void) {
  return list_result(addr(buffer) + 1, 2);
}
/* option<u32> in memory: case u8 @0, u32 @4. */
TYPED("option-bad-discriminant") uint32_t* option_bad_discriminant(void) {
  area[0] = 2;
  area[1] = 42;
  return area;
}
/* result<u32, string> in memory: case u8 @0, payload @4. */
TYPED("result-bad-discriminant") uint32_t* result_bad_discriminant(void) {
  area[0] = 7;
  area[1] = 42;
  area[2] = 0;
  return area;
}
TYPED("retptr-oob") uint32_t retptr_oob(void) {
  return 0xfffffff8u;
}
TYPED("retptr-misaligned") uint32_t retptr_misaligned(void) {
  list_result(addr(buffer), 3);
  return addr(area) + 2;
}

/* Flat results: () -> i32. */
TYPED("enum-bad-discriminant") uint32_t enum_bad_discriminant(void) {
  return 4;
}
TYPED("char-surrogate") uint32_t char_surrogate(void) {
  return 0xd800;
}
TYPED("char-out-of-range") uint32_t char_out_of_range(void) {
  return 0x110000;
}
TYPED("bool-non-canonical") uint32_t bool_non_canonical(void) {
  return 2;
} /* lifts to true */

/* Import calls with bad arguments: () -> (). TRAP inside the runtime.log call. */
TYPED("log-oob") void log_oob(void) {
  theater_runtime_log((const char*)(uintptr_t)0xffffff00u, 1000);
}
TYPED("log-wrap") void log_wrap(void) {
  theater_runtime_log((const char*)(uintptr_t)kFarAway, 0x20);
}
TYPED("log-bad-utf8") void log_bad_utf8(void) {
  static const char kBad[] = "\xff\xfe";
  theater_runtime_log(kBad, 2);
}
