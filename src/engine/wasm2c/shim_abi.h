/* Theater: a WebAssembly actor runtime.
 *
 * The contract between a compiled module (.so) and the host that dlopen()s it.
 *
 * wasm2c turns a module into C whose entry points are named after the module (Z_<name>_...).
 * The compiler adds a generated shim beside it so that the host never needs those names: the
 * shim exports exactly one symbol, theater_module(), returning a descriptor with
 *   - the instance size and the init/instantiate/free entry points,
 *   - one trampoline per exported function with a uniform signature
 *       void fn(void* instance, const uint64_t* args, uint64_t* results)
 *     where i32/i64 travel zero-extended in a uint64_t and f32/f64 as their bit patterns,
 *   - the list of imports; every import is forwarded by the shim to theater_host_dispatch()
 *     with its index in that list.
 * Signatures are strings over the letters i (i32), I (i64), f (f32), F (f64).
 *
 * Every import stub the shim generates has exactly this body, and nothing else touches
 * thread-local state in a frame that may span a fiber switch (see docs/engine.md):
 *     wasm_rt_host_enter();
 *     int status = theater_host_dispatch(ctx, index, args, results);
 *     wasm_rt_host_leave(status);   // traps when status != 0 or an interrupt is pending
 *
 * This header is included by generated C and by the C++ host; it must stay plain C.
 */
#ifndef THEATER_ENGINE_WASM2C_SHIM_ABI_H_
#define THEATER_ENGINE_WASM2C_SHIM_ABI_H_

#include <stddef.h>
#include <stdint.h>

#include "wasm-rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever this struct or the trampoline convention changes; part of the cache key. */
#define THEATER_SHIM_ABI_VERSION 1

typedef void (*theater_export_fn)(void* instance, const uint64_t* args, uint64_t* results);

typedef struct {
  const char* module; /* e.g. "theater:simple/runtime" */
  const char* name;   /* e.g. "log" */
  const char* params; /* e.g. "ii" */
  const char* results;
} theater_import_desc;

typedef struct {
  const char* name;
  const char* params;
  const char* results;
  theater_export_fn fn;
} theater_export_desc;

typedef struct {
  uint32_t abi_version;             /* THEATER_SHIM_ABI_VERSION */
  uint32_t memcheck_signal_handler; /* WASM_RT_MEMCHECK_SIGNAL_HANDLER the module was built with */
  size_t instance_size;             /* sizeof(Z_<name>_instance_t) */
  void (*init_module)(void);        /* once per process, before the first instantiate */
  /* Initialises an instance in caller-provided zeroed storage of instance_size bytes; host_ctx is
   * passed to every import of every imported module. May trap (data segments out of bounds). */
  void (*instantiate)(void* instance, void* host_ctx);
  void (*free_instance)(void* instance);
  /* The memory exported as "memory", or NULL when the module exports none. */
  wasm_rt_memory_t* (*memory)(void* instance);
  uint32_t n_imports;
  const theater_import_desc* imports;
  uint32_t n_exports;
  const theater_export_desc* exports; /* functions only */
} theater_module_desc;

/* The one symbol a compiled module exports. */
typedef const theater_module_desc* (*theater_module_fn)(void);
#define THEATER_MODULE_SYMBOL "theater_module"

/* Provided by the host executable, resolved when the module is loaded. Returns 0, or a
 * wasm_rt_trap_t code to trap the guest with. */
int theater_host_dispatch(void* host_ctx, uint32_t import_index, const uint64_t* args,
                          uint64_t* results);

#ifdef __cplusplus
}
#endif

#endif /* THEATER_ENGINE_WASM2C_SHIM_ABI_H_ */
