/* design_runtime_actor: an actor written against the runtime handler's documented interface
 * (wit/design.wit, world runtime-actor), through the C bindings `theater bindgen` generates from
 * it. Its init calls every documented function, as the documentation's examples do, and keeps
 * what came back as its state, a JSON object design_conformance_test.cc checks:
 *   {"id", "name", "time", "env_set", "log_ok", "bad_level_error", "metric_ok", "event_ok",
 *    "version", "hostname", "os_type", "os_release", "cpu_count", "memory_total",
 *    "memory_available", "uptime"}
 * It imports nothing but the documented interfaces (no WASI): it formats its JSON by hand, since
 * libc's stdio would bring WASI imports in with it. */
#include <stdlib.h>
#include <string.h>

#include "runtime_actor.h"

static runtime_actor_string_t str(const char* s) {
  runtime_actor_string_t out = {(char*)s, strlen(s)};
  return out;
}

/* Appends the text `s` (cut at the capacity). */
static size_t put_raw(char* out, size_t at, size_t cap, const char* s) {
  while (*s != '\0' && at < cap) out[at++] = *s++;
  return at;
}

/* Appends `value` in decimal. */
static size_t put_u64(char* out, size_t at, size_t cap, unsigned long long value) {
  char digits[20];
  size_t n = 0;
  do {
    digits[n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0 && at < cap) out[at++] = digits[--n];
  return at;
}

/* Appends `s` to the JSON text in `out` as a JSON string (escaping quotes, backslashes and
 * control characters). */
static size_t put_json_string(char* out, size_t at, size_t cap, const char* s, size_t len) {
  if (at < cap) out[at++] = '"';
  for (size_t i = 0; i < len && at + 7 < cap; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      out[at++] = '\\';
      out[at++] = (char)c;
    } else if (c < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      at = put_raw(out, at, cap, "\\u00");
      out[at++] = kHex[c >> 4];
      out[at++] = kHex[c & 15];
    } else {
      out[at++] = (char)c;
    }
  }
  if (at < cap) out[at++] = '"';
  return at;
}

static size_t put_key(char* out, size_t at, size_t cap, const char* key) {
  if (at > 1) at = put_raw(out, at, cap, ",");
  at = put_raw(out, at, cap, "\"");
  at = put_raw(out, at, cap, key);
  return put_raw(out, at, cap, "\":");
}

static size_t put_string_field(char* out, size_t at, size_t cap, const char* key,
                               runtime_actor_string_t value) {
  at = put_key(out, at, cap, key);
  return put_json_string(out, at, cap, value.ptr, value.len);
}

static size_t put_number_field(char* out, size_t at, size_t cap, const char* key,
                               unsigned long long value) {
  at = put_key(out, at, cap, key);
  return put_u64(out, at, cap, value);
}

static size_t put_bool_field(char* out, size_t at, size_t cap, const char* key, bool value) {
  at = put_key(out, at, cap, key);
  return put_raw(out, at, cap, value ? "true" : "false");
}

void runtime_actor_exports_actor_init(runtime_actor_option_types_json_t* state,
                                      runtime_actor_tuple1_string_t* params,
                                      runtime_actor_result_tuple1_option_types_json_string_t* ret) {
  (void)state;
  (void)params;
  enum { kCap = 4096 };
  char* json = (char*)malloc(kCap);
  size_t at = 0;
  json[at++] = '{';

  runtime_actor_string_t id, name, version;
  runtime_actor_runtime_get_actor_id(&id);
  runtime_actor_runtime_get_actor_name(&name);
  at = put_string_field(json, at, kCap, "id", id);
  at = put_string_field(json, at, kCap, "name", name);
  at = put_number_field(json, at, kCap, "time", runtime_actor_runtime_get_current_time());

  runtime_actor_option_string_t env;
  runtime_actor_runtime_get_env(str("LOG_LEVEL"), &env);
  at = put_bool_field(json, at, kCap, "env_set", env.is_some);
  runtime_actor_option_string_free(&env);

  runtime_actor_result_void_string_t logged;
  runtime_actor_runtime_log(str("debug"), str("This is a debug message"), &logged);
  bool log_ok = !logged.is_err;
  runtime_actor_result_void_string_free(&logged);
  runtime_actor_runtime_log(str("info"), str("This is an info message"), &logged);
  log_ok = log_ok && !logged.is_err;
  runtime_actor_result_void_string_free(&logged);
  runtime_actor_runtime_log(str("warn"), str("This is a warning message"), &logged);
  log_ok = log_ok && !logged.is_err;
  runtime_actor_result_void_string_free(&logged);
  runtime_actor_runtime_log(str("error"), str("This is an error message"), &logged);
  log_ok = log_ok && !logged.is_err;
  runtime_actor_result_void_string_free(&logged);
  at = put_bool_field(json, at, kCap, "log_ok", log_ok);
  runtime_actor_runtime_log(str("loud"), str("not a level"), &logged);
  if (logged.is_err) at = put_string_field(json, at, kCap, "bad_level_error", logged.val.err);
  runtime_actor_result_void_string_free(&logged);

  runtime_actor_result_void_string_t recorded;
  runtime_actor_runtime_record_metric(str("request_duration_ms"), 42.5, &recorded);
  at = put_bool_field(json, at, kCap, "metric_ok", !recorded.is_err);
  runtime_actor_result_void_string_free(&recorded);
  static const char kLogin[] = "User logged in";
  runtime_actor_list_u8_t data = {(uint8_t*)kLogin, sizeof kLogin - 1};
  runtime_actor_runtime_record_event(str("user_login"), data, &recorded);
  at = put_bool_field(json, at, kCap, "event_ok", !recorded.is_err);
  runtime_actor_result_void_string_free(&recorded);

  runtime_actor_runtime_get_theater_version(&version);
  at = put_string_field(json, at, kCap, "version", version);
  runtime_actor_runtime_system_info_t info;
  runtime_actor_runtime_get_system_info(&info);
  at = put_string_field(json, at, kCap, "hostname", info.hostname);
  at = put_string_field(json, at, kCap, "os_type", info.os_type);
  at = put_string_field(json, at, kCap, "os_release", info.os_release);
  at = put_number_field(json, at, kCap, "cpu_count", info.cpu_count);
  at = put_number_field(json, at, kCap, "memory_total", info.memory_total);
  at = put_number_field(json, at, kCap, "memory_available", info.memory_available);
  at = put_number_field(json, at, kCap, "uptime", info.uptime);
  runtime_actor_runtime_system_info_free(&info);
  runtime_actor_string_free(&id);
  runtime_actor_string_free(&name);
  runtime_actor_string_free(&version);
  if (at < kCap) json[at++] = '}';

  ret->is_err = false;
  ret->val.ok.f0.is_some = true;
  ret->val.ok.f0.val.ptr = (uint8_t*)json;
  ret->val.ok.f0.val.len = at;
}
