/* wasi_probe: an actor that uses wasi-libc (stdio, clocks, entropy, files, environment), made
 * into a component with the WASI preview-1 adapter, so that everything it does reaches the host
 * through the WASI preview-2 interfaces (src/component/wasi_preview2.h). Written against the C
 * bindings `theater bindgen` generates for the world `minimal`.
 *
 * init prints two lines to stdout and one to stderr, then logs through theater:simple/runtime
 * what the rest of WASI answered:
 *   "probe: clock=1 monotonic=1 entropy=1 fopen=denied env=none"
 * and returns the state unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "minimal.h"

void minimal_exports_actor_init(minimal_option_list_u8_t* state,
                                minimal_tuple1_string_t* params,
                                minimal_result_tuple1_option_list_u8_string_t* ret) {
  (void)params;
  printf("hello from stdout\n");
  printf("second line, %d\n", 42);
  fflush(stdout);
  fprintf(stderr, "and one from stderr\n");

  struct timespec wall, mono;
  const int clock_ok = clock_gettime(CLOCK_REALTIME, &wall) == 0 && wall.tv_sec > 1600000000;
  const int mono_ok = clock_gettime(CLOCK_MONOTONIC, &mono) == 0;
  unsigned char entropy[16] = {0};
  int entropy_ok = getentropy(entropy, sizeof entropy) == 0;
  FILE* file = fopen("/etc/passwd", "r");
  const char* home = getenv("HOME");

  char line[160];
  int n = snprintf(line, sizeof line, "probe: clock=%d monotonic=%d entropy=%d fopen=%s env=%s",
                   clock_ok, mono_ok, entropy_ok, file == NULL ? "denied" : "opened",
                   home == NULL ? "none" : home);
  if (file != NULL) fclose(file);
  minimal_string_t text = {line, (size_t)n};
  minimal_runtime_log(text);

  ret->is_err = false;
  ret->val.ok.f0 = *state; /* taken whole */
  state->is_some = false;
  state->val.ptr = NULL;
  state->val.len = 0;
}
