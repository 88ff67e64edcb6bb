/* messenger: a test actor for the message-server handler, driven by text commands sent as
 * requests (the tests send them with TheaterRuntime::RequestMessage).
 *
 * State: a log, "|"-separated entries of what the callbacks received:
 *   send:<msg>  open:<channel>:<msg>  chmsg:<channel>:<msg>  chclose:<channel>  deferred:<rid>
 *
 * Commands (the reply is "ok", the result, or "error:<why>"):
 *   echo:<text>               replies <text>
 *   log                       replies the log
 *   send:<id>:<msg>           message-server.send
 *   burst:<id>:<n>            sends "0", "1", ... "<n-1>" to <id>; replies the number sent before
 *                             the first error, and the error
 *   burst:<id>:<n>:<tag>:<from>
 *                             the same, sending "<tag><from>", "<tag><from+1>", ...
 *   fanout:<id>,<id>,...      sends "fan" to every id; replies the number of successes
 *   request:<id>:<msg>        message-server.request; replies the answer
 *   open:<id>:<msg>           open-channel; replies the channel id
 *   chsend:<channel>:<msg>    send-on-channel
 *   chclose:<channel>         close-channel
 *   outstanding               list-outstanding-requests but this one, comma-separated
 *   respond:<rid>:<msg>       respond-to-request
 *   cancel:<rid>              cancel-request
 *   defer                     leaves this request unanswered (logged as deferred:<rid>)
 *   answer-all:<msg>          answers every outstanding request with <msg>; replies how many
 *   sleep:<ms>                timing.sleep, then replies "ok"
 *   after:<ms>:<command>      timing.sleep, then runs <command>
 *   then-sleep:<ms>:<command> runs <command>, then timing.sleep (the reply is the command's)
 *   trap                      traps
 * Channel opening: a first message "reject:<text>" refuses with <text>, "accept:<text>" accepts
 * with <text> as the accept message, "trap" traps; anything else accepts silently. A channel
 * message "echo:<text>" is answered on the channel with "re:<text>".
 */
#include <stdlib.h>
#include <theater/theater.h>

#include "probe_util.h"

static bool take_prefix(theater_bytes_t msg, const char* prefix, theater_string_t* rest) {
  size_t n = strlen(prefix);
  if (msg.len < n || memcmp(msg.ptr, prefix, n) != 0) return false;
  rest->ptr = (char*)msg.ptr + n;
  rest->len = msg.len - n;
  return true;
}

/* Splits "<head>:<tail>" at the first ':'. */
static bool split(theater_string_t s, theater_string_t* head, theater_string_t* tail) {
  for (size_t i = 0; i < s.len; i++) {
    if (s.ptr[i] == ':') {
      head->ptr = s.ptr;
      head->len = i;
      tail->ptr = s.ptr + i + 1;
      tail->len = s.len - i - 1;
      return true;
    }
  }
  *head = s;
  tail->ptr = s.ptr + s.len;
  tail->len = 0;
  return false;
}

PROBE_INIT("log")

static theater_result_t handle_send(theater_state_t* state, theater_bytes_t msg) {
  append_note(state, "send:%.*s", (int)msg.len, (const char*)msg.ptr);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_SEND(handle_send)

static bool is_request(theater_string_t id, theater_string_t request_id) {
  return id.len == request_id.len && memcmp(id.ptr, request_id.ptr, id.len) == 0;
}

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  theater_string_t arg, head, tail;
  theater_result_t r;
  if (take_prefix(msg, "echo:", &arg)) {
    theater_state_set(response, arg.ptr, arg.len);
  } else if (take_prefix(msg, "log", &arg)) {
    theater_string_t s = theater_state_str(state);
    theater_state_set(response, s.ptr, s.len);
  } else if (take_prefix(msg, "send:", &arg)) {
    split(arg, &head, &tail);
    theater_message_send(head.ptr, head.len, (const uint8_t*)tail.ptr, tail.len, &r);
    reply_unit(response, &r);
  } else if (take_prefix(msg, "burst:", &arg)) {
    split(arg, &head, &tail);
    theater_string_t count = tail, tag = {0}, from = {0};
    if (split(tail, &count, &tag)) split(tag, &tag, &from);
    char* text = theater_string_to_cstr(count);
    unsigned n = (unsigned)strtoul(text, NULL, 10);
    free(text);
    text = theater_string_to_cstr(from);
    unsigned first = (unsigned)strtoul(text, NULL, 10);
    free(text);
    unsigned sent = 0;
    for (; sent < n; sent++) {
      char digits[48];
      int len = snprintf(digits, sizeof digits, "%.*s%u", (int)(tag.len < 16 ? tag.len : 16),
                         tag.ptr ? tag.ptr : "", first + sent);
      theater_message_send(head.ptr, head.len, (const uint8_t*)digits, (size_t)len, &r);
      if (r.is_err) {
        reply(response, "%u:%.*s", sent, (int)r.err.len, r.err.ptr);
        theater_result_free(&r);
        return theater_ok();
      }
    }
    reply(response, "%u", sent);
  } else if (take_prefix(msg, "fanout:", &arg)) {
    unsigned ok = 0;
    theater_string_t rest = arg;
    while (rest.len > 0) {
      size_t i = 0;
      while (i < rest.len && rest.ptr[i] != ',') i++;
      theater_message_send(rest.ptr, i, (const uint8_t*)"fan", 3, &r);
      if (r.is_err) {
        theater_result_free(&r);
      } else {
        ok++;
      }
      rest.ptr += i < rest.len ? i + 1 : i;
      rest.len -= i < rest.len ? i + 1 : i;
    }
    reply(response, "%u", ok);
  } else if (take_prefix(msg, "request:", &arg)) {
    split(arg, &head, &tail);
    theater_result_bytes_t answer;
    theater_message_request(head.ptr, head.len, (const uint8_t*)tail.ptr, tail.len, &answer);
    if (answer.is_err) {
      reply(response, "error:%.*s", (int)answer.err.len, answer.err.ptr);
    } else {
      theater_state_set(response, answer.ok.ptr, answer.ok.len);
    }
    theater_result_bytes_free(&answer);
  } else if (take_prefix(msg, "open:", &arg)) {
    split(arg, &head, &tail);
    theater_result_string_t channel;
    theater_message_open_channel(head.ptr, head.len, (const uint8_t*)tail.ptr, tail.len, &channel);
    if (channel.is_err) {
      reply(response, "error:%.*s", (int)channel.err.len, channel.err.ptr);
    } else {
      theater_state_set(response, channel.ok.ptr, channel.ok.len);
    }
    theater_result_string_free(&channel);
  } else if (take_prefix(msg, "chsend:", &arg)) {
    split(arg, &head, &tail);
    theater_message_send_on_channel(head.ptr, head.len, (const uint8_t*)tail.ptr, tail.len, &r);
    reply_unit(response, &r);
  } else if (take_prefix(msg, "chclose:", &arg)) {
    theater_message_close_channel(arg.ptr, arg.len, &r);
    reply_unit(response, &r);
  } else if (take_prefix(msg, "outstanding", &arg)) {
    theater_strings_t list;
    theater_message_list_outstanding_requests(&list);
    size_t total = 1;
    for (size_t i = 0; i < list.len; i++) total += list.ptr[i].len + 1;
    char* buf = (char*)theater_xmalloc(total);
    size_t at = 0;
    for (size_t i = 0; i < list.len; i++) {
      /* This request is outstanding too, until it returns. */
      if (is_request(list.ptr[i], request_id)) continue;
      if (at) buf[at++] = ',';
      memcpy(buf + at, list.ptr[i].ptr, list.ptr[i].len);
      at += list.ptr[i].len;
    }
    theater_state_adopt(response, (uint8_t*)buf, at);
    theater_strings_free(&list);
  } else if (take_prefix(msg, "respond:", &arg)) {
    split(arg, &head, &tail);
    theater_message_respond_to_request(head.ptr, head.len, (const uint8_t*)tail.ptr, tail.len, &r);
    reply_unit(response, &r);
  } else if (take_prefix(msg, "cancel:", &arg)) {
    theater_message_cancel_request(arg.ptr, arg.len, &r);
    reply_unit(response, &r);
  } else if (take_prefix(msg, "defer", &arg)) {
    append_note(state, "deferred:%.*s", (int)request_id.len, request_id.ptr);
  } else if (take_prefix(msg, "answer-all:", &arg)) {
    theater_strings_t list;
    theater_message_list_outstanding_requests(&list);
    unsigned answered = 0;
    for (size_t i = 0; i < list.len; i++) {
      /* This request is outstanding too until it returns: leave it to the return value. */
      if (is_request(list.ptr[i], request_id)) continue;
      theater_message_respond_to_request(list.ptr[i].ptr, list.ptr[i].len, (const uint8_t*)arg.ptr,
                                         arg.len, &r);
      if (r.is_err) {
        theater_result_free(&r);
      } else {
        answered++;
      }
    }
    theater_strings_free(&list);
    reply(response, "%u", answered);
  } else if (take_prefix(msg, "sleep:", &arg)) {
    char* text = theater_string_to_cstr(arg);
    uint64_t ms = strtoull(text, NULL, 10);
    free(text);
    theater_timing_sleep(ms, &r);
    reply_unit(response, &r);
  } else if (take_prefix(msg, "after:", &arg)) {
    split(arg, &head, &tail);
    char* text = theater_string_to_cstr(head);
    uint64_t ms = strtoull(text, NULL, 10);
    free(text);
    theater_timing_sleep(ms, &r);
    if (r.is_err) {
      reply_unit(response, &r);
      return theater_ok();
    }
    theater_bytes_t rest = {(uint8_t*)tail.ptr, tail.len};
    return handle_request(state, request_id, rest, response);
  } else if (take_prefix(msg, "then-sleep:", &arg)) {
    split(arg, &head, &tail);
    char* text = theater_string_to_cstr(head);
    uint64_t ms = strtoull(text, NULL, 10);
    free(text);
    theater_bytes_t rest = {(uint8_t*)tail.ptr, tail.len};
    theater_result_t done = handle_request(state, request_id, rest, response);
    if (done.is_err) return done;
    theater_timing_sleep(ms, &r);
    if (r.is_err) theater_result_free(&r);
    return theater_ok();
  } else if (take_prefix(msg, "trap", &arg)) {
    __builtin_trap();
  } else {
    return theater_err("unknown command '%.*s'", (int)msg.len, (const char*)msg.ptr);
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)

static theater_result_t channel_open(theater_state_t* state, theater_string_t channel_id,
                                     theater_bytes_t msg, theater_channel_accept_t* accept) {
  theater_string_t arg;
  append_note(state, "open:%.*s:%.*s", (int)channel_id.len, channel_id.ptr, (int)msg.len,
              (const char*)msg.ptr);
  if (take_prefix(msg, "reject:", &arg)) {
    accept->accepted = false;
    theater_state_set(&accept->message, arg.ptr, arg.len);
  } else if (take_prefix(msg, "accept:", &arg)) {
    theater_state_set(&accept->message, arg.ptr, arg.len);
  } else if (take_prefix(msg, "trap", &arg)) {
    __builtin_trap();
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHANNEL_OPEN(channel_open)

static theater_result_t channel_message(theater_state_t* state, theater_string_t channel_id,
                                        theater_bytes_t msg) {
  theater_string_t arg;
  append_note(state, "chmsg:%.*s:%.*s", (int)channel_id.len, channel_id.ptr, (int)msg.len,
              (const char*)msg.ptr);
  if (take_prefix(msg, "echo:", &arg)) {
    theater_string_t back = theater_format("re:%.*s", (int)arg.len, arg.ptr);
    theater_result_t r;
    theater_message_send_on_channel(channel_id.ptr, channel_id.len, (const uint8_t*)back.ptr,
                                    back.len, &r);
    theater_string_free(&back);
    if (r.is_err) theater_result_free(&r);
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHANNEL_MESSAGE(channel_message)

static theater_result_t channel_close(theater_state_t* state, theater_string_t channel_id) {
  append_note(state, "chclose:%.*s", (int)channel_id.len, channel_id.ptr);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_CHANNEL_CLOSE(channel_close)
