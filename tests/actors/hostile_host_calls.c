/* hostile_host_calls: a guest that calls every host function with worst-case raw arguments, for
 * src/runtime/hostile_host_calls_test.cc (issue 19: "a guest cannot crash the host").
 *
 * Every host function is imported here with its raw core signature (THEATER_IMPORT), so the
 * guest can pass what no SDK wrapper would: (ptr, len) pairs past the end of memory or wrapping
 * past 4 GiB, lengths of 0xFFFFFFFF, strings one byte over the host's limit, invalid UTF-8, list
 * counts in the millions, return areas out of bounds or misaligned, bogus ids and handles, and
 * every guest-reachable spawn path with hostile manifests and initial states.
 *
 * The cases are one table (kCases): a name, the host function it attacks ("<interface>.<fn>" as
 * the host registers it, or "wasi_snapshot_preview1.<fn>"), an invoker calling that import with
 * raw core arguments, and the arguments — numbers, or tokens (T_*) resolved when the case runs
 * (addresses that depend on the memory size, buffers built at run time, the test's parameter).
 *
 * Requests (message-server-client.handle-request, the message as text):
 *   list                  one line per case: "<name> <target>"
 *   ping                  "pong" (the actor still runs)
 *   run:<name>\n<param>   runs the case; <param> is text the case may use (e.g. a manifest).
 *                         Responds "ok", "err(<n> bytes):<text>" for a result's err (its first
 *                         200 and last 300 bytes when longer than 500), or "rc=<n> out=<u32>" for a
 * function without a result (out: the first word of the return area, e.g. fd_write's count); a case
 * whose call the host refuses traps instead (the request fails with the host's error, and the
 * runtime discards this instance).
 */
#include <theater/theater.h>

typedef uint64_t u64;
typedef int64_t (*invoke_fn)(const u64* a);

#define A(i) ((uint32_t)a[i])
#define W(i) ((uint64_t)a[i])
#define IMP(iface, fn) THEATER_IMPORT("theater:simple/" iface, fn)
#define WASI(fn) THEATER_IMPORT("wasi_snapshot_preview1", fn)

/* ---- imports and their invokers ------------------------------------------------------------ */

/* All-i32 imports without a core result, by arity. */
#define V1(c, iface, fn)                 \
  IMP(iface, fn) void c(uint32_t);       \
  static int64_t inv_##c(const u64* a) { \
    c(A(0));                             \
    return 0;                            \
  }
#define V2(c, iface, fn)                     \
  IMP(iface, fn) void c(uint32_t, uint32_t); \
  static int64_t inv_##c(const u64* a) {     \
    c(A(0), A(1));                           \
    return 0;                                \
  }
#define V3(c, iface, fn)                               \
  IMP(iface, fn) void c(uint32_t, uint32_t, uint32_t); \
  static int64_t inv_##c(const u64* a) {               \
    c(A(0), A(1), A(2));                               \
    return 0;                                          \
  }
#define V4(c, iface, fn)                                         \
  IMP(iface, fn) void c(uint32_t, uint32_t, uint32_t, uint32_t); \
  static int64_t inv_##c(const u64* a) {                         \
    c(A(0), A(1), A(2), A(3));                                   \
    return 0;                                                    \
  }
#define V5(c, iface, fn)                                                   \
  IMP(iface, fn) void c(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t); \
  static int64_t inv_##c(const u64* a) {                                   \
    c(A(0), A(1), A(2), A(3), A(4));                                       \
    return 0;                                                              \
  }
#define V6(c, iface, fn)                                                             \
  IMP(iface, fn) void c(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t); \
  static int64_t inv_##c(const u64* a) {                                             \
    c(A(0), A(1), A(2), A(3), A(4), A(5));                                           \
    return 0;                                                                        \
  }
#define V7(c, iface, fn)                                                                       \
  IMP(iface, fn) void c(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t); \
  static int64_t inv_##c(const u64* a) {                                                       \
    c(A(0), A(1), A(2), A(3), A(4), A(5), A(6));                                               \
    return 0;                                                                                  \
  }
/* (i64 id, retptr) -> () */
#define VI64R(c, iface, fn)                  \
  IMP(iface, fn) void c(uint64_t, uint32_t); \
  static int64_t inv_##c(const u64* a) {     \
    c(W(0), A(1));                           \
    return 0;                                \
  }

/* runtime */
V1(rt_get_chain, "runtime", "get-chain")
V1(rt_get_state, "runtime", "get-state")
V4(rt_shutdown, "runtime", "shutdown")
#ifndef HOSTILE_LEVELED_LOG
V2(rt_log, "runtime", "log")
#else
/* runtime.log in its second form (runtime-leveled): (level, message) -> result<_, string>. A
 * module imports one form of a name, so this form is built as hostile_host_calls_leveled. */
V5(rt_log_leveled, "runtime", "log")
/* The leveled log at level "info", with the message as its first two arguments. */
static int64_t inv_rt_log_leveled_message(const u64* a);
#endif
V1(rt_get_actor_id, "runtime", "get-actor-id")
V1(rt_get_actor_name, "runtime", "get-actor-name")
IMP("runtime", "get-current-time") uint64_t rt_get_current_time(void);
static int64_t inv_rt_get_current_time(const u64* a) {
  (void)a;
  return rt_get_current_time() > 0 ? 1 : 0;
}
V3(rt_get_env, "runtime", "get-env")
IMP("runtime", "record-metric") void rt_record_metric(uint32_t, uint32_t, double, uint32_t);
static int64_t inv_rt_record_metric(const u64* a) {
  double v;
  memcpy(&v, &a[2], sizeof v);
  rt_record_metric(A(0), A(1), v, A(3));
  return 0;
}
V5(rt_record_event, "runtime", "record-event")
V1(rt_get_theater_version, "runtime", "get-theater-version")
V1(rt_get_system_info, "runtime", "get-system-info")
/* runtime-ext */
V1(rx_actor_id, "runtime-ext", "actor-id")
V1(rx_actor_name, "runtime-ext", "actor-name")
IMP("runtime-ext", "now") uint64_t rx_now(void);
static int64_t inv_rx_now(const u64* a) {
  (void)a;
  return rx_now() > 0 ? 1 : 0;
}
V3(rx_get_env, "runtime-ext", "get-env")
V3(rx_log_at, "runtime-ext", "log-at")
/* log-at at level info, with the message as its first two arguments (for STRING_CASES). */
static int64_t inv_rx_log_at_msg(const u64* a) {
  rx_log_at(2, A(0), A(1));
  return 0;
}
IMP("runtime-ext", "record-metric") void rx_record_metric(uint32_t, uint32_t, double);
static int64_t inv_rx_record_metric(const u64* a) {
  double v;
  memcpy(&v, &a[2], sizeof v);
  rx_record_metric(A(0), A(1), v);
  return 0;
}
V5(rx_record_event, "runtime-ext", "record-event")
V1(rx_theater_version, "runtime-ext", "theater-version")
V1(rx_system_info, "runtime-ext", "system-info")
/* environment */
V3(env_get_var, "environment", "get-var")
V1(env_list_vars, "environment", "list-vars")
IMP("environment", "exists") uint32_t env_exists(uint32_t, uint32_t);
static int64_t inv_env_exists(const u64* a) {
  return env_exists(A(0), A(1));
}
/* filesystem */
V3(fs_read_file, "filesystem", "read-file")
V5(fs_write_file, "filesystem", "write-file")
V3(fs_list_files, "filesystem", "list-files")
V3(fs_delete_file, "filesystem", "delete-file")
V3(fs_create_dir, "filesystem", "create-dir")
V3(fs_delete_dir, "filesystem", "delete-dir")
V3(fs_path_exists, "filesystem", "path-exists")
V7(fs_execute_command, "filesystem", "execute-command")
V5(fs_execute_nix_command, "filesystem", "execute-nix-command")
/* http-client: send-http(http-request) flattens to 9 core values, then the return pointer. */
IMP("http-client", "send-http")
void hc_send_http(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t,
                  uint32_t, uint32_t);
static int64_t inv_hc_send_http(const u64* a) {
  hc_send_http(A(0), A(1), A(2), A(3), A(4), A(5), A(6), A(7), A(8), A(9));
  return 0;
}
/* http-framework */
IMP("http-framework", "create-server")
void hf_create_server(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t,
                      uint32_t, uint32_t, uint32_t, uint32_t);
static int64_t inv_hf_create_server(const u64* a) {
  hf_create_server(A(0), A(1), A(2), A(3), A(4), A(5), A(6), A(7), A(8), A(9), A(10));
  return 0;
}
VI64R(hf_get_server_info, "http-framework", "get-server-info")
VI64R(hf_start_server, "http-framework", "start-server")
VI64R(hf_stop_server, "http-framework", "stop-server")
VI64R(hf_destroy_server, "http-framework", "destroy-server")
V3(hf_register_handler, "http-framework", "register-handler")
IMP("http-framework", "add-route")
void hf_add_route(uint64_t, uint32_t, uint32_t, uint32_t, uint32_t, uint64_t, uint32_t);
static int64_t inv_hf_add_route(const u64* a) {
  hf_add_route(W(0), A(1), A(2), A(3), A(4), W(5), A(6));
  return 0;
}
VI64R(hf_remove_route, "http-framework", "remove-route")
IMP("http-framework", "add-middleware")
void hf_add_middleware(uint64_t, uint32_t, uint32_t, uint64_t, uint32_t);
static int64_t inv_hf_add_middleware(const u64* a) {
  hf_add_middleware(W(0), A(1), A(2), W(3), A(4));
  return 0;
}
VI64R(hf_remove_middleware, "http-framework", "remove-middleware")
IMP("http-framework", "enable-websocket")
void hf_enable_websocket(uint64_t, uint32_t, uint32_t, uint32_t, uint64_t, uint64_t, uint32_t,
                         uint64_t, uint32_t);
static int64_t inv_hf_enable_websocket(const u64* a) {
  hf_enable_websocket(W(0), A(1), A(2), A(3), W(4), W(5), A(6), W(7), A(8));
  return 0;
}
IMP("http-framework", "disable-websocket")
void hf_disable_websocket(uint64_t, uint32_t, uint32_t, uint32_t);
static int64_t inv_hf_disable_websocket(const u64* a) {
  hf_disable_websocket(W(0), A(1), A(2), A(3));
  return 0;
}
/* send-websocket-message(server-id, connection-id, websocket-message): the message flattens to
 * (ty: i32 i32 i32) (data: i32 i32 i32) (text: i32 i32 i32). */
IMP("http-framework", "send-websocket-message")
void hf_send_websocket_message(uint64_t, uint64_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t,
                               uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
static int64_t inv_hf_send_websocket_message(const u64* a) {
  hf_send_websocket_message(W(0), W(1), A(2), A(3), A(4), A(5), A(6), A(7), A(8), A(9), A(10),
                            A(11));
  return 0;
}
IMP("http-framework", "close-websocket") void hf_close_websocket(uint64_t, uint64_t, uint32_t);
static int64_t inv_hf_close_websocket(const u64* a) {
  hf_close_websocket(W(0), W(1), A(2));
  return 0;
}
/* message-server-host */
V5(ms_send, "message-server-host", "send")
V5(ms_request, "message-server-host", "request")
V5(ms_open_channel, "message-server-host", "open-channel")
V5(ms_send_on_channel, "message-server-host", "send-on-channel")
V3(ms_close_channel, "message-server-host", "close-channel")
V1(ms_list_outstanding_requests, "message-server-host", "list-outstanding-requests")
V5(ms_respond_to_request, "message-server-host", "respond-to-request")
V3(ms_cancel_request, "message-server-host", "cancel-request")
/* process: os-spawn(process-config) flattens to 16 core values (the last an i64), then the
 * return pointer. */
IMP("process", "os-spawn")
void pr_os_spawn(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t,
                 uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint64_t,
                 uint32_t);
static int64_t inv_pr_os_spawn(const u64* a) {
  pr_os_spawn(A(0), A(1), A(2), A(3), A(4), A(5), A(6), A(7), A(8), A(9), A(10), A(11), A(12),
              A(13), A(14), W(15), A(16));
  return 0;
}
IMP("process", "os-write-stdin") void pr_os_write_stdin(uint64_t, uint32_t, uint32_t, uint32_t);
static int64_t inv_pr_os_write_stdin(const u64* a) {
  pr_os_write_stdin(W(0), A(1), A(2), A(3));
  return 0;
}
VI64R(pr_os_status, "process", "os-status")
IMP("process", "os-signal") void pr_os_signal(uint64_t, uint32_t, uint32_t);
static int64_t inv_pr_os_signal(const u64* a) {
  pr_os_signal(W(0), A(1), A(2));
  return 0;
}
VI64R(pr_os_kill, "process", "os-kill")
/* random */
V2(rn_random_bytes, "random", "random-bytes")
IMP("random", "random-range") void rn_random_range(uint64_t, uint64_t, uint32_t);
static int64_t inv_rn_random_range(const u64* a) {
  rn_random_range(W(0), W(1), A(2));
  return 0;
}
V1(rn_random_float, "random", "random-float")
V1(rn_generate_uuid, "random", "generate-uuid")
/* store */
V1(st_new, "store", "new")
V5(st_store, "store", "store")
V5(st_get, "store", "get")
V5(st_exists, "store", "exists")
V7(st_label, "store", "label")
V5(st_get_by_label, "store", "get-by-label")
V5(st_remove_label, "store", "remove-label")
V7(st_remove_from_label, "store", "remove-from-label")
V7(st_store_at_label, "store", "store-at-label")
V7(st_replace_content_at_label, "store", "replace-content-at-label")
V7(st_replace_at_label, "store", "replace-at-label")
V3(st_list_labels, "store", "list-labels")
V3(st_list_all_content, "store", "list-all-content")
V3(st_calculate_total_size, "store", "calculate-total-size")
/* supervisor */
V6(sv_spawn, "supervisor", "spawn")
V6(sv_resume, "supervisor", "resume")
V1(sv_list_children, "supervisor", "list-children")
V3(sv_stop_child, "supervisor", "stop-child")
V3(sv_restart_child, "supervisor", "restart-child")
V3(sv_get_child_state, "supervisor", "get-child-state")
V3(sv_get_child_events, "supervisor", "get-child-events")
/* timing */
IMP("timing", "now") uint64_t tm_now(void);
static int64_t inv_tm_now(const u64* a) {
  (void)a;
  return tm_now() > 0 ? 1 : 0;
}
VI64R(tm_sleep, "timing", "sleep")
VI64R(tm_deadline, "timing", "deadline")
/* WASI preview 1, as the host serves it to core modules (src/runtime/actor_host.cc). */
WASI("fd_write") uint32_t w_fd_write(uint32_t, uint32_t, uint32_t, uint32_t);
static int64_t inv_w_fd_write(const u64* a) {
  return w_fd_write(A(0), A(1), A(2), A(3));
}
WASI("fd_close") uint32_t w_fd_close(uint32_t);
static int64_t inv_w_fd_close(const u64* a) {
  return w_fd_close(A(0));
}
WASI("fd_seek") uint32_t w_fd_seek(uint32_t, uint64_t, uint32_t, uint32_t);
static int64_t inv_w_fd_seek(const u64* a) {
  return w_fd_seek(A(0), W(1), A(2), A(3));
}
WASI("fd_fdstat_get") uint32_t w_fd_fdstat_get(uint32_t, uint32_t);
static int64_t inv_w_fd_fdstat_get(const u64* a) {
  return w_fd_fdstat_get(A(0), A(1));
}
WASI("environ_sizes_get") uint32_t w_environ_sizes_get(uint32_t, uint32_t);
static int64_t inv_w_environ_sizes_get(const u64* a) {
  return w_environ_sizes_get(A(0), A(1));
}
WASI("environ_get") uint32_t w_environ_get(uint32_t, uint32_t);
static int64_t inv_w_environ_get(const u64* a) {
  return w_environ_get(A(0), A(1));
}
WASI("args_sizes_get") uint32_t w_args_sizes_get(uint32_t, uint32_t);
static int64_t inv_w_args_sizes_get(const u64* a) {
  return w_args_sizes_get(A(0), A(1));
}
WASI("args_get") uint32_t w_args_get(uint32_t, uint32_t);
static int64_t inv_w_args_get(const u64* a) {
  return w_args_get(A(0), A(1));
}
WASI("proc_exit") void w_proc_exit(uint32_t);
static int64_t inv_w_proc_exit(const u64* a) {
  w_proc_exit(A(0));
  return 0;
}
WASI("clock_time_get") uint32_t w_clock_time_get(uint32_t, uint64_t, uint32_t);
static int64_t inv_w_clock_time_get(const u64* a) {
  return w_clock_time_get(A(0), W(1), A(2));
}
WASI("random_get") uint32_t w_random_get(uint32_t, uint32_t);
static int64_t inv_w_random_get(const u64* a) {
  return w_random_get(A(0), A(1));
}

/* ---- argument tokens ----------------------------------------------------------------------- */

/* Arguments at or above T_BASE are tokens resolved when the case runs; anything else is passed
 * as it is. A string or list token comes in pairs: T_x_P (its address) and T_x_L (its length). */
#define T_BASE 0xFEED000000000000ull
enum {
  T_MEM_END = 1, /* the last byte of memory */
  T_MEM_SIZE,    /* one past the last byte */
  T_RET,         /* an aligned, zeroed 256-byte return area */
  T_RET_ODD,     /* the return area + 1: misaligned */
  T_OK_P,        /* "hostile" */
  T_OK_L,
  T_CONT_P, /* a lone continuation byte */
  T_CONT_L,
  T_OVERLONG_P, /* "/" encoded in two bytes */
  T_OVERLONG_L,
  T_SURROGATE_P, /* U+D800 encoded as UTF-8 */
  T_SURROGATE_L,
  T_BIG_P, /* 16 MiB + 1 bytes of 'a': one over the ABI's string and list limits */
  T_BIG_L,
  T_MAXSTR_L, /* 16 MiB exactly: the largest string the ABI lifts (pairs with T_BIG_P) */
  T_UUID_P,   /* a well-formed actor id nobody has */
  T_UUID_L,
  T_PARAM_P, /* the request's parameter */
  T_PARAM_L,
  T_STRS_P, /* 2 Mi empty strings: a list<string> whose values outgrow the lift budget */
  T_STRS_L,
  T_LONGA_P, /* 32 KiB of 'A' (once crashed the inline-manifest check) */
  T_LONGA_L,
  T_DEEP_TOML_P, /* the parameter (a manifest) with a 100,000-part dotted table header */
  T_DEEP_TOML_L,
  T_BIG_MANIFEST_P, /* the parameter with a comment that takes it past 1 MiB */
  T_BIG_MANIFEST_L,
  T_JSON_129_P, /* JSON arrays nested 129 deep: one over the initial-state limit */
  T_JSON_129_L,
  T_JSON_1M_P, /* JSON arrays nested 1,000,000 deep */
  T_JSON_1M_L,
  T_JSON_128_P, /* JSON arrays nested 128 deep: the deepest accepted */
  T_JSON_128_L,
  T_IOV_BOMB, /* 1024 iovecs that each cover all of memory (fd_write) */
  T_BADREF_P, /* a content-ref { hash: <invalid> } in memory (store functions) */
  T_HASH_P,   /* a well-formed hash nobody stored */
  T_HASH_L,
  T_PAIRS_P, /* 1 Mi (name, value) pairs of empty strings (headers, env) */
  T_PAIRS_L,
  T_SERVER,  /* an HTTP server this actor created (created once) */
  T_HANDLER, /* an HTTP handler this actor registered (registered once) */
  T_PATH_P,  /* a new literal path on every resolution: "/p<n>" */
  T_PATH_L,
};
#define T(x) (T_BASE | (u64)(x))

static uint64_t ret_area[32] __attribute__((aligned(8)));
static theater_string_t param;

static const char kOk[] = "hostile";
static const char kCont[] = "ab\x80";
static const char kOverlong[] = "\xC0\xAF";
static const char kSurrogate[] = "\xED\xA0\x80";
static const char kUuid[] = "00000000-0000-4000-8000-000000000000";
static const char kHash[] =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
static const char kBadHash[] = "not-a-hash/../../etc";
static theater_string_t bad_ref = {(char*)kBadHash, sizeof kBadHash - 1};

#define BIG_LEN ((16u << 20) + 1)

static char* big;
static theater_string_t* strs;
#define STRS_COUNT (2u << 20)
static theater_string_pair_t* pairs;
#define PAIRS_COUNT (1u << 20)
static uint32_t iovs[1024 * 2];

static char* join(const char* a, size_t alen, const char* b, size_t blen) {
  char* out = (char*)theater_xmalloc(alen + blen);
  memcpy(out, a, alen);
  memcpy(out + alen, b, blen);
  return out;
}

static char* deep_toml;
static size_t deep_toml_len;
static char* big_manifest;
static size_t big_manifest_len;
static char* json[3];
static size_t json_len[3];

static char* nested(size_t depth, size_t* len) {
  *len = 2 * depth + 1;
  char* s = (char*)theater_xmalloc(*len);
  memset(s, '[', depth);
  s[depth] = '1';
  memset(s + depth + 1, ']', depth);
  return s;
}

static uint32_t addr(const void* p) {
  return (uint32_t)(uintptr_t)p;
}

#ifdef HOSTILE_LEVELED_LOG
static int64_t inv_rt_log_leveled_message(const u64* a) {
  static const char kInfo[] = "info";
  rt_log_leveled(addr(kInfo), 4, A(0), A(1), A(2));
  return 0;
}
#endif

static u64 server_id, handler_id;
static char path_buf[24];
static size_t path_len;

/* The u64 an ok result<u64, string> in the return area holds, or 0. */
static u64 ok_u64(void) {
  const uint8_t* ret = (const uint8_t*)ret_area;
  u64 v = 0;
  if (ret[0] == 0) memcpy(&v, ret + 8, sizeof v);
  return v;
}

static u64 resolve(u64 v) {
  if (v < T_BASE) return v;
  const uint32_t mem = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
  switch ((int)(v & 0xFFFF)) {
    case T_MEM_END:
      return mem - 1;
    case T_MEM_SIZE:
      return mem;
    case T_RET:
      return addr(ret_area);
    case T_RET_ODD:
      return addr(ret_area) + 1;
    case T_OK_P:
      return addr(kOk);
    case T_OK_L:
      return sizeof kOk - 1;
    case T_CONT_P:
      return addr(kCont);
    case T_CONT_L:
      return sizeof kCont - 1;
    case T_OVERLONG_P:
      return addr(kOverlong);
    case T_OVERLONG_L:
      return sizeof kOverlong - 1;
    case T_SURROGATE_P:
      return addr(kSurrogate);
    case T_SURROGATE_L:
      return sizeof kSurrogate - 1;
    case T_BIG_P:
      if (!big) {
        big = (char*)theater_xmalloc(BIG_LEN);
        memset(big, 'a', BIG_LEN);
      }
      return addr(big);
    case T_BIG_L:
      return BIG_LEN;
    case T_MAXSTR_L:
      return BIG_LEN - 1;
    case T_UUID_P:
      return addr(kUuid);
    case T_UUID_L:
      return sizeof kUuid - 1;
    case T_PARAM_P:
      return addr(param.ptr);
    case T_PARAM_L:
      return param.len;
    case T_STRS_P:
      if (!strs) strs = (theater_string_t*)calloc(STRS_COUNT, sizeof *strs);
      return addr(strs);
    case T_STRS_L:
      return STRS_COUNT;
    case T_LONGA_P:
    case T_LONGA_L: {
      static char* a32k;
      if (!a32k) {
        a32k = (char*)theater_xmalloc(32768);
        memset(a32k, 'A', 32768);
      }
      return (v & 0xFFFF) == T_LONGA_P ? addr(a32k) : 32768;
    }
    case T_DEEP_TOML_P:
    case T_DEEP_TOML_L:
      if (!deep_toml) {
        const size_t parts = 100000;
        char* header = (char*)theater_xmalloc(2 * parts + 4);
        size_t n = 0;
        header[n++] = '\n';
        header[n++] = '[';
        header[n++] = 'a';
        for (size_t i = 1; i < parts; ++i) {
          header[n++] = '.';
          header[n++] = 'a';
        }
        header[n++] = ']';
        deep_toml = join(param.ptr, param.len, header, n);
        deep_toml_len = param.len + n;
      }
      return (v & 0xFFFF) == T_DEEP_TOML_P ? addr(deep_toml) : deep_toml_len;
    case T_BIG_MANIFEST_P:
    case T_BIG_MANIFEST_L:
      if (!big_manifest) {
        const size_t n = (1u << 20) + 2;
        char* comment = (char*)theater_xmalloc(n);
        memset(comment, 'x', n);
        comment[0] = '\n';
        comment[1] = '#';
        big_manifest = join(param.ptr, param.len, comment, n);
        big_manifest_len = param.len + n;
      }
      return (v & 0xFFFF) == T_BIG_MANIFEST_P ? addr(big_manifest) : big_manifest_len;
    case T_JSON_129_P:
    case T_JSON_129_L:
      if (!json[0]) json[0] = nested(129, &json_len[0]);
      return (v & 0xFFFF) == T_JSON_129_P ? addr(json[0]) : json_len[0];
    case T_JSON_1M_P:
    case T_JSON_1M_L:
      if (!json[1]) json[1] = nested(1000000, &json_len[1]);
      return (v & 0xFFFF) == T_JSON_1M_P ? addr(json[1]) : json_len[1];
    case T_JSON_128_P:
    case T_JSON_128_L:
      if (!json[2]) json[2] = nested(128, &json_len[2]);
      return (v & 0xFFFF) == T_JSON_128_P ? addr(json[2]) : json_len[2];
    case T_IOV_BOMB:
      for (size_t i = 0; i < 1024; ++i) {
        iovs[2 * i] = 0;
        iovs[2 * i + 1] = mem;
      }
      return addr(iovs);
    case T_BADREF_P:
      return addr(&bad_ref);
    case T_HASH_P:
      return addr(kHash);
    case T_HASH_L:
      return sizeof kHash - 1;
    case T_PAIRS_P:
      if (!pairs) pairs = (theater_string_pair_t*)calloc(PAIRS_COUNT, sizeof *pairs);
      return addr(pairs);
    case T_PAIRS_L:
      return PAIRS_COUNT;
    case T_SERVER:
      if (!server_id) {
        hf_create_server(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, addr(ret_area));
        server_id = ok_u64();
      }
      return server_id;
    case T_HANDLER:
      if (!handler_id) {
        hf_register_handler(addr(kOk), sizeof kOk - 1, addr(ret_area));
        handler_id = ok_u64();
      }
      return handler_id;
    case T_PATH_P: {
      static unsigned n;
      path_len = (size_t)snprintf(path_buf, sizeof path_buf, "/p%u", n++);
      return addr(path_buf);
    }
    case T_PATH_L:
      return path_len;
  }
  return v;
}

/* ---- the cases ----------------------------------------------------------------------------- */

typedef struct {
  const char* name;
  const char* target; /* "<interface>.<function>" */
  invoke_fn invoke;
  /* For a result<_, string> in the return area: the offset of the err string (0: none). */
  uint32_t err_off;
  u64 args[17];
  /* Calls made (0: one), until the first err: a guest calling in a loop. */
  uint32_t repeat;
} hostile_case_t;

#define RET T(T_RET)
#define RET_ODD T(T_RET_ODD)
#define RET_FAR 0xFFFFFFF0u
#define OK T(T_OK_P), T(T_OK_L)
#define FAR 0xFFFFFFF0u, 16
#define HUGE_LEN 16, 0xFFFFFFFFu
#define WRAP 0xFFFFFF00u, 0x200
#define AT_END T(T_MEM_END), 2
#define CONT T(T_CONT_P), T(T_CONT_L)
#define OVERLONG T(T_OVERLONG_P), T(T_OVERLONG_L)
#define SURROGATE T(T_SURROGATE_P), T(T_SURROGATE_L)
#define BIG T(T_BIG_P), T(T_BIG_L)
#define MAXSTR T(T_BIG_P), T(T_MAXSTR_L)
#define UUID T(T_UUID_P), T(T_UUID_L)
#define PARAM T(T_PARAM_P), T(T_PARAM_L)
#define STRS T(T_STRS_P), T(T_STRS_L)
#define PAIRS T(T_PAIRS_P), T(T_PAIRS_L)
#define HASH T(T_HASH_P), T(T_HASH_L)
#define NONE3 0, 0, 0

/* The same attacks on the string parameter of a function (name, target, invoker, err offset,
 * then the arguments after the string). */
/* clang-format off */
#define STRING_CASES(prefix, target, c, off, ...)                          \
  {prefix "-far-ptr", target, inv_##c, off, {FAR, __VA_ARGS__}},           \
  {prefix "-huge-len", target, inv_##c, off, {HUGE_LEN, __VA_ARGS__}},     \
  {prefix "-wrapping", target, inv_##c, off, {WRAP, __VA_ARGS__}},         \
  {prefix "-at-end", target, inv_##c, off, {AT_END, __VA_ARGS__}},         \
  {prefix "-continuation", target, inv_##c, off, {CONT, __VA_ARGS__}},     \
  {prefix "-overlong", target, inv_##c, off, {OVERLONG, __VA_ARGS__}},     \
  {prefix "-surrogate", target, inv_##c, off, {SURROGATE, __VA_ARGS__}},   \
  {prefix "-over-limit", target, inv_##c, off, {BIG, __VA_ARGS__}}
/* clang-format on */

/* `repeat` is left out (zero: one call) everywhere but in the flood cases. */
#pragma clang diagnostic ignored "-Wmissing-field-initializers"
/* clang-format off */
static const hostile_case_t kCases[] = {
    /* runtime */
#ifndef HOSTILE_LEVELED_LOG
    STRING_CASES("log", "runtime.log", rt_log, 0, 0),
    {"log-max-length", "runtime.log", inv_rt_log, 0, {MAXSTR}},
#endif
    {"get-chain-ret-far", "runtime.get-chain", inv_rt_get_chain, 0, {RET_FAR}},
    {"get-chain-ret-odd", "runtime.get-chain", inv_rt_get_chain, 0, {RET_ODD}},
    {"get-state-ret-far", "runtime.get-state", inv_rt_get_state, 0, {RET_FAR}},
    {"get-state-ret-at-end", "runtime.get-state", inv_rt_get_state, 0, {T(T_MEM_END)}},
    {"shutdown-bad-tag", "runtime.shutdown", inv_rt_shutdown, 4, {7, 0, 0, RET}},
    {"shutdown-far-data", "runtime.shutdown", inv_rt_shutdown, 4, {1, FAR, RET}},
    {"shutdown-data-over-limit", "runtime.shutdown", inv_rt_shutdown, 4, {1, BIG, RET}},
    {"shutdown-ret-odd", "runtime.shutdown", inv_rt_shutdown, 4, {0, 0, 0, RET_ODD}},
#ifdef HOSTILE_LEVELED_LOG
    STRING_CASES("log-leveled-level", "runtime.log", rt_log_leveled, 4, OK, RET),
    STRING_CASES("log-leveled-message", "runtime.log", rt_log_leveled_message, 4, RET),
    {"log-leveled-unknown-level", "runtime.log", inv_rt_log_leveled, 4, {OK, OK, RET}},
    {"log-leveled-ret-far", "runtime.log", inv_rt_log_leveled, 4, {OK, OK, RET_FAR}},
#endif
    {"get-actor-id-ret-far", "runtime.get-actor-id", inv_rt_get_actor_id, 0, {RET_FAR}},
    {"get-actor-name-ret-odd", "runtime.get-actor-name", inv_rt_get_actor_name, 0, {RET_ODD}},
    {"get-current-time-ok", "runtime.get-current-time", inv_rt_get_current_time, 0, {0}},
    STRING_CASES("rt-get-env", "runtime.get-env", rt_get_env, 0, RET),
    {"rt-get-env-ret-far", "runtime.get-env", inv_rt_get_env, 0, {OK, RET_FAR}},
    STRING_CASES("rt-record-metric", "runtime.record-metric", rt_record_metric, 4, 0, RET),
    {"rt-record-metric-long-name", "runtime.record-metric", inv_rt_record_metric, 4,
     {T(T_LONGA_P), T(T_LONGA_L), 0, RET}},
    {"rt-record-metric-ret-far", "runtime.record-metric", inv_rt_record_metric, 4,
     {OK, 0, RET_FAR}},
    STRING_CASES("rt-record-event", "runtime.record-event", rt_record_event, 4, OK, RET),
    {"rt-record-event-data-over-limit", "runtime.record-event", inv_rt_record_event, 4,
     {OK, BIG, RET}},
    {"get-theater-version-ret-far", "runtime.get-theater-version", inv_rt_get_theater_version, 0,
     {RET_FAR}},
    {"get-system-info-ret-odd", "runtime.get-system-info", inv_rt_get_system_info, 0, {RET_ODD}},
    /* runtime-ext */
    {"actor-id-ret-far", "runtime-ext.actor-id", inv_rx_actor_id, 0, {RET_FAR}},
    {"actor-name-ret-odd", "runtime-ext.actor-name", inv_rx_actor_name, 0, {RET_ODD}},
    {"now-ok", "runtime-ext.now", inv_rx_now, 0, {0}},
    STRING_CASES("get-env", "runtime-ext.get-env", rx_get_env, 0, RET),
    {"get-env-max-length", "runtime-ext.get-env", inv_rx_get_env, 0, {MAXSTR, RET}},
    {"get-env-ret-far", "runtime-ext.get-env", inv_rx_get_env, 0, {OK, RET_FAR}},
    {"log-at-bad-level", "runtime-ext.log-at", inv_rx_log_at, 0, {99, OK}},
    STRING_CASES("log-at", "runtime-ext.log-at", rx_log_at_msg, 0, 0),
    STRING_CASES("record-metric", "runtime-ext.record-metric", rx_record_metric, 0, 0),
    {"record-metric-max-name", "runtime-ext.record-metric", inv_rx_record_metric, 0, {MAXSTR, 0}},
    STRING_CASES("record-event", "runtime-ext.record-event", rx_record_event, 4, OK, RET),
    {"record-event-long-type", "runtime-ext.record-event", inv_rx_record_event, 4,
     {T(T_LONGA_P), T(T_LONGA_L), OK, RET}},
    {"record-event-data-over-limit", "runtime-ext.record-event", inv_rx_record_event, 4,
     {OK, BIG, RET}},
    {"record-event-data-max", "runtime-ext.record-event", inv_rx_record_event, 4,
     {OK, MAXSTR, RET}},
    {"theater-version-ret-far", "runtime-ext.theater-version", inv_rx_theater_version, 0,
     {RET_FAR}},
    {"system-info-ret-odd", "runtime-ext.system-info", inv_rx_system_info, 0, {RET_ODD}},
    /* environment */
    STRING_CASES("env-get-var", "environment.get-var", env_get_var, 0, RET),
    {"env-get-var-max-length", "environment.get-var", inv_env_get_var, 0, {MAXSTR, RET}},
    {"env-list-vars-ret-far", "environment.list-vars", inv_env_list_vars, 0, {RET_FAR}},
    STRING_CASES("env-exists", "environment.exists", env_exists, 0, 0),
    {"env-exists-max-length", "environment.exists", inv_env_exists, 0, {MAXSTR}},
    /* filesystem */
    STRING_CASES("fs-read-file", "filesystem.read-file", fs_read_file, 4, RET),
    {"fs-read-file-max-path", "filesystem.read-file", inv_fs_read_file, 4, {MAXSTR, RET}},
    {"fs-read-file-ret-odd", "filesystem.read-file", inv_fs_read_file, 4, {OK, RET_ODD}},
    {"fs-write-file-content-over-limit", "filesystem.write-file", inv_fs_write_file, 4,
     {OK, BIG, RET}},
    {"fs-write-file-content-max", "filesystem.write-file", inv_fs_write_file, 4, {OK, MAXSTR, RET}},
    STRING_CASES("fs-write-file", "filesystem.write-file", fs_write_file, 4, OK, RET),
    STRING_CASES("fs-list-files", "filesystem.list-files", fs_list_files, 4, RET),
    STRING_CASES("fs-delete-file", "filesystem.delete-file", fs_delete_file, 4, RET),
    STRING_CASES("fs-create-dir", "filesystem.create-dir", fs_create_dir, 4, RET),
    {"fs-create-dir-max-path", "filesystem.create-dir", inv_fs_create_dir, 4, {MAXSTR, RET}},
    STRING_CASES("fs-delete-dir", "filesystem.delete-dir", fs_delete_dir, 4, RET),
    STRING_CASES("fs-path-exists", "filesystem.path-exists", fs_path_exists, 8, RET),
    STRING_CASES("fs-execute-command", "filesystem.execute-command",
                 fs_execute_command, 4, OK, 0, 0, RET),
    {"fs-execute-command-huge-args", "filesystem.execute-command", inv_fs_execute_command, 4,
     {OK, OK, STRS, RET}},
    {"fs-execute-command-args-far", "filesystem.execute-command", inv_fs_execute_command, 4,
     {OK, OK, FAR, RET}},
    STRING_CASES("fs-execute-nix-command", "filesystem.execute-nix-command",
                 fs_execute_nix_command, 4, OK, RET),
    /* http-client: (method, uri, headers, body) */
    {"http-send-method-far", "http-client.send-http", inv_hc_send_http, 4,
     {FAR, OK, 0, 0, NONE3, RET}},
    {"http-send-uri-invalid-utf8", "http-client.send-http", inv_hc_send_http, 4,
     {OK, CONT, 0, 0, NONE3, RET}},
    {"http-send-huge-headers", "http-client.send-http", inv_hc_send_http, 4,
     {OK, OK, PAIRS, NONE3, RET}},
    {"http-send-body-over-limit", "http-client.send-http", inv_hc_send_http, 4,
     {OK, OK, 0, 0, 1, BIG, RET}},
    {"http-send-uri-max", "http-client.send-http", inv_hc_send_http, 4,
     {OK, MAXSTR, 0, 0, NONE3, RET}},
    {"http-send-bad-body-tag", "http-client.send-http", inv_hc_send_http, 4,
     {OK, OK, 0, 0, 9, 0, 0, RET}},
    /* http-framework: ids nobody was given, strings at the edges */
    {"hf-create-server-host-far", "http-framework.create-server", inv_hf_create_server, 8,
     {0, 0, 1, FAR, 0, 0, 0, 0, 0, RET}},
    {"hf-create-server-host-max", "http-framework.create-server", inv_hf_create_server, 8,
     {0, 0, 1, MAXSTR, 0, 0, 0, 0, 0, RET}},
    {"hf-create-server-tls-invalid-utf8", "http-framework.create-server", inv_hf_create_server, 8,
     {0, 0, 0, 0, 0, 1, CONT, OK, RET}},
    {"hf-create-server-bad-port-tag", "http-framework.create-server", inv_hf_create_server, 8,
     {5, 0, 0, 0, 0, 0, 0, 0, 0, 0, RET}},
    {"hf-get-server-info-bogus-id", "http-framework.get-server-info", inv_hf_get_server_info, 8,
     {0xFFFFFFFFFFFFFFFFull, RET}},
    {"hf-start-server-bogus-id", "http-framework.start-server", inv_hf_start_server, 4,
     {12345, RET}},
    {"hf-stop-server-bogus-id", "http-framework.stop-server", inv_hf_stop_server, 4, {0, RET}},
    {"hf-destroy-server-bogus-id", "http-framework.destroy-server", inv_hf_destroy_server, 4,
     {0xFFFFFFFFFFFFFFFFull, RET}},
    STRING_CASES("hf-register-handler", "http-framework.register-handler",
                 hf_register_handler, 8, RET),
    {"hf-register-handler-max", "http-framework.register-handler", inv_hf_register_handler, 8,
     {MAXSTR, RET}},
    {"hf-add-route-bogus-ids", "http-framework.add-route", inv_hf_add_route, 8,
     {999, OK, OK, 999, RET}},
    {"hf-add-route-path-far", "http-framework.add-route", inv_hf_add_route, 8,
     {999, FAR, OK, 999, RET}},
    {"hf-remove-route-bogus-id", "http-framework.remove-route", inv_hf_remove_route, 4,
     {0xFFFFFFFFFFFFFFFFull, RET}},
    {"hf-add-middleware-bogus-ids", "http-framework.add-middleware", inv_hf_add_middleware, 8,
     {999, OK, 999, RET}},
    {"hf-remove-middleware-bogus-id", "http-framework.remove-middleware",
     inv_hf_remove_middleware, 4, {999, RET}},
    {"hf-enable-websocket-bogus-ids", "http-framework.enable-websocket", inv_hf_enable_websocket, 4,
     {999, OK, 1, 999, 999, 1, 999, RET}},
    {"hf-enable-websocket-bad-option-tag", "http-framework.enable-websocket",
     inv_hf_enable_websocket, 4, {999, OK, 3, 0, 999, 0, 0, RET}},
    {"hf-disable-websocket-bogus-id", "http-framework.disable-websocket",
     inv_hf_disable_websocket, 4, {999, OK, RET}},
    {"hf-send-websocket-message-bogus-ids", "http-framework.send-websocket-message",
     inv_hf_send_websocket_message, 4, {999, 999, 0, 0, 0, 1, OK, 1, OK, RET}},
    {"hf-send-websocket-message-bad-type", "http-framework.send-websocket-message",
     inv_hf_send_websocket_message, 4, {999, 999, 77, 0, 0, NONE3, NONE3, RET}},
    {"hf-send-websocket-message-data-over-limit", "http-framework.send-websocket-message",
     inv_hf_send_websocket_message, 4, {999, 999, 1, 0, 0, 1, BIG, NONE3, RET}},
    /* A guest creating without end: each kind of object is capped per actor. */
    {"hf-create-server-flood", "http-framework.create-server",
     inv_hf_create_server, 8, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, RET}, 100000},
    {"hf-register-handler-flood", "http-framework.register-handler",
     inv_hf_register_handler, 8, {OK, RET}, 100000},
    {"hf-add-route-flood", "http-framework.add-route",
     inv_hf_add_route, 8,
     {T(T_SERVER), T(T_PATH_P), T(T_PATH_L), T(T_OK_P), 3, T(T_HANDLER), RET}, 100000},
    {"hf-add-middleware-flood", "http-framework.add-middleware",
     inv_hf_add_middleware, 8,
     {T(T_SERVER), T(T_PATH_P), T(T_PATH_L), T(T_HANDLER), RET}, 100000},
    {"hf-enable-websocket-flood", "http-framework.enable-websocket",
     inv_hf_enable_websocket, 4,
     {T(T_SERVER), T(T_PATH_P), T(T_PATH_L), 0, 0, T(T_HANDLER), 0, 0, RET}, 100000},
    {"hf-start-server-real", "http-framework.start-server",
     inv_hf_start_server, 4, {T(T_SERVER), RET}},
    {"hf-close-websocket-bogus-ids", "http-framework.close-websocket", inv_hf_close_websocket, 4,
     {999, 999, RET}},
    /* message-server-host */
    STRING_CASES("ms-send", "message-server-host.send", ms_send, 4, OK, RET),
    {"ms-send-max-id", "message-server-host.send", inv_ms_send, 4, {MAXSTR, OK, RET}},
    {"ms-send-unknown-actor", "message-server-host.send", inv_ms_send, 4, {UUID, OK, RET}},
    {"ms-send-msg-over-limit", "message-server-host.send", inv_ms_send, 4, {UUID, BIG, RET}},
    {"ms-request-unknown-actor", "message-server-host.request", inv_ms_request, 4, {UUID, OK, RET}},
    {"ms-request-max-id", "message-server-host.request", inv_ms_request, 4, {MAXSTR, OK, RET}},
    {"ms-request-msg-far", "message-server-host.request", inv_ms_request, 4, {UUID, FAR, RET}},
    {"ms-open-channel-unknown-actor", "message-server-host.open-channel", inv_ms_open_channel, 4,
     {UUID, OK, RET}},
    {"ms-open-channel-max-id", "message-server-host.open-channel", inv_ms_open_channel, 4,
     {MAXSTR, OK, RET}},
    {"ms-send-on-channel-bogus", "message-server-host.send-on-channel", inv_ms_send_on_channel, 4,
     {OK, OK, RET}},
    {"ms-send-on-channel-max-id", "message-server-host.send-on-channel", inv_ms_send_on_channel, 4,
     {MAXSTR, OK, RET}},
    {"ms-send-on-channel-invalid-utf8", "message-server-host.send-on-channel",
     inv_ms_send_on_channel, 4, {SURROGATE, OK, RET}},
    {"ms-close-channel-bogus", "message-server-host.close-channel", inv_ms_close_channel, 4,
     {UUID, RET}},
    {"ms-close-channel-max-id", "message-server-host.close-channel", inv_ms_close_channel, 4,
     {MAXSTR, RET}},
    {"ms-list-outstanding-ret-far", "message-server-host.list-outstanding-requests",
     inv_ms_list_outstanding_requests, 0, {RET_FAR}},
    {"ms-respond-bogus-request", "message-server-host.respond-to-request",
     inv_ms_respond_to_request, 4, {UUID, OK, RET}},
    {"ms-respond-max-id", "message-server-host.respond-to-request", inv_ms_respond_to_request, 4,
     {MAXSTR, OK, RET}},
    {"ms-respond-response-over-limit", "message-server-host.respond-to-request",
     inv_ms_respond_to_request, 4, {UUID, BIG, RET}},
    {"ms-cancel-bogus-request", "message-server-host.cancel-request", inv_ms_cancel_request, 4,
     {UUID, RET}},
    {"ms-cancel-max-id", "message-server-host.cancel-request", inv_ms_cancel_request, 4,
     {MAXSTR, RET}},
    /* process: (program, args, cwd?, env, buffer-size, stdout-mode, stderr-mode, chunk-size?,
     * execution-timeout?) */
    {"os-spawn-program-far", "process.os-spawn", inv_pr_os_spawn, 8,
     {FAR, 0, 0, NONE3, 0, 0, 1024, 0, 0, 0, 0, 0, 0, RET}},
    {"os-spawn-program-max", "process.os-spawn", inv_pr_os_spawn, 8,
     {MAXSTR, 0, 0, NONE3, 0, 0, 1024, 0, 0, 0, 0, 0, 0, RET}},
    {"os-spawn-huge-args", "process.os-spawn", inv_pr_os_spawn, 8,
     {OK, STRS, NONE3, 0, 0, 1024, 0, 0, 0, 0, 0, 0, RET}},
    {"os-spawn-huge-env", "process.os-spawn", inv_pr_os_spawn, 8,
     {OK, 0, 0, NONE3, PAIRS, 1024, 0, 0, 0, 0, 0, 0, RET}},
    {"os-spawn-cwd-invalid-utf8", "process.os-spawn", inv_pr_os_spawn, 8,
     {OK, 0, 0, 1, OVERLONG, 0, 0, 1024, 0, 0, 0, 0, 0, 0, RET}},
    {"os-spawn-bad-mode", "process.os-spawn", inv_pr_os_spawn, 8,
     {OK, 0, 0, NONE3, 0, 0, 1024, 9, 0, 0, 0, 0, 0, RET}},
    {"os-spawn-huge-buffer", "process.os-spawn", inv_pr_os_spawn, 8,
     {OK, 0, 0, NONE3, 0, 0, 0xFFFFFFFFu, 0, 0, 1, 0xFFFFFFFFu, 1, 0xFFFFFFFFFFFFFFFFull, RET}},
    {"os-spawn-ret-far", "process.os-spawn", inv_pr_os_spawn, 8,
     {OK, 0, 0, NONE3, 0, 0, 1024, 0, 0, 0, 0, 0, 0, RET_FAR}},
    {"os-write-stdin-bogus-pid", "process.os-write-stdin", inv_pr_os_write_stdin, 4,
     {0xFFFFFFFFFFFFFFFFull, OK, RET}},
    {"os-write-stdin-data-over-limit", "process.os-write-stdin", inv_pr_os_write_stdin, 4,
     {1, BIG, RET}},
    {"os-status-bogus-pid", "process.os-status", inv_pr_os_status, 8, {0, RET}},
    {"os-signal-bogus", "process.os-signal", inv_pr_os_signal, 4, {1, 0xFFFFFFFFu, RET}},
    {"os-kill-bogus-pid", "process.os-kill", inv_pr_os_kill, 4, {0xFFFFFFFFFFFFFFFFull, RET}},
    /* random */
    {"random-bytes-huge", "random.random-bytes", inv_rn_random_bytes, 4, {0xFFFFFFFFu, RET}},
    {"random-bytes-ret-far", "random.random-bytes", inv_rn_random_bytes, 4, {16, RET_FAR}},
    {"random-range-inverted", "random.random-range", inv_rn_random_range, 8,
     {0xFFFFFFFFFFFFFFFFull, 0, RET}},
    {"random-float-ret-odd", "random.random-float", inv_rn_random_float, 8, {RET_ODD}},
    {"generate-uuid-ret-far", "random.generate-uuid", inv_rn_generate_uuid, 4, {RET_FAR}},
    /* store */
    {"store-new-ret-far", "store.new", inv_st_new, 4, {RET_FAR}},
    STRING_CASES("store-store-id", "store.store", st_store, 4, OK, RET),
    {"store-store-bogus-id", "store.store", inv_st_store, 4, {UUID, OK, RET}},
    {"store-store-content-over-limit", "store.store", inv_st_store, 4, {UUID, BIG, RET}},
    {"store-get-bogus-ref", "store.get", inv_st_get, 4, {UUID, T(T_BADREF_P), 0, RET}},
    {"store-get-unknown-hash", "store.get", inv_st_get, 4, {UUID, HASH, RET}},
    {"store-get-ref-invalid-utf8", "store.get", inv_st_get, 4, {UUID, CONT, RET}},
    {"store-exists-max-hash", "store.exists", inv_st_exists, 4, {UUID, MAXSTR, RET}},
    {"store-label-max-label", "store.label", inv_st_label, 4, {UUID, MAXSTR, HASH, RET}},
    {"store-get-by-label-far", "store.get-by-label", inv_st_get_by_label, 4, {UUID, FAR, RET}},
    {"store-remove-label-bogus", "store.remove-label", inv_st_remove_label, 4, {UUID, OK, RET}},
    {"store-remove-from-label-bogus", "store.remove-from-label", inv_st_remove_from_label, 4,
     {UUID, OK, HASH, RET}},
    {"store-store-at-label-content-over-limit", "store.store-at-label", inv_st_store_at_label, 4,
     {UUID, OK, BIG, RET}},
    {"store-replace-content-at-label-max-label", "store.replace-content-at-label",
     inv_st_replace_content_at_label, 4, {UUID, MAXSTR, OK, RET}},
    {"store-replace-at-label-bogus", "store.replace-at-label", inv_st_replace_at_label, 4,
     {UUID, OK, HASH, RET}},
    {"store-list-labels-max-id", "store.list-labels", inv_st_list_labels, 4, {MAXSTR, RET}},
    {"store-list-all-content-bogus", "store.list-all-content", inv_st_list_all_content, 4,
     {UUID, RET}},
    {"store-calculate-total-size-surrogate", "store.calculate-total-size",
     inv_st_calculate_total_size, 8, {SURROGATE, RET}},
    /* supervisor: every guest-reachable spawn path */
    STRING_CASES("spawn-manifest", "supervisor.spawn", sv_spawn, 4, NONE3, RET),
    {"spawn-manifest-max", "supervisor.spawn", inv_sv_spawn, 4, {MAXSTR, NONE3, RET}},
    {"spawn-long-reference", "supervisor.spawn", inv_sv_spawn, 4,
     {T(T_LONGA_P), T(T_LONGA_L), NONE3, RET}},
    {"spawn-deep-toml", "supervisor.spawn", inv_sv_spawn, 4,
     {T(T_DEEP_TOML_P), T(T_DEEP_TOML_L), NONE3, RET}},
    {"spawn-manifest-over-1mib", "supervisor.spawn", inv_sv_spawn, 4,
     {T(T_BIG_MANIFEST_P), T(T_BIG_MANIFEST_L), NONE3, RET}},
    {"spawn-param", "supervisor.spawn", inv_sv_spawn, 4, {PARAM, NONE3, RET}},
    {"spawn-state-json-129", "supervisor.spawn", inv_sv_spawn, 4,
     {PARAM, 1, T(T_JSON_129_P), T(T_JSON_129_L), RET}},
    {"spawn-state-json-1m", "supervisor.spawn", inv_sv_spawn, 4,
     {PARAM, 1, T(T_JSON_1M_P), T(T_JSON_1M_L), RET}},
    {"spawn-state-json-128", "supervisor.spawn", inv_sv_spawn, 4,
     {PARAM, 1, T(T_JSON_128_P), T(T_JSON_128_L), RET}},
    {"spawn-state-over-limit", "supervisor.spawn", inv_sv_spawn, 4, {PARAM, 1, BIG, RET}},
    {"spawn-state-far", "supervisor.spawn", inv_sv_spawn, 4, {PARAM, 1, FAR, RET}},
    {"spawn-bad-option-tag", "supervisor.spawn", inv_sv_spawn, 4, {PARAM, 2, 0, 0, RET}},
    {"spawn-ret-far", "supervisor.spawn", inv_sv_spawn, 4, {PARAM, NONE3, RET_FAR}},
    STRING_CASES("resume-manifest", "supervisor.resume", sv_resume, 4, NONE3, RET),
    {"resume-param", "supervisor.resume", inv_sv_resume, 4, {PARAM, NONE3, RET}},
    {"resume-deep-toml", "supervisor.resume", inv_sv_resume, 4,
     {T(T_DEEP_TOML_P), T(T_DEEP_TOML_L), NONE3, RET}},
    {"resume-state-json-1m", "supervisor.resume", inv_sv_resume, 4,
     {PARAM, 1, T(T_JSON_1M_P), T(T_JSON_1M_L), RET}},
    {"resume-state-over-limit", "supervisor.resume", inv_sv_resume, 4, {PARAM, 1, BIG, RET}},
    {"list-children-ret-far", "supervisor.list-children", inv_sv_list_children, 0, {RET_FAR}},
    {"stop-child-bogus", "supervisor.stop-child", inv_sv_stop_child, 4, {UUID, RET}},
    {"stop-child-max-id", "supervisor.stop-child", inv_sv_stop_child, 4, {MAXSTR, RET}},
    {"restart-child-bogus", "supervisor.restart-child", inv_sv_restart_child, 4, {UUID, RET}},
    {"restart-child-invalid-utf8", "supervisor.restart-child", inv_sv_restart_child, 4,
     {CONT, RET}},
    {"get-child-state-bogus", "supervisor.get-child-state", inv_sv_get_child_state, 4, {UUID, RET}},
    {"get-child-state-max-id", "supervisor.get-child-state", inv_sv_get_child_state, 4,
     {MAXSTR, RET}},
    {"get-child-events-bogus", "supervisor.get-child-events", inv_sv_get_child_events, 4,
     {UUID, RET}},
    {"get-child-events-far", "supervisor.get-child-events", inv_sv_get_child_events, 4, {FAR, RET}},
    /* timing */
    {"timing-now-ok", "timing.now", inv_tm_now, 0, {0}},
    {"sleep-forever", "timing.sleep", inv_tm_sleep, 4, {0xFFFFFFFFFFFFFFFFull, RET}},
    /* Refused before it sleeps: the return area is checked before the call is served. */
    {"sleep-ret-far", "timing.sleep", inv_tm_sleep, 4, {3000, RET_FAR}},
    {"sleep-over-deadline", "timing.sleep", inv_tm_sleep, 4, {300000, RET}},
    {"deadline-far-future", "timing.deadline", inv_tm_deadline, 4, {0xFFFFFFFFFFFFFFFFull, RET}},
    /* WASI preview 1 (return codes: 8 badf, 21 fault, 28 inval) */
    {"fd-write-iov-bomb", "wasi_snapshot_preview1.fd_write", inv_w_fd_write, 0,
     {1, T(T_IOV_BOMB), 1024, RET}},
    {"fd-write-iovs-far", "wasi_snapshot_preview1.fd_write", inv_w_fd_write, 0,
     {1, 0xFFFFFFF8u, 1, RET}},
    {"fd-write-too-many-iovs", "wasi_snapshot_preview1.fd_write", inv_w_fd_write, 0,
     {1, 0, 0xFFFFFFFFu, RET}},
    {"fd-write-nwritten-far", "wasi_snapshot_preview1.fd_write", inv_w_fd_write, 0,
     {1, 0, 0, 0xFFFFFFFFu}},
    {"fd-write-bad-fd", "wasi_snapshot_preview1.fd_write", inv_w_fd_write, 0, {99, 0, 0, RET}},
    {"fd-close-stdout", "wasi_snapshot_preview1.fd_close", inv_w_fd_close, 0, {1}},
    {"fd-seek-bogus", "wasi_snapshot_preview1.fd_seek", inv_w_fd_seek, 0,
     {0xFFFFFFFFu, 0x7FFFFFFFFFFFFFFFull, 99, 0xFFFFFFFFu}},
    {"fd-fdstat-get-far", "wasi_snapshot_preview1.fd_fdstat_get", inv_w_fd_fdstat_get, 0,
     {1, T(T_MEM_END)}},
    {"environ-sizes-get-far", "wasi_snapshot_preview1.environ_sizes_get",
     inv_w_environ_sizes_get, 0, {0xFFFFFFFFu, 0xFFFFFFFFu}},
    {"environ-get-far", "wasi_snapshot_preview1.environ_get", inv_w_environ_get, 0,
     {0xFFFFFFFFu, 0xFFFFFFFFu}},
    {"args-sizes-get-far", "wasi_snapshot_preview1.args_sizes_get", inv_w_args_sizes_get, 0,
     {T(T_MEM_END), 0}},
    {"args-get-far", "wasi_snapshot_preview1.args_get", inv_w_args_get, 0,
     {0xFFFFFFFFu, 0xFFFFFFFFu}},
    {"proc-exit", "wasi_snapshot_preview1.proc_exit", inv_w_proc_exit, 0, {0xFFFFFFFFu}},
    {"clock-time-get-far", "wasi_snapshot_preview1.clock_time_get", inv_w_clock_time_get, 0,
     {0xFFFFFFFFu, 0xFFFFFFFFFFFFFFFFull, T(T_MEM_END)}},
    {"random-get-huge", "wasi_snapshot_preview1.random_get", inv_w_random_get, 0, {0, 0xFFFFFFFFu}},
    {"random-get-wrapping", "wasi_snapshot_preview1.random_get", inv_w_random_get, 0, {WRAP}},
    {"random-get-over-limit", "wasi_snapshot_preview1.random_get", inv_w_random_get, 0, {BIG}},
};
/* clang-format on */
#define CASE_COUNT (sizeof kCases / sizeof kCases[0])

/* ---- running them -------------------------------------------------------------------------- */

static void reply_text(theater_option_bytes_t* response, theater_string_t s) {
  theater_state_adopt(response, (uint8_t*)s.ptr, s.len);
}

static void run_case(const hostile_case_t* c, theater_option_bytes_t* response) {
  u64 args[17];
  int64_t rc = 0;
  const uint8_t* ret = (const uint8_t*)ret_area;
  for (uint32_t call = 0; call < (c->repeat ? c->repeat : 1); ++call) {
    for (size_t i = 0; i < 17; ++i) args[i] = resolve(c->args[i]);
    memset(ret_area, 0, sizeof ret_area);
    rc = c->invoke(args);
    if (c->err_off && ret[0] == 1) break;
  }
  if (c->err_off && ret[0] == 1) {
    theater_string_t err;
    memcpy(&err, ret + c->err_off, sizeof err);
    if (err.len <= 500) {
      reply_text(response, theater_format("err(%zu bytes):%.*s", err.len, (int)err.len, err.ptr));
    } else { /* the start and the end, where a cut error says so */
      reply_text(response, theater_format("err(%zu bytes):%.*s[...]%.*s", err.len, 200, err.ptr,
                                          300, err.ptr + err.len - 300));
    }
  } else if (c->err_off) {
    reply_text(response, theater_format("ok"));
  } else {
    uint32_t out;
    memcpy(&out, ret, sizeof out);
    reply_text(response, theater_format("rc=%lld out=%u", (long long)rc, out));
  }
}

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  (void)state;
  (void)actor_id;
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)

static bool starts_with(theater_bytes_t msg, const char* prefix) {
  size_t n = strlen(prefix);
  return msg.len >= n && memcmp(msg.ptr, prefix, n) == 0;
}

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)state;
  (void)request_id;
  if (starts_with(msg, "ping")) {
    reply_text(response, theater_format("pong"));
  } else if (starts_with(msg, "list")) {
    size_t len = 0;
    for (size_t i = 0; i < CASE_COUNT; ++i) {
      len += strlen(kCases[i].name) + strlen(kCases[i].target) + 2;
    }
    char* out = (char*)theater_xmalloc(len + 1);
    size_t at = 0;
    for (size_t i = 0; i < CASE_COUNT; ++i) {
      at += (size_t)snprintf(out + at, len + 1 - at, "%s %s\n", kCases[i].name, kCases[i].target);
    }
    theater_state_adopt(response, (uint8_t*)out, at);
  } else if (starts_with(msg, "run:")) {
    const char* name = (const char*)msg.ptr + 4;
    size_t name_len = msg.len - 4;
    const char* nl = memchr(name, '\n', name_len);
    if (nl) {
      param.ptr = (char*)nl + 1;
      param.len = name_len - (size_t)(nl + 1 - name);
      name_len = (size_t)(nl - name);
    }
    for (size_t i = 0; i < CASE_COUNT; ++i) {
      if (strlen(kCases[i].name) == name_len && memcmp(kCases[i].name, name, name_len) == 0) {
        run_case(&kCases[i], response);
        return theater_ok();
      }
    }
    reply_text(response, theater_format("unknown case %.*s", (int)name_len, name));
  } else {
    reply_text(response, theater_format("unknown request"));
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)
