/* bench_actor: the small actor the runtime benchmarks spawn by the thousand.
 *
 * init sets the state to "0"; handle-send increments the counter kept in the state (the message
 * is ignored); handle-request does the same and responds with the new count.
 */
#include <theater/theater.h>

static uint64_t parse(theater_string_t s) {
  uint64_t n = 0;
  for (size_t i = 0; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++)
    n = n * 10 + (uint64_t)(s.ptr[i] - '0');
  return n;
}

static void increment(theater_state_t* state, char* out, int* out_len) {
  uint64_t n = parse(theater_state_str(state)) + 1;
  *out_len = snprintf(out, 24, "%llu", (unsigned long long)n);
  theater_state_set(state, out, (size_t)*out_len);
}

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  (void)actor_id;
  theater_state_set_str(state, "0");
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)

static theater_result_t handle_send(theater_state_t* state, theater_bytes_t msg) {
  (void)msg;
  char digits[24];
  int len;
  increment(state, digits, &len);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_SEND(handle_send)

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)request_id;
  (void)msg;
  char digits[24];
  int len;
  increment(state, digits, &len);
  theater_state_set(response, digits, (size_t)len);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)
