/* wasi_start_sleep: a component whose static constructor sleeps, so that a wait reaches the host
 * while the component is being instantiated (the adapter runs _initialize, and with it the
 * constructors, from the component's start function). The host refuses such a wait with an error
 * instead of parking a call that does not exist yet (src/component/component_runtime_test.cc).
 * Written against the C bindings `theater bindgen` generates for the world `minimal`. */
#include <time.h>

#include "minimal.h"

/* Half a second: long enough that the host cannot find it already over when the wait reaches it
 * (5 ms could pass before that under a sanitizer on a loaded machine, and then there was no wait
 * to refuse). The refusal is immediate, so the test does not wait this long. */
__attribute__((constructor)) static void sleep_while_starting(void) {
  const struct timespec half_a_second = {0, 500 * 1000 * 1000};
  nanosleep(&half_a_second, NULL);
}

void minimal_exports_actor_init(minimal_option_list_u8_t* state,
                                minimal_tuple1_string_t* params,
                                minimal_result_tuple1_option_list_u8_string_t* ret) {
  (void)params;
  ret->is_err = false;
  ret->val.ok.f0 = *state; /* taken whole */
  state->is_some = false;
  state->val.ptr = NULL;
  state->val.len = 0;
}
