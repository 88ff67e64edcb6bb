/* {{project_name}}: an HTTP-style request router as a Theater actor, in C.
 *
 *   id=$(theater start manifest.toml)
 *   theater message --request $id "GET /hello"
 *
 * Routes: GET / (an index), GET /hello, GET /count (requests served so far); anything else is
 * 404. The state is the number of requests served, as decimal text. */
#include <stdio.h>
#include <stdlib.h>
#include <theater/theater.h>

static unsigned long served(theater_state_t* state) {
  char* text = theater_string_to_cstr(theater_state_str(state));
  unsigned long n = strtoul(text, NULL, 10);
  free(text);
  return n;
}

static bool is(theater_bytes_t msg, const char* line) {
  size_t n = strlen(line);
  return msg.len == n && memcmp(msg.ptr, line, n) == 0;
}

static void respond(theater_option_bytes_t* response, int status, const char* reason,
                    const char* body) {
  theater_string_t text = theater_format("HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\n"
                                         "content-length: %zu\r\n\r\n%s",
                                         status, reason, strlen(body), body);
  theater_state_adopt(response, (uint8_t*)text.ptr, text.len);
}

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  theater_log("{{project_name}} %.*s serving", (int)actor_id.len, actor_id.ptr);
  theater_state_set_str(state, "0");
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)request_id;
  unsigned long count = served(state) + 1;
  char digits[32];
  int len = snprintf(digits, sizeof digits, "%lu", count);
  theater_state_set(state, digits, (size_t)len);
  theater_log("%.*s", (int)msg.len, (const char*)msg.ptr);
  if (is(msg, "GET /")) {
    respond(response, 200, "OK", "routes: /hello /count\n");
  } else if (is(msg, "GET /hello")) {
    respond(response, 200, "OK", "Hello from {{project_name}}!\n");
  } else if (is(msg, "GET /count")) {
    char body[48];
    snprintf(body, sizeof body, "%lu\n", count);
    respond(response, 200, "OK", body);
  } else {
    respond(response, 404, "Not Found", "no such route\n");
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)
