// Theater: a WebAssembly actor runtime.
#include "engine/compile/function_names.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "engine/compile/wasm_reader.h"

namespace theater::engine {
namespace {

constexpr uint8_t kFunctionNamesSubsection = 1;
constexpr std::string_view kNameSection = "name";

bool IsNameSection(std::span<const uint8_t> wasm, const WasmSection& section) {
  if (section.id != kSectionCustom) return false;
  WasmReader r(wasm, section.payload, section.end);
  Result<std::string> name = r.Name("custom section name");
  return name.ok() && *name == kNameSection;
}

}  // namespace

std::vector<uint8_t> WithPositionalFunctionNames(std::span<const uint8_t> wasm,
                                                 const WasmModuleInfo& info) {
  uint32_t imported_functions = 0;
  for (const WasmImport& import : info.imports) {
    if (import.kind == WasmExternKind::kFunction) ++imported_functions;
  }
  std::vector<uint8_t> out;
  out.reserve(wasm.size() + size_t{info.defined_functions} * 10 + 32);
  out.insert(out.end(), wasm.begin(), wasm.begin() + std::min<size_t>(8, wasm.size()));
  for (const WasmSection& section : info.sections) {
    if (IsNameSection(wasm, section)) continue;
    out.insert(out.end(), wasm.begin() + section.begin, wasm.begin() + section.end);
  }

  std::vector<uint8_t> names;
  AppendUleb(names, info.defined_functions);
  std::string name;
  for (uint32_t k = 0; k < info.defined_functions; ++k) {
    AppendUleb(names, uint64_t{imported_functions} + k);
    name = "df" + std::to_string(k);
    AppendUleb(names, name.size());
    names.insert(names.end(), name.begin(), name.end());
  }
  std::vector<uint8_t> payload;
  AppendUleb(payload, kNameSection.size());
  payload.insert(payload.end(), kNameSection.begin(), kNameSection.end());
  AppendSection(payload, kFunctionNamesSubsection, names);
  AppendSection(out, kSectionCustom, payload);
  return out;
}

}  // namespace theater::engine
