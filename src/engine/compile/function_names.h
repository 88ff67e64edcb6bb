// Theater: a WebAssembly actor runtime.
//
// Positional function names: the module as wasm2c is given it, with every defined function
// named by its place among the defined functions ("df0", "df1", …) instead of by its index.
//
// Why: wasm2c names an unnamed function after its index (w2c_f<index>), and a core module's
// imports come first in its function index space. Two JavaScript worlds of componentize-js carry
// the same 12,677 engine functions, but one imports 12 functions and the other 20, so every
// engine function had another name, and every call to it another text, in each world: nothing
// compiled for one world could serve the other. Named by their place among the defined
// functions, the engine's functions translate to the same C in every world, and the units made of
// them (unit_splitter.h) compile once for all worlds (module_compiler.h, "unit objects").
//
// The module's own "name" sections are left out (the names they give are debugging aids; a
// module's meaning does not depend on them), and one is appended that names the defined
// functions only. wasm2c prefixes every name with w2c_; its temporaries (w2c_i0, w2c_d0, …),
// parameters (w2c_p0) and locals (w2c_l0) never begin with "df".
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/compile/wasm_inspect.h"

namespace theater::engine {

// `wasm` (described by `info`) without its "name" custom sections and with one that names each
// defined function "df<k>", k counted from 0 among the defined functions.
std::vector<uint8_t> WithPositionalFunctionNames(std::span<const uint8_t> wasm,
                                                 const WasmModuleInfo& info);

}  // namespace theater::engine
