/* fiber_guest: a plain core module for the engine's suspension (fiber) tests.
 *
 * Imports from module "theater:test/fiber":
 *   wait: (i32) -> i32   the host suspends the calling guest inside it and later resumes it,
 *                        possibly on another thread, with the i32 the test chooses
 *   echo: (i32) -> i32   answered immediately, no suspension
 * Exports (plain core functions; formulas use wrapping i32 arithmetic, and f(x) stands for
 * whatever the host's wait returns for x):
 *   wait-once(a)      = f(a) + a
 *   wait-twice(a)     = w1 * 1000 + w2 + a, where w1 = f(a) and w2 = f(w1), after checking
 *                       that a 32-byte array on the shadow stack (linear memory) and values in
 *                       C locals survived both suspensions; -1 if the shadow stack was damaged,
 *                       -2 if the locals were
 *   wait-loop(n)      = f(0) + f(1) + ... + f(n - 1)
 *   wait-then-spin(a) waits once, then loops forever (the watchdog must interrupt it)
 *   wait-then-oob(a)  waits once, then traps with an out-of-bounds load
 *   add(a, b)         = a + b
 *   noop()
 *   deep(n)           recursion n levels deep using only the native stack:
 *                       deep(0) = 0, deep(n) = (deep(n - 1) * 3) ^ n
 *   deep-echo(n)      the same recursion with echo(7) at the bottom:
 *                       deep-echo(0) = echo(7), deep-echo(n) = (deep-echo(n - 1) * 3) ^ n
 *   counter()         how many calls of wait-once, wait-twice and add have completed (returned)
 *                     in this instance
 */
#include <stdint.h>

#define IMPORT(name) __attribute__((import_module("theater:test/fiber"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("wait") int32_t fiber_wait(int32_t x);
IMPORT("echo") int32_t fiber_echo(int32_t x);

/* Linear-memory state that must survive suspension and migration. */
static int32_t completed;
/* Opaque to the compiler, so values derived from it must be kept in locals across the waits
 * instead of being recomputed after them. */
static volatile int32_t kSeed = 0x5eed;
static volatile uint32_t kFarAway = 0xfffffff0u;

EXPORT("wait-once") int32_t wait_once(int32_t a) {
  int32_t r = fiber_wait(a) + a;
  completed++;
  return r;
}

EXPORT("wait-twice") int32_t wait_twice(int32_t a) {
  volatile int32_t frame[8]; /* volatile: stays in linear memory, on the shadow stack */
  for (int i = 0; i < 8; i++) frame[i] = a * 8 + i;
  int32_t local1 = a ^ kSeed; /* wasm locals: C locals (native stack) after wasm2c */
  int32_t local2 = a * 31 + kSeed;

  int32_t w1 = fiber_wait(a);
  int32_t w2 = fiber_wait(w1);

  int32_t result = w1 * 1000 + w2 + a;
  for (int i = 0; i < 8; i++) {
    if (frame[i] != a * 8 + i) result = -1;
  }
  if (result != -1 && ((local1 ^ kSeed) != a || local2 - kSeed != a * 31)) result = -2;
  completed++;
  return result;
}

EXPORT("wait-loop") int32_t wait_loop(int32_t n) {
  int32_t sum = 0;
  for (int32_t i = 0; i < n; i++) sum += fiber_wait(i);
  return sum;
}

EXPORT("wait-then-spin") void wait_then_spin(int32_t a) {
  fiber_wait(a);
  volatile uint32_t x = 0;
  for (;;) x++;
}

EXPORT("wait-then-oob") int32_t wait_then_oob(int32_t a) {
  fiber_wait(a);
  return *(volatile int32_t*)(uintptr_t)kFarAway;
}

EXPORT("add") int32_t add(int32_t a, int32_t b) {
  completed++;
  return a + b;
}

EXPORT("noop") void noop(void) {}

/* noinline and a non-tail, non-accumulator recursive step keep this a real recursion; no
 * locals live in memory, so each level costs native stack only. */
__attribute__((noinline)) static int32_t deep_rec(int32_t n) {
  return n == 0 ? 0 : (deep_rec(n - 1) * 3) ^ n;
}
EXPORT("deep") int32_t deep(int32_t n) {
  return deep_rec(n);
}

/* The host import runs on an almost-full stack when n is large. */
__attribute__((noinline)) static int32_t deep_echo_rec(int32_t n) {
  return n == 0 ? fiber_echo(7) : (deep_echo_rec(n - 1) * 3) ^ n;
}
EXPORT("deep-echo") int32_t deep_echo(int32_t n) {
  return deep_echo_rec(n);
}

EXPORT("counter") int32_t counter(void) {
  return completed;
}
