/* custom-handler example: an actor that imports the third-party interface
 * `example:counter/counter` (served by counter_handler.cc), calls `next` three times in its
 * `init` and logs the values: "counter: 1 2 3".
 *
 * It uses the Theater C SDK (sdk/c/theater) for the actor's own export and logging, and declares
 * the counter import itself: a u64 result lowers to a plain i64 return in the canonical ABI. */
#include "theater/theater.h"

THEATER_IMPORT("example:counter/counter", "next") uint64_t example_counter_next(void);

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  (void)state;
  (void)actor_id;
  uint64_t a = example_counter_next();
  uint64_t b = example_counter_next();
  uint64_t c = example_counter_next();
  theater_log("counter: %llu %llu %llu", (unsigned long long)a, (unsigned long long)b,
              (unsigned long long)c);
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)
