// Theater: a WebAssembly actor runtime.
//
// The environment handler as a unit: the factory of its prototype, which the built-in set
// (include/theater/builtins.h) registers. Everything else about it is private to its folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The environment handler's prototype (theater:simple/environment); src/handlers/environment/README.md describes it.
std::unique_ptr<Handler> NewEnvironmentHandler();

}  // namespace theater::handlers
