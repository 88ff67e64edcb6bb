// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the core-module pre-check (src/engine/compile/wasm_inspect.cc), which
// reads every component a client or a guest asks the runtime to start before wasm2c sees it.
// InspectWasmModule accepts or refuses any bytes (kParseError), and CheckCompilable accepts or
// refuses what it returns (kValidationError); a module that passes both has no import or export
// name with "*/" or NUL in it (they would end up in C comments), and its function imports name
// types it declares. The copy wasm2c reads (its functions named by position, function_names.h)
// reads back as the same module: the same sections but its name sections, and one name section
// more.
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/compile/function_names.h"
#include "engine/compile/wasm_inspect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace theater;
  using namespace theater::engine;
  Result<WasmModuleInfo> info = InspectWasmModule(std::span<const uint8_t>(data, size));
  if (!info.ok()) {
    if (info.status().code() != StatusCode::kParseError) __builtin_trap();
    return 0;
  }
  Status compilable = CheckCompilable(*info);
  if (!compilable.ok()) {
    if (compilable.code() != StatusCode::kValidationError) __builtin_trap();
    return 0;
  }
  auto safe = [](const std::string& name) {
    return name.find("*/") == std::string::npos && name.find('\0') == std::string::npos;
  };
  for (const WasmImport& import : info->imports) {
    if (!safe(import.module) || !safe(import.name)) __builtin_trap();
    if (import.kind == WasmExternKind::kFunction && import.type_index >= info->types.size()) {
      __builtin_trap();
    }
  }
  for (const WasmExport& e : info->exports) {
    if (!safe(e.name)) __builtin_trap();
  }
  const std::vector<uint8_t> named = WithPositionalFunctionNames({data, size}, *info);
  Result<WasmModuleInfo> reread = InspectWasmModule(named);
  if (!reread.ok() || reread->defined_functions != info->defined_functions ||
      reread->imports.size() != info->imports.size() ||
      reread->exports.size() != info->exports.size() ||
      reread->sections.empty() || reread->sections.back().id != 0) {
    __builtin_trap();
  }
  return 0;
}
