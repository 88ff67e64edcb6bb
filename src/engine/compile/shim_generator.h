// Theater: a WebAssembly actor runtime.
//
// Generates the C shim that is compiled beside wasm2c's output, from the header wasm2c wrote.
//
// The shim is the only code that knows wabt 1.0.32's naming scheme (Z_<module>Z_<name>,
// Z_<prefix>_instantiate, ...). It defines every function import as a stub that forwards to
// theater_host_dispatch() by index and every imported memory, table or global as an accessor that
// asks theater_host_extern(), wraps every function export in a uniform trampoline and every other
// export in an accessor, and exports one symbol, theater_module(), returning the descriptor
// defined in src/engine/wasm2c/shim_abi.h.
//
// Names are taken from the C identifiers, whose mangling is reversible, and cross-checked
// against the /* import: ... */ and /* export: ... */ comments; they are written into the shim
// only as escaped string literals, never into comments. Anything in the header that does not
// look exactly as expected is an error rather than a guess.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "theater/status.h"

namespace theater::engine {

// Bumped whenever the generated C changes in a way that affects compiled modules; it is part of
// the compile cache key, like THEATER_SHIM_ABI_VERSION.
// 4: the generated C gets time-slice checks (preempt_pass.h) and the runtime header declares them.
inline constexpr int kShimGeneratorRevision = 4;

// The wasm binary's external kinds, as far as the shim handles them.
enum class ShimExternKind : uint8_t { kFunction = 0, kTable = 1, kMemory = 2, kGlobal = 3 };

struct ShimImport {
  std::string module;
  std::string name;
  std::string params;  // signature letters: i (i32), I (i64), f (f32), F (f64); a global's type
  std::string results;
  ShimExternKind kind = ShimExternKind::kFunction;
};

// An exported memory, (funcref) table or global.
struct ExternExportDesc {
  std::string name;
  ShimExternKind kind = ShimExternKind::kMemory;
  std::string type;  // a global's value type letter; empty otherwise
};

struct ShimExport {
  std::string name;
  std::string params;
  std::string results;
};

struct GeneratedShim {
  std::string source;  // the C translation unit
  // In dispatch-index order: the function imports, then the memories, tables and globals.
  std::vector<ShimImport> imports;
  std::vector<ShimExport> exports;               // functions
  std::vector<ExternExportDesc> extern_exports;  // memories, tables and globals
  bool exports_memory = false;                   // a memory is exported as "memory"
  // Exports the descriptor leaves out (externref tables).
  std::vector<std::string> skipped_exports;
};

// `header` is the text of the header wasm2c wrote for a module translated with
// `-n <module_prefix>`; `header_name` is how the shim #includes it. Errors: kValidationError
// for modules the shim cannot express (externref table imports, reference-typed parameters),
// kInternal for a header that is not in the expected wabt 1.0.32 format.
Result<GeneratedShim> GenerateShim(std::string_view header, std::string_view header_name,
                                   std::string_view module_prefix);


}  // namespace theater::engine
