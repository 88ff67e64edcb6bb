// Theater: a WebAssembly actor runtime.
//
// The runtime handler as a unit: the factory of its prototype, which the built-in set
// (include/theater/builtins.h) registers. Everything else about it is private to its folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The runtime handler's prototype (theater:simple/runtime (and runtime-ext)); src/handlers/runtime/README.md describes it.
std::unique_ptr<Handler> NewRuntimeHandler();

}  // namespace theater::handlers
