// Theater: a WebAssembly actor runtime.
//
// A small guest for the module compiler's tests: imports and exports with every value type,
// and names in the component-model style that must survive into the descriptor unchanged.
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("host", "log") void host_log(const char* ptr, uint32_t len);
IMPORT("host", "scale") float host_scale(double x, float y, int64_t z);
IMPORT("theater:simple/runtime", "log") void runtime_log(const char* ptr, uint32_t len);

EXPORT("add") int32_t add(int32_t a, int32_t b) {
  host_log("add", 3);
  return a + b;
}

EXPORT("mix") double mix(int64_t a, float b, double c) {
  return (double)a + (double)b * c + host_scale(c, b, a);
}

EXPORT("half") float half(float x) {
  return x / 2;
}

EXPORT("theater:simple/actor#init") void init(void) {
  runtime_log("init", 4);
}
