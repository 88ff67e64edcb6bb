/* {{project_name}}: a Theater supervisor actor in C.
 *
 * Commands, sent as requests (`theater message --request <id> "<command>"`):
 *   spawn:<manifest>   start a child (a manifest path, URL or TOML text); answers its id
 *   list               the children's ids, comma-separated
 *   stop:<child-id>    stop a child
 * A child that fails is restarted; one that exits or is stopped from outside is only logged. */
#include <stdlib.h>
#include <theater/theater.h>

static bool take_prefix(theater_bytes_t msg, const char* prefix, theater_string_t* rest) {
  size_t n = strlen(prefix);
  if (msg.len < n || memcmp(msg.ptr, prefix, n) != 0) return false;
  rest->ptr = (char*)msg.ptr + n;
  rest->len = msg.len - n;
  return true;
}

static void answer_result(theater_option_bytes_t* response, theater_result_t* r) {
  if (r->is_err) {
    theater_string_t text = theater_format("error: %.*s", (int)r->err.len, r->err.ptr);
    theater_state_adopt(response, (uint8_t*)text.ptr, text.len);
    theater_result_free(r);
  } else {
    theater_state_set_str(response, "ok");
  }
}

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  (void)state;
  theater_log("supervisor {{project_name}} %.*s started", (int)actor_id.len, actor_id.ptr);
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)state;
  (void)request_id;
  theater_string_t arg;
  if (take_prefix(msg, "spawn:", &arg)) {
    theater_result_string_t child;
    theater_supervisor_spawn(arg.ptr, arg.len, false, NULL, 0, &child);
    if (child.is_err) {
      theater_string_t text = theater_format("error: %.*s", (int)child.err.len, child.err.ptr);
      theater_state_adopt(response, (uint8_t*)text.ptr, text.len);
    } else {
      theater_log("spawned child %.*s", (int)child.ok.len, child.ok.ptr);
      theater_state_set(response, child.ok.ptr, child.ok.len);
    }
    theater_result_string_free(&child);
  } else if (take_prefix(msg, "stop:", &arg)) {
    theater_result_t r;
    theater_supervisor_stop_child(arg.ptr, arg.len, &r);
    answer_result(response, &r);
  } else if (take_prefix(msg, "list", &arg)) {
    theater_strings_t children;
    theater_supervisor_list_children(&children);
    size_t total = 1;
    for (size_t i = 0; i < children.len; i++) total += children.ptr[i].len + 1;
    char* text = (char*)theater_xmalloc(total);
    size_t at = 0;
    for (size_t i = 0; i < children.len; i++) {
      if (at) text[at++] = ',';
      memcpy(text + at, children.ptr[i].ptr, children.ptr[i].len);
      at += children.ptr[i].len;
    }
    theater_state_adopt(response, (uint8_t*)text, at);
    theater_strings_free(&children);
  } else {
    theater_state_set_str(response, "commands: spawn:<manifest>, list, stop:<child-id>");
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)

static theater_result_t child_error(theater_state_t* state, theater_string_t child_id,
                                    theater_actor_error_t error) {
  (void)state;
  theater_log("child %.*s failed (error type %d); restarting it", (int)child_id.len, child_id.ptr,
              (int)error.error_type);
  theater_result_t r;
  theater_supervisor_restart_child(child_id.ptr, child_id.len, &r);
  if (r.is_err) {
    theater_log("restart failed: %.*s", (int)r.err.len, r.err.ptr);
    theater_result_free(&r);
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHILD_ERROR(child_error)

static theater_result_t child_exit(theater_state_t* state, theater_string_t child_id,
                                   theater_option_bytes_t data) {
  (void)state;
  theater_log("child %.*s exited%s", (int)child_id.len, child_id.ptr,
              data.is_some ? " with data" : "");
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHILD_EXIT(child_exit)

static theater_result_t child_external_stop(theater_state_t* state, theater_string_t child_id) {
  (void)state;
  theater_log("child %.*s was stopped from outside", (int)child_id.len, child_id.ptr);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHILD_EXTERNAL_STOP(child_external_stop)
