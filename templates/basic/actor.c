/* {{project_name}}: a minimal Theater actor in C.
 *
 * init runs once when the actor starts. It logs a greeting and keeps a JSON state,
 * {"starts": N}, that counts how often it started. */
#include <stdio.h>
#include <stdlib.h>
#include <theater/theater.h>

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  theater_log("Hello from {{project_name}} (%.*s)!", (int)actor_id.len, actor_id.ptr);

  /* The state is the JSON text of init.json; find the number after "starts". */
  unsigned long starts = 0;
  char* text = theater_string_to_cstr(theater_state_str(state));
  const char* at = strstr(text, "\"starts\"");
  if (at) {
    at = strchr(at, ':');
    if (at) starts = strtoul(at + 1, NULL, 10);
  }
  free(text);
  starts++;
  theater_log("started %lu time(s)", starts);

  char json[64];
  int len = snprintf(json, sizeof json, "{\"starts\": %lu}", starts);
  theater_state_set(state, json, (size_t)len);
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)
