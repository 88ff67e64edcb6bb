/* spinner: a guest that keeps its worker busy without ever calling the host, for the time-slice
 * tests (src/engine/preempt_test.cc, src/runtime/fair_scheduling_test.cc) and the cost of the
 * checks (bench/engine_bench.cc).
 *
 * Plain core exports (the core signature with each):
 *   spin()         () -> ()      loops forever; never calls anything
 *   recurse(n)     (i32) -> i32  binary recursion 2^n calls deep-first, with no loop anywhere:
 *                                recurse(40) runs for hours; only function entries can yield
 *   hash(n)        (i32) -> i32  n rounds of a 32-bit mix over a small array in linear memory:
 *                                a compute loop to measure the checks on
 *   fib(n)         (i32) -> i32  naive recursive Fibonacci: a call-heavy kernel
 *   add(a, b)      (i32, i32) -> i32
 * As an actor (theater:simple/message-server-client handle-request), the message is a command:
 *   loop        spins forever (only the deadline or terminate ends the call)
 *   recurse     recurse(40): the same without loops
 *   ping        responds "pong"
 */
#include <stdlib.h>
#include <theater/theater.h>

#include "probe_util.h"

#define CORE(name) THEATER_EXPORT(name)

/* Read at run time, so the compiler cannot fold the work away. */
static volatile int32_t kOne = 1;

CORE("spin") void spin(void) {
  volatile uint32_t x = 0;
  for (;;) x++;
}

/* optnone: clang would otherwise turn one of the two calls into a loop (tail recursion with an
 * accumulator), and the point of this function is to have no loop at all. */
__attribute__((noinline, optnone)) static int32_t recurse_body(int32_t n) {
  if (n <= 0) return kOne;
  return recurse_body(n - 1) + recurse_body(n - 1);
}
CORE("recurse") int32_t recurse(int32_t n) {
  return recurse_body(n);
}

static uint32_t mix_state[16];
CORE("hash") int32_t hash(int32_t n) {
  uint32_t h = 2166136261u;
  for (int32_t i = 0; i < n; i++) {
    uint32_t* slot = &mix_state[i & 15];
    h ^= *slot + (uint32_t)i;
    h *= 16777619u;
    h ^= h >> 13;
    *slot = h;
  }
  return (int32_t)h;
}

__attribute__((noinline)) static int32_t fib_body(int32_t n) {
  return n < 2 ? n : fib_body(n - 1) + fib_body(n - 2);
}
CORE("fib") int32_t fib(int32_t n) {
  return fib_body(n * kOne);
}

CORE("add") int32_t add(int32_t a, int32_t b) {
  return a + b;
}

PROBE_INIT("0")

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)state;
  (void)request_id;
  const field_t command = {(const char*)msg.ptr, msg.len};
  if (is(command, "loop")) {
    spin();
  } else if (is(command, "recurse")) {
    theater_state_set(response, "done", recurse(40) ? 4 : 0);
  } else if (is(command, "ping")) {
    theater_state_set(response, "pong", 4);
  } else {
    return theater_err("unknown command");
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)
