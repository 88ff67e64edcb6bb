/* c_actor: a message-server actor written only against the C bindings `theater bindgen`
 * generates for tests/bindgen/wit/bindgen-actor.wit (no SDK header). It does what
 * examples/hello does (greets with its id from init, keeps a state) and answers text requests:
 *
 *   echo:<text>            replies <text>
 *   state                  replies the state passed to this call
 *   get-state              runtime.get-state, replies its bytes or "none"
 *   mark:<text>            appends "|<text>" to the state, replies "ok"
 *   send:<id>:<msg>        message-server-host.send; replies "ok" or "error:<why>"
 *   request:<id>:<msg>     message-server-host.request; replies the answer or "error:<why>"
 *   store                  a round trip through theater:simple/store (results of records,
 *                          options and lists); replies a summary (see do_store)
 *   chain                  runtime.get-chain (a record of lists of records with options);
 *                          replies "events=<n>;linked=<yes|no>;log=<yes|no>"
 *
 * State: "init" after a fresh start, then "|send:<msg>" for every one-way message received
 * and "|<text>" for every mark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindgen_actor.h"

typedef bindgen_actor_string_t string_t;
typedef bindgen_actor_list_u8_t bytes_t;
typedef bindgen_actor_option_list_u8_t maybe_bytes_t;

static string_t str(const char* s) {
  string_t r = {(char*)s, strlen(s)};
  return r;
}

static bytes_t bytes_of(const char* s) {
  bytes_t r = {(uint8_t*)s, strlen(s)};
  return r;
}

/* A heap copy: everything an export returns is freed by the bindings' post-return. */
static maybe_bytes_t some_copy(const void* data, size_t len) {
  maybe_bytes_t r;
  r.is_some = true;
  r.val.len = len;
  r.val.ptr = NULL;
  if (len != 0) {
    r.val.ptr = (uint8_t*)malloc(len);
    if (r.val.ptr == NULL) __builtin_trap();
    memcpy(r.val.ptr, data, len);
  }
  return r;
}

/* Formatted by the bindings' own printf helper (docs/bindgen.md, "Formatting"). */
#define some_format(...) \
  ((maybe_bytes_t){.is_some = true, .val = bindgen_actor_list_u8_format(__VA_ARGS__)})

/* The old state with `suffix` appended (the old state stays owned by the bindings). */
static maybe_bytes_t append_state(const maybe_bytes_t* state, const char* sep, const void* suffix,
                                  size_t suffix_len) {
  size_t old_len = state->is_some ? state->val.len : 0;
  size_t sep_len = strlen(sep);
  char* buf = (char*)malloc(old_len + sep_len + suffix_len + 1);
  if (buf == NULL) __builtin_trap();
  if (old_len) memcpy(buf, state->val.ptr, old_len);
  memcpy(buf + old_len, sep, sep_len);
  if (suffix_len) memcpy(buf + old_len + sep_len, suffix, suffix_len);
  maybe_bytes_t r = some_copy(buf, old_len + sep_len + suffix_len);
  free(buf);
  return r;
}

/* Takes the state over unchanged: zeroing the parameter keeps the bindings from freeing it. */
static maybe_bytes_t keep_state(maybe_bytes_t* state) {
  maybe_bytes_t r = *state;
  state->is_some = false;
  return r;
}

void bindgen_actor_exports_actor_init(maybe_bytes_t* state, bindgen_actor_tuple1_string_t* params,
                                      bindgen_actor_result_tuple1_option_list_u8_string_t* ret) {
  bindgen_actor_runtime_logf("Hello from %.*s!", (int)params->f0.len, params->f0.ptr);
  ret->is_err = false;
  ret->val.ok.f0 = state->is_some ? append_state(state, "|", "restart", 7) : some_copy("init", 4);
}

void bindgen_actor_exports_message_server_client_handle_send(
    maybe_bytes_t* state, bindgen_actor_tuple1_list_u8_t* params,
    bindgen_actor_result_tuple1_option_list_u8_string_t* ret) {
  ret->is_err = false;
  ret->val.ok.f0 = append_state(state, "|send:", params->f0.ptr, params->f0.len);
}

static maybe_bytes_t reply_unit(const bindgen_actor_result_void_string_t* r) {
  if (r->is_err) return some_format("error:%.*s", (int)r->val.err.len, r->val.err.ptr);
  return some_copy("ok", 2);
}

static bool hash_eq(const bindgen_actor_store_content_ref_t* a,
                    const bindgen_actor_store_content_ref_t* b) {
  return a->hash.len == b->hash.len && memcmp(a->hash.ptr, b->hash.ptr, a->hash.len) == 0;
}

/* new, store, store-at-label, list-labels, list-all-content, get-by-label, get, exists and
 * calculate-total-size; replies
 *   "alpha=<hash>;beta=<hash>;labels=<l,..>;contents=<n>;bylabel=<hash>;get=<text>;
 *    exists=<true|false>;size=<n>" or "error:<step>:<why>". */
static maybe_bytes_t do_store(void) {
  bindgen_actor_result_string_string_t id;
  bindgen_actor_store_new(&id);
  if (id.is_err) {
    maybe_bytes_t r = some_format("error:new:%.*s", (int)id.val.err.len, id.val.err.ptr);
    bindgen_actor_result_string_string_free(&id);
    return r;
  }
  string_t sid = id.val.ok;
  bindgen_actor_result_store_content_ref_string_t alpha, beta;
  bindgen_actor_store_store(sid, bytes_of("alpha"), &alpha);
  bindgen_actor_store_store_at_label(sid, str("latest"), bytes_of("beta"), &beta);
  bindgen_actor_result_list_string_string_t labels;
  bindgen_actor_store_list_labels(sid, &labels);
  bindgen_actor_result_list_store_content_ref_string_t contents;
  bindgen_actor_store_list_all_content(sid, &contents);
  bindgen_actor_result_option_store_content_ref_string_t by_label;
  bindgen_actor_store_get_by_label(sid, str("latest"), &by_label);
  maybe_bytes_t reply;
  if (alpha.is_err || beta.is_err || labels.is_err || contents.is_err || by_label.is_err) {
    reply = some_copy("error:store-calls", 17);
  } else {
    bindgen_actor_result_list_u8_string_t got;
    bindgen_actor_store_get(sid, &alpha.val.ok, &got);
    bindgen_actor_result_bool_string_t exists;
    bindgen_actor_store_exists(sid, &beta.val.ok, &exists);
    bindgen_actor_result_u64_string_t size;
    bindgen_actor_store_calculate_total_size(sid, &size);
    char label_text[256] = "";
    size_t at = 0;
    for (size_t i = 0; i < labels.val.ok.len && at + 2 < sizeof label_text; i++) {
      at += (size_t)snprintf(label_text + at, sizeof label_text - at, "%s%.*s", i ? "," : "",
                             (int)labels.val.ok.ptr[i].len, labels.val.ok.ptr[i].ptr);
    }
    const bool label_matches =
        by_label.val.ok.is_some && hash_eq(&by_label.val.ok.val, &beta.val.ok);
    reply = some_format(
        "alpha=%.*s;beta=%.*s;labels=%s;contents=%zu;bylabel=%s;get=%.*s;exists=%s;size=%llu",
        (int)alpha.val.ok.hash.len, alpha.val.ok.hash.ptr, (int)beta.val.ok.hash.len,
        beta.val.ok.hash.ptr, label_text, contents.val.ok.len, label_matches ? "beta" : "other",
        got.is_err ? 0 : (int)got.val.ok.len, got.is_err ? "" : (const char*)got.val.ok.ptr,
        exists.is_err   ? "error"
        : exists.val.ok ? "true"
                        : "false",
        size.is_err ? 0ull : (unsigned long long)size.val.ok);
    bindgen_actor_result_list_u8_string_free(&got);
    bindgen_actor_result_bool_string_free(&exists);
    bindgen_actor_result_u64_string_free(&size);
  }
  bindgen_actor_result_store_content_ref_string_free(&alpha);
  bindgen_actor_result_store_content_ref_string_free(&beta);
  bindgen_actor_result_list_string_string_free(&labels);
  bindgen_actor_result_list_store_content_ref_string_free(&contents);
  bindgen_actor_result_option_store_content_ref_string_free(&by_label);
  bindgen_actor_result_string_string_free(&id);
  return reply;
}

static maybe_bytes_t do_chain(void) {
  bindgen_actor_types_chain_t chain;
  bindgen_actor_runtime_get_chain(&chain);
  bool linked = chain.events.len > 0 && !chain.events.ptr[0].event.parent.is_some;
  bool saw_log = false;
  for (size_t i = 0; i < chain.events.len; i++) {
    const bindgen_actor_types_meta_event_t* e = &chain.events.ptr[i];
    if (i > 0 &&
        (!e->event.parent.is_some || e->event.parent.val != chain.events.ptr[i - 1].hash)) {
      linked = false;
    }
    const string_t* type = &e->event.event_type;
    for (size_t j = 0; j + 3 <= type->len; j++) {
      if (memcmp(type->ptr + j, "log", 3) == 0) saw_log = true;
    }
  }
  maybe_bytes_t reply = some_format("events=%zu;linked=%s;log=%s", chain.events.len,
                                    linked ? "yes" : "no", saw_log ? "yes" : "no");
  bindgen_actor_types_chain_free(&chain);
  return reply;
}

/* Splits "<head>:<tail>" (NUL-terminated) at the first ':' in place; NULL when there is none. */
static char* split(char* text) {
  char* colon = strchr(text, ':');
  if (colon == NULL) return NULL;
  *colon = '\0';
  return colon + 1;
}

void bindgen_actor_exports_message_server_client_handle_request(
    maybe_bytes_t* state, bindgen_actor_tuple2_string_list_u8_t* params,
    bindgen_actor_result_tuple2_option_list_u8_tuple1_option_list_u8_string_t* ret) {
  char* cmd = (char*)malloc(params->f1.len + 1);
  if (cmd == NULL) __builtin_trap();
  if (params->f1.len) memcpy(cmd, params->f1.ptr, params->f1.len);
  cmd[params->f1.len] = '\0';
  char* arg = split(cmd);
  maybe_bytes_t reply;
  maybe_bytes_t new_state;
  new_state.is_some = false;
  bool changed = false;
  if (strcmp(cmd, "echo") == 0 && arg) {
    reply = some_copy(arg, strlen(arg));
  } else if (strcmp(cmd, "state") == 0) {
    reply = state->is_some ? some_copy(state->val.ptr, state->val.len) : some_copy("none", 4);
  } else if (strcmp(cmd, "get-state") == 0) {
    maybe_bytes_t host_state;
    bindgen_actor_runtime_get_state(&host_state);
    reply = host_state.is_some ? some_copy(host_state.val.ptr, host_state.val.len)
                               : some_copy("none", 4);
    bindgen_actor_option_list_u8_free(&host_state);
  } else if (strcmp(cmd, "mark") == 0 && arg) {
    new_state = append_state(state, "|", arg, strlen(arg));
    changed = true;
    reply = some_copy("ok", 2);
  } else if (strcmp(cmd, "send") == 0 && arg) {
    char* msg = split(arg);
    bindgen_actor_result_void_string_t r;
    bindgen_actor_message_server_host_send(str(arg), bytes_of(msg ? msg : ""), &r);
    reply = reply_unit(&r);
    bindgen_actor_result_void_string_free(&r);
  } else if (strcmp(cmd, "request") == 0 && arg) {
    char* msg = split(arg);
    bindgen_actor_result_list_u8_string_t r;
    bindgen_actor_message_server_host_request(str(arg), bytes_of(msg ? msg : ""), &r);
    reply = r.is_err ? some_format("error:%.*s", (int)r.val.err.len, r.val.err.ptr)
                     : some_copy(r.val.ok.ptr, r.val.ok.len);
    bindgen_actor_result_list_u8_string_free(&r);
  } else if (strcmp(cmd, "store") == 0) {
    reply = do_store();
  } else if (strcmp(cmd, "chain") == 0) {
    reply = do_chain();
  } else {
    reply = some_format("error:unknown command %s", cmd);
  }
  free(cmd);
  ret->is_err = false;
  ret->val.ok.f0 = changed ? new_state : keep_state(state);
  ret->val.ok.f1.f0 = reply;
}

void bindgen_actor_exports_message_server_client_handle_channel_open(
    maybe_bytes_t* state, bindgen_actor_tuple2_string_list_u8_t* params,
    bindgen_actor_result_tuple2_option_list_u8_tuple1_types_channel_accept_string_t* ret) {
  (void)params;
  ret->is_err = false;
  ret->val.ok.f0 = keep_state(state);
  ret->val.ok.f1.f0.accepted = true;
  ret->val.ok.f1.f0.message.is_some = false;
}

void bindgen_actor_exports_message_server_client_handle_channel_message(
    maybe_bytes_t* state, bindgen_actor_tuple2_types_channel_id_list_u8_t* params,
    bindgen_actor_result_tuple1_option_list_u8_string_t* ret) {
  (void)params;
  ret->is_err = false;
  ret->val.ok.f0 = keep_state(state);
}

void bindgen_actor_exports_message_server_client_handle_channel_close(
    maybe_bytes_t* state, bindgen_actor_tuple1_types_channel_id_t* params,
    bindgen_actor_result_tuple1_option_list_u8_string_t* ret) {
  (void)params;
  ret->is_err = false;
  ret->val.ok.f0 = keep_state(state);
}
