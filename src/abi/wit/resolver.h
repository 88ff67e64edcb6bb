// Theater: a WebAssembly actor runtime.
//
// The WIT resolver: the syntax trees of the files of one package (ast.h) to a wit::Package.
// It checks that the files agree on the package name, that names are unique and known, that
// `use` between interfaces is acyclic and that no type is defined in terms of itself; it then
// builds the abi::Type trees, function signatures (with the implicit `self` of methods) and the
// flattened worlds.
//
// Thread-safety: a pure function; reentrant.
#pragma once

#include <vector>

#include "abi/wit/ast.h"
#include "theater/abi/wit.h"
#include "theater/status.h"

namespace theater::wit::internal {

// The deepest the resolver follows references: every named type reached through another
// definition, and every level of type nesting on the way, counts one.
inline constexpr int kMaxResolutionDepth = 256;

// Resolves the files of one package. `files[i]` must have been parsed with file index `i`.
Result<Package> ResolvePackage(std::vector<AstFile> files);

}  // namespace theater::wit::internal
