/* hello: the smallest useful Theater actor, in C.
 *
 * init logs "Hello from <actor-id>!" and keeps a small JSON document as the actor's state. The
 * manifest's init_state (init.json) is the starting document; init increments its "count" and
 * returns the updated document as the new state: count = 1 after a fresh start, one more each
 * time the actor is started again from its previous state.
 *
 * The actor is written against the C bindings `theater bindgen` generates for the world
 * `minimal` of Theater's WIT (docs/bindgen.md): minimal.h declares the import
 * minimal_runtime_log and the export this file implements, minimal_exports_actor_init.
 *
 * This directory is an actor project as `theater create` makes one: bindings/ holds what
 * `theater bindgen wit --world minimal --lang c --out bindings` generates (a test checks it is
 * current). `theater run examples/hello/manifest.toml` builds hello.wasm here on its first run;
 * `theater build examples/hello` does only that, running
 *   clang-14 --target=wasm32-wasi -O2 -Wl,--strip-debug -mexec-model=reactor -Wall -Wextra \
 *     -Ibindings -lc-printscan-long-double -o hello.wasm hello.c bindings/minimal.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minimal.h"

/* A state holding a heap copy of `len` bytes: what an export returns is freed by the bindings
 * once the host has copied it. */
static minimal_option_list_u8_t state_of(const void* data, size_t len) {
  minimal_option_list_u8_t state = {.is_some = true, .val = {NULL, len}};
  if (len != 0) {
    state.val.ptr = (uint8_t*)malloc(len);
    if (state.val.ptr == NULL) __builtin_trap();
    memcpy(state.val.ptr, data, len);
  }
  return state;
}

/* An error result with a heap copy of `text`. */
static void set_error(minimal_result_tuple1_option_list_u8_string_t* ret, const char* text) {
  size_t len = strlen(text);
  char* copy = (char*)malloc(len + 1);
  if (copy == NULL) __builtin_trap();
  memcpy(copy, text, len + 1);
  ret->is_err = true;
  ret->val.err.ptr = copy;
  ret->val.err.len = len;
}

/* Locates the digits of the number stored under "count" in a JSON object, as [*start, *end).
 * A real actor would use a JSON library; this keeps the example free of dependencies (it does
 * not understand escapes, and would be fooled by a string value that reads "count":). */
static bool find_count(const char* json, size_t len, size_t* start, size_t* end) {
  static const char kKey[] = "\"count\"";
  const size_t key_len = sizeof kKey - 1;
  for (size_t i = 0; i + key_len <= len; i++) {
    if (memcmp(json + i, kKey, key_len) != 0) continue;
    size_t j = i + key_len;
    while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r'))
      j++;
    if (j == len || json[j] != ':') continue;
    j++;
    while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r'))
      j++;
    size_t digits = j;
    while (j < len && json[j] >= '0' && json[j] <= '9') j++;
    if (j == digits) return false;
    *start = digits;
    *end = j;
    return true;
  }
  return false;
}

/* `state` and `params` belong to the bindings (they free them after this returns); `*ret`
 * starts zeroed. */
void minimal_exports_actor_init(minimal_option_list_u8_t* state, minimal_tuple1_string_t* params,
                                minimal_result_tuple1_option_list_u8_string_t* ret) {
  /* Strings from the host are not NUL-terminated: print them with %.*s. */
  minimal_runtime_logf("Hello from %.*s!", (int)params->f0.len, params->f0.ptr);

  const char* json = state->is_some ? (const char*)state->val.ptr : "";
  const size_t json_len = state->is_some ? state->val.len : 0;
  size_t start = 0, end = 0;
  if (!find_count(json, json_len, &start, &end)) {
    /* No state, or no counter in it: start a fresh document. */
    static const char kFresh[] = "{\"greeting\": \"Hello\", \"count\": 1}";
    ret->is_err = false;
    ret->val.ok.f0 = state_of(kFresh, sizeof kFresh - 1);
    minimal_runtime_logf("count = 1 (new state)");
    return;
  }
  if (end - start > 18) { /* would overflow; the host keeps the old state on error */
    char text[256];
    snprintf(text, sizeof text, "count %.*s is too large", (int)(end - start), json + start);
    set_error(ret, text);
    return;
  }
  uint64_t count = 0;
  for (size_t i = start; i < end; i++) count = count * 10 + (uint64_t)(json[i] - '0');
  count++;

  /* The new document is the old one with the digits replaced. */
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)count);
  size_t new_len = start + (size_t)n + (json_len - end);
  uint8_t* doc = (uint8_t*)malloc(new_len);
  if (doc == NULL) __builtin_trap();
  memcpy(doc, json, start);
  memcpy(doc + start, digits, (size_t)n);
  memcpy(doc + start + n, json + end, json_len - end);
  ret->is_err = false;
  ret->val.ok.f0.is_some = true;
  ret->val.ok.f0.val.ptr = doc; /* freed by the bindings after the host copied it */
  ret->val.ok.f0.val.len = new_len;

  minimal_runtime_logf("count = %llu", (unsigned long long)count);
}
