// Theater: a WebAssembly actor runtime.
//
// A structural pre-check of a core wasm binary, run before the bytes are handed to wasm2c.
//
// It reads the header, the section framing and the type, import, memory and export sections; it
// is not a validator (wasm2c validates everything). It exists to give clear errors for inputs that
// are not core modules at all, and to reject modules the compile pipeline cannot translate safely:
//   - imports of tags and of externref tables (the shim links functions, memories, funcref
//     tables and globals);
//   - import/export names containing "*/" or NUL: wasm2c 1.0.32 copies names verbatim into C
//     comments, so "*/" would end the comment and inject C code into the compiled module;
//   - the same module/name imported twice with different types: wasm2c 1.0.32 then declares one
//     C function and calls it with the wrong types.
//
// Thread-safety: pure functions over caller-owned bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "theater/status.h"

namespace theater::engine {

enum class WasmExternKind : uint8_t {
  kFunction = 0,
  kTable = 1,
  kMemory = 2,
  kGlobal = 3,
  kTag = 4,
};

struct WasmFuncType {
  std::vector<uint8_t> params;  // value type bytes, e.g. 0x7f for i32
  std::vector<uint8_t> results;
  bool operator==(const WasmFuncType&) const = default;
};

// The limits of a memory or table: `min` and, when present, `max` (pages or elements).
struct WasmLimits {
  uint64_t min = 0;
  std::optional<uint64_t> max;
  bool shared = false;
  bool is64 = false;
};

struct WasmImport {
  std::string module;
  std::string name;
  WasmExternKind kind = WasmExternKind::kFunction;
  uint32_t type_index = 0;  // functions
  uint8_t value_type = 0;   // globals: 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64, ...; tables:
                            // the element type (0x70 funcref, 0x6f externref)
  bool global_mutable = false;
  WasmLimits limits;  // memories and tables
};

struct WasmExport {
  std::string name;
  WasmExternKind kind = WasmExternKind::kFunction;
  uint32_t index = 0;
};

// Where one section lies in the binary.
struct WasmSection {
  uint8_t id = 0;      // 0 custom, 1 type, ... 11 data, 12 data count
  size_t begin = 0;    // its id byte
  size_t payload = 0;  // its first byte after the size
  size_t end = 0;      // one past its last byte
};

struct WasmModuleInfo {
  std::vector<WasmFuncType> types;
  std::vector<WasmImport> imports;
  std::vector<WasmExport> exports;
  std::vector<WasmLimits> memories;  // the memories the module defines (imports not counted)
  uint32_t defined_functions = 0;    // entries of the function section (imports not counted)
  std::vector<WasmSection> sections;  // every section, in the binary's order
};

// Reads the header, the type/import/memory/export sections, the function section's count and
// where every section lies.
// Errors: kParseError for anything that is not a well-framed core module binary (too short, bad
// magic, a component, truncated sections).
Result<WasmModuleInfo> InspectWasmModule(std::span<const uint8_t> wasm);

// The size of the module's code section's payload (0 without one): how much there is to compile.
size_t CodeSectionBytes(const WasmModuleInfo& info);

// Rejects modules the compile pipeline cannot translate (see the file comment), with
// kValidationError.
Status CheckCompilable(const WasmModuleInfo& info);

// `text` made printable for error messages: printable ASCII is kept, everything else is \xNN.
std::string PrintableName(std::string_view text);

}  // namespace theater::engine
