/* host_loop: the C side of the JavaScript actor's host-call benchmark (bench/js_runtime.sh,
 * docs/benchmarks.md, "JavaScript actors at run time"). bench/js/bench_actor.js is the same actor
 * in JavaScript.
 *
 * init sets the state to "0"; handle-send increments the counter kept in the state;
 * handle-request does the same and responds with the new count, except for two commands:
 *   host:<n>   calls theater:simple/runtime get-current-time n times (a host call with no
 *              parameter and one u64 result, recorded in the chain like every host call) and
 *              responds with n
 *   spin:<n>   the same loop without the host call (a sum the compiler cannot drop); responds
 *              with the sum
 * No WASI import, so it is also made into a component (host_loop.component.wasm, the world
 * tests/actors/components/messenger) to compare like with like against a JavaScript component.
 */
#include <theater/theater.h>

#include "probe_util.h"

THEATER_IMPORT(THEATER_RUNTIME_IFACE, "get-current-time")
uint64_t host_loop_get_current_time(void);

static uint64_t parse(const uint8_t* p, size_t len) {
  uint64_t n = 0;
  for (size_t i = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) n = n * 10 + (uint64_t)(p[i] - '0');
  return n;
}

/* Writes n in decimal into out (at least 20 bytes); returns the length. */
static size_t digits(uint64_t n, char* out) {
  char reversed[20];
  size_t len = 0;
  do {
    reversed[len++] = (char)('0' + n % 10);
    n /= 10;
  } while (n != 0);
  for (size_t i = 0; i < len; i++) out[i] = reversed[len - 1 - i];
  return len;
}

static size_t increment(theater_state_t* state, char* out) {
  theater_string_t s = theater_state_str(state);
  size_t len = digits(parse((const uint8_t*)s.ptr, s.len) + 1, out);
  theater_state_set(state, out, len);
  return len;
}

PROBE_INIT("0")

static theater_result_t handle_send(theater_state_t* state, theater_bytes_t msg) {
  (void)msg;
  char out[24];
  increment(state, out);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_SEND(handle_send)

static bool has_prefix(theater_bytes_t msg, const char* prefix, size_t n) {
  return msg.len >= n && memcmp(msg.ptr, prefix, n) == 0;
}

/* Kept in memory so that the loops' results are used. */
volatile uint64_t host_loop_sink;

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)request_id;
  char out[24];
  size_t len;
  if (has_prefix(msg, "host:", 5)) {
    uint64_t n = parse(msg.ptr + 5, msg.len - 5), last = 0;
    for (uint64_t i = 0; i < n; i++) last = host_loop_get_current_time();
    host_loop_sink = last;
    len = digits(n, out);
  } else if (has_prefix(msg, "spin:", 5)) {
    uint64_t n = parse(msg.ptr + 5, msg.len - 5), sum = 0, k = host_loop_sink & 0xff;
    for (uint64_t i = 0; i < n; i++) sum = (uint32_t)(sum + (i ^ k));
    host_loop_sink = sum;
    len = digits(sum, out);
  } else {
    len = increment(state, out);
  }
  theater_state_set(response, out, len);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)

PROBE_IGNORE_CHANNELS()
