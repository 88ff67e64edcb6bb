/* design_json_messenger: an actor written against the handler system's documented
 * message-server interfaces (wit/design.wit, world json-messenger), whose messages and state
 * are `json`, through the C bindings `theater bindgen` generates. Messages it understands:
 *   {"forward": "<actor-id>", ...}  sends the whole message on to that actor (message-server-host
 *                                   send) and keeps it as its state;
 *   {"ask": "<actor-id>", ...}      asks that actor (message-server-host request) and keeps the
 *                                   reply as its state;
 *   anything else                   is kept as its state.
 * handle-request answers with {"echo": <the request>}. design_conformance_test.cc reads the
 * states back. No WASI imports. */
#include <stdlib.h>
#include <string.h>

#include "json_messenger.h"

/* The string value of `"<key>": "<value>"` in a flat JSON object, or an empty string (the tests
 * send ids without escapes). */
static json_messenger_string_t field(const json_messenger_types_json_t* msg, const char* key) {
  json_messenger_string_t out = {NULL, 0};
  size_t key_len = strlen(key);
  const char* text = (const char*)msg->ptr;
  for (size_t i = 0; i + key_len + 2 < msg->len; ++i) {
    if (text[i] != '"' || memcmp(text + i + 1, key, key_len) != 0 || text[i + 1 + key_len] != '"')
      continue;
    size_t at = i + key_len + 2;
    while (at < msg->len && (text[at] == ':' || text[at] == ' ')) ++at;
    if (at >= msg->len || text[at] != '"') return out;
    size_t end = at + 1;
    while (end < msg->len && text[end] != '"') ++end;
    out.ptr = (char*)text + at + 1;
    out.len = end - at - 1;
    return out;
  }
  return out;
}

static json_messenger_types_json_t copy(const uint8_t* bytes, size_t len) {
  json_messenger_types_json_t out = {(uint8_t*)malloc(len ? len : 1), len};
  if (len) memcpy(out.ptr, bytes, len);
  return out;
}

static void keep(json_messenger_result_tuple1_option_types_json_string_t* ret,
                 json_messenger_types_json_t state) {
  ret->is_err = false;
  ret->val.ok.f0.is_some = true;
  ret->val.ok.f0.val = state;
}

static void fail(json_messenger_result_tuple1_option_types_json_string_t* ret,
                 json_messenger_string_t error) {
  ret->is_err = true;
  ret->val.err.ptr = (char*)malloc(error.len ? error.len : 1);
  memcpy(ret->val.err.ptr, error.ptr, error.len);
  ret->val.err.len = error.len;
}

void json_messenger_exports_actor_init(json_messenger_option_types_json_t* state,
                                       json_messenger_tuple1_string_t* params,
                                       json_messenger_result_tuple1_option_types_json_string_t* ret) {
  (void)params;
  static const char kEmpty[] = "{}";
  if (state->is_some) {
    keep(ret, copy(state->val.ptr, state->val.len));
  } else {
    keep(ret, copy((const uint8_t*)kEmpty, sizeof kEmpty - 1));
  }
}

void json_messenger_exports_message_server_client_handle_send(
    json_messenger_option_types_json_t* state, json_messenger_tuple1_types_json_t* params,
    json_messenger_result_tuple1_option_types_json_string_t* ret) {
  (void)state;
  json_messenger_types_json_t* msg = &params->f0;
  json_messenger_string_t to = field(msg, "forward");
  if (to.len > 0) {
    json_messenger_result_void_string_t sent;
    json_messenger_message_server_host_send(to, *msg, &sent);
    if (sent.is_err) {
      fail(ret, sent.val.err);
      json_messenger_result_void_string_free(&sent);
      return;
    }
    keep(ret, copy(msg->ptr, msg->len));
    return;
  }
  to = field(msg, "ask");
  if (to.len > 0) {
    json_messenger_result_types_json_string_t reply;
    json_messenger_message_server_host_request(to, *msg, &reply);
    if (reply.is_err) {
      fail(ret, reply.val.err);
      json_messenger_result_types_json_string_free(&reply);
      return;
    }
    keep(ret, reply.val.ok); /* the reply's bytes become the state, which the bindings free */
    return;
  }
  keep(ret, copy(msg->ptr, msg->len));
}

void json_messenger_exports_message_server_client_handle_request(
    json_messenger_option_types_json_t* state, json_messenger_tuple1_types_json_t* params,
    json_messenger_result_tuple2_option_types_json_tuple1_types_json_string_t* ret) {
  static const char kOpen[] = "{\"echo\":";
  json_messenger_types_json_t* msg = &params->f0;
  size_t len = sizeof kOpen - 1 + msg->len + 1;
  uint8_t* reply = (uint8_t*)malloc(len);
  memcpy(reply, kOpen, sizeof kOpen - 1);
  memcpy(reply + sizeof kOpen - 1, msg->ptr, msg->len);
  reply[len - 1] = '}';
  ret->is_err = false;
  ret->val.ok.f0 = *state; /* the state is unchanged: take it over from the bindings */
  state->is_some = false;
  ret->val.ok.f1.f0.ptr = reply;
  ret->val.ok.f1.f0.len = len;
}
