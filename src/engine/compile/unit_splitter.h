// Theater: a WebAssembly actor runtime.
//
// The unit splitter: cuts the one C file wasm2c writes for a module into several translation
// units that the C compiler builds in parallel and the linker joins into one shared object.
// gcc -O2 is the slow step of a first compile (about 1.6 s for a C actor that uses printf, all of
// it on one core); on two cores two units take about half of that (docs/benchmarks.md).
//
// wabt 1.0.32 writes, in this order: the common part (includes, macros, static inline helpers),
// the module's own items (s_module_initialized, func_types, init_func_types, a forward
// declaration of every function, the data and element segments and the init_* functions that
// copy them), the function definitions, and the epilogue (export wrappers, instantiate, free).
// The splitter turns that into:
//   unit 0       the common part, hidden declarations of every function (no longer `static`),
//                the module's items and the epilogue: everything that belongs to the module as a
//                whole, and no function;
//   units 1..n   runs of consecutive functions, each unit a text of its own: the common part
//                with wasm2c's header (mod.h) written into it, then hidden declarations of only
//                what its functions use, then the functions.
// Hidden visibility keeps every name inside the shared object, and the linker turns cross-unit
// calls into direct calls.
//
// Why a function unit is a text of its own, and why runs: a function unit's object depends only
// on its text (and the compiler), so the module compiler keeps each unit's object under a key of
// that text (module_compiler.h, "unit objects"). Two modules that share a run of functions
// (the JavaScript engine of two worlds, once its functions are named by position,
// function_names.h) then share those units' objects, and a second world compiles only the
// units that differ. For that a unit must not carry what differs between the modules:
//   - it declares only the functions, types and segments it uses, not every one of the module's;
//   - wasm2c's header differs with the module's imports: one pointer per imported module at the
//     head of the instance structure. The splitter rewrites the header with the instance's own
//     fields (globals, memories, tables) first and those pointers after them, so a unit whose
//     functions never reach an import sees a header with the own fields only, whose layout is
//     the same as the whole structure's up to their end. Units that reach an import see the
//     whole header. The rewritten header (`module_header`) replaces mod.h for unit 0 and the
//     shim, so every file agrees on the layout;
//   - runs are cut in the functions' order at a size that depends on the module's size in
//     coarse steps (unit_bytes times a power of two once the unit count would pass max_units),
//     so modules that share their first functions cut them at the same places.
//
// It reads the text line by line with c_line_lexer.h and recognises each top-level item exactly;
// on anything it does not recognise (another wasm2c, a feature it does not know) it does not
// split and says why: the module is then compiled whole, as before. It never fails.
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace theater::engine {

struct UnitSplitOptions {
  // About this many bytes of function definitions per function unit: their count is
  // ceil(function bytes / unit_bytes) while that leaves room for unit 0 within max_units; past
  // that the size doubles until it does. It depends on the module only, not on the machine, so
  // the compiled object (and its cache key) is the same everywhere.
  size_t unit_bytes = 192 * 1024;
  size_t max_units = 64;
  std::string_view module_prefix = "mod";  // wasm2c's -n: names Z_<prefix>_instance_t
  std::string_view header_name = "mod.h";  // wasm2c's header, as mod.c #includes it
};

struct SplitTranslation {
  // Empty when the module is compiled whole; `not_split_reason` says why.
  std::string module_header;  // wasm2c's header, the instance's own fields first
  std::vector<std::string> units;  // [0]: the module's items; [1..]: runs of functions
  std::string not_split_reason;
  size_t functions = 0;  // function definitions found
};

// Splits `c_source` (wasm2c's mod.c, after the preemption pass), which must define
// `defined_functions` functions; `header` is wasm2c's mod.h for it.
SplitTranslation SplitTranslatedModule(std::string_view c_source, std::string_view header,
                                       size_t defined_functions, const UnitSplitOptions& options);

}  // namespace theater::engine
