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
//   <header>     the common part, then `#pragma GCC visibility push(hidden)` and declarations of
//                everything a function may use across units: every function (no longer
//                `static`), func_types and the segment arrays (`extern`);
//   unit 0       the module's items, its share of the functions and the epilogue;
//   units 1..n   their share of the functions.
// Functions are dealt to units largest first, each to the unit with the least code so far, so
// the units take about as long to compile. Hidden visibility keeps every name inside the shared
// object, and the linker turns cross-unit calls into direct calls.
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
  // About this many bytes of function definitions per unit: the unit count is
  // ceil(function bytes / unit_bytes), at most max_units. It depends on the module only, not on
  // the machine, so the compiled object (and its cache key) is the same everywhere.
  size_t unit_bytes = 192 * 1024;
  size_t max_units = 64;
  std::string_view module_prefix = "mod";        // wasm2c's -n: names Z_<prefix>_instance_t
  std::string_view header_name = "mod_units.h";  // what every unit #includes
};

struct SplitTranslation {
  // Empty when the module is compiled whole; `not_split_reason` says why.
  std::string header;
  std::vector<std::string> units;
  std::string not_split_reason;
  size_t functions = 0;  // function definitions found
};

// Splits `c_source` (wasm2c's mod.c, after the preemption pass), which must define
// `defined_functions` functions.
SplitTranslation SplitTranslatedModule(std::string_view c_source, size_t defined_functions,
                                       const UnitSplitOptions& options);

}  // namespace theater::engine
