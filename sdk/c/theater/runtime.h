/* Theater guest SDK: the `theater:simple/runtime` host interface.
 *
 *   log: func(msg: string)                                   (i32 ptr, i32 len) -> ()
 *   get-state: func() -> option<list<u8>>                    (i32 retptr) -> ()
 *   shutdown: func(data: option<list<u8>>) -> result<_, string>
 *                                                            (i32, i32, i32, i32 retptr) -> ()
 *
 * get-chain (-> chain) is deliberately not declared: its record types describe the event chain's
 * on-disk form, which the host is still free to change; declare it yourself with THEATER_IMPORT
 * if you need it.
 *
 * The theater_runtime_* functions are the raw imports; the rest are conveniences on top.
 * Every call is recorded in the actor's event chain by the host.
 */
#ifndef THEATER_SDK_RUNTIME_H_
#define THEATER_SDK_RUNTIME_H_

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define THEATER_RUNTIME_IFACE "theater:simple/runtime"

/* Raw imports. `msg` must be valid UTF-8 (the host traps otherwise). */
THEATER_IMPORT(THEATER_RUNTIME_IFACE, "log") void theater_runtime_log(const char* msg, size_t len);
/* Writes the actor's current state into *ret; the bytes (if any) are the caller's to free. */
THEATER_IMPORT(THEATER_RUNTIME_IFACE, "get-state")
void theater_runtime_get_state(theater_option_bytes_t* ret);
/* Asks the runtime to stop this actor once the current call returns; `data` (if has_data) is
 * passed to the supervisor's handle-child-exit. */
THEATER_IMPORT(THEATER_RUNTIME_IFACE, "shutdown")
void theater_runtime_shutdown(bool has_data, const uint8_t* data, size_t len,
                              theater_result_t* ret);

/* printf-style logging: theater_log("x=%d", x). */
__attribute__((format(printf, 1, 0))) static inline void theater_vlog(const char* fmt, va_list ap) {
  theater_string_t s = theater_vformat(fmt, ap);
  theater_runtime_log(s.ptr, s.len);
  theater_string_free(&s);
}
__attribute__((format(printf, 1, 2))) static inline void theater_log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  theater_vlog(fmt, ap);
  va_end(ap);
}
/* Logs a string as-is (no formatting, no copy). */
static inline void theater_log_str(theater_string_t s) {
  theater_runtime_log(s.ptr, s.len);
}

/* The state as the host currently holds it (heap copy; free with theater_option_bytes_free).
 * Inside an export handler the `state` parameter is the same value and costs no host call. */
static inline theater_option_bytes_t theater_get_state(void) {
  theater_option_bytes_t r;
  theater_runtime_get_state(&r);
  if (!r.is_some) {
    r.val.ptr = NULL;
    r.val.len = 0;
  }
  return r;
}

/* Requests shutdown; returns the host's answer (free an error with theater_result_free). */
static inline theater_result_t theater_shutdown(const theater_option_bytes_t* data) {
  theater_result_t r;
  if (data != NULL && data->is_some) {
    theater_runtime_shutdown(true, data->val.ptr, data->val.len, &r);
  } else {
    theater_runtime_shutdown(false, NULL, 0, &r);
  }
  return r;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* THEATER_SDK_RUNTIME_H_ */
