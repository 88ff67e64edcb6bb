/* runtime_probe: a test actor the runtime tests drive through handle-request commands.
 *
 * State: "<count>" followed by zero or more "|<note>" segments (notes record what the
 * supervisor callbacks heard). Commands (the request message, as text):
 *   count               count += 1; responds with the new count
 *   pad:<n>             appends a note of <n> 'x' bytes to the state (a large state); responds
 *                       with the state's new length
 *   echo:<text>         responds with <text> ("changed:<text>" when built with
 *                       PROBE_CHANGED_ECHO, the replay tests' other build)
 *   get-state           responds with runtime.get-state's view of the state
 *   sleep:<ms>          timing.sleep(ms); responds "slept" or the error
 *   spin                loops forever (the deadline or terminate must stop it)
 *   trap                executes `unreachable`
 *   err                 returns an error result
 *   grow                allocates 1 MiB blocks until malloc fails; responds with the count
 *   spawn:<manifest>    supervisor.spawn; responds with the child id or "error:<why>"
 *   children            supervisor.list-children, comma-separated
 *   stop-child:<id>     supervisor.stop-child; "ok" or "error:<why>"
 *   restart-child:<id>  supervisor.restart-child; "ok" or "error:<why>"
 *   child-state:<id>    supervisor.get-child-state; the state or "none" or "error:<why>"
 *   shutdown:<data>     runtime.shutdown(data); responds "ok" or "error:<why>"
 *   actor-id            runtime-ext.actor-id
 *   metric:<value>      runtime-ext.record-metric("probe", value)
 *   host-info           runtime-ext.system-info: "<cpus> <hostname>"
 *   random:<n>          random.random-bytes(n) as hex, or "error:<why>"
 *   uuid                random.generate-uuid
 *   env:<name>          environment.get-var; the value or "none"
 *   log-flood:<n>:<len> logs <n> lines of <len> bytes; responds "ok"
 *   event-flood:<n>:<len> records <n> custom events of <len> bytes; responds "<accepted> <refused>"
 *   guest-count         a counter kept only in the guest's memory (not the state), += 1; responds
 *                       with it (what hibernation must give back)
 *   guest-fill:<n>      fills <n> freshly allocated bytes with a pattern kept in the guest's
 *                       memory; responds with their checksum
 *   guest-sum           responds with the checksum of those bytes as they are now
 * init: a state of "fail-init" fails init, "trap-init" traps in it, and a JSON string
 * "spawn-in-init:<manifest>" spawns that child from init, "sleep-init:<ms>" sleeps that long in
 * init (timing.sleep) before it succeeds. Any other state becomes "0".
 */
#include <stdlib.h>
#include <theater/theater.h>

#include "probe_util.h"

static bool has_prefix(theater_bytes_t msg, const char* prefix, theater_string_t* rest) {
  size_t n = strlen(prefix);
  if (msg.len < n || memcmp(msg.ptr, prefix, n) != 0) return false;
  if (rest) {
    rest->ptr = (char*)msg.ptr + n;
    rest->len = msg.len - n;
  }
  return true;
}

static void respond_str(theater_option_bytes_t* response, const char* data, size_t len) {
  theater_state_set(response, data, len);
}

static uint64_t leading_count(theater_string_t s, size_t* digits) {
  uint64_t n = 0;
  size_t i = 0;
  while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') n = n * 10 + (uint64_t)(s.ptr[i++] - '0');
  *digits = i;
  return n;
}

static void spawn_child(theater_string_t manifest, theater_result_string_t* out) {
  theater_supervisor_spawn(manifest.ptr, manifest.len, false, NULL, 0, out);
}

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  (void)actor_id;
  theater_string_t s = theater_state_str(state);
  if (theater_string_eq(s, "\"fail-init\"")) return theater_err("init failed on purpose");
  if (theater_string_eq(s, "\"trap-init\"")) __builtin_trap();
  static const char kSleep[] = "\"sleep-init:";
  if (s.len > sizeof kSleep && memcmp(s.ptr, kSleep, sizeof kSleep - 1) == 0) {
    theater_result_t slept;
    theater_timing_sleep(strtoull(s.ptr + sizeof kSleep - 1, NULL, 10), &slept);
    if (slept.is_err) return slept;
    theater_state_set_str(state, "0");
    return theater_ok();
  }
  static const char kSpawn[] = "\"spawn-in-init:";
  if (s.len > sizeof kSpawn && memcmp(s.ptr, kSpawn, sizeof kSpawn - 1) == 0) {
    theater_string_t manifest = {s.ptr + sizeof kSpawn - 1, s.len - sizeof kSpawn};  // drop quotes
    theater_result_string_t child;
    spawn_child(manifest, &child);
    if (child.is_err) {
      theater_result_t r =
          theater_err("spawn in init failed: %.*s", (int)child.err.len, child.err.ptr);
      theater_result_string_free(&child);
      return r;
    }
    theater_string_t note = theater_format("0|spawned:%.*s", (int)child.ok.len, child.ok.ptr);
    theater_result_string_free(&child);
    theater_state_adopt(state, (uint8_t*)note.ptr, note.len);
    return theater_ok();
  }
  theater_state_set_str(state, "0");
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)

/* What lives only in the guest's linear memory (guest-count, guest-fill, guest-sum). */
static uint64_t guest_calls;
static uint8_t* guest_bytes;
static size_t guest_bytes_len;

static uint64_t guest_checksum(void) {
  uint64_t sum = 1469598103934665603ull;
  for (size_t i = 0; i < guest_bytes_len; i++) sum = (sum ^ guest_bytes[i]) * 1099511628211ull;
  return sum;
}

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)request_id;
  theater_string_t arg;
  if (has_prefix(msg, "guest-count", NULL)) {
    reply(response, "%llu", (unsigned long long)++guest_calls);
  } else if (has_prefix(msg, "guest-fill:", &arg)) {
    char* text = theater_string_to_cstr(arg);
    size_t n = (size_t)strtoull(text, NULL, 10);
    free(text);
    free(guest_bytes);
    guest_bytes = (uint8_t*)malloc(n);
    if (guest_bytes == NULL) return theater_err("guest-fill: out of memory");
    guest_bytes_len = n;
    /* Runs of zeros between runs of bytes: the shapes a hibernated image keeps compactly. */
    for (size_t i = 0; i < n; i++)
      guest_bytes[i] = (i / 97) % 3 == 0 ? 0 : (uint8_t)(i * 7 % 251 + 1);
    reply(response, "%llu", (unsigned long long)guest_checksum());
  } else if (has_prefix(msg, "guest-sum", NULL)) {
    reply(response, "%llu", (unsigned long long)guest_checksum());
  } else if (has_prefix(msg, "count", NULL)) {
    theater_string_t s = theater_state_str(state);
    size_t digits = 0;
    uint64_t n = leading_count(s, &digits) + 1;
    theater_string_t rebuilt =
        theater_format("%llu%.*s", (unsigned long long)n, (int)(s.len - digits), s.ptr + digits);
    theater_state_adopt(state, (uint8_t*)rebuilt.ptr, rebuilt.len);
    reply(response, "%llu", (unsigned long long)n);
  } else if (has_prefix(msg, "pad:", &arg)) {
    char* text = theater_string_to_cstr(arg);
    size_t n = (size_t)strtoull(text, NULL, 10);
    free(text);
    theater_string_t s = theater_state_str(state);
    size_t len = s.len + 1 + n;
    uint8_t* grown = (uint8_t*)malloc(len);
    if (grown == NULL) return theater_err("pad: out of memory");
    memcpy(grown, s.ptr, s.len);
    grown[s.len] = '|';
    memset(grown + s.len + 1, 'x', n);
    theater_state_adopt(state, grown, len);
    reply(response, "%zu", len);
  } else if (has_prefix(msg, "echo:", &arg)) {
#ifdef PROBE_CHANGED_ECHO
    reply(response, "changed:%.*s", (int)arg.len, arg.ptr);
#else
    respond_str(response, arg.ptr, arg.len);
#endif
  } else if (has_prefix(msg, "get-state", NULL)) {
    theater_option_bytes_t st = theater_get_state();
    if (st.is_some) {
      respond_str(response, (const char*)st.val.ptr, st.val.len);
    } else {
      respond_str(response, "none", 4);
    }
    theater_option_bytes_free(&st);
  } else if (has_prefix(msg, "sleep:", &arg)) {
    char* text = theater_string_to_cstr(arg);
    uint64_t ms = strtoull(text, NULL, 10);
    free(text);
    theater_result_t r;
    theater_timing_sleep(ms, &r);
    if (r.is_err) {
      reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
      theater_result_free(&r);
    } else {
      respond_str(response, "slept", 5);
    }
  } else if (has_prefix(msg, "spin", NULL)) {
    volatile uint64_t i = 0;
    for (;;) i++;
  } else if (has_prefix(msg, "trap", NULL)) {
    __builtin_trap();
  } else if (has_prefix(msg, "err", NULL)) {
    return theater_err("requested error");
  } else if (has_prefix(msg, "grow", NULL)) {
    /* Keep every block reachable and touched, or the compiler may drop the allocations. */
    static void* volatile last;
    (void)last;
    unsigned blocks = 0;
    void* block;
    while ((block = malloc(1 << 20)) != NULL) {
      memset(block, 1, 1 << 20);
      last = block;
      blocks++;
    }
    reply(response, "%u", blocks);
  } else if (has_prefix(msg, "spawn:", &arg)) {
    theater_result_string_t child;
    spawn_child(arg, &child);
    if (child.is_err) {
      reply(response, "error:%.*s", (int)child.err.len, child.err.ptr);
    } else {
      respond_str(response, child.ok.ptr, child.ok.len);
    }
    theater_result_string_free(&child);
  } else if (has_prefix(msg, "children", NULL)) {
    theater_strings_t list;
    theater_supervisor_list_children(&list);
    size_t total = 0;
    for (size_t i = 0; i < list.len; i++) total += list.ptr[i].len + 1;
    char* buf = (char*)theater_xmalloc(total + 1);
    size_t at = 0;
    for (size_t i = 0; i < list.len; i++) {
      if (i) buf[at++] = ',';
      memcpy(buf + at, list.ptr[i].ptr, list.ptr[i].len);
      at += list.ptr[i].len;
    }
    theater_state_adopt(response, (uint8_t*)buf, at);
    theater_strings_free(&list);
  } else if (has_prefix(msg, "stop-child:", &arg) || has_prefix(msg, "restart-child:", &arg)) {
    theater_result_t r;
    if (msg.ptr[0] == 's') {
      theater_supervisor_stop_child(arg.ptr, arg.len, &r);
    } else {
      theater_supervisor_restart_child(arg.ptr, arg.len, &r);
    }
    if (r.is_err) {
      reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
      theater_result_free(&r);
    } else {
      respond_str(response, "ok", 2);
    }
  } else if (has_prefix(msg, "child-state:", &arg)) {
    theater_result_option_bytes_t r;
    theater_supervisor_get_child_state(arg.ptr, arg.len, &r);
    if (r.is_err) {
      reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
    } else if (r.ok.is_some) {
      respond_str(response, (const char*)r.ok.val.ptr, r.ok.val.len);
    } else {
      respond_str(response, "none", 4);
    }
    theater_result_option_bytes_free(&r);
  } else if (has_prefix(msg, "shutdown:", &arg)) {
    theater_option_bytes_t data = {true, {(uint8_t*)arg.ptr, arg.len}};
    theater_result_t r = theater_shutdown(&data);
    if (r.is_err) {
      reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
      theater_result_free(&r);
    } else {
      respond_str(response, "ok", 2);
    }
  } else if (has_prefix(msg, "actor-id", NULL)) {
    theater_string_t id;
    theater_runtime_actor_id(&id);
    theater_state_adopt(response, (uint8_t*)id.ptr, id.len);
  } else if (has_prefix(msg, "theater-version", NULL)) {
    theater_string_t version;
    theater_runtime_version(&version);
    theater_state_adopt(response, (uint8_t*)version.ptr, version.len);
  } else if (has_prefix(msg, "host-info", NULL)) {
    theater_host_info_t info;
    theater_runtime_system_info(&info);
    reply(response, "%u %.*s", info.cpus, (int)info.hostname.len, info.hostname.ptr);
    theater_host_info_free(&info);
  } else if (has_prefix(msg, "log-flood:", &arg) || has_prefix(msg, "event-flood:", &arg)) {
    bool events = msg.ptr[0] == 'e';
    char* text = theater_string_to_cstr(arg);
    char* sep = NULL;
    unsigned long n = strtoul(text, &sep, 10);
    size_t len = (size_t)strtoul(sep && *sep == ':' ? sep + 1 : "0", NULL, 10);
    free(text);
    char* line = malloc(len + 1);
    memset(line, 'x', len);
    unsigned long accepted = 0, refused = 0;
    for (unsigned long i = 0; i < n; ++i) {
      if (events) {
        theater_result_t r;
        theater_runtime_record_event("flood", 5, (const uint8_t*)line, len, &r);
        if (r.is_err) {
          ++refused;
          theater_result_free(&r);
        } else {
          ++accepted;
        }
      } else {
        theater_runtime_log(line, len);
      }
    }
    free(line);
    if (events) {
      reply(response, "%lu %lu", accepted, refused);
    } else {
      respond_str(response, "ok", 2);
    }
  } else if (has_prefix(msg, "metric:", &arg)) {
    char* text = theater_string_to_cstr(arg);
    theater_runtime_record_metric("probe", 5, strtod(text, NULL));
    free(text);
    respond_str(response, "ok", 2);
  } else if (has_prefix(msg, "random:", &arg)) {
    char* text = theater_string_to_cstr(arg);
    uint32_t n = (uint32_t)strtoul(text, NULL, 10);
    free(text);
    theater_result_bytes_t r;
    theater_random_bytes(n, &r);
    if (r.is_err) {
      reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
    } else {
      char* hex = (char*)theater_xmalloc(r.ok.len * 2 + 1);
      for (size_t i = 0; i < r.ok.len; i++) snprintf(hex + 2 * i, 3, "%02x", r.ok.ptr[i]);
      theater_state_adopt(response, (uint8_t*)hex, r.ok.len * 2);
    }
    theater_result_bytes_free(&r);
  } else if (has_prefix(msg, "uuid", NULL)) {
    theater_result_string_t r;
    theater_random_generate_uuid(&r);
    if (r.is_err) {
      reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
    } else {
      respond_str(response, r.ok.ptr, r.ok.len);
    }
    theater_result_string_free(&r);
  } else if (has_prefix(msg, "env:", &arg)) {
    theater_option_string_t v;
    theater_env_get_var(arg.ptr, arg.len, &v);
    if (v.is_some) {
      respond_str(response, v.val.ptr, v.val.len);
    } else {
      respond_str(response, "none", 4);
    }
    theater_option_string_free(&v);
  } else {
    return theater_err("unknown command '%.*s'", (int)msg.len, (const char*)msg.ptr);
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)

static theater_result_t child_error(theater_state_t* state, theater_string_t child_id,
                                    theater_actor_error_t error) {
  append_note(state, "child-error:%.*s:%d:%.*s", (int)child_id.len, child_id.ptr,
              (int)error.error_type, error.data.is_some ? (int)error.data.val.len : 0,
              error.data.is_some ? (const char*)error.data.val.ptr : "");
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHILD_ERROR(child_error)

static theater_result_t child_exit(theater_state_t* state, theater_string_t child_id,
                                   theater_option_bytes_t data) {
  append_note(state, "child-exit:%.*s:%.*s", (int)child_id.len, child_id.ptr,
              data.is_some ? (int)data.val.len : 4,
              data.is_some ? (const char*)data.val.ptr : "none");
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHILD_EXIT(child_exit)

static theater_result_t child_external_stop(theater_state_t* state, theater_string_t child_id) {
  append_note(state, "child-external-stop:%.*s", (int)child_id.len, child_id.ptr);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHILD_EXTERNAL_STOP(child_external_stop)
