/* http_probe: a test actor for the http-client handler (theater:simple/http-client). Each
 * request message is one HTTP request in a small text form:
 *     <METHOD> <url>\n
 *     <Name>: <value>\n        (any number of header lines)
 *     \n<body>                 (optional: without the blank line the request has no body)
 * and the reply is the response in the same spirit:
 *     status=<code>\n<Name>: <value>\n...\n\n<body>
 * or "error:<the err string of send-http>". The SDK has no http-client header yet, so the import
 * is declared here. */
#include <stdlib.h>
#include <theater/theater.h>

#include "probe_util.h"

/* result<http-response, string>; http-response is
 * record { status: u16, headers: list<tuple<string, string>>, body: option<list<u8>> }. */
typedef struct {
  bool is_err;
  union {
    struct {
      uint16_t status;
      theater_string_pairs_t headers;
      theater_option_bytes_t body;
    } ok;
    theater_string_t err;
  };
} http_result_t;
_Static_assert(sizeof(http_result_t) == 28, "result<http-response, string> is 28 bytes");
_Static_assert(offsetof(http_result_t, ok.headers) == 8, "headers offset");
_Static_assert(offsetof(http_result_t, ok.body) == 16, "body offset");

THEATER_IMPORT("theater:simple/http-client", "send-http")
void http_send(const char* method, size_t method_len, const char* uri, size_t uri_len,
               const theater_string_pair_t* headers, size_t headers_len, int32_t body_is_some,
               const uint8_t* body, size_t body_len, http_result_t* ret);

PROBE_INIT("http_probe")

/* The end of the line starting at `at` (the index of '\n', or len). */
static size_t line_end(const char* s, size_t len, size_t at) {
  while (at < len && s[at] != '\n') at++;
  return at;
}

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)state;
  (void)request_id;
  const char* s = (const char*)msg.ptr;
  size_t len = msg.len;
  size_t e = line_end(s, len, 0);
  size_t sp = 0;
  while (sp < e && s[sp] != ' ') sp++;
  if (sp == e) return theater_err("the first line must be '<METHOD> <url>'");
  theater_string_pair_t headers[64];
  size_t n_headers = 0;
  size_t at = e + 1;
  bool has_body = false;
  while (at <= len) {
    if (at == len) break;
    size_t le = line_end(s, len, at);
    if (le == at) { /* the blank line: the rest is the body */
      has_body = true;
      at = le + 1;
      break;
    }
    size_t colon = at;
    while (colon < le && s[colon] != ':') colon++;
    if (colon == le || n_headers == 64) return theater_err("bad header line");
    size_t v = colon + 1;
    if (v < le && s[v] == ' ') v++;
    headers[n_headers].first.ptr = (char*)s + at;
    headers[n_headers].first.len = colon - at;
    headers[n_headers].second.ptr = (char*)s + v;
    headers[n_headers].second.len = le - v;
    n_headers++;
    at = le + 1;
  }
  size_t body_len = has_body && at <= len ? len - at : 0;
  http_result_t r;
  http_send(s, sp, s + sp + 1, e - sp - 1, headers, n_headers, has_body ? 1 : 0,
            (const uint8_t*)s + (has_body ? at : 0), body_len, &r);
  if (r.is_err) {
    reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
    theater_string_free(&r.err);
    return theater_ok();
  }
  size_t total = 32 + (r.ok.body.is_some ? r.ok.body.val.len : 0);
  for (size_t i = 0; i < r.ok.headers.len; i++) {
    total += r.ok.headers.ptr[i].first.len + r.ok.headers.ptr[i].second.len + 3;
  }
  char* buf = (char*)theater_xmalloc(total);
  size_t w = (size_t)snprintf(buf, total, "status=%u\n", (unsigned)r.ok.status);
  for (size_t i = 0; i < r.ok.headers.len; i++) {
    theater_string_pair_t* h = &r.ok.headers.ptr[i];
    memcpy(buf + w, h->first.ptr, h->first.len);
    w += h->first.len;
    memcpy(buf + w, ": ", 2);
    w += 2;
    memcpy(buf + w, h->second.ptr, h->second.len);
    w += h->second.len;
    buf[w++] = '\n';
  }
  buf[w++] = '\n';
  if (r.ok.body.is_some) {
    memcpy(buf + w, r.ok.body.val.ptr, r.ok.body.val.len);
    w += r.ok.body.val.len;
  }
  theater_string_pairs_free(&r.ok.headers);
  theater_option_bytes_free(&r.ok.body);
  theater_state_adopt(response, (uint8_t*)buf, w);
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)
