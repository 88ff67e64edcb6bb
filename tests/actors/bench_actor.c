/* bench_actor: the small actor the runtime benchmarks spawn by the thousand.
 *
 * init sets the state to "0"; handle-send increments the counter kept in the state (the message
 * is ignored, but for one form below); handle-request does the same and responds with the new
 * count, except for two commands the messaging benchmark sends:
 *   send:<id>:<n>   sends n 16-byte messages to actor <id>, waiting a millisecond whenever its
 *                   mailbox is full; responds with how many were sent ("<sent> <error>" after
 *                   any other failure)
 *   rtt:<id>:<n>    makes n requests to actor <id> one after the other, timing each with the
 *                   monotonic clock; responds "<p50> <p99> <max> <mean>" in nanoseconds
 * A message "w<iters>.<seq>" (the `block` mode of bench/messaging_bench.cc sends them through
 * messenger.c's burst with the tag "w<iters>.") is a receiver slower than its sender by design:
 * before counting it, handle-send runs <iters> rounds of a multiply-xor hash, and a <seq> other
 * than the count so far is counted as out of order, the state then reading "<count> <out of
 * order>" (a plain message after that forgets the second number).
 * Built a second time with -DBENCH_ACTOR_NO_WASI as bench_actor_nowasi.wasm (and from it
 * bench_actor_nowasi.component.wasm) for the component benchmark.
 */
#include <stdlib.h>
#include <theater/theater.h>
#include <time.h>

#include "probe_util.h"

static uint64_t parse(theater_string_t s) {
  uint64_t n = 0;
  for (size_t i = 0; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++)
    n = n * 10 + (uint64_t)(s.ptr[i] - '0');
  return n;
}

static void increment(theater_state_t* state, char* out, int* out_len) {
  uint64_t n = parse(theater_state_str(state)) + 1;
  /* Digits written by hand: snprintf's machinery cost this actor more than the host's work on
   * a message (the benchmarks measure the runtime, not libc's formatter). */
  char reversed[20];
  int len = 0;
  do {
    reversed[len++] = (char)('0' + n % 10);
    n /= 10;
  } while (n != 0);
  for (int i = 0; i < len; i++) out[i] = reversed[len - 1 - i];
  *out_len = len;
  theater_state_set(state, out, (size_t)*out_len);
}

PROBE_INIT("0")

/* The digits of `s` from `*at` on; `*at` ends past them. */
static uint64_t parse_at(theater_bytes_t s, size_t* at) {
  uint64_t n = 0;
  for (; *at < s.len && s.ptr[*at] >= '0' && s.ptr[*at] <= '9'; (*at)++)
    n = n * 10 + (uint64_t)(s.ptr[*at] - '0');
  return n;
}

/* Where the spin's result goes, so that the compiler keeps the loop. */
static volatile uint32_t work_sink;

/* "w<iters>.<seq>": work, then the count and the order check (the header comment). */
static theater_result_t handle_work(theater_state_t* state, theater_bytes_t msg) {
  size_t at = 1;
  uint64_t iters = parse_at(msg, &at);
  at++; /* the '.' */
  uint64_t seq = parse_at(msg, &at);
  uint32_t h = 2166136261u;
  for (uint64_t i = 0; i < iters; i++) {
    h ^= (uint32_t)i;
    h *= 16777619u;
  }
  work_sink = h;
  theater_string_t now = theater_state_str(state);
  theater_bytes_t text = {(uint8_t*)now.ptr, now.len};
  size_t pos = 0;
  uint64_t count = parse_at(text, &pos);
  uint64_t out_of_order = pos < text.len ? (pos++, parse_at(text, &pos)) : 0;
  if (seq != count) out_of_order++;
  if (out_of_order == 0) {
    char digits[24];
    int len;
    increment(state, digits, &len);
  } else {
    theater_string_t next = theater_format("%llu %llu", (unsigned long long)(count + 1),
                                           (unsigned long long)out_of_order);
    theater_state_adopt(state, (uint8_t*)next.ptr, next.len);
  }
  return theater_ok();
}

static theater_result_t handle_send(theater_state_t* state, theater_bytes_t msg) {
  if (msg.len > 0 && msg.ptr[0] == 'w') return handle_work(state, msg);
  char digits[24];
  int len;
  increment(state, digits, &len);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_SEND(handle_send)

/* Parses "<id>:<n>" after a command prefix. */
static bool parse_target(theater_bytes_t msg, size_t prefix, theater_string_t* id, uint64_t* n) {
  const char* p = (const char*)msg.ptr + prefix;
  size_t len = msg.len - prefix;
  size_t colon = 0;
  while (colon < len && p[colon] != ':') colon++;
  if (colon == len) return false;
  id->ptr = (char*)p;
  id->len = colon;
  theater_string_t count = {(char*)p + colon + 1, len - colon - 1};
  *n = parse(count);
  return true;
}

static uint64_t now_ns(void) {
#ifdef BENCH_ACTOR_NO_WASI
  /* The build of this actor that becomes a component imports nothing from WASI (the component
   * benchmark compares it with the core module): `rtt` then times nothing. */
  return 0;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
#endif
}

static int compare_u64(const void* a, const void* b) {
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : x > y;
}

static bool starts_with(theater_bytes_t msg, const char* prefix) {
  size_t n = strlen(prefix);
  return msg.len >= n && memcmp(msg.ptr, prefix, n) == 0;
}

static bool theater_string_starts_with(theater_string_t s, const char* prefix) {
  size_t n = strlen(prefix);
  return s.len >= n && memcmp(s.ptr, prefix, n) == 0;
}

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)request_id;
  theater_string_t id;
  uint64_t n;
  if (starts_with(msg, "send:") && parse_target(msg, 5, &id, &n)) {
    static const uint8_t payload[16] = "0123456789abcde";
    for (uint64_t i = 0; i < n; i++) {
      theater_result_t r;
      theater_message_send(id.ptr, id.len, payload, sizeof payload, &r);
      if (r.is_err && theater_string_starts_with(r.err, "resource-exhausted")) {
        /* The receiver's mailbox is full: give it a millisecond, then send this one again. */
        theater_result_free(&r);
        theater_result_t slept;
        theater_timing_sleep(1, &slept);
        if (slept.is_err) theater_result_free(&slept);
        i--;
        continue;
      }
      if (r.is_err) {
        theater_string_t text =
            theater_format("%llu %.*s", (unsigned long long)i, (int)r.err.len, r.err.ptr);
        theater_result_free(&r);
        theater_state_adopt(response, (uint8_t*)text.ptr, text.len);
        return theater_ok();
      }
    }
    theater_string_t text = theater_format("%llu", (unsigned long long)n);
    theater_state_adopt(response, (uint8_t*)text.ptr, text.len);
    return theater_ok();
  }
  if (starts_with(msg, "rtt:") && parse_target(msg, 4, &id, &n) && n > 0) {
    uint64_t* took = (uint64_t*)theater_xmalloc(n * sizeof(uint64_t));
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
      theater_result_bytes_t answer;
      uint64_t start = now_ns();
      theater_message_request(id.ptr, id.len, (const uint8_t*)"ping", 4, &answer);
      took[i] = now_ns() - start;
      sum += took[i];
      bool failed = answer.is_err;
      theater_result_bytes_free(&answer);
      if (failed) {
        free(took);
        return theater_err("request %llu failed", (unsigned long long)i);
      }
    }
    qsort(took, n, sizeof(uint64_t), compare_u64);
    theater_string_t text =
        theater_format("%llu %llu %llu %llu", (unsigned long long)took[n / 2],
                       (unsigned long long)took[(n * 99) / 100], (unsigned long long)took[n - 1],
                       (unsigned long long)(sum / n));
    free(took);
    theater_state_adopt(response, (uint8_t*)text.ptr, text.len);
    return theater_ok();
  }
  char digits[24];
  int len;
  increment(state, digits, &len);
  theater_state_set(response, digits, (size_t)len);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)

#ifdef BENCH_ACTOR_NO_WASI
PROBE_IGNORE_CHANNELS()
#endif
