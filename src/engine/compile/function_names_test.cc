// Theater: a WebAssembly actor runtime.
//
// Positional function names: the copy of a module wasm2c reads names its defined functions by
// their place among the defined functions, whatever the module imports or names itself.
#include "engine/compile/function_names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/compile/wasm_reader.h"

namespace theater::engine {
namespace {

using Bytes = std::vector<uint8_t>;

// Imports `imports` functions env.i<k> of type () -> (), defines two, and carries a "name"
// section naming the first defined function "own".
Bytes Module(uint8_t imports) {
  Bytes wasm = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  AppendSection(wasm, kSectionType, Bytes{0x01, 0x60, 0x00, 0x00});
  Bytes import_section = {imports};
  for (uint8_t k = 0; k < imports; ++k) {
    import_section.insert(import_section.end(),
                          {0x03, 'e', 'n', 'v', 0x02, 'i', static_cast<uint8_t>('0' + k), 0x00,
                           0x00});
  }
  AppendSection(wasm, kSectionImport, import_section);
  AppendSection(wasm, kSectionFunction, Bytes{0x02, 0x00, 0x00});
  AppendSection(wasm, kSectionCode, Bytes{0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b});
  Bytes names = {0x04, 'n', 'a', 'm', 'e'};
  AppendSection(names, 1, Bytes{0x01, imports, 0x03, 'o', 'w', 'n'});
  AppendSection(wasm, kSectionCustom, names);
  return wasm;
}

// The payloads of the module's "name" sections.
std::vector<Bytes> NameSections(const Bytes& wasm) {
  Result<WasmModuleInfo> info = InspectWasmModule(wasm);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  std::vector<Bytes> out;
  if (!info.ok()) return out;
  for (const WasmSection& section : info->sections) {
    if (section.id != kSectionCustom) continue;
    WasmReader r(wasm, section.payload, section.end);
    Result<std::string> name = r.Name("name");
    if (name.ok() && *name == "name") out.emplace_back(wasm.begin() + r.pos(), wasm.begin() + section.end);
  }
  return out;
}

TEST(FunctionNamesTest, DefinedFunctionsAreNamedByTheirPlaceAmongThemWhateverTheImports) {
  for (const uint8_t imports : {uint8_t{0}, uint8_t{3}}) {
    const Bytes wasm = Module(imports);
    Result<WasmModuleInfo> info = InspectWasmModule(wasm);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    const Bytes named = WithPositionalFunctionNames(wasm, *info);
    const std::vector<Bytes> sections = NameSections(named);
    ASSERT_EQ(sections.size(), 1u) << "the module's own name section is left out";
    // Subsection 1 (function names): two entries, indices after the imports.
    const Bytes expected = {0x01, 0x0b, 0x02, imports, 0x03, 'd', 'f', '0',
                            static_cast<uint8_t>(imports + 1), 0x03, 'd', 'f', '1'};
    EXPECT_EQ(sections[0], expected);
    // Everything else is the module's, in its order.
    Result<WasmModuleInfo> reread = InspectWasmModule(named);
    ASSERT_TRUE(reread.ok()) << reread.status().ToString();
    EXPECT_EQ(reread->defined_functions, 2u);
    EXPECT_EQ(reread->imports.size(), imports);
    ASSERT_EQ(reread->sections.size(), info->sections.size());
    for (size_t i = 0; i + 1 < info->sections.size(); ++i) {
      const WasmSection& a = info->sections[i];
      const WasmSection& b = reread->sections[i];
      EXPECT_EQ(Bytes(wasm.begin() + a.begin, wasm.begin() + a.end),
                Bytes(named.begin() + b.begin, named.begin() + b.end));
    }
  }
}

}  // namespace
}  // namespace theater::engine
