/* {{project_name}}: a Theater supervisor actor in C.
 *
 * Commands, sent as requests (`theater message --request <id> "<command>"`):
 *   spawn:<manifest>   start a child (a manifest path under this actor's directory or the
 *                      server's --spawn-root, a URL, a store:// reference or TOML text);
 *                      answers its id
 *   list               the children's ids, comma-separated
 *   stop:<child-id>    stop a child
 * A child that fails is restarted; one that exits or is stopped from outside is only logged.
 *
 * The actor implements the world `supervisor-messages` (wit/supervisor-messages.wit: the
 * supervisor-actor and message-server-actor worlds together), through the bindings
 * `theater bindgen` generated in bindings/supervisor_messages.h. Arguments of an export belong to
 * the bindings, which free them afterwards; what it returns in *ret must be malloc'ed memory (or
 * empty), freed by the bindings once the host has copied it. */
#include <stdlib.h>
#include <string.h>

#include "supervisor_messages.h"

typedef supervisor_messages_string_t string_t;
typedef supervisor_messages_list_u8_t bytes_t;
typedef supervisor_messages_option_list_u8_t state_t;
/* What most handlers return: the new state, or an error. */
typedef supervisor_messages_result_tuple1_option_list_u8_string_t state_result_t;

/* Takes the state over unchanged: zeroing the parameter keeps the bindings from freeing it. */
static state_t keep(state_t* state) {
  state_t s = *state;
  state->is_some = false;
  return s;
}

static void ok_keep(state_t* state, state_result_t* ret) {
  ret->is_err = false;
  ret->val.ok.f0 = keep(state);
}

/* When `msg` starts with `prefix`, points `rest` at what follows (borrowed from msg). */
static bool take_prefix(bytes_t msg, const char* prefix, string_t* rest) {
  size_t n = strlen(prefix);
  if (msg.len < n || memcmp(msg.ptr, prefix, n) != 0) return false;
  rest->ptr = (char*)msg.ptr + n;
  rest->len = msg.len - n;
  return true;
}

static bytes_t answer_unit(const supervisor_messages_result_void_string_t* r) {
  if (r->is_err)
    return supervisor_messages_list_u8_format("error: %.*s", (int)r->val.err.len, r->val.err.ptr);
  return supervisor_messages_list_u8_format("ok");
}

void supervisor_messages_exports_actor_init(state_t* state,
                                            supervisor_messages_tuple1_string_t* params,
                                            state_result_t* ret) {
  supervisor_messages_runtime_logf("supervisor {{project_name}} %.*s started", (int)params->f0.len,
                                   params->f0.ptr);
  ok_keep(state, ret);
}

void supervisor_messages_exports_message_server_client_handle_request(
    state_t* state, supervisor_messages_tuple2_string_list_u8_t* params,
    supervisor_messages_result_tuple2_option_list_u8_tuple1_option_list_u8_string_t* ret) {
  bytes_t msg = params->f1;
  string_t arg;
  bytes_t answer;
  if (take_prefix(msg, "spawn:", &arg)) {
    supervisor_messages_option_list_u8_t no_init_bytes = {.is_some = false};
    supervisor_messages_result_string_string_t child;
    supervisor_messages_supervisor_spawn(arg, &no_init_bytes, &child);
    if (child.is_err) {
      answer = supervisor_messages_list_u8_format("error: %.*s", (int)child.val.err.len,
                                                  child.val.err.ptr);
    } else {
      supervisor_messages_runtime_logf("spawned child %.*s", (int)child.val.ok.len,
                                       child.val.ok.ptr);
      answer = supervisor_messages_list_u8_format("%.*s", (int)child.val.ok.len, child.val.ok.ptr);
    }
    supervisor_messages_result_string_string_free(&child);
  } else if (take_prefix(msg, "stop:", &arg)) {
    supervisor_messages_result_void_string_t r;
    supervisor_messages_supervisor_stop_child(arg, &r);
    answer = answer_unit(&r);
    supervisor_messages_result_void_string_free(&r);
  } else if (take_prefix(msg, "list", &arg)) {
    supervisor_messages_list_string_t children;
    supervisor_messages_supervisor_list_children(&children);
    size_t total = 1;
    for (size_t i = 0; i < children.len; i++) total += children.ptr[i].len + 1;
    char* text = (char*)malloc(total);
    if (text == NULL) __builtin_trap();
    size_t at = 0;
    for (size_t i = 0; i < children.len; i++) {
      if (at) text[at++] = ',';
      memcpy(text + at, children.ptr[i].ptr, children.ptr[i].len);
      at += children.ptr[i].len;
    }
    answer.ptr = (uint8_t*)text;
    answer.len = at;
    supervisor_messages_list_string_free(&children);
  } else {
    answer =
        supervisor_messages_list_u8_format("commands: spawn:<manifest>, list, stop:<child-id>");
  }
  ret->is_err = false;
  ret->val.ok.f0 = keep(state);
  ret->val.ok.f1.f0.is_some = true;
  ret->val.ok.f1.f0.val = answer;
}

void supervisor_messages_exports_supervisor_handlers_handle_child_error(
    state_t* state, supervisor_messages_tuple2_string_types_wit_actor_error_t* params,
    state_result_t* ret) {
  string_t child_id = params->f0;
  supervisor_messages_runtime_logf("child %.*s failed (error type %d); restarting it",
                                   (int)child_id.len, child_id.ptr, (int)params->f1.error_type);
  supervisor_messages_result_void_string_t r;
  supervisor_messages_supervisor_restart_child(child_id, &r);
  if (r.is_err)
    supervisor_messages_runtime_logf("restart failed: %.*s", (int)r.val.err.len, r.val.err.ptr);
  supervisor_messages_result_void_string_free(&r);
  ok_keep(state, ret);
}

void supervisor_messages_exports_supervisor_handlers_handle_child_exit(
    state_t* state, supervisor_messages_tuple2_string_option_list_u8_t* params,
    state_result_t* ret) {
  supervisor_messages_runtime_logf("child %.*s exited%s", (int)params->f0.len, params->f0.ptr,
                                   params->f1.is_some ? " with data" : "");
  ok_keep(state, ret);
}

void supervisor_messages_exports_supervisor_handlers_handle_child_external_stop(
    state_t* state, supervisor_messages_tuple1_string_t* params, state_result_t* ret) {
  supervisor_messages_runtime_logf("child %.*s was stopped from outside", (int)params->f0.len,
                                   params->f0.ptr);
  ok_keep(state, ret);
}

/* The rest of message-server-client: one-way messages and channels are not used. */
void supervisor_messages_exports_message_server_client_handle_send(
    state_t* state, supervisor_messages_tuple1_list_u8_t* params, state_result_t* ret) {
  (void)params;
  ok_keep(state, ret);
}

void supervisor_messages_exports_message_server_client_handle_channel_open(
    state_t* state, supervisor_messages_tuple2_string_list_u8_t* params,
    supervisor_messages_result_tuple2_option_list_u8_tuple1_types_channel_accept_string_t* ret) {
  (void)params;
  ret->is_err = false;
  ret->val.ok.f0 = keep(state);
  ret->val.ok.f1.f0.accepted = false; /* refuse channels */
}

void supervisor_messages_exports_message_server_client_handle_channel_message(
    state_t* state, supervisor_messages_tuple2_types_channel_id_list_u8_t* params,
    state_result_t* ret) {
  (void)params;
  ok_keep(state, ret);
}

void supervisor_messages_exports_message_server_client_handle_channel_close(
    state_t* state, supervisor_messages_tuple1_types_channel_id_t* params, state_result_t* ret) {
  (void)params;
  ok_keep(state, ret);
}
