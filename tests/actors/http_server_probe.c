/* http_server_probe: a test actor for the http-framework handler (theater:simple/http-framework
 * and the theater:simple/http-handlers exports). The SDK has no HTTP header yet, so imports and
 * exports are declared here with their canonical-ABI layouts.
 *
 * init creates one server from its state (JSON merged by the spawner; only the string fields
 * "cert" and "key" are read — when both are given the server serves HTTPS) and starts it with:
 *   GET|POST /echo/{*rest}            echo (below)
 *   GET /users/{id}, GET /users/{id}/posts/{post}   echo
 *   GET /sleep/{ms}                   sleeps (timing.sleep) then answers "slept <ms>"
 *   GET /trap                         traps (the actor fails)
 *   GET /admin/{op}/{*arg}            control: add-route/<path> (GET, echo), remove-route/<id>,
 *                                     mw/<tag|deny>/<path> (add-middleware), remove-mw/<id>,
 *                                     stop/x (stop-server), stop-id/<id> (stop-server of any
 *                                     id), info/x (get-server-info), restart/x (stop-server then
 *                                     start-server: answers the new port), destroy/x
 *                                     (destroy-server, then get-server-info's error)
 *   WebSocket /ws                     connect / message / disconnect handlers
 * The echo answer is text: "method=..\nuri=..\n" then "h:<name>=<value>\n" for every header whose
 * name starts with "x-" (any case), in order, then "body=<body>".
 * Middleware "tag" handlers append "X-Mw: <name of the handler>" and proceed; "deny" refuses.
 * WebSocket: text "push" also sends "pushed" with send-websocket-message; "close" closes with
 * close-websocket; anything else is echoed back as the returned message ("echo:<text>", or the
 * same bytes for binary).
 * Message-server requests: "port" -> the bound port, "server" -> the server id.
 * After init the state holds the ids init was given ("ids:<server> <port> <handler>..."): an
 * instance recovered after its host restarted starts from the state without running init, and
 * takes its ids from there (the http-framework handler restores the server under the same ids).
 */
#include <stdlib.h>
#include <theater/theater.h>

#include "probe_util.h"

#define HF "theater:simple/http-framework"
#define HH "theater:simple/http-handlers"

/* ---- imports ------------------------------------------------------------------------------ */

typedef struct {
  bool is_err;
  union {
    uint16_t ok;
    theater_string_t err;
  };
} result_u16_t;
THEATER_ABI_CHECK(result_u16_t, 12, 4);

typedef struct {
  bool is_err;
  union {
    struct {
      uint64_t id;
      uint16_t port;
      theater_string_t host;
      bool running;
      uint32_t routes;
      uint32_t middleware;
      bool websocket;
    } ok;
    theater_string_t err;
  };
} result_info_t;
THEATER_ABI_CHECK(result_info_t, 48, 8);

THEATER_IMPORT(HF, "create-server")
void hf_create_server(int32_t port_tag, int32_t port, int32_t host_tag, const char* host,
                      size_t host_len, int32_t tls_tag, const char* cert, size_t cert_len,
                      const char* key, size_t key_len, theater_result_u64_t* ret);
THEATER_IMPORT(HF, "start-server") void hf_start_server(uint64_t id, result_u16_t* ret);
THEATER_IMPORT(HF, "stop-server") void hf_stop_server(uint64_t id, theater_result_t* ret);
THEATER_IMPORT(HF, "destroy-server") void hf_destroy_server(uint64_t id, theater_result_t* ret);
THEATER_IMPORT(HF, "get-server-info") void hf_get_server_info(uint64_t id, result_info_t* ret);
THEATER_IMPORT(HF, "register-handler")
void hf_register_handler(const char* name, size_t len, theater_result_u64_t* ret);
THEATER_IMPORT(HF, "add-route")
void hf_add_route(uint64_t server, const char* path, size_t path_len, const char* method,
                  size_t method_len, uint64_t handler, theater_result_u64_t* ret);
THEATER_IMPORT(HF, "remove-route") void hf_remove_route(uint64_t id, theater_result_t* ret);
THEATER_IMPORT(HF, "add-middleware")
void hf_add_middleware(uint64_t server, const char* path, size_t path_len, uint64_t handler,
                       theater_result_u64_t* ret);
THEATER_IMPORT(HF, "remove-middleware")
void hf_remove_middleware(uint64_t id, theater_result_t* ret);
THEATER_IMPORT(HF, "enable-websocket")
void hf_enable_websocket(uint64_t server, const char* path, size_t path_len, int32_t c_tag,
                         uint64_t c, uint64_t m, int32_t d_tag, uint64_t d, theater_result_t* ret);
THEATER_IMPORT(HF, "send-websocket-message")
void hf_send_websocket_message(uint64_t server, uint64_t conn, int32_t ty, const char* other,
                               size_t other_len, int32_t data_tag, const uint8_t* data,
                               size_t data_len, int32_t text_tag, const char* text, size_t text_len,
                               theater_result_t* ret);
THEATER_IMPORT(HF, "close-websocket")
void hf_close_websocket(uint64_t server, uint64_t conn, theater_result_t* ret);

/* ---- what init set up (the instance lives as long as the actor) --------------------------- */

static uint64_t g_server, g_port;
static uint64_t h_echo, h_sleep, h_trap, h_admin, h_tag1, h_tag2, h_deny, h_ws_connect,
    h_ws_message, h_ws_disconnect;

static uint64_t must_u64(theater_result_u64_t* r) {
  if (r->is_err) {
    theater_runtime_log(r->err.ptr, r->err.len);
    __builtin_trap();
  }
  return r->ok;
}
static uint64_t reg(const char* name) {
  theater_result_u64_t r;
  hf_register_handler(name, strlen(name), &r);
  return must_u64(&r);
}
/* The ids init was given, kept in the state (see the header). */
static uint64_t* const g_ids[] = {&g_server, &g_port, &h_echo, &h_sleep, &h_trap, &h_admin,
                                  &h_tag1, &h_tag2, &h_deny, &h_ws_connect, &h_ws_message,
                                  &h_ws_disconnect};
#define ID_COUNT (sizeof g_ids / sizeof g_ids[0])
static void save_ids(theater_state_t* state) {
  char text[16 * ID_COUNT + 8];
  size_t len = (size_t)snprintf(text, sizeof text, "ids:");
  for (size_t i = 0; i < ID_COUNT; i++) {
    len += (size_t)snprintf(text + len, sizeof text - len, "%s%llu", i ? " " : "",
                            (unsigned long long)*g_ids[i]);
  }
  theater_state_set(state, text, len);
}
/* A recovered instance (its globals still zero) reads its ids back from the state. */
static void load_ids(const theater_state_t* state) {
  if (g_server != 0 || !state->is_some || state->val.len < 4 ||
      memcmp(state->val.ptr, "ids:", 4) != 0) {
    return;
  }
  const uint8_t* p = state->val.ptr + 4;
  const uint8_t* end = state->val.ptr + state->val.len;
  for (size_t i = 0; i < ID_COUNT; i++) {
    uint64_t v = 0;
    while (p < end && *p == ' ') p++;
    while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
    *g_ids[i] = v;
  }
}

/* The first add-route error of init (init then fails with it). */
static theater_string_t g_route_err;
static void route(const char* method, const char* path, uint64_t handler) {
  if (g_route_err.len) return;
  theater_result_u64_t r;
  hf_add_route(g_server, path, strlen(path), method, strlen(method), handler, &r);
  if (r.is_err) g_route_err = r.err.len ? r.err : theater_string_dup("add-route failed", 16);
}

/* The string value of "key" in flat JSON text (no escapes), as a heap C string, or NULL. */
static char* json_string(theater_string_t json, const char* key) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  char* text = theater_string_to_cstr(json);
  char* at = strstr(text, pattern);
  char* out = NULL;
  if (at) {
    at += strlen(pattern);
    char* end = strchr(at, '"');
    if (end) {
      out = theater_string_to_cstr(theater__lift_string(at, (size_t)(end - at)));
    }
  }
  free(text);
  return out;
}

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  (void)actor_id;
  theater_string_t json = theater_state_str(state);
  char* cert = json_string(json, "cert");
  char* key = json_string(json, "key");
  theater_result_u64_t created;
  const char* host = "127.0.0.1";
  if (cert && key) {
    hf_create_server(1, 0, 1, host, strlen(host), 1, cert, strlen(cert), key, strlen(key),
                     &created);
  } else {
    hf_create_server(0, 0, 1, host, strlen(host), 0, NULL, 0, NULL, 0, &created);
  }
  free(cert);
  free(key);
  if (created.is_err) return theater_err_take(created.err);
  g_server = created.ok;
  h_echo = reg("echo");
  h_sleep = reg("sleep");
  h_trap = reg("trap");
  h_admin = reg("admin");
  h_tag1 = reg("tag1");
  h_tag2 = reg("tag2");
  h_deny = reg("deny");
  h_ws_connect = reg("ws-connect");
  h_ws_message = reg("ws-message");
  h_ws_disconnect = reg("ws-disconnect");
  route("GET", "/echo/{*rest}", h_echo);
  route("POST", "/echo/{*rest}", h_echo);
  route("GET", "/users/{id}", h_echo);
  route("GET", "/users/{id}/posts/{post}", h_echo);
  route("GET", "/sleep/{ms}", h_sleep);
  route("GET", "/trap", h_trap);
  route("GET", "/admin/{op}/{*arg}", h_admin);
  if (g_route_err.len) return theater_err_take(g_route_err);
  theater_result_t ws;
  hf_enable_websocket(g_server, "/ws", 3, 1, h_ws_connect, h_ws_message, 1, h_ws_disconnect, &ws);
  if (ws.is_err) return theater_err_take(ws.err);
  result_u16_t started;
  hf_start_server(g_server, &started);
  if (started.is_err) return theater_err_take(started.err);
  g_port = started.ok;
  save_ids(state);
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)request_id;
  load_ids(state);
  if (msg.len == 4 && memcmp(msg.ptr, "port", 4) == 0) {
    reply(response, "%llu", (unsigned long long)g_port);
  } else {
    reply(response, "%llu", (unsigned long long)g_server);
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)

/* ---- http-handlers exports ----------------------------------------------------------------- */

typedef struct {
  bool is_err;
  union {
    struct {
      theater_option_bytes_t state;
      uint16_t status;
      theater_string_pairs_t headers;
      theater_option_bytes_t body;
    } ok;
    theater_string_t err;
  };
} ret_response_t;
THEATER_ABI_CHECK(ret_response_t, 40, 4);

typedef struct {
  bool is_err;
  union {
    struct {
      theater_option_bytes_t state;
      bool proceed;
      theater_string_t method;
      theater_string_t uri;
      theater_string_pairs_t headers;
      theater_option_bytes_t body;
    } ok;
    theater_string_t err;
  };
} ret_middleware_t;
THEATER_ABI_CHECK(ret_middleware_t, 56, 4);

typedef struct {
  uint8_t ty;
  theater_string_t other;
  theater_option_bytes_t data;
  theater_option_string_t text;
} ws_message_t;
THEATER_ABI_CHECK(ws_message_t, 36, 4);

typedef struct {
  bool is_err;
  union {
    struct {
      theater_option_bytes_t state;
      ws_message_t* ptr;
      size_t len;
    } ok;
    theater_string_t err;
  };
} ret_ws_message_t;
THEATER_ABI_CHECK(ret_ws_message_t, 24, 4);

static bool ieq_prefix(theater_string_t s, const char* prefix) {
  size_t n = strlen(prefix);
  if (s.len < n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s.ptr[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}
static theater_string_t header(const theater_string_pairs_t* h, const char* name) {
  for (size_t i = 0; i < h->len; i++) {
    if (h->ptr[i].first.len == strlen(name) && ieq_prefix(h->ptr[i].first, name)) {
      return h->ptr[i].second;
    }
  }
  theater_string_t none = {NULL, 0};
  return none;
}

/* A growing text buffer. */
typedef struct {
  char* ptr;
  size_t len, cap;
} buf_t;
static void put(buf_t* b, const char* data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->ptr = (char*)realloc(b->ptr, b->cap);
    if (!b->ptr) __builtin_trap();
  }
  memcpy(b->ptr + b->len, data, n);
  b->len += n;
}
static void puts_(buf_t* b, const char* s) {
  put(b, s, strlen(s));
}

static void set_text(ret_response_t* area, uint16_t status, buf_t* b) {
  area->ok.status = status;
  area->ok.body.is_some = true;
  area->ok.body.val.ptr = (uint8_t*)(b->len ? b->ptr : NULL);
  area->ok.body.val.len = b->len;
  if (!b->len) free(b->ptr);
}
static void set_fmt(ret_response_t* area, uint16_t status, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_fmt(ret_response_t* area, uint16_t status, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  theater_string_t s = theater_vformat(fmt, ap);
  va_end(ap);
  buf_t b = {s.ptr, s.len, s.len};
  set_text(area, status, &b);
}

static void free_request(theater_string_t* method, theater_string_t* uri,
                         theater_string_pairs_t* headers, theater_option_bytes_t* body) {
  theater_string_free(method);
  theater_string_free(uri);
  theater_string_pairs_free(headers);
  theater_option_bytes_free(body);
}

static uint64_t parse_u64(theater_string_t s) {
  uint64_t v = 0;
  for (size_t i = 0; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++)
    v = v * 10 + (uint64_t)(s.ptr[i] - '0');
  return v;
}

static void admin(ret_response_t* area, const theater_string_pairs_t* headers) {
  theater_string_t op = header(headers, "x-route-param-op");
  theater_string_t arg = header(headers, "x-route-param-arg");
  theater_result_u64_t r64;
  theater_result_t r;
  char path[512];
  if (theater_string_eq(op, "add-route")) {
    snprintf(path, sizeof path, "/%.*s", (int)arg.len, arg.ptr);
    hf_add_route(g_server, path, strlen(path), "GET", 3, h_echo, &r64);
    if (r64.is_err) {
      set_fmt(area, 400, "error:%.*s", (int)r64.err.len, r64.err.ptr);
      theater_string_free(&r64.err);
    } else {
      set_fmt(area, 200, "%llu", (unsigned long long)r64.ok);
    }
  } else if (theater_string_eq(op, "remove-route") || theater_string_eq(op, "remove-mw")) {
    if (theater_string_eq(op, "remove-route")) {
      hf_remove_route(parse_u64(arg), &r);
    } else {
      hf_remove_middleware(parse_u64(arg), &r);
    }
    if (r.is_err) {
      set_fmt(area, 400, "error:%.*s", (int)r.err.len, r.err.ptr);
      theater_result_free(&r);
    } else {
      set_fmt(area, 200, "ok");
    }
  } else if (theater_string_eq(op, "mw")) {
    /* arg = <tag1|tag2|deny>/<path without leading '/'> */
    size_t slash = 0;
    while (slash < arg.len && arg.ptr[slash] != '/') slash++;
    theater_string_t name = {arg.ptr, slash};
    uint64_t h = theater_string_eq(name, "tag1")   ? h_tag1
                 : theater_string_eq(name, "tag2") ? h_tag2
                                                   : h_deny;
    size_t rest = slash < arg.len ? arg.len - slash - 1 : 0;
    snprintf(path, sizeof path, "/%.*s", (int)rest, arg.ptr + slash + 1);
    hf_add_middleware(g_server, path, strlen(path), h, &r64);
    if (r64.is_err) {
      set_fmt(area, 400, "error:%.*s", (int)r64.err.len, r64.err.ptr);
      theater_string_free(&r64.err);
    } else {
      set_fmt(area, 200, "%llu", (unsigned long long)r64.ok);
    }
  } else if (theater_string_eq(op, "stop-id")) {
    /* Another actor's server id must be unknown here. */
    hf_stop_server(parse_u64(arg), &r);
    if (r.is_err) {
      set_fmt(area, 400, "error:%.*s", (int)r.err.len, r.err.ptr);
      theater_result_free(&r);
    } else {
      set_fmt(area, 200, "stopped");
    }
  } else if (theater_string_eq(op, "restart")) {
    /* stop-server then start-server: a new free port (answered with it). */
    hf_stop_server(g_server, &r);
    theater_result_free(&r);
    result_u16_t started;
    hf_start_server(g_server, &started);
    if (started.is_err) {
      set_fmt(area, 500, "error:%.*s", (int)started.err.len, started.err.ptr);
      theater_string_free(&started.err);
    } else {
      g_port = started.ok;
      set_fmt(area, 200, "%u", started.ok);
    }
  } else if (theater_string_eq(op, "destroy")) {
    theater_result_t d;
    hf_destroy_server(g_server, &d);
    result_info_t info;
    hf_get_server_info(g_server, &info);
    set_fmt(area, 200, "destroyed=%d;info=%.*s", !d.is_err, info.is_err ? (int)info.err.len : 2,
            info.is_err ? info.err.ptr : "ok");
    theater_result_free(&d);
    if (info.is_err) theater_string_free(&info.err);
  } else if (theater_string_eq(op, "stop")) {
    hf_stop_server(g_server, &r);
    set_fmt(area, 200, r.is_err ? "stop failed" : "stopping");
    theater_result_free(&r);
  } else if (theater_string_eq(op, "info")) {
    result_info_t info;
    hf_get_server_info(g_server, &info);
    if (info.is_err) {
      set_fmt(area, 500, "error:%.*s", (int)info.err.len, info.err.ptr);
      theater_string_free(&info.err);
    } else {
      set_fmt(area, 200, "id=%llu;port=%u;host=%.*s;running=%d;routes=%u;mw=%u;ws=%d",
              (unsigned long long)info.ok.id, info.ok.port, (int)info.ok.host.len, info.ok.host.ptr,
              info.ok.running, info.ok.routes, info.ok.middleware, info.ok.websocket);
      theater_string_free(&info.ok.host);
    }
  } else {
    set_fmt(area, 404, "unknown admin op");
  }
}

THEATER_EXPORT(HH "#handle-request")
ret_response_t* export_handle_request(THEATER__STATE_PARAMS, uint64_t handler, char* m_ptr,
                                      size_t m_len, char* u_ptr, size_t u_len,
                                      theater_string_pair_t* h_ptr, size_t h_len, int32_t b_tag,
                                      uint8_t* b_ptr, size_t b_len) {
  static ret_response_t area;
  theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);
  load_ids(&state);
  theater_string_t method = theater__lift_string(m_ptr, m_len);
  theater_string_t uri = theater__lift_string(u_ptr, u_len);
  theater_string_pairs_t headers = {h_ptr, h_len};
  theater_option_bytes_t body = theater__lift_option_bytes(b_tag, b_ptr, b_len);
  memset(&area, 0, sizeof area);
  area.ok.state = state;
  if (handler == h_trap) __builtin_trap();
  if (handler == h_sleep) {
    uint64_t ms = parse_u64(header(&headers, "x-route-param-ms"));
    theater_result_t slept;
    theater_timing_sleep(ms, &slept);
    if (slept.is_err) {
      set_fmt(&area, 500, "sleep failed: %.*s", (int)slept.err.len, slept.err.ptr);
      theater_result_free(&slept);
    } else {
      set_fmt(&area, 200, "slept %llu", (unsigned long long)ms);
    }
  } else if (handler == h_admin) {
    admin(&area, &headers);
  } else {
    buf_t b = {NULL, 0, 0};
    puts_(&b, "method=");
    put(&b, method.ptr, method.len);
    puts_(&b, "\nuri=");
    put(&b, uri.ptr, uri.len);
    puts_(&b, "\n");
    for (size_t i = 0; i < headers.len; i++) {
      if (!ieq_prefix(headers.ptr[i].first, "x-")) continue;
      puts_(&b, "h:");
      put(&b, headers.ptr[i].first.ptr, headers.ptr[i].first.len);
      puts_(&b, "=");
      put(&b, headers.ptr[i].second.ptr, headers.ptr[i].second.len);
      puts_(&b, "\n");
    }
    puts_(&b, "body=");
    if (body.is_some) put(&b, (const char*)body.val.ptr, body.val.len);
    set_text(&area, 200, &b);
    /* One response header, to check they are passed on. */
    area.ok.headers.ptr = (theater_string_pair_t*)theater_xmalloc(sizeof(theater_string_pair_t));
    area.ok.headers.len = 1;
    area.ok.headers.ptr[0].first = theater_string_dup("X-Probe", 7);
    area.ok.headers.ptr[0].second = theater_string_dup("yes", 3);
  }
  free_request(&method, &uri, &headers, &body);
  return &area;
}
THEATER_EXPORT("cabi_post_" HH "#handle-request")
void post_handle_request(ret_response_t* area) {
  theater_option_bytes_free(&area->ok.state);
  theater_string_pairs_free(&area->ok.headers);
  theater_option_bytes_free(&area->ok.body);
}

THEATER_EXPORT(HH "#handle-middleware")
ret_middleware_t* export_handle_middleware(THEATER__STATE_PARAMS, uint64_t handler, char* m_ptr,
                                           size_t m_len, char* u_ptr, size_t u_len,
                                           theater_string_pair_t* h_ptr, size_t h_len,
                                           int32_t b_tag, uint8_t* b_ptr, size_t b_len) {
  static ret_middleware_t area;
  memset(&area, 0, sizeof area);
  area.ok.state = theater__lift_option_bytes(st_tag, st_ptr, st_len);
  /* The request is passed on (ownership moves to the result area; post frees it). */
  area.ok.method = theater__lift_string(m_ptr, m_len);
  area.ok.uri = theater__lift_string(u_ptr, u_len);
  area.ok.body = theater__lift_option_bytes(b_tag, b_ptr, b_len);
  area.ok.proceed = handler != h_deny;
  /* Append "X-Mw: tagN". */
  theater_string_pair_t* h =
      (theater_string_pair_t*)theater_xmalloc((h_len + 1) * sizeof(theater_string_pair_t));
  if (h_len) memcpy(h, h_ptr, h_len * sizeof(theater_string_pair_t));
  theater_free_buf(h_ptr, h_len);
  h[h_len].first = theater_string_dup("X-Mw", 4);
  const char* name = handler == h_tag1 ? "tag1" : handler == h_tag2 ? "tag2" : "deny";
  h[h_len].second = theater_string_dup(name, strlen(name));
  area.ok.headers.ptr = h;
  area.ok.headers.len = h_len + 1;
  return &area;
}
THEATER_EXPORT("cabi_post_" HH "#handle-middleware")
void post_handle_middleware(ret_middleware_t* area) {
  theater_option_bytes_free(&area->ok.state);
  free_request(&area->ok.method, &area->ok.uri, &area->ok.headers, &area->ok.body);
}

static uint64_t g_connects, g_disconnects;

THEATER_EXPORT(HH "#handle-websocket-connect")
theater__ret_state_t* export_ws_connect(THEATER__STATE_PARAMS, uint64_t handler, uint64_t conn,
                                        char* p_ptr, size_t p_len, int32_t q_tag, char* q_ptr,
                                        size_t q_len) {
  static theater__ret_state_t area;
  (void)handler;
  (void)conn;
  theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);
  theater_string_t path = theater__lift_string(p_ptr, p_len);
  theater_string_free(&path);
  if (q_tag) {
    theater_string_t q = theater__lift_string(q_ptr, q_len);
    theater_string_free(&q);
  }
  g_connects++;
  return theater__finish_state(&area, theater_ok(), &state);
}
THEATER__POST_STATE(ws_connect, HH "#handle-websocket-connect")

THEATER_EXPORT(HH "#handle-websocket-disconnect")
theater__ret_state_t* export_ws_disconnect(THEATER__STATE_PARAMS, uint64_t handler, uint64_t conn) {
  static theater__ret_state_t area;
  (void)handler;
  (void)conn;
  theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);
  g_disconnects++;
  return theater__finish_state(&area, theater_ok(), &state);
}
THEATER__POST_STATE(ws_disconnect, HH "#handle-websocket-disconnect")

THEATER_EXPORT(HH "#handle-websocket-message")
ret_ws_message_t* export_ws_message(THEATER__STATE_PARAMS, uint64_t handler, uint64_t conn,
                                    int32_t ty, char* o_ptr, size_t o_len, int32_t d_tag,
                                    uint8_t* d_ptr, size_t d_len, int32_t t_tag, char* t_ptr,
                                    size_t t_len) {
  static ret_ws_message_t area;
  (void)handler;
  memset(&area, 0, sizeof area);
  area.ok.state = theater__lift_option_bytes(st_tag, st_ptr, st_len);
  theater_string_t other = {ty == 6 ? o_ptr : NULL, ty == 6 ? o_len : 0};
  theater_option_bytes_t data = theater__lift_option_bytes(d_tag, d_ptr, d_len);
  theater_option_string_t text;
  text.is_some = t_tag != 0;
  text.val = theater__lift_string(t_tag ? t_ptr : NULL, t_tag ? t_len : 0);
  theater_result_t r;
  if (text.is_some && theater_string_eq(text.val, "push")) {
    hf_send_websocket_message(g_server, conn, 0, NULL, 0, 0, NULL, 0, 1, "pushed", 6, &r);
    theater_result_free(&r);
  }
  if (text.is_some && theater_string_eq(text.val, "close")) {
    hf_close_websocket(g_server, conn, &r);
    theater_result_free(&r);
  } else {
    ws_message_t* m = (ws_message_t*)theater_xmalloc(sizeof(ws_message_t));
    memset(m, 0, sizeof *m);
    if (ty == 1 && data.is_some) {
      m->ty = 1;
      m->data.is_some = true;
      m->data.val = theater_bytes_dup(data.val.ptr, data.val.len);
    } else {
      m->ty = 0;
      m->text.is_some = true;
      m->text.val = theater_format("echo:%.*s", (int)text.val.len, text.val.ptr);
    }
    area.ok.ptr = m;
    area.ok.len = 1;
  }
  theater_string_free(&other);
  theater_option_bytes_free(&data);
  theater_option_string_free(&text);
  return &area;
}
THEATER_EXPORT("cabi_post_" HH "#handle-websocket-message")
void post_ws_message(ret_ws_message_t* area) {
  theater_option_bytes_free(&area->ok.state);
  for (size_t i = 0; i < area->ok.len; i++) {
    theater_option_bytes_free(&area->ok.ptr[i].data);
    theater_option_string_free(&area->ok.ptr[i].text);
  }
  theater_free_buf(area->ok.ptr, area->ok.len);
  area->ok.len = 0;
}
