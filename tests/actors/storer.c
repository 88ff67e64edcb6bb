/* storer: a test actor for the store handler, driven by text commands sent as requests.
 *
 * Fields are separated by ':' (so labels in these tests contain none). Each command replies with
 * its result, or "error:<why>":
 *   new                               store.new → the store id
 *   put:<id>:<content>                store → hash
 *   big:<id>:<mib>                    stores <mib> MiB of patterned bytes → hash
 *   get:<id>:<hash>                   get → content
 *   getsize:<id>:<hash>               get → the content's length
 *   exists:<id>:<hash>                exists → "true" / "false"
 *   label:<id>:<label>:<hash>         label → "ok"
 *   getlabel:<id>:<label>             get-by-label → hash or "none"
 *   rmlabel:<id>:<label>              remove-label → "ok"
 *   rmfrom:<id>:<label>:<hash>        remove-from-label → "ok"
 *   putat:<id>:<label>:<content>      store-at-label → hash
 *   replacecontent:<id>:<label>:<c>   replace-content-at-label → hash
 *   replaceat:<id>:<label>:<hash>     replace-at-label → "ok"
 *   labels:<id>                       list-labels, comma-separated
 *   contents:<id>                     list-all-content, comma-separated
 *   size:<id>                         calculate-total-size
 */
#include <stdlib.h>
#include <theater/theater.h>

#include "probe_util.h"

static void reply_string(theater_option_bytes_t* response, theater_result_string_t* r) {
  if (r->is_err) {
    reply(response, "error:%.*s", (int)r->err.len, r->err.ptr);
  } else {
    theater_state_set(response, r->ok.ptr, r->ok.len);
  }
  theater_result_string_free(r);
}

static void reply_list(theater_option_bytes_t* response, theater_result_strings_t* r) {
  if (r->is_err) {
    reply(response, "error:%.*s", (int)r->err.len, r->err.ptr);
  } else {
    size_t total = 1;
    for (size_t i = 0; i < r->ok.len; i++) total += r->ok.ptr[i].len + 1;
    char* buf = (char*)theater_xmalloc(total);
    size_t at = 0;
    for (size_t i = 0; i < r->ok.len; i++) {
      if (i) buf[at++] = ',';
      memcpy(buf + at, r->ok.ptr[i].ptr, r->ok.ptr[i].len);
      at += r->ok.ptr[i].len;
    }
    theater_state_adopt(response, (uint8_t*)buf, at);
  }
  theater_result_strings_free(r);
}

PROBE_INIT("storer")

static theater_result_t handle_request(theater_state_t* state, theater_string_t request_id,
                                       theater_bytes_t msg, theater_option_bytes_t* response) {
  (void)state;
  (void)request_id;
  field_t f[4];
  size_t n = fields((const char*)msg.ptr, msg.len, f, 4);
  theater_result_string_t rs;
  theater_result_t ru;
  if (n >= 1 && is(f[0], "new")) {
    theater_store_new(&rs);
    reply_string(response, &rs);
  } else if (n >= 3 && is(f[0], "put")) {
    /* The content is everything after the second ':' (it may contain ':' itself). */
    size_t content_len = msg.len - (size_t)(f[2].ptr - (const char*)msg.ptr);
    theater_store_store(f[1].ptr, f[1].len, (const uint8_t*)f[2].ptr, content_len, &rs);
    reply_string(response, &rs);
  } else if (n == 3 && is(f[0], "big")) {
    char* text = theater_string_to_cstr((theater_string_t){(char*)f[2].ptr, f[2].len});
    size_t size = (size_t)strtoul(text, NULL, 10) << 20;
    free(text);
    uint8_t* bytes = (uint8_t*)malloc(size);
    if (!bytes) {
      reply(response, "error:out of memory");
      return theater_ok();
    }
    for (size_t i = 0; i < size; i++) bytes[i] = (uint8_t)(i * 131 + (i >> 20));
    theater_store_store(f[1].ptr, f[1].len, bytes, size, &rs);
    free(bytes);
    reply_string(response, &rs);
  } else if (n == 3 && (is(f[0], "get") || is(f[0], "getsize"))) {
    theater_result_bytes_t rb;
    theater_store_get(f[1].ptr, f[1].len, f[2].ptr, f[2].len, &rb);
    if (rb.is_err) {
      reply(response, "error:%.*s", (int)rb.err.len, rb.err.ptr);
    } else if (is(f[0], "getsize")) {
      reply(response, "%zu", rb.ok.len);
    } else {
      theater_state_set(response, rb.ok.ptr, rb.ok.len);
    }
    theater_result_bytes_free(&rb);
  } else if (n == 3 && is(f[0], "exists")) {
    theater_result_bool_t rb;
    theater_store_exists(f[1].ptr, f[1].len, f[2].ptr, f[2].len, &rb);
    if (rb.is_err) {
      reply(response, "error:%.*s", (int)rb.err.len, rb.err.ptr);
      theater_string_free(&rb.err);
    } else {
      reply(response, rb.ok ? "true" : "false");
    }
  } else if (n == 4 && is(f[0], "label")) {
    theater_store_label(f[1].ptr, f[1].len, f[2].ptr, f[2].len, f[3].ptr, f[3].len, &ru);
    reply_unit(response, &ru);
  } else if (n == 3 && is(f[0], "getlabel")) {
    theater_result_option_string_t ro;
    theater_store_get_by_label(f[1].ptr, f[1].len, f[2].ptr, f[2].len, &ro);
    if (ro.is_err) {
      reply(response, "error:%.*s", (int)ro.err.len, ro.err.ptr);
    } else if (ro.ok.is_some) {
      theater_state_set(response, ro.ok.val.ptr, ro.ok.val.len);
    } else {
      reply(response, "none");
    }
    theater_result_option_string_free(&ro);
  } else if (n == 3 && is(f[0], "rmlabel")) {
    theater_store_remove_label(f[1].ptr, f[1].len, f[2].ptr, f[2].len, &ru);
    reply_unit(response, &ru);
  } else if (n == 4 && is(f[0], "rmfrom")) {
    theater_store_remove_from_label(f[1].ptr, f[1].len, f[2].ptr, f[2].len, f[3].ptr, f[3].len,
                                    &ru);
    reply_unit(response, &ru);
  } else if (n == 4 && is(f[0], "putat")) {
    theater_store_store_at_label(f[1].ptr, f[1].len, f[2].ptr, f[2].len, (const uint8_t*)f[3].ptr,
                                 f[3].len, &rs);
    reply_string(response, &rs);
  } else if (n == 4 && is(f[0], "replacecontent")) {
    theater_store_replace_content_at_label(f[1].ptr, f[1].len, f[2].ptr, f[2].len,
                                           (const uint8_t*)f[3].ptr, f[3].len, &rs);
    reply_string(response, &rs);
  } else if (n == 4 && is(f[0], "replaceat")) {
    theater_store_replace_at_label(f[1].ptr, f[1].len, f[2].ptr, f[2].len, f[3].ptr, f[3].len, &ru);
    reply_unit(response, &ru);
  } else if (n == 2 && (is(f[0], "labels") || is(f[0], "contents"))) {
    theater_result_strings_t rl;
    if (is(f[0], "labels")) {
      theater_store_list_labels(f[1].ptr, f[1].len, &rl);
    } else {
      theater_store_list_all_content(f[1].ptr, f[1].len, &rl);
    }
    reply_list(response, &rl);
  } else if (n == 2 && is(f[0], "size")) {
    theater_result_u64_t r;
    theater_store_calculate_total_size(f[1].ptr, f[1].len, &r);
    if (r.is_err) {
      reply(response, "error:%.*s", (int)r.err.len, r.err.ptr);
      theater_string_free(&r.err);
    } else {
      reply(response, "%llu", (unsigned long long)r.ok);
    }
  } else {
    return theater_err("unknown command '%.*s'", (int)msg.len, (const char*)msg.ptr);
  }
  return theater_ok();
}
THEATER_EXPORT_HANDLE_REQUEST(handle_request)
