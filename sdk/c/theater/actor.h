/* Theater guest SDK: writing export handlers, and the `theater:simple/actor` interface.
 *
 * Every actor export has the shape
 *     f(state: option<list<u8>>, params: tuple<P...>) -> result<tuple<option<list<u8>>, R?>,
 * string> The host owns the state: it passes the current one in, and when the call returns ok it
 * replaces its copy with the returned one (returning none CLEARS the state). An error leaves
 * the host's state as it was and is reported as a failed call.
 *
 * In C an actor writes one ordinary function per export and registers it with a macro that
 * generates the canonical-ABI wrapper and its cabi_post_ function:
 *
 *     static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
 *       theater_log("Hello from %.*s!", (int)actor_id.len, actor_id.ptr);
 *       return theater_ok_with_state(state, "{}", 2);
 *     }
 *     THEATER_EXPORT_ACTOR_INIT(init)
 *
 * The handler contract, the same for every export macro in the SDK:
 *   - `state` is in/out. On entry it holds the current state (heap memory the SDK owns). Leave
 *     it alone to keep it, or change it with theater_state_set / _set_str / _adopt / _clear.
 *     Whatever it holds when the handler returns ok is the new state.
 *   - The other parameters are borrowed: valid until the handler returns, then freed by the SDK.
 *     Copy what you want to keep (theater_string_dup, theater_bytes_dup, theater_state_set).
 *   - Return theater_ok() or theater_err("fmt", ...). An error message is heap memory the SDK
 *     frees after the host has read it; build it with theater_err / theater_err_take.
 *   - Extra results (a request's response, a channel-accept) are out-parameters, pre-set to
 *     "none" / "accepted" and owned by the SDK in the same way as the state.
 *   - Buffers put into a state or a result must be heap blocks (malloc) or NULL with length 0;
 *     the setters below copy, so this only matters for theater_state_adopt.
 *
 * The generated wrapper lifts the flat parameters, calls the handler, frees the parameters,
 * stores the result in a static result area and returns its address; cabi_post_<export> frees
 * the new state / error / extra results once the host has copied them. Exports are not
 * re-entered (the host runs one call per actor at a time), so one static area per export is
 * enough.
 */
#ifndef THEATER_SDK_ACTOR_H_
#define THEATER_SDK_ACTOR_H_

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- results ----------------------------------------------------------------------------- */

static inline theater_result_t theater_ok(void) {
  theater_result_t r;
  r.is_err = false;
  r.err.ptr = NULL;
  r.err.len = 0;
  return r;
}

/* An error whose message is formatted printf-style into a new heap string. */
__attribute__((format(printf, 1, 2))) static inline theater_result_t theater_err(const char* fmt,
                                                                                 ...) {
  va_list ap;
  va_start(ap, fmt);
  theater_result_t r;
  r.is_err = true;
  r.err = theater_vformat(fmt, ap);
  va_end(ap);
  return r;
}

/* An error that takes ownership of a heap string (e.g. an import's error message). */
static inline theater_result_t theater_err_take(theater_string_t msg) {
  theater_result_t r;
  r.is_err = true;
  r.err = msg;
  return r;
}

/* ---- state (these work on any option<list<u8>>, e.g. a request's response too) ---------- */

/* Sets the state to none, freeing the old bytes. */
static inline void theater_state_clear(theater_option_bytes_t* st) {
  theater_option_bytes_free(st);
}

/* Sets the state to some(bytes), taking ownership of a heap buffer (or NULL with len 0). */
static inline void theater_state_adopt(theater_option_bytes_t* st, uint8_t* bytes, size_t len) {
  if (!(st->is_some && st->val.ptr == bytes && st->val.len != 0)) theater_option_bytes_free(st);
  st->is_some = true;
  st->val.ptr = len != 0 ? bytes : NULL;
  st->val.len = len;
}

/* Sets the state to some(copy of data[0..len)). `data` may point into the old state. */
static inline void theater_state_set(theater_option_bytes_t* st, const void* data, size_t len) {
  theater_bytes_t copy = theater_bytes_dup(data, len); /* copy first: data may alias st */
  theater_state_adopt(st, copy.ptr, copy.len);
}

static inline void theater_state_set_str(theater_option_bytes_t* st, const char* s) {
  theater_state_set(st, s, strlen(s));
}

/* Returns ok after setting the state to a copy of data[0..len). */
static inline theater_result_t theater_ok_with_state(theater_option_bytes_t* st, const void* data,
                                                     size_t len) {
  theater_state_set(st, data, len);
  return theater_ok();
}

/* Views the state's bytes as a (borrowed) string; empty when the state is none. */
static inline theater_string_t theater_state_str(const theater_option_bytes_t* st) {
  theater_string_t s;
  s.ptr = st->is_some ? (char*)st->val.ptr : NULL;
  s.len = st->is_some ? st->val.len : 0;
  return s;
}

/* ---- export plumbing (used by the THEATER_EXPORT_* macros; not part of the API) ---------- */

/* Lifts a flat option<list<u8>>; the payload slots hold zeros when the discriminant is none. */
static inline theater_option_bytes_t theater__lift_option_bytes(int32_t tag, uint8_t* ptr,
                                                                size_t len) {
  theater_option_bytes_t o;
  o.is_some = tag != 0;
  o.val.ptr = tag != 0 ? ptr : NULL;
  o.val.len = tag != 0 ? len : 0;
  return o;
}
static inline theater_string_t theater__lift_string(char* ptr, size_t len) {
  theater_string_t s;
  s.ptr = ptr;
  s.len = len;
  return s;
}
static inline theater_bytes_t theater__lift_bytes(uint8_t* ptr, size_t len) {
  theater_bytes_t b;
  b.ptr = ptr;
  b.len = len;
  return b;
}
static inline theater_option_bytes_t theater__none(void) {
  return theater__lift_option_bytes(0, NULL, 0);
}

/* result<tuple<option<list<u8>>>, string>: the result of every export with no extra results. */
typedef struct {
  bool is_err;
  union {
    theater_option_bytes_t state;
    theater_string_t err;
  };
} theater__ret_state_t;
THEATER_ABI_CHECK(theater__ret_state_t, 16, 4);

static inline theater__ret_state_t* theater__finish_state(theater__ret_state_t* area,
                                                          theater_result_t r,
                                                          theater_option_bytes_t* state) {
  if (r.is_err) {
    theater_option_bytes_free(state); /* a failed call does not change the host's state */
    area->is_err = true;
    area->err = r.err;
  } else {
    area->is_err = false;
    area->state = *state;
  }
  return area;
}

static inline void theater__post_state(theater__ret_state_t* area) {
  if (area->is_err) {
    theater_string_free(&area->err);
  } else {
    theater_option_bytes_free(&area->state);
  }
  area->is_err = false;
}

/* Defines the post-return of an export whose result is a theater__ret_state_t. */
#define THEATER__POST_STATE(cname, export_name)            \
  THEATER_EXPORT("cabi_post_" export_name)                 \
  void theater__post_##cname(theater__ret_state_t* area) { \
    theater__post_state(area);                             \
  }

/* The flat form of the leading `state: option<list<u8>>` parameter. */
#define THEATER__STATE_PARAMS int32_t st_tag, uint8_t *st_ptr, size_t st_len

/* ---- theater:simple/actor ---------------------------------------------------------------- */

#define THEATER_ACTOR_IFACE "theater:simple/actor"

/* init: func(state: option<list<u8>>, params: tuple<string>)
 *         -> result<tuple<option<list<u8>>>, string>
 * core: (i32 st_tag, i32 st_ptr, i32 st_len, i32 id_ptr, i32 id_len) -> i32 result area
 * Handler: theater_result_t fn(theater_state_t* state, theater_string_t actor_id)
 * `state` starts as the manifest's init_state (or what the spawner passed), or none. */
#define THEATER_EXPORT_ACTOR_INIT(fn)                                                   \
  THEATER_EXPORT(THEATER_ACTOR_IFACE "#init")                                           \
  theater__ret_state_t* theater__export_actor_init(THEATER__STATE_PARAMS, char* id_ptr, \
                                                   size_t id_len) {                     \
    static theater__ret_state_t area;                                                   \
    theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);  \
    theater_string_t actor_id = theater__lift_string(id_ptr, id_len);                   \
    theater_result_t r = fn(&state, actor_id);                                          \
    theater_string_free(&actor_id);                                                     \
    return theater__finish_state(&area, r, &state);                                     \
  }                                                                                     \
  THEATER__POST_STATE(actor_init, THEATER_ACTOR_IFACE "#init")

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* THEATER_SDK_ACTOR_H_ */
