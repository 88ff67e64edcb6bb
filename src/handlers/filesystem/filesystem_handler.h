// Theater: a WebAssembly actor runtime.
//
// The filesystem handler as a unit: the factory of its prototype, which the built-in set
// (include/theater/builtins.h) registers. Everything else about it is private to its folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The filesystem handler's prototype (theater:simple/filesystem); src/handlers/filesystem/README.md describes it.
std::unique_ptr<Handler> NewFilesystemHandler();

}  // namespace theater::handlers
