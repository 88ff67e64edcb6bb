/* {{project_name}}: a Theater actor that talks through the message-server handler, in C.
 *
 * Try it against a running server (`theater server`):
 *   id=$(theater start manifest.toml)
 *   theater message $id "hello"              # handle-send: logged and counted
 *   theater message --request $id "ping"     # handle-request: answers "pong"
 *   theater message --request $id "count"    # answers how many messages it received
 *   theater channel open $id                 # each line comes back as "echo: <line>"
 *
 * State: the number of messages received, as decimal text.
 *
 * The actor implements the WIT world `message-server-actor` (wit/worlds.wit), through the
 * bindings `theater bindgen` generated in bindings/message_server_actor.h. Arguments of an export
 * belong to the bindings, which free them afterwards; what it returns in *ret must be malloc'ed
 * memory (or empty), freed by the bindings once the host has copied it. */
#include <stdlib.h>
#include <string.h>

#include "message_server_actor.h"

typedef message_server_actor_string_t string_t;
typedef message_server_actor_list_u8_t bytes_t;
typedef message_server_actor_option_list_u8_t state_t;
/* What most handlers return: the new state, or an error. */
typedef message_server_actor_result_tuple1_option_list_u8_string_t state_result_t;

static unsigned long count_of(const state_t* state) {
  if (!state->is_some) return 0;
  char digits[32] = "";
  size_t len = state->val.len < sizeof digits - 1 ? state->val.len : sizeof digits - 1;
  if (len) memcpy(digits, state->val.ptr, len);
  return strtoul(digits, NULL, 10);
}

static state_t count_state(unsigned long n) {
  state_t s = {.is_some = true, .val = message_server_actor_list_u8_format("%lu", n)};
  return s;
}

/* Takes the state over unchanged: zeroing the parameter keeps the bindings from freeing it. */
static state_t keep(state_t* state) {
  state_t s = *state;
  state->is_some = false;
  return s;
}

void message_server_actor_exports_actor_init(state_t* state,
                                             message_server_actor_tuple1_string_t* params,
                                             state_result_t* ret) {
  (void)state;
  message_server_actor_runtime_logf("{{project_name}} %.*s is ready for messages",
                                    (int)params->f0.len, params->f0.ptr);
  ret->is_err = false;
  ret->val.ok.f0 = count_state(0);
}

void message_server_actor_exports_message_server_client_handle_send(
    state_t* state, message_server_actor_tuple1_list_u8_t* params, state_result_t* ret) {
  bytes_t msg = params->f0;
  message_server_actor_runtime_logf("message: %.*s", (int)msg.len, (const char*)msg.ptr);
  ret->is_err = false;
  ret->val.ok.f0 = count_state(count_of(state) + 1);
}

static bool is(bytes_t msg, const char* text) {
  size_t n = strlen(text);
  return msg.len == n && memcmp(msg.ptr, text, n) == 0;
}

void message_server_actor_exports_message_server_client_handle_request(
    state_t* state, message_server_actor_tuple2_string_list_u8_t* params,
    message_server_actor_result_tuple2_option_list_u8_tuple1_option_list_u8_string_t* ret) {
  /* params->f0 is the request id (only needed to answer later with respond-to-request). */
  bytes_t msg = params->f1;
  const unsigned long count = count_of(state) + 1;
  bytes_t reply;
  if (is(msg, "ping")) {
    reply = message_server_actor_list_u8_format("pong");
  } else if (is(msg, "count")) {
    reply = message_server_actor_list_u8_format("%lu", count);
  } else {
    reply =
        message_server_actor_list_u8_format("you said: %.*s", (int)msg.len, (const char*)msg.ptr);
  }
  ret->is_err = false;
  ret->val.ok.f0 = count_state(count);
  ret->val.ok.f1.f0.is_some = true;
  ret->val.ok.f1.f0.val = reply;
}

void message_server_actor_exports_message_server_client_handle_channel_open(
    state_t* state, message_server_actor_tuple2_string_list_u8_t* params,
    message_server_actor_result_tuple2_option_list_u8_tuple1_types_channel_accept_string_t* ret) {
  message_server_actor_runtime_logf("channel %.*s opened", (int)params->f0.len, params->f0.ptr);
  ret->is_err = false;
  ret->val.ok.f0 = keep(state);
  ret->val.ok.f1.f0.accepted = true;
  ret->val.ok.f1.f0.message.is_some = true;
  ret->val.ok.f1.f0.message.val =
      message_server_actor_list_u8_format("welcome to {{project_name}}");
}

void message_server_actor_exports_message_server_client_handle_channel_message(
    state_t* state, message_server_actor_tuple2_types_channel_id_list_u8_t* params,
    state_result_t* ret) {
  bytes_t msg = params->f1;
  bytes_t echo =
      message_server_actor_list_u8_format("echo: %.*s", (int)msg.len, (const char*)msg.ptr);
  message_server_actor_result_void_string_t sent;
  message_server_actor_message_server_host_send_on_channel(params->f0, echo, &sent);
  free(echo.ptr); /* the import only borrowed it */
  if (sent.is_err) {
    ret->is_err = true;
    ret->val.err = sent.val.err; /* hand the host's error text on; it is ours to return */
    return;
  }
  ret->is_err = false;
  ret->val.ok.f0 = count_state(count_of(state) + 1);
}

void message_server_actor_exports_message_server_client_handle_channel_close(
    state_t* state, message_server_actor_tuple1_types_channel_id_t* params, state_result_t* ret) {
  message_server_actor_runtime_logf("channel %.*s closed", (int)params->f0.len, params->f0.ptr);
  ret->is_err = false;
  ret->val.ok.f0 = keep(state);
}
