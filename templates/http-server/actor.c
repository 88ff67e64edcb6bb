/* {{project_name}}: an HTTP server as a Theater actor, in C.
 *
 *   theater run --wait manifest.toml     # serves until Ctrl-C
 *   curl http://127.0.0.1:<port>/hello    # the port the log prints (init.json: 0, a free one)
 *
 * init starts a server of the http-framework handler on 127.0.0.1 at the "port" of its state
 * (init.json; 0 picks a free port) and routes GET /, GET /hello and GET /count to this actor's
 * handle-request. The state is JSON, {"port": P, "served": N}: N counts the requests served.
 *
 * The actor implements the WIT world `http-actor` (wit/worlds.wit), through the bindings
 * `theater bindgen` generated in bindings/http_actor.h. Arguments of an export belong to the
 * bindings, which free them afterwards; what it returns in *ret must be malloc'ed memory (or
 * empty), freed by the bindings once the host has copied it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_actor.h"

typedef http_actor_string_t string_t;
typedef http_actor_list_u8_t bytes_t;
typedef http_actor_option_list_u8_t state_t;
/* What most handlers return: the new state, or an error. */
typedef http_actor_result_tuple1_option_list_u8_string_t state_result_t;

static string_t str(const char* s) {
  string_t r = {(char*)s, strlen(s)};
  return r;
}

/* A malloc'ed copy of `s`: a value an export may return. */
static string_t heap_str(const char* s) {
  size_t len = strlen(s);
  string_t r = {(char*)malloc(len + 1), len};
  if (r.ptr == NULL) __builtin_trap();
  memcpy(r.ptr, s, len + 1);
  return r;
}

/* The number after "<key>": in the JSON state, or 0. */
static unsigned long number_in(const state_t* state, const char* key) {
  if (!state->is_some) return 0;
  char* text = (char*)malloc(state->val.len + 1);
  if (text == NULL) __builtin_trap();
  if (state->val.len) memcpy(text, state->val.ptr, state->val.len);
  text[state->val.len] = '\0';
  char quoted[32];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  unsigned long n = 0;
  const char* at = strstr(text, quoted);
  if (at) at = strchr(at, ':');
  if (at) n = strtoul(at + 1, NULL, 10);
  free(text);
  return n;
}

static state_t make_state(unsigned long port, unsigned long served) {
  char* json = (char*)malloc(64);
  if (json == NULL) __builtin_trap();
  int len = snprintf(json, 64, "{\"port\": %lu, \"served\": %lu}", port, served);
  state_t s = {.is_some = true, .val = {(uint8_t*)json, (size_t)len}};
  return s;
}

/* Takes the state over unchanged: zeroing the parameter keeps the bindings from freeing it. */
static state_t keep(state_t* state) {
  state_t s = *state;
  state->is_some = false;
  return s;
}

static void fail(state_result_t* ret, const char* what, string_t why) {
  char text[512];
  snprintf(text, sizeof text, "%s: %.*s", what, (int)why.len, why.ptr);
  ret->is_err = true;
  ret->val.err = heap_str(text);
}

void http_actor_exports_actor_init(state_t* state, http_actor_tuple1_string_t* params,
                                   state_result_t* ret) {
  const unsigned long port = number_in(state, "port");
  http_actor_http_types_server_config_t config;
  memset(&config, 0, sizeof config); /* host and tls-config: none */
  config.port.is_some = true;
  config.port.val = (uint16_t)port;
  http_actor_result_http_framework_server_id_string_t server;
  http_actor_http_framework_create_server(&config, &server);
  if (server.is_err) {
    fail(ret, "create-server", server.val.err);
    http_actor_result_http_framework_server_id_string_free(&server);
    return;
  }
  http_actor_result_http_framework_handler_id_string_t handler;
  http_actor_http_framework_register_handler(str("router"), &handler);
  if (handler.is_err) {
    fail(ret, "register-handler", handler.val.err);
    http_actor_result_http_framework_handler_id_string_free(&handler);
    return;
  }
  static const char* const kRoutes[] = {"/", "/hello", "/count"};
  for (size_t i = 0; i < sizeof kRoutes / sizeof kRoutes[0]; i++) {
    http_actor_result_http_framework_route_id_string_t route;
    http_actor_http_framework_add_route(server.val.ok, str(kRoutes[i]), str("GET"), handler.val.ok,
                                        &route);
    if (route.is_err) {
      fail(ret, "add-route", route.val.err);
      http_actor_result_http_framework_route_id_string_free(&route);
      return;
    }
  }
  http_actor_result_u16_string_t started;
  http_actor_http_framework_start_server(server.val.ok, &started);
  if (started.is_err) {
    fail(ret, "start-server", started.val.err);
    http_actor_result_u16_string_free(&started);
    return;
  }
  http_actor_runtime_logf("{{project_name}} %.*s serving on http://127.0.0.1:%u/",
                          (int)params->f0.len, params->f0.ptr, (unsigned)started.val.ok);
  ret->is_err = false;
  ret->val.ok.f0 = make_state(port, number_in(state, "served"));
}

/* A text/plain response; every buffer in it is malloc'ed, as an export's result must be. */
static http_actor_http_types_http_response_t respond(uint16_t status, const char* body) {
  http_actor_http_types_http_response_t r;
  memset(&r, 0, sizeof r);
  r.status = status;
  r.headers.len = 1;
  r.headers.ptr = (http_actor_tuple2_string_string_t*)malloc(sizeof *r.headers.ptr);
  if (r.headers.ptr == NULL) __builtin_trap();
  r.headers.ptr[0].f0 = heap_str("content-type");
  r.headers.ptr[0].f1 = heap_str("text/plain");
  string_t text = heap_str(body);
  r.body.is_some = true;
  r.body.val.ptr = (uint8_t*)text.ptr;
  r.body.val.len = text.len;
  return r;
}

/* True when the request's path (its uri without the query) is `path`. */
static bool path_is(string_t uri, const char* path) {
  size_t len = 0;
  while (len < uri.len && uri.ptr[len] != '?') len++;
  return len == strlen(path) && memcmp(uri.ptr, path, len) == 0;
}

void http_actor_exports_http_handlers_handle_request(
    state_t* state, http_actor_tuple2_http_framework_handler_id_http_types_http_request_t* params,
    http_actor_result_tuple2_option_list_u8_tuple1_http_types_http_response_string_t* ret) {
  const http_actor_http_types_http_request_t* req = &params->f1;
  const unsigned long served = number_in(state, "served") + 1;
  http_actor_runtime_logf("%.*s %.*s", (int)req->method.len, req->method.ptr, (int)req->uri.len,
                          req->uri.ptr);
  http_actor_http_types_http_response_t response;
  if (path_is(req->uri, "/")) {
    response = respond(200, "routes: /hello /count\n");
  } else if (path_is(req->uri, "/hello")) {
    response = respond(200, "Hello from {{project_name}}!\n");
  } else if (path_is(req->uri, "/count")) {
    char body[32];
    snprintf(body, sizeof body, "%lu\n", served);
    response = respond(200, body);
  } else {
    response = respond(404, "no such route\n");
  }
  ret->is_err = false;
  ret->val.ok.f0 = make_state(number_in(state, "port"), served);
  ret->val.ok.f1.f0 = response;
}

/* No middleware is registered; should one be, it lets every request through unchanged. */
void http_actor_exports_http_handlers_handle_middleware(
    state_t* state, http_actor_tuple2_http_framework_handler_id_http_types_http_request_t* params,
    http_actor_result_tuple2_option_list_u8_tuple1_http_types_middleware_result_string_t* ret) {
  ret->is_err = false;
  ret->val.ok.f0 = keep(state);
  ret->val.ok.f1.f0.proceed = true;
  /* Pass the request on: take it, and zero the parameter so the bindings do not free it. */
  ret->val.ok.f1.f0.request = params->f1;
  memset(&params->f1, 0, sizeof params->f1);
}

/* No WebSocket endpoint is enabled: these keep the state. */
void http_actor_exports_http_handlers_handle_websocket_connect(
    state_t* state, http_actor_tuple4_http_framework_handler_id_u64_string_option_string_t* params,
    state_result_t* ret) {
  (void)params;
  ret->is_err = false;
  ret->val.ok.f0 = keep(state);
}

void http_actor_exports_http_handlers_handle_websocket_message(
    state_t* state,
    http_actor_tuple3_http_framework_handler_id_u64_websocket_types_websocket_message_t* params,
    http_actor_result_tuple2_option_list_u8_tuple1_list_websocket_types_websocket_message_string_t*
        ret) {
  (void)params;
  ret->is_err = false;
  ret->val.ok.f0 = keep(state); /* and no messages back */
}

void http_actor_exports_http_handlers_handle_websocket_disconnect(
    state_t* state, http_actor_tuple2_http_framework_handler_id_u64_t* params,
    state_result_t* ret) {
  (void)params;
  ret->is_err = false;
  ret->val.ok.f0 = keep(state);
}
