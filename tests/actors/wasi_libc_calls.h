/* What both WASI probes do through wasi-libc (wasi_p1_probe.c as a core module, over WASI
 * preview 1; components/wasi/wasi_probe.c as a component, over preview 2 through the adapter):
 * two lines to stdout, the second in two writes, one to stderr, then the clocks, entropy and
 * the environment. Touches no file, so a core module using it imports only what the
 * wasi-preview1 handler serves. */
#ifndef THEATER_TESTS_WASI_LIBC_CALLS_H_
#define THEATER_TESTS_WASI_LIBC_CALLS_H_

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct wasi_libc_answers {
  int clock_ok;    /* the wall clock reads a time after 2020 */
  int mono_ok;     /* the monotonic clock reads */
  int entropy_ok;  /* getentropy filled 16 bytes */
  const char* home; /* getenv("HOME"): NULL when the environment is empty */
};

static inline struct wasi_libc_answers wasi_libc_calls(void) {
  printf("hello from stdout\n");
  printf("second line, ");
  fflush(stdout);
  printf("%d\n", 42);
  fflush(stdout);
  fprintf(stderr, "and one from stderr\n");

  struct wasi_libc_answers a;
  struct timespec wall, mono;
  a.clock_ok = clock_gettime(CLOCK_REALTIME, &wall) == 0 && wall.tv_sec > 1600000000;
  a.mono_ok = clock_gettime(CLOCK_MONOTONIC, &mono) == 0;
  unsigned char entropy[16] = {0};
  a.entropy_ok = getentropy(entropy, sizeof entropy) == 0;
  a.home = getenv("HOME");
  return a;
}

#endif  /* THEATER_TESTS_WASI_LIBC_CALLS_H_ */
