/* Theater guest SDK: supervising child actors.
 *
 * `theater:simple/supervisor` is IMPORTED to spawn and manage children (raw declarations below:
 * flat parameters, then a retptr to a result area the caller owns).
 * `theater:simple/supervisor-handlers` is EXPORTED by a parent to hear about its children; each
 * function has a THEATER_EXPORT_HANDLE_CHILD_* macro (handler contract: see actor.h).
 *
 * get-child-events (-> result<list<chain-event>, string>) is not declared: its record describes
 * the host's event-chain format, which may still change.
 */
#ifndef THEATER_SDK_SUPERVISOR_H_
#define THEATER_SDK_SUPERVISOR_H_

#include "actor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- imports: theater:simple/supervisor --------------------------------------------------- */

#define THEATER_SUPERVISOR_IFACE "theater:simple/supervisor"

/* spawn: func(manifest: string, init-bytes: option<list<u8>>) -> result<string, string>
 * `manifest` is a path, URL, store reference or inline TOML; ok = the child's actor id. */
THEATER_IMPORT(THEATER_SUPERVISOR_IFACE, "spawn")
void theater_supervisor_spawn(const char* manifest, size_t manifest_len, bool has_init,
                              const uint8_t* init, size_t init_len, theater_result_string_t* ret);

/* resume: func(manifest: string, init-state: option<list<u8>>) -> result<string, string> */
THEATER_IMPORT(THEATER_SUPERVISOR_IFACE, "resume")
void theater_supervisor_resume(const char* manifest, size_t manifest_len, bool has_state,
                               const uint8_t* state, size_t state_len,
                               theater_result_string_t* ret);

/* list-children: func() -> list<string> */
THEATER_IMPORT(THEATER_SUPERVISOR_IFACE, "list-children")
void theater_supervisor_list_children(theater_strings_t* ret);

/* stop-child: func(child-id: string) -> result<_, string> */
THEATER_IMPORT(THEATER_SUPERVISOR_IFACE, "stop-child")
void theater_supervisor_stop_child(const char* child_id, size_t child_id_len,
                                   theater_result_t* ret);

/* restart-child: func(child-id: string) -> result<_, string> */
THEATER_IMPORT(THEATER_SUPERVISOR_IFACE, "restart-child")
void theater_supervisor_restart_child(const char* child_id, size_t child_id_len,
                                      theater_result_t* ret);

/* get-child-state: func(child-id: string) -> result<option<list<u8>>, string> */
THEATER_IMPORT(THEATER_SUPERVISOR_IFACE, "get-child-state")
void theater_supervisor_get_child_state(const char* child_id, size_t child_id_len,
                                        theater_result_option_bytes_t* ret);

/* ---- exports: theater:simple/supervisor-handlers ------------------------------------------ */

#define THEATER_SUPERVISOR_HANDLERS_IFACE "theater:simple/supervisor-handlers"

/* enum wit-error-type (types.wit), in declaration order: the discriminant values. */
typedef enum {
  THEATER_ERROR_OPERATION_TIMEOUT = 0,
  THEATER_ERROR_CHANNEL_CLOSED = 1,
  THEATER_ERROR_SHUTTING_DOWN = 2,
  THEATER_ERROR_FUNCTION_NOT_FOUND = 3,
  THEATER_ERROR_TYPE_MISMATCH = 4,
  THEATER_ERROR_INTERNAL = 5,
  THEATER_ERROR_SERIALIZATION_ERROR = 6,
  THEATER_ERROR_UPDATE_COMPONENT_ERROR = 7,
  THEATER_ERROR_PAUSED = 8,
} theater_error_type_t;

/* record wit-actor-error { error-type: wit-error-type, data: option<list<u8>> } (borrowed). */
typedef struct {
  theater_error_type_t error_type;
  theater_option_bytes_t data;
} theater_actor_error_t;

/* handle-child-error: func(state, params: tuple<string, wit-actor-error>)
 *   -> result<tuple<option<list<u8>>>, string>
 * core: (i32 st_tag, i32 st_ptr, i32 st_len, i32 id_ptr, i32 id_len,
 *        i32 error_type, i32 data_tag, i32 data_ptr, i32 data_len) -> i32
 * Handler: theater_result_t fn(theater_state_t* state, theater_string_t child_id,
 *                              theater_actor_error_t error) */
#define THEATER_EXPORT_HANDLE_CHILD_ERROR(fn)                                                   \
  THEATER_EXPORT(THEATER_SUPERVISOR_HANDLERS_IFACE "#handle-child-error")                       \
  theater__ret_state_t* theater__export_handle_child_error(                                     \
      THEATER__STATE_PARAMS, char* id_ptr, size_t id_len, int32_t error_type, int32_t data_tag, \
      uint8_t* data_ptr, size_t data_len) {                                                     \
    static theater__ret_state_t area;                                                           \
    theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);          \
    theater_string_t child_id = theater__lift_string(id_ptr, id_len);                           \
    theater_actor_error_t error;                                                                \
    error.error_type = (theater_error_type_t)error_type;                                        \
    error.data = theater__lift_option_bytes(data_tag, data_ptr, data_len);                      \
    theater_result_t r = fn(&state, child_id, error);                                           \
    theater_string_free(&child_id);                                                             \
    theater_option_bytes_free(&error.data);                                                     \
    return theater__finish_state(&area, r, &state);                                             \
  }                                                                                             \
  THEATER__POST_STATE(handle_child_error, THEATER_SUPERVISOR_HANDLERS_IFACE "#handle-child-error")

/* handle-child-exit: func(state, params: tuple<string, option<list<u8>>>)
 *   -> result<tuple<option<list<u8>>>, string>
 * core: (i32 st_tag, i32 st_ptr, i32 st_len, i32 id_ptr, i32 id_len,
 *        i32 data_tag, i32 data_ptr, i32 data_len) -> i32
 * Handler: theater_result_t fn(theater_state_t* state, theater_string_t child_id,
 *                              theater_option_bytes_t data)   -- data as given to shutdown */
#define THEATER_EXPORT_HANDLE_CHILD_EXIT(fn)                                                    \
  THEATER_EXPORT(THEATER_SUPERVISOR_HANDLERS_IFACE "#handle-child-exit")                        \
  theater__ret_state_t* theater__export_handle_child_exit(THEATER__STATE_PARAMS, char* id_ptr,  \
                                                          size_t id_len, int32_t data_tag,      \
                                                          uint8_t* data_ptr, size_t data_len) { \
    static theater__ret_state_t area;                                                           \
    theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);          \
    theater_string_t child_id = theater__lift_string(id_ptr, id_len);                           \
    theater_option_bytes_t data = theater__lift_option_bytes(data_tag, data_ptr, data_len);     \
    theater_result_t r = fn(&state, child_id, data);                                            \
    theater_string_free(&child_id);                                                             \
    theater_option_bytes_free(&data);                                                           \
    return theater__finish_state(&area, r, &state);                                             \
  }                                                                                             \
  THEATER__POST_STATE(handle_child_exit, THEATER_SUPERVISOR_HANDLERS_IFACE "#handle-child-exit")

/* handle-child-external-stop: func(state, params: tuple<string>)
 *   -> result<tuple<option<list<u8>>>, string>
 * core: (i32 st_tag, i32 st_ptr, i32 st_len, i32 id_ptr, i32 id_len) -> i32
 * Handler: theater_result_t fn(theater_state_t* state, theater_string_t child_id) */
#define THEATER_EXPORT_HANDLE_CHILD_EXTERNAL_STOP(fn)                                             \
  THEATER_EXPORT(THEATER_SUPERVISOR_HANDLERS_IFACE "#handle-child-external-stop")                 \
  theater__ret_state_t* theater__export_handle_child_external_stop(THEATER__STATE_PARAMS,         \
                                                                   char* id_ptr, size_t id_len) { \
    static theater__ret_state_t area;                                                             \
    theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);            \
    theater_string_t child_id = theater__lift_string(id_ptr, id_len);                             \
    theater_result_t r = fn(&state, child_id);                                                    \
    theater_string_free(&child_id);                                                               \
    return theater__finish_state(&area, r, &state);                                               \
  }                                                                                               \
  THEATER__POST_STATE(handle_child_external_stop,                                                 \
                      THEATER_SUPERVISOR_HANDLERS_IFACE "#handle-child-external-stop")

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* THEATER_SDK_SUPERVISOR_H_ */
