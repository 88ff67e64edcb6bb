/* wasi_probe: an actor that uses wasi-libc (stdio, clocks, entropy and environment as in
 * ../../wasi_libc_calls.h, and a file), made into a component with the WASI preview-1 adapter, so
 * that everything it does reaches the host through the WASI preview-2 interfaces (the
 * wasi-preview2 handler, src/handlers/wasi-preview2/). Written against the C bindings
 * `theater bindgen` generates for the world `minimal`.
 *
 * init prints what wasi_libc_calls prints, then logs through theater:simple/runtime what the rest
 * of WASI answered:
 *   "probe: clock=1 monotonic=1 entropy=1 fopen=denied env=none"
 * and returns the state unchanged. */
#include <stdio.h>
#include <string.h>

#include "../../wasi_libc_calls.h"
#include "minimal.h"

void minimal_exports_actor_init(minimal_option_list_u8_t* state,
                                minimal_tuple1_string_t* params,
                                minimal_result_tuple1_option_list_u8_string_t* ret) {
  (void)params;
  const struct wasi_libc_answers a = wasi_libc_calls();
  FILE* file = fopen("/etc/passwd", "r");

  char line[160];
  int n = snprintf(line, sizeof line, "probe: clock=%d monotonic=%d entropy=%d fopen=%s env=%s",
                   a.clock_ok, a.mono_ok, a.entropy_ok, file == NULL ? "denied" : "opened",
                   a.home == NULL ? "none" : a.home);
  if (file != NULL) fclose(file);
  minimal_string_t text = {line, (size_t)n};
  minimal_runtime_log(text);

  ret->is_err = false;
  ret->val.ok.f0 = *state; /* taken whole */
  state->is_some = false;
  state->val.ptr = NULL;
  state->val.len = 0;
}
