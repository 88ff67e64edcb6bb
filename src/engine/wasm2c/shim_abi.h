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
 *   - the list of imports; every function import is forwarded by the shim to
 *     theater_host_dispatch() with its index in that list, and every memory, table or global
 *     import is fetched once, while the instance is created, through theater_host_extern()
 *     (another instance's memory, table or global cell: how the core modules of a component
 *     share them),
 *   - the memories, tables and globals the module exports, each with an accessor.
 * Signatures are strings over the letters i (i32), I (i64), f (f32), F (f64).
 *
 * Every import stub the shim generates has exactly this body, and nothing else touches
 * thread-local state in a frame that may span a fiber switch (see docs/engine.md):
 *     wasm_rt_host_enter();
 *     int status = theater_host_dispatch(*(void**)ctx, index, args, results);
 *     wasm_rt_host_leave(status);   // traps when status != 0 or an interrupt is pending
 *
 * The host context is the address of a word that holds its own address. A stub called directly
 * receives that address; a stub called through a table receives, from wabt 1.0.32's element
 * initialisation, the address of the instance field that holds it. Dereferencing once gives the
 * host context either way, which is what lets one core instance put another's imported
 * functions in a table (as a component's fixup modules do).
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
#define THEATER_SHIM_ABI_VERSION 2

typedef void (*theater_export_fn)(void* instance, const uint64_t* args, uint64_t* results);

/* What an import or extern export is. The values are the wasm binary's external kinds. */
enum {
  THEATER_EXTERN_FUNC = 0,
  THEATER_EXTERN_TABLE = 1,   /* wasm_rt_funcref_table_t (funcref tables only) */
  THEATER_EXTERN_MEMORY = 2,  /* wasm_rt_memory_t */
  THEATER_EXTERN_GLOBAL = 3,  /* the global's value cell: u32, u64, f32 or f64 */
};

typedef struct {
  const char* module; /* e.g. "theater:simple/runtime" */
  const char* name;   /* e.g. "log" */
  const char* params; /* e.g. "ii"; for a global, its value type letter */
  const char* results;
  uint32_t kind; /* THEATER_EXTERN_* */
} theater_import_desc;

/* An exported memory, table or global: `get` returns its wasm_rt object or value cell. */
typedef struct {
  const char* name;
  uint32_t kind;    /* THEATER_EXTERN_TABLE, _MEMORY or _GLOBAL */
  const char* type; /* a global's value type letter; "" otherwise */
  void* (*get)(void* instance);
} theater_extern_export_desc;

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
  uint32_t n_extern_exports;
  const theater_extern_export_desc* extern_exports;
} theater_module_desc;

/* The one symbol a compiled module exports. */
typedef const theater_module_desc* (*theater_module_fn)(void);
#define THEATER_MODULE_SYMBOL "theater_module"

/* Provided by the host executable, resolved when the module is loaded. Returns 0, or a
 * wasm_rt_trap_t code to trap the guest with. */
int theater_host_dispatch(void* host_ctx, uint32_t import_index, const uint64_t* args,
                          uint64_t* results);

/* Provided by the host executable: the memory, table or global cell bound to a non-function
 * import, never NULL (the host refuses to instantiate without one). */
void* theater_host_extern(void* host_ctx, uint32_t import_index);

#ifdef __cplusplus
}
#endif

#endif /* THEATER_ENGINE_WASM2C_SHIM_ABI_H_ */
