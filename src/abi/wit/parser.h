// Theater: a WebAssembly actor runtime.
//
// The WIT parser: one file's text to its syntax tree (ast.h). It checks syntax and the rules that
// are local to one declaration (identifiers, duplicate fields, cases, labels and parameters,
// empty records, nesting depth); names are resolved later by the resolver.
//
// Thread-safety: a pure function; reentrant.
#pragma once

#include <string>
#include <string_view>

#include "abi/wit/ast.h"
#include "theater/status.h"

namespace theater::wit::internal {

// Parses `text`. `file_name` prefixes error locations; `file_index` is stored in the
// declarations so the resolver can find their file again.
Result<AstFile> ParseFile(std::string_view text, std::string file_name, int file_index);

}  // namespace theater::wit::internal
