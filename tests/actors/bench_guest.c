/* bench_guest: the guest side of the call-overhead benchmarks (types in bench_guest.wit).
 *
 *   noop()         () -> ()             an empty export: the floor of a guest call
 *   add(a, b)      (i32, i32) -> i32    an export with arguments and a result
 *   call-host(n)   (i32) -> i32         calls the host import theater:test/bench.nop n times
 *                                       and returns n: the cost of guest -> host calls
 *   theater:test/bench#bytes-echo       list<u8> -> list<u8>, canonical ABI both ways
 *   cabi_realloc                        from the SDK (malloc based)
 */
#include <theater/abi.h>

THEATER_IMPORT("theater:test/bench", "nop") void bench_nop(void);

THEATER_EXPORT("noop") void noop(void) {}

THEATER_EXPORT("add") int32_t add(int32_t a, int32_t b) {
  return a + b;
}

THEATER_EXPORT("call-host") int32_t call_host(int32_t n) {
  for (int32_t i = 0; i < n; i++) bench_nop();
  return n;
}

/* The list the host lowered (allocated through cabi_realloc, now owned by this guest) is handed
 * back without a copy and freed by the post-return once the host has read it. */
static uint32_t ret_area[2];
THEATER_EXPORT("theater:test/bench#bytes-echo") uint32_t* bytes_echo(uint8_t* ptr, uint32_t len) {
  ret_area[0] = (uint32_t)(uintptr_t)ptr;
  ret_area[1] = len;
  return ret_area;
}
THEATER_EXPORT("cabi_post_theater:test/bench#bytes-echo") void bytes_echo_post(uint32_t* area) {
  theater_free_buf((void*)(uintptr_t)area[0], area[1]);
}
