/* {{project_name}}: a minimal Theater actor in C.
 *
 * init runs once when the actor starts. It logs a greeting and keeps a JSON state,
 * {"starts": N}, that counts how often it started.
 *
 * The actor implements the WIT world `minimal` (wit/worlds.wit): bindings/minimal.h, generated
 * by `theater bindgen`, declares what the host provides (minimal_runtime_log, ...) and the
 * function this file implements (minimal_exports_actor_init). Arguments of an export belong to
 * the bindings, which free them afterwards; what it returns in *ret must be malloc'ed memory,
 * freed by the bindings once the host has copied it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minimal.h"

void minimal_exports_actor_init(minimal_option_list_u8_t* state, minimal_tuple1_string_t* params,
                                minimal_result_tuple1_option_list_u8_string_t* ret) {
  minimal_string_t actor_id = params->f0; /* not NUL-terminated: print it with %.*s */
  minimal_runtime_logf("Hello from {{project_name}} (%.*s)!", (int)actor_id.len, actor_id.ptr);

  /* The state is the JSON text of init.json; find the number after "starts". */
  unsigned long starts = 0;
  if (state->is_some) {
    char* text = (char*)malloc(state->val.len + 1);
    if (text == NULL) __builtin_trap();
    if (state->val.len) memcpy(text, state->val.ptr, state->val.len);
    text[state->val.len] = '\0';
    const char* at = strstr(text, "\"starts\"");
    if (at) at = strchr(at, ':');
    if (at) starts = strtoul(at + 1, NULL, 10);
    free(text);
  }
  starts++;
  minimal_runtime_logf("started %lu time(s)", starts);

  /* The new state: {"starts": N}, in a buffer the bindings free after the host copied it. */
  char* json = (char*)malloc(64);
  if (json == NULL) __builtin_trap();
  int len = snprintf(json, 64, "{\"starts\": %lu}", starts);
  ret->is_err = false;
  ret->val.ok.f0.is_some = true;
  ret->val.ok.f0.val.ptr = (uint8_t*)json;
  ret->val.ok.f0.val.len = (size_t)len;
}
