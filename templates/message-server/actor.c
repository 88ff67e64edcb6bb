/* {{project_name}}: a Theater actor that talks through the message-server handler, in C.
 *
 * Try it against a running server (`theater server`):
 *   id=$(theater start manifest.toml)
 *   theater message $id "hello"              # handle-send: logged and counted
 *   theater message --request $id "ping"     # handle-request: answers "pong"
 *   theater message --request $id "count"    # answers how many messages it received
 *   theater channel open $id                 # each line comes back as "echo: <line>"
 *
 * State: the number of messages received, as decimal text. */
#include <stdio.h>
#include <stdlib.h>
#include <theater/theater.h>

static unsigned long count_of(theater_state_t* state) {
  char* text = theater_string_to_cstr(theater_state_str(state));
  unsigned long n = strtoul(text, NULL, 10);
  free(text);
  return n;
}

static void set_count(theater_state_t* state, unsigned long n) {
  char digits[32];
  int len = snprintf(digits, sizeof digits, "%lu", n);
  theater_state_set(state, digits, (size_t)len);
}

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  theater_log("{{project_name}} %.*s is ready for messages", (int)actor_id.len, actor_id.ptr);
  set_count(state, 0);
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)

static theater_result_t handle_send(theater_state_t* state, theater_bytes_t msg) {
  theater_log("message: %.*s", (int)msg.len, (const char*)msg.ptr);
  set_count(state, count_of(state) + 1);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_SEND(handle_send)

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)request_id;
  set_count(state, count_of(state) + 1);
  if (msg.len == 4 && memcmp(msg.ptr, "ping", 4) == 0) {
    theater_state_set_str(response, "pong");
  } else if (msg.len == 5 && memcmp(msg.ptr, "count", 5) == 0) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lu", count_of(state));
    theater_state_set(response, digits, (size_t)len);
  } else {
    theater_string_t reply = theater_format("you said: %.*s", (int)msg.len, (const char*)msg.ptr);
    theater_state_adopt(response, (uint8_t*)reply.ptr, reply.len);
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)

static theater_result_t channel_open(theater_state_t* state, theater_string_t channel_id,
                                     theater_bytes_t msg, theater_channel_accept_t* accept) {
  (void)state;
  (void)msg;
  theater_log("channel %.*s opened", (int)channel_id.len, channel_id.ptr);
  theater_state_set_str(&accept->message, "welcome to {{project_name}}");
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHANNEL_OPEN(channel_open)

static theater_result_t channel_message(theater_state_t* state, theater_string_t channel_id,
                                        theater_bytes_t msg) {
  set_count(state, count_of(state) + 1);
  theater_string_t echo = theater_format("echo: %.*s", (int)msg.len, (const char*)msg.ptr);
  theater_result_t sent;
  theater_message_send_on_channel(channel_id.ptr, channel_id.len, (const uint8_t*)echo.ptr,
                                  echo.len, &sent);
  theater_string_free(&echo);
  if (sent.is_err) return theater_err_take(sent.err);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHANNEL_MESSAGE(channel_message)

static theater_result_t channel_close(theater_state_t* state, theater_string_t channel_id) {
  (void)state;
  theater_log("channel %.*s closed", (int)channel_id.len, channel_id.ptr);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHANNEL_CLOSE(channel_close)
