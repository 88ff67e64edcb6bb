// Theater: a WebAssembly actor runtime.
//
// Reading the parts of core WebAssembly a component needs: value types, function types, the
// import descriptions shared by core modules and core module types, and the imports and exports
// of an embedded core module (its type, import, function, tag and export sections; the code is
// left to the engine). Linking core instances inside a component is by these names and kinds.
//
// Thread-safety: stateless functions over a caller-owned Reader.
#pragma once

#include <set>
#include <string>
#include <utility>

#include <memory>
#include <vector>

#include "abi/component/reader.h"
#include "theater/abi/component.h"

namespace theater::component {

// A core value type; GC reference types are refused.
Result<CoreValType> ReadCoreValType(Reader& reader);
// The rest of a function type, after its 0x60 opcode.
Result<CoreFuncType> ReadCoreFuncTypeBody(Reader& reader);
// A core importdesc (0x00 func, 0x01 table, 0x02 memory, 0x03 global, 0x04 tag). Function and
// tag types are looked up in `types` (the enclosing core type space, in which entries that are
// not function types are null).
Result<CoreExternType> ReadCoreImportDesc(
    Reader& reader, const std::vector<std::shared_ptr<const CoreFuncType>>& types);

// A core import (module name, field name, importdesc), refused when `seen` already holds its two
// names; added to `seen` otherwise.
Result<CoreImport> ReadUniqueCoreImport(
    Reader& reader, const std::vector<std::shared_ptr<const CoreFuncType>>& types,
    std::set<std::pair<std::string, std::string>>& seen);

// The imports and exports of the core module in `reader` (preamble included).
Result<std::shared_ptr<const CoreModuleShape>> ReadCoreModuleShape(Reader& reader);

}  // namespace theater::component
