/* hello: the smallest useful Theater actor, in C.
 *
 * init logs "Hello from <actor-id>!" and keeps a small JSON document as the actor's state. The
 * manifest's init_state (init.json) is the starting document; init increments its "count" and
 * returns the updated document as the new state: count = 1 after a fresh start, one more each
 * time the actor is started again from its previous state.
 *
 * Build (what examples/CMakeLists.txt does):
 *   clang-14 --target=wasm32-wasi -O2 -mexec-model=reactor -I sdk/c -lc-printscan-long-double \
 *     -o hello.wasm examples/hello/hello.c
 */
#include <theater/theater.h>

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

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  /* Strings from the host are not NUL-terminated: print them with %.*s. */
  theater_log("Hello from %.*s!", (int)actor_id.len, actor_id.ptr);

  theater_string_t json = theater_state_str(state); /* empty when there is no state */
  size_t start = 0, end = 0;
  if (!find_count(json.ptr, json.len, &start, &end)) {
    /* No state, or no counter in it: start a fresh document. */
    theater_state_set_str(state, "{\"greeting\": \"Hello\", \"count\": 1}");
    theater_log("count = 1 (new state)");
    return theater_ok();
  }
  if (end - start > 18) { /* would overflow; the host keeps the old state on error */
    return theater_err("count %.*s is too large", (int)(end - start), json.ptr + start);
  }
  uint64_t count = 0;
  for (size_t i = start; i < end; i++) count = count * 10 + (uint64_t)(json.ptr[i] - '0');
  count++;

  /* The new document is the old one with the digits replaced. */
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)count);
  size_t new_len = start + (size_t)n + (json.len - end);
  uint8_t* doc = (uint8_t*)theater_xmalloc(new_len);
  memcpy(doc, json.ptr, start);
  memcpy(doc + start, digits, (size_t)n);
  memcpy(doc + start + n, json.ptr + end, json.len - end);
  theater_state_adopt(state, doc, new_len); /* frees the old state, takes ownership of doc */

  theater_log("count = %llu", (unsigned long long)count);
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)
