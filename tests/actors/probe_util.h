/* Helpers the text-command test actors share (storer.c, fs_probe.c, messenger.c, proc_probe.c,
 * http_probe.c, http_server_probe.c): splitting a command at ':' and answering a request with
 * formatted text. Header-only (static functions), included by each actor's single source file. */
#ifndef THEATER_TESTS_ACTORS_PROBE_UTIL_H
#define THEATER_TESTS_ACTORS_PROBE_UTIL_H

#include <stdarg.h>
#include <string.h>
#include <theater/theater.h>

typedef struct {
  const char* ptr;
  size_t len;
} field_t;

/* Splits `s` at ':' into at most `max` fields (the last takes the rest). Returns the count. */
static inline size_t fields(const char* s, size_t len, field_t* out, size_t max) {
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= len && n < max; i++) {
    if (i == len || (s[i] == ':' && n + 1 < max)) {
      out[n].ptr = s + start;
      out[n].len = i - start;
      n++;
      start = i + 1;
    }
  }
  return n;
}

static inline bool is(field_t f, const char* word) {
  return f.len == strlen(word) && memcmp(f.ptr, word, f.len) == 0;
}

/* Makes the formatted text the request's response. */
static inline void reply(theater_option_bytes_t* response, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  theater_string_t s = theater_vformat(fmt, ap);
  va_end(ap);
  theater_state_adopt(response, (uint8_t*)s.ptr, s.len);
}

/* Replies "ok" or "error:<why>" for a result<_, string>, and frees it. */
static inline void reply_unit(theater_option_bytes_t* response, theater_result_t* r) {
  if (r->is_err) {
    reply(response, "error:%.*s", (int)r->err.len, r->err.ptr);
    theater_result_free(r);
  } else {
    reply(response, "ok");
  }
}

#endif
