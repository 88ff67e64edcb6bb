/* Theater guest SDK: messaging between actors.
 *
 * `theater:simple/message-server-client` is EXPORTED by an actor that receives messages; each
 * function has a THEATER_EXPORT_HANDLE_* macro (handler contract: see actor.h).
 * `theater:simple/message-server-host` is IMPORTED to send them; its functions are declared raw
 * below (flat parameters, then a retptr to a result area the caller owns; free what the host
 * wrote into it with the matching theater_result_*_free).
 */
#ifndef THEATER_SDK_MESSAGE_SERVER_H_
#define THEATER_SDK_MESSAGE_SERVER_H_

#include "actor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- exports: theater:simple/message-server-client --------------------------------------- */

#define THEATER_MESSAGE_CLIENT_IFACE "theater:simple/message-server-client"

/* handle-send: func(state, params: tuple<list<u8>>) -> result<tuple<option<list<u8>>>, string>
 * core: (i32 st_tag, i32 st_ptr, i32 st_len, i32 msg_ptr, i32 msg_len) -> i32
 * Handler: theater_result_t fn(theater_state_t* state, theater_bytes_t msg) */
#define THEATER_EXPORT_HANDLE_SEND(fn)                                                       \
  THEATER_EXPORT(THEATER_MESSAGE_CLIENT_IFACE "#handle-send")                                \
  theater__ret_state_t* theater__export_handle_send(THEATER__STATE_PARAMS, uint8_t* msg_ptr, \
                                                    size_t msg_len) {                        \
    static theater__ret_state_t area;                                                        \
    theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);       \
    theater_bytes_t msg = theater__lift_bytes(msg_ptr, msg_len);                             \
    theater_result_t r = fn(&state, msg);                                                    \
    theater_bytes_free(&msg);                                                                \
    return theater__finish_state(&area, r, &state);                                          \
  }                                                                                          \
  THEATER__POST_STATE(handle_send, THEATER_MESSAGE_CLIENT_IFACE "#handle-send")

/* handle-channel-message: func(state, params: tuple<channel-id, list<u8>>)
 *   -> result<tuple<option<list<u8>>>, string>
 * core: (i32 st_tag, i32 st_ptr, i32 st_len, i32 id_ptr, i32 id_len, i32 msg_ptr, i32 msg_len)
 *   -> i32
 * Handler: theater_result_t fn(theater_state_t* state, theater_string_t channel_id,
 *                              theater_bytes_t msg) */
#define THEATER_EXPORT_HANDLE_CHANNEL_MESSAGE(fn)                                             \
  THEATER_EXPORT(THEATER_MESSAGE_CLIENT_IFACE "#handle-channel-message")                      \
  theater__ret_state_t* theater__export_handle_channel_message(                               \
      THEATER__STATE_PARAMS, char* id_ptr, size_t id_len, uint8_t* msg_ptr, size_t msg_len) { \
    static theater__ret_state_t area;                                                         \
    theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);        \
    theater_string_t channel_id = theater__lift_string(id_ptr, id_len);                       \
    theater_bytes_t msg = theater__lift_bytes(msg_ptr, msg_len);                              \
    theater_result_t r = fn(&state, channel_id, msg);                                         \
    theater_string_free(&channel_id);                                                         \
    theater_bytes_free(&msg);                                                                 \
    return theater__finish_state(&area, r, &state);                                           \
  }                                                                                           \
  THEATER__POST_STATE(handle_channel_message,                                                 \
                      THEATER_MESSAGE_CLIENT_IFACE "#handle-channel-message")

/* handle-channel-close: func(state, params: tuple<channel-id>)
 *   -> result<tuple<option<list<u8>>>, string>
 * core: (i32 st_tag, i32 st_ptr, i32 st_len, i32 id_ptr, i32 id_len) -> i32
 * Handler: theater_result_t fn(theater_state_t* state, theater_string_t channel_id) */
#define THEATER_EXPORT_HANDLE_CHANNEL_CLOSE(fn)                                                   \
  THEATER_EXPORT(THEATER_MESSAGE_CLIENT_IFACE "#handle-channel-close")                            \
  theater__ret_state_t* theater__export_handle_channel_close(THEATER__STATE_PARAMS, char* id_ptr, \
                                                             size_t id_len) {                     \
    static theater__ret_state_t area;                                                             \
    theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);            \
    theater_string_t channel_id = theater__lift_string(id_ptr, id_len);                           \
    theater_result_t r = fn(&state, channel_id);                                                  \
    theater_string_free(&channel_id);                                                             \
    return theater__finish_state(&area, r, &state);                                               \
  }                                                                                               \
  THEATER__POST_STATE(handle_channel_close, THEATER_MESSAGE_CLIENT_IFACE "#handle-channel-close")

/* handle-request: func(state, params: tuple<string, list<u8>>)
 *   -> result<tuple<option<list<u8>>, tuple<option<list<u8>>>>, string>
 * core: (i32 st_tag, i32 st_ptr, i32 st_len, i32 id_ptr, i32 id_len, i32 msg_ptr, i32 msg_len)
 *   -> i32
 * Handler: theater_result_t fn(theater_state_t* state, theater_string_t request_id,
 *                              theater_bytes_t msg, theater_option_bytes_t* response)
 * `response` starts as none; set it with theater_state_set(response, ...). Leaving it none means
 * "answer later" with theater_message_respond_to_request. */
typedef struct {
  theater_option_bytes_t state;
  theater_option_bytes_t response;
} theater__request_ok_t;
typedef struct {
  bool is_err;
  union {
    theater__request_ok_t ok;
    theater_string_t err;
  };
} theater__ret_request_t;
THEATER_ABI_CHECK(theater__ret_request_t, 28, 4);

static inline theater__ret_request_t* theater__finish_request(theater__ret_request_t* area,
                                                              theater_result_t r,
                                                              theater_option_bytes_t* state,
                                                              theater_option_bytes_t* response) {
  if (r.is_err) {
    theater_option_bytes_free(state);
    theater_option_bytes_free(response);
    area->is_err = true;
    area->err = r.err;
  } else {
    area->is_err = false;
    area->ok.state = *state;
    area->ok.response = *response;
  }
  return area;
}
static inline void theater__post_request(theater__ret_request_t* area) {
  if (area->is_err) {
    theater_string_free(&area->err);
  } else {
    theater_option_bytes_free(&area->ok.state);
    theater_option_bytes_free(&area->ok.response);
  }
  area->is_err = false;
}
#define THEATER_EXPORT_HANDLE_REQUEST(fn)                                                     \
  THEATER_EXPORT(THEATER_MESSAGE_CLIENT_IFACE "#handle-request")                              \
  theater__ret_request_t* theater__export_handle_request(                                     \
      THEATER__STATE_PARAMS, char* id_ptr, size_t id_len, uint8_t* msg_ptr, size_t msg_len) { \
    static theater__ret_request_t area;                                                       \
    theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);        \
    theater_option_bytes_t response = theater__none();                                        \
    theater_string_t request_id = theater__lift_string(id_ptr, id_len);                       \
    theater_bytes_t msg = theater__lift_bytes(msg_ptr, msg_len);                              \
    theater_result_t r = fn(&state, request_id, msg, &response);                              \
    theater_string_free(&request_id);                                                         \
    theater_bytes_free(&msg);                                                                 \
    return theater__finish_request(&area, r, &state, &response);                              \
  }                                                                                           \
  THEATER_EXPORT("cabi_post_" THEATER_MESSAGE_CLIENT_IFACE "#handle-request")                 \
  void theater__post_handle_request(theater__ret_request_t* area) {                           \
    theater__post_request(area);                                                              \
  }

/* handle-channel-open: func(state, params: tuple<string, list<u8>>)
 *   -> result<tuple<option<list<u8>>, tuple<channel-accept>>, string>
 * record channel-accept { accepted: bool, message: option<list<u8>> }
 * core: (i32 st_tag, i32 st_ptr, i32 st_len, i32 id_ptr, i32 id_len, i32 msg_ptr, i32 msg_len)
 *   -> i32
 * Handler: theater_result_t fn(theater_state_t* state, theater_string_t channel_id,
 *                              theater_bytes_t msg, theater_channel_accept_t* accept)
 * `channel_id` is the id the new channel will have (send on it once accepted), `msg` the
 * opener's first message.
 * `accept` starts as { accepted = true, message = none }: exporting handle-channel-open means
 * accepting channels unless the handler says otherwise. */
typedef struct {
  bool accepted;
  theater_option_bytes_t message;
} theater_channel_accept_t;
THEATER_ABI_CHECK(theater_channel_accept_t, 16, 4);

typedef struct {
  theater_option_bytes_t state;
  theater_channel_accept_t accept;
} theater__channel_open_ok_t;
typedef struct {
  bool is_err;
  union {
    theater__channel_open_ok_t ok;
    theater_string_t err;
  };
} theater__ret_channel_open_t;
THEATER_ABI_CHECK(theater__ret_channel_open_t, 32, 4);

static inline theater__ret_channel_open_t* theater__finish_channel_open(
    theater__ret_channel_open_t* area, theater_result_t r, theater_option_bytes_t* state,
    theater_channel_accept_t* accept) {
  if (r.is_err) {
    theater_option_bytes_free(state);
    theater_option_bytes_free(&accept->message);
    area->is_err = true;
    area->err = r.err;
  } else {
    area->is_err = false;
    area->ok.state = *state;
    area->ok.accept = *accept;
  }
  return area;
}
static inline void theater__post_channel_open(theater__ret_channel_open_t* area) {
  if (area->is_err) {
    theater_string_free(&area->err);
  } else {
    theater_option_bytes_free(&area->ok.state);
    theater_option_bytes_free(&area->ok.accept.message);
  }
  area->is_err = false;
}
#define THEATER_EXPORT_HANDLE_CHANNEL_OPEN(fn)                                                \
  THEATER_EXPORT(THEATER_MESSAGE_CLIENT_IFACE "#handle-channel-open")                         \
  theater__ret_channel_open_t* theater__export_handle_channel_open(                           \
      THEATER__STATE_PARAMS, char* id_ptr, size_t id_len, uint8_t* msg_ptr, size_t msg_len) { \
    static theater__ret_channel_open_t area;                                                  \
    theater_option_bytes_t state = theater__lift_option_bytes(st_tag, st_ptr, st_len);        \
    theater_channel_accept_t accept;                                                          \
    accept.accepted = true;                                                                   \
    accept.message = theater__none();                                                         \
    theater_string_t channel_id = theater__lift_string(id_ptr, id_len);                       \
    theater_bytes_t msg = theater__lift_bytes(msg_ptr, msg_len);                              \
    theater_result_t r = fn(&state, channel_id, msg, &accept);                                \
    theater_string_free(&channel_id);                                                         \
    theater_bytes_free(&msg);                                                                 \
    return theater__finish_channel_open(&area, r, &state, &accept);                           \
  }                                                                                           \
  THEATER_EXPORT("cabi_post_" THEATER_MESSAGE_CLIENT_IFACE "#handle-channel-open")            \
  void theater__post_handle_channel_open(theater__ret_channel_open_t* area) {                 \
    theater__post_channel_open(area);                                                         \
  }

/* ---- imports: theater:simple/message-server-host ----------------------------------------- */

#define THEATER_MESSAGE_HOST_IFACE "theater:simple/message-server-host"

/* send: func(actor-id: actor-id, msg: list<u8>) -> result<_, string>
 * Fire-and-forget: returns once the message is queued for the target. */
THEATER_IMPORT(THEATER_MESSAGE_HOST_IFACE, "send")
void theater_message_send(const char* actor_id, size_t actor_id_len, const uint8_t* msg,
                          size_t msg_len, theater_result_t* ret);

/* request: func(actor-id: actor-id, msg: list<u8>) -> result<list<u8>, string>
 * Waits for the target's handle-request response (the actor is suspended meanwhile). */
THEATER_IMPORT(THEATER_MESSAGE_HOST_IFACE, "request")
void theater_message_request(const char* actor_id, size_t actor_id_len, const uint8_t* msg,
                             size_t msg_len, theater_result_bytes_t* ret);

/* open-channel: func(actor-id: actor-id, initial-msg: list<u8>) -> result<channel-id, string> */
THEATER_IMPORT(THEATER_MESSAGE_HOST_IFACE, "open-channel")
void theater_message_open_channel(const char* actor_id, size_t actor_id_len, const uint8_t* msg,
                                  size_t msg_len, theater_result_string_t* ret);

/* send-on-channel: func(channel-id: channel-id, msg: list<u8>) -> result<_, string> */
THEATER_IMPORT(THEATER_MESSAGE_HOST_IFACE, "send-on-channel")
void theater_message_send_on_channel(const char* channel_id, size_t channel_id_len,
                                     const uint8_t* msg, size_t msg_len, theater_result_t* ret);

/* close-channel: func(channel-id: channel-id) -> result<_, string> */
THEATER_IMPORT(THEATER_MESSAGE_HOST_IFACE, "close-channel")
void theater_message_close_channel(const char* channel_id, size_t channel_id_len,
                                   theater_result_t* ret);

/* list-outstanding-requests: func() -> list<string> */
THEATER_IMPORT(THEATER_MESSAGE_HOST_IFACE, "list-outstanding-requests")
void theater_message_list_outstanding_requests(theater_strings_t* ret);

/* respond-to-request: func(request-id: string, response: list<u8>) -> result<_, string> */
THEATER_IMPORT(THEATER_MESSAGE_HOST_IFACE, "respond-to-request")
void theater_message_respond_to_request(const char* request_id, size_t request_id_len,
                                        const uint8_t* response, size_t response_len,
                                        theater_result_t* ret);

/* cancel-request: func(request-id: string) -> result<_, string> */
THEATER_IMPORT(THEATER_MESSAGE_HOST_IFACE, "cancel-request")
void theater_message_cancel_request(const char* request_id, size_t request_id_len,
                                    theater_result_t* ret);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* THEATER_SDK_MESSAGE_SERVER_H_ */
