/* stormer: a hostile guest for the storm tests (src/runtime/hostile_storm_test.cc). It makes
 * the host calls a guest could make at a high rate — channels opened and held or opened and
 * closed, large messages, timer calls, ids of megabytes — and reports how far it got and the
 * error that stopped it. Its state never changes (a fixed "stormer"), so a storm costs the chain
 * nothing but the calls themselves.
 *
 * Commands (handle-request; the reply is the result, or "<count>:<error>" when a call failed):
 *   ping                      replies "pong"
 *   hold:<id>:<n>             opens <n> channels to <id> and keeps them open; replies how many
 *                             opened
 *   churn:<id>:<n>            opens a channel to <id> and closes it, <n> times; replies how many
 *   big:<id>:<n>:<bytes>      sends <n> messages of <bytes> bytes each to <id>; replies how many
 *   sleep-loop:<n>            calls timing.sleep(0) <n> times; replies how many
 *   request:<id>:<msg>        message-server.request; replies the answer or "error:<why>"
 *   long-id:<op>:<bytes>      calls <op> with an id of <bytes> 'a's; replies its error (or "ok").
 *                             <op>: send, request, open, chsend, chclose, respond, cancel,
 *                             stop-child, child-state
 *   defer                     leaves this request unanswered (for respond-to-request)
 *   answer-all:<msg>          answers every other outstanding request with <msg>; replies how
 *                             many
 * It accepts every channel and ignores channel messages and one-way messages.
 */
#include <stdlib.h>
#include <theater/theater.h>

#include "probe_util.h"

PROBE_INIT("stormer")
PROBE_IGNORE_CHANNELS()

static theater_result_t handle_send(theater_state_t* state, theater_bytes_t msg) {
  (void)state, (void)msg;
  return theater_ok();
}
THEATER_EXPORT_HANDLE_SEND(handle_send)

static unsigned long number(field_t f) {
  char buf[24];
  size_t n = f.len < sizeof buf - 1 ? f.len : sizeof buf - 1;
  memcpy(buf, f.ptr, n);
  buf[n] = 0;
  return strtoul(buf, NULL, 10);
}

/* Replies "<count>" or, when `r` failed, "<count>:<error>" (and frees it). */
static void reply_count(theater_option_bytes_t* response, unsigned long count,
                        theater_result_t* r) {
  if (r && r->is_err) {
    reply(response, "%lu:%.*s", count, (int)r->err.len, r->err.ptr);
    theater_result_free(r);
  } else {
    reply(response, "%lu", count);
  }
}

static void long_id(field_t op, size_t bytes, theater_option_bytes_t* response) {
  char* id = (char*)theater_xmalloc(bytes + 1);
  memset(id, 'a', bytes);
  theater_result_t r = {0};
  if (is(op, "send")) {
    theater_message_send(id, bytes, (const uint8_t*)"x", 1, &r);
  } else if (is(op, "request")) {
    theater_result_bytes_t answer;
    theater_message_request(id, bytes, (const uint8_t*)"x", 1, &answer);
    if (answer.is_err) reply(response, "%.*s", (int)answer.err.len, answer.err.ptr);
    else reply(response, "ok");
    theater_result_bytes_free(&answer);
    free(id);
    return;
  } else if (is(op, "open")) {
    theater_result_string_t channel;
    theater_message_open_channel(id, bytes, (const uint8_t*)"x", 1, &channel);
    if (channel.is_err) reply(response, "%.*s", (int)channel.err.len, channel.err.ptr);
    else reply(response, "ok");
    theater_result_string_free(&channel);
    free(id);
    return;
  } else if (is(op, "chsend")) {
    theater_message_send_on_channel(id, bytes, (const uint8_t*)"x", 1, &r);
  } else if (is(op, "chclose")) {
    theater_message_close_channel(id, bytes, &r);
  } else if (is(op, "respond")) {
    theater_message_respond_to_request(id, bytes, (const uint8_t*)"x", 1, &r);
  } else if (is(op, "cancel")) {
    theater_message_cancel_request(id, bytes, &r);
  } else if (is(op, "stop-child")) {
    theater_supervisor_stop_child(id, bytes, &r);
  } else if (is(op, "child-state")) {
    theater_result_option_bytes_t state;
    theater_supervisor_get_child_state(id, bytes, &state);
    if (state.is_err) reply(response, "%.*s", (int)state.err.len, state.err.ptr);
    else reply(response, "ok");
    theater_result_option_bytes_free(&state);
    free(id);
    return;
  } else {
    reply(response, "unknown op");
    free(id);
    return;
  }
  if (r.is_err) {
    reply(response, "%.*s", (int)r.err.len, r.err.ptr);
    theater_result_free(&r);
  } else {
    reply(response, "ok");
  }
  free(id);
}

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)state;
  field_t f[4];
  size_t n = fields((const char*)msg.ptr, msg.len, f, 4);
  theater_result_t r;
  if (is(f[0], "ping")) {
    reply(response, "pong");
  } else if (n >= 3 && is(f[0], "hold")) {
    unsigned long want = number(f[2]), opened = 0;
    for (; opened < want; opened++) {
      theater_result_string_t channel;
      theater_message_open_channel(f[1].ptr, f[1].len, (const uint8_t*)"x", 1, &channel);
      if (channel.is_err) {
        reply(response, "%lu:%.*s", opened, (int)channel.err.len, channel.err.ptr);
        theater_result_string_free(&channel);
        return theater_ok();
      }
      theater_result_string_free(&channel);  /* kept open: only the id is let go */
    }
    reply_count(response, opened, NULL);
  } else if (n >= 3 && is(f[0], "churn")) {
    unsigned long want = number(f[2]), done = 0;
    for (; done < want; done++) {
      theater_result_string_t channel;
      theater_message_open_channel(f[1].ptr, f[1].len, (const uint8_t*)"x", 1, &channel);
      if (channel.is_err) {
        reply(response, "%lu:%.*s", done, (int)channel.err.len, channel.err.ptr);
        theater_result_string_free(&channel);
        return theater_ok();
      }
      theater_message_close_channel(channel.ok.ptr, channel.ok.len, &r);
      theater_result_string_free(&channel);
      if (r.is_err) {
        reply_count(response, done, &r);
        return theater_ok();
      }
    }
    reply_count(response, done, NULL);
  } else if (n >= 4 && is(f[0], "big")) {
    unsigned long want = number(f[2]), sent = 0;
    size_t bytes = number(f[3]);
    uint8_t* payload = (uint8_t*)theater_xmalloc(bytes ? bytes : 1);
    memset(payload, 'b', bytes);
    for (; sent < want; sent++) {
      theater_message_send(f[1].ptr, f[1].len, payload, bytes, &r);
      if (r.is_err) break;
    }
    free(payload);
    reply_count(response, sent, sent < want ? &r : NULL);
  } else if (n >= 2 && is(f[0], "sleep-loop")) {
    unsigned long want = number(f[1]), slept = 0;
    for (; slept < want; slept++) {
      theater_timing_sleep(0, &r);
      if (r.is_err) break;
    }
    reply_count(response, slept, slept < want ? &r : NULL);
  } else if (n >= 3 && is(f[0], "request")) {
    theater_result_bytes_t answer;
    theater_message_request(f[1].ptr, f[1].len, (const uint8_t*)f[2].ptr, f[2].len, &answer);
    if (answer.is_err) {
      reply(response, "error:%.*s", (int)answer.err.len, answer.err.ptr);
    } else {
      theater_state_set(response, answer.ok.ptr, answer.ok.len);
    }
    theater_result_bytes_free(&answer);
  } else if (n >= 3 && is(f[0], "long-id")) {
    long_id(f[1], number(f[2]), response);
  } else if (is(f[0], "defer")) {
    /* No response: the request stays outstanding. */
  } else if (n >= 2 && is(f[0], "answer-all")) {
    theater_strings_t list;
    theater_message_list_outstanding_requests(&list);
    unsigned long answered = 0;
    for (size_t i = 0; i < list.len; i++) {
      /* This request is outstanding too until it returns: its answer is the return value. */
      if (list.ptr[i].len == request_id.len &&
          memcmp(list.ptr[i].ptr, request_id.ptr, request_id.len) == 0) {
        continue;
      }
      theater_message_respond_to_request(list.ptr[i].ptr, list.ptr[i].len,
                                         (const uint8_t*)f[1].ptr, f[1].len, &r);
      if (r.is_err) {
        theater_result_free(&r);
      } else {
        answered++;
      }
    }
    theater_strings_free(&list);
    reply_count(response, answered, NULL);
  } else {
    return theater_err("unknown command '%.*s'", (int)(msg.len < 64 ? msg.len : 64),
                       (const char*)msg.ptr);
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)
