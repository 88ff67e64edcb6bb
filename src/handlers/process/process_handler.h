// Theater: a WebAssembly actor runtime.
//
// The process handler as a unit: the factory of its prototype, which the built-in set
// (include/theater/builtins.h) registers. Everything else about it is private to its folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The process handler's prototype (theater:simple/process and the process-handlers callbacks); src/handlers/process/README.md describes it.
std::unique_ptr<Handler> NewProcessHandler();

}  // namespace theater::handlers
