/* Helpers the test actors share (storer.c, fs_probe.c, messenger.c, proc_probe.c, http_probe.c,
 * http_server_probe.c, bench_actor.c, host_loop.c, spinner.c, runtime_probe.c): splitting a
 * command at ':', answering a request with formatted text, appending a note to the state, an init
 * that sets a fixed state, and channel callbacks that accept and ignore. Header-only (static
 * functions and macros), included by each actor's single source file. */
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

/* Appends "|<note>" (formatted) to the state: a log of what happened that the test reads back. */
static inline void append_note(theater_state_t* state, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  theater_string_t note = theater_vformat(fmt, ap);
  va_end(ap);
  theater_string_t old = theater_state_str(state);
  size_t len = old.len + 1 + note.len;
  uint8_t* buf = (uint8_t*)theater_xmalloc(len);
  memcpy(buf, old.ptr, old.len);
  buf[old.len] = '|';
  memcpy(buf + old.len + 1, note.ptr, note.len);
  theater_string_free(&note);
  theater_state_adopt(state, buf, len);
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

/* Defines the actor's init: its state becomes the text `initial_state` (a probe's name, or a
 * counter's "0"). */
#define PROBE_INIT(initial_state)                                                         \
  static theater_result_t probe_init(theater_state_t* state, theater_string_t actor_id) { \
    (void)actor_id;                                                                       \
    theater_state_set_str(state, initial_state);                                          \
    return theater_ok();                                                                  \
  }                                                                                       \
  THEATER_EXPORT_ACTOR_INIT(probe_init)

/* Defines the message-server channel callbacks for an actor that has no use for channels: a
 * component exports whole interfaces, so it must have them. Channels are accepted and their
 * messages ignored. */
#define PROBE_IGNORE_CHANNELS()                                                             \
  static theater_result_t probe_channel_open(theater_state_t* state,                        \
                                             theater_string_t channel_id, theater_bytes_t msg, \
                                             theater_channel_accept_t* accept) {            \
    (void)state, (void)channel_id, (void)msg, (void)accept;                                 \
    return theater_ok();                                                                    \
  }                                                                                         \
  THEATER_EXPORT_HANDLE_CHANNEL_OPEN(probe_channel_open)                                    \
  static theater_result_t probe_channel_message(theater_state_t* state,                     \
                                                theater_string_t channel_id,                \
                                                theater_bytes_t msg) {                      \
    (void)state, (void)channel_id, (void)msg;                                               \
    return theater_ok();                                                                    \
  }                                                                                         \
  THEATER_EXPORT_HANDLE_CHANNEL_MESSAGE(probe_channel_message)                              \
  static theater_result_t probe_channel_close(theater_state_t* state,                       \
                                              theater_string_t channel_id) {                \
    (void)state, (void)channel_id;                                                          \
    return theater_ok();                                                                    \
  }                                                                                         \
  THEATER_EXPORT_HANDLE_CHANNEL_CLOSE(probe_channel_close)

#endif
