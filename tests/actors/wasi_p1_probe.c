/* wasi_p1_probe: a core-module actor that uses wasi-libc's stdio, clocks, entropy and environment
 * (wasi_libc_calls.h), which reach the host as the WASI preview-1 functions the wasi-preview1
 * handler serves (src/handlers/wasi-preview1/wasi_preview1_test.cc).
 *
 * init prints what wasi_libc_calls prints, then logs through theater:simple/runtime what the rest
 * of WASI answered:
 *   "probe: clock=1 monotonic=1 entropy=1 env=none"
 */
#include <theater/theater.h>

#include "wasi_libc_calls.h"

static theater_result_t init(theater_state_t* state, theater_string_t actor_id) {
  (void)state;
  (void)actor_id;
  const struct wasi_libc_answers a = wasi_libc_calls();
  theater_log("probe: clock=%d monotonic=%d entropy=%d env=%s", a.clock_ok, a.mono_ok,
              a.entropy_ok, a.home == NULL ? "none" : a.home);
  return theater_ok();
}
THEATER_EXPORT_ACTOR_INIT(init)
