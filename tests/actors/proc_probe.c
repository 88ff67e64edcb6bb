/* proc_probe: a test actor for the process handler (theater:simple/process and the callbacks of
 * theater:simple/process-handlers), driven by text commands sent as requests. Fields are
 * separated by ':'; the last field of each command takes the rest of the message. Each command
 * replies with its result, or "error:<why>":
 *   spawn:<out>:<err>:<buffer>:<chunk|->:<timeout|->:<cwd|->:<env|->:<program>[:<arg>...]
 *                                 os-spawn → "id=<n>". <out>/<err>: raw, line, json, chunked;
 *                                 <env>: NAME=VALUE pairs separated by ','
 *   write:<id>:<data>             os-write-stdin → "wrote=<n>" (empty data: end of file)
 *   status:<id>                   os-status → "pid=<n> running=<0|1> exit=<code|none> start=<ms>"
 *   signal:<id>:<signal>          os-signal → "ok"
 *   kill:<id>                     os-kill → "ok"
 *   log                           what the callbacks received, one line per callback:
 *                                 "o:<id>:<piece>", "e:<id>:<piece>", "x:<id>:<code>" (newlines,
 *                                 backslashes and bytes outside printable ASCII escaped)
 *   stats                         "out=<bytes> err=<bytes> pieces=<n> exits=<n> maxpiece=<n>"
 *   clear                         empties the log and the counters
 * The log lives in a global buffer, not in the state (which the host copies on every call), and
 * stops growing at 256 KiB; the counters always count. The SDK has no process header yet, so the
 * imports and the callbacks are declared here.
 */
#include <stdlib.h>
#include <theater/theater.h>

#include "probe_util.h"

#define PROC_IFACE "theater:simple/process"
#define PROC_HANDLERS_IFACE "theater:simple/process-handlers"

/* process-status = record { pid: u64, running: bool, exit-code: option<s32>, start-time: u64 } */
typedef struct {
  uint64_t pid;
  bool running;
  struct {
    bool is_some;
    int32_t val;
  } exit_code;
  uint64_t start_time;
} proc_status_t;
THEATER_ABI_CHECK(proc_status_t, 32, 8);
THEATER_ABI_CHECK_OFFSET(proc_status_t, start_time, 24);
THEATER_DEFINE_RESULT(proc_result_status_t, proc_status_t);
THEATER_ABI_CHECK(proc_result_status_t, 40, 8);

/* os-spawn's process-config flattens to exactly 16 core values, so it travels flat. */
THEATER_IMPORT(PROC_IFACE, "os-spawn")
void proc_os_spawn(const char* program, size_t program_len, const theater_string_t* args,
                   size_t args_len, int32_t cwd_tag, const char* cwd, size_t cwd_len,
                   const theater_string_pair_t* env, size_t env_len, uint32_t buffer_size,
                   int32_t stdout_mode, int32_t stderr_mode, int32_t chunk_tag, uint32_t chunk,
                   int32_t timeout_tag, int64_t timeout, theater_result_u64_t* ret);
THEATER_IMPORT(PROC_IFACE, "os-write-stdin")
void proc_os_write_stdin(uint64_t id, const uint8_t* data, size_t len, theater_result_u32_t* ret);
THEATER_IMPORT(PROC_IFACE, "os-status")
void proc_os_status(uint64_t id, proc_result_status_t* ret);
THEATER_IMPORT(PROC_IFACE, "os-signal")
void proc_os_signal(uint64_t id, uint32_t sig, theater_result_t* ret);
THEATER_IMPORT(PROC_IFACE, "os-kill")
void proc_os_kill(uint64_t id, theater_result_t* ret);

/* ---- what the callbacks received ---- */

#define LOG_CAP (256 * 1024)
static char g_log[LOG_CAP];
static size_t g_log_len;
static uint64_t g_out, g_err, g_pieces, g_exits, g_maxpiece;

static void log_raw(const char* s, size_t n) {
  if (g_log_len + n > LOG_CAP) return;
  memcpy(g_log + g_log_len, s, n);
  g_log_len += n;
}

static void log_piece(char kind, uint64_t id, const uint8_t* data, size_t len) {
  char head[32];
  int n = snprintf(head, sizeof(head), "%c:%llu:", kind, (unsigned long long)id);
  log_raw(head, (size_t)n);
  for (size_t i = 0; i < len && g_log_len < LOG_CAP; i++) {
    uint8_t c = data[i];
    char esc[8];
    if (c == '\n') {
      log_raw("\\n", 2);
    } else if (c == '\\') {
      log_raw("\\\\", 2);
    } else if (c < 0x20 || c > 0x7e) {
      int m = snprintf(esc, sizeof(esc), "\\x%02x", c);
      log_raw(esc, (size_t)m);
    } else {
      log_raw((const char*)&c, 1);
    }
  }
  log_raw("\n", 1);
}

static theater_result_t on_output(char kind, uint64_t id, theater_bytes_t data) {
  if (kind == 'o') {
    g_out += data.len;
  } else {
    g_err += data.len;
  }
  g_pieces++;
  if (data.len > g_maxpiece) g_maxpiece = data.len;
  log_piece(kind, id, data.ptr, data.len);
  return theater_ok();
}

/* handle-stdout / handle-stderr: func(state, params: tuple<u64, list<u8>>)
 * core: (i32 st_tag, i32 st_ptr, i32 st_len, i64 id, i32 ptr, i32 len) -> i32 */
#define PROC_OUTPUT_EXPORT(cname, fname, kind)                                                \
  THEATER_EXPORT(PROC_HANDLERS_IFACE "#" fname)                                               \
  theater__ret_state_t* cname(THEATER__STATE_PARAMS, uint64_t id, uint8_t* ptr, size_t len) { \
    static theater__ret_state_t area;                                                         \
    theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);        \
    theater_bytes_t data = theater__lift_bytes(ptr, len);                                     \
    theater_result_t r = on_output(kind, id, data);                                           \
    theater_bytes_free(&data);                                                                \
    return theater__finish_state(&area, r, &state);                                           \
  }                                                                                           \
  THEATER__POST_STATE(cname, PROC_HANDLERS_IFACE "#" fname)

PROC_OUTPUT_EXPORT(proc_handle_stdout, "handle-stdout", 'o')
PROC_OUTPUT_EXPORT(proc_handle_stderr, "handle-stderr", 'e')

/* handle-exit: func(state, params: tuple<u64, s32>) core: (i32, i32, i32, i64, i32) -> i32 */
THEATER_EXPORT(PROC_HANDLERS_IFACE "#handle-exit")
theater__ret_state_t* proc_handle_exit(THEATER__STATE_PARAMS, uint64_t id, int32_t code) {
  static theater__ret_state_t area;
  theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);
  char line[64];
  int n = snprintf(line, sizeof(line), "x:%llu:%d\n", (unsigned long long)id, (int)code);
  log_raw(line, (size_t)n);
  g_exits++;
  return theater__finish_state(&area, theater_ok(), &state);
}
THEATER__POST_STATE(proc_handle_exit, PROC_HANDLERS_IFACE "#handle-exit")

/* ---- commands ---- */

static uint64_t to_u64(field_t f) {
  char buf[32];
  size_t n = f.len < sizeof(buf) - 1 ? f.len : sizeof(buf) - 1;
  memcpy(buf, f.ptr, n);
  buf[n] = '\0';
  return strtoull(buf, NULL, 10);
}

static int mode_of(field_t f) {
  if (is(f, "raw")) return 0;
  if (is(f, "line")) return 1;
  if (is(f, "json")) return 2;
  if (is(f, "chunked")) return 3;
  return -1;
}

static theater_result_t do_spawn(const char* text, size_t len, theater_option_bytes_t* response) {
  /* spawn:<out>:<err>:<buffer>:<chunk>:<timeout>:<cwd>:<env>:<program>:<args...> */
  field_t f[40];
  size_t n = fields(text, len, f, 40);
  if (n < 9) return theater_err("spawn needs at least 8 fields");
  int out_mode = mode_of(f[1]), err_mode = mode_of(f[2]);
  if (out_mode < 0 || err_mode < 0) return theater_err("unknown output mode");
  uint32_t buffer = (uint32_t)to_u64(f[3]);
  bool has_chunk = !is(f[4], "-");
  uint32_t chunk = has_chunk ? (uint32_t)to_u64(f[4]) : 0;
  bool has_timeout = !is(f[5], "-");
  uint64_t timeout = has_timeout ? to_u64(f[5]) : 0;
  bool has_cwd = !is(f[6], "-");
  theater_string_pair_t env[8];
  size_t env_len = 0;
  if (!is(f[7], "-")) {
    const char* p = f[7].ptr;
    const char* end = f[7].ptr + f[7].len;
    while (p < end && env_len < 8) {
      const char* comma = memchr(p, ',', (size_t)(end - p));
      if (!comma) comma = end;
      const char* eq = memchr(p, '=', (size_t)(comma - p));
      if (!eq) eq = comma;
      env[env_len].first.ptr = (char*)p;
      env[env_len].first.len = (size_t)(eq - p);
      env[env_len].second.ptr = (char*)(eq < comma ? eq + 1 : comma);
      env[env_len].second.len = eq < comma ? (size_t)(comma - eq - 1) : 0;
      env_len++;
      p = comma + 1;
    }
  }
  theater_string_t args[32];
  size_t args_len = 0;
  for (size_t i = 9; i < n && args_len < 32; i++) {
    args[args_len].ptr = (char*)f[i].ptr;
    args[args_len].len = f[i].len;
    args_len++;
  }
  theater_result_u64_t r;
  proc_os_spawn(f[8].ptr, f[8].len, args, args_len, has_cwd ? 1 : 0, has_cwd ? f[6].ptr : NULL,
                has_cwd ? f[6].len : 0, env, env_len, buffer, out_mode, err_mode, has_chunk ? 1 : 0,
                chunk, has_timeout ? 1 : 0, (int64_t)timeout, &r);
  if (r.is_err) {
    reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
    theater_string_free(&r.err);
  } else {
    reply(response, "id=%llu", (unsigned long long)r.ok);
  }
  return theater_ok();
}

PROBE_INIT("proc_probe")

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)state;
  (void)request_id;
  const char* text = (const char*)msg.ptr;
  field_t f[3];
  size_t n = fields(text, msg.len, f, 2);
  theater_result_t ru;
  if (n >= 1 && is(f[0], "spawn")) {
    return do_spawn(text, msg.len, response);
  } else if (n == 2 && is(f[0], "write")) {
    n = fields(text, msg.len, f, 3);
    if (n != 3) return theater_err("write needs an id and data");
    theater_result_u32_t r;
    proc_os_write_stdin(to_u64(f[1]), (const uint8_t*)f[2].ptr, f[2].len, &r);
    if (r.is_err) {
      reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
      theater_string_free(&r.err);
    } else {
      reply(response, "wrote=%u", (unsigned)r.ok);
    }
  } else if (n == 2 && is(f[0], "status")) {
    proc_result_status_t r;
    proc_os_status(to_u64(f[1]), &r);
    if (r.is_err) {
      reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
      theater_string_free(&r.err);
    } else if (r.ok.exit_code.is_some) {
      reply(response, "pid=%llu running=%d exit=%d start=%llu", (unsigned long long)r.ok.pid,
            r.ok.running ? 1 : 0, (int)r.ok.exit_code.val, (unsigned long long)r.ok.start_time);
    } else {
      reply(response, "pid=%llu running=%d exit=none start=%llu", (unsigned long long)r.ok.pid,
            r.ok.running ? 1 : 0, (unsigned long long)r.ok.start_time);
    }
  } else if (n == 2 && is(f[0], "signal")) {
    n = fields(text, msg.len, f, 3);
    if (n != 3) return theater_err("signal needs an id and a number");
    proc_os_signal(to_u64(f[1]), (uint32_t)to_u64(f[2]), &ru);
    reply_unit(response, &ru);
  } else if (n == 2 && is(f[0], "kill")) {
    proc_os_kill(to_u64(f[1]), &ru);
    reply_unit(response, &ru);
  } else if (n == 1 && is(f[0], "log")) {
    theater_state_set(response, g_log, g_log_len);
  } else if (n == 1 && is(f[0], "stats")) {
    reply(response, "out=%llu err=%llu pieces=%llu exits=%llu maxpiece=%llu",
          (unsigned long long)g_out, (unsigned long long)g_err, (unsigned long long)g_pieces,
          (unsigned long long)g_exits, (unsigned long long)g_maxpiece);
  } else if (n == 1 && is(f[0], "clear")) {
    g_log_len = 0;
    g_out = g_err = g_pieces = g_exits = g_maxpiece = 0;
    reply(response, "ok");
  } else {
    return theater_err("unknown command '%.*s'", (int)msg.len, text);
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)
