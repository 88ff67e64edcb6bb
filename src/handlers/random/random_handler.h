// Theater: a WebAssembly actor runtime.
//
// The random handler as a unit: the factory of its prototype, which the built-in set
// (include/theater/builtins.h) registers. Everything else about it is private to its folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The random handler's prototype (theater:simple/random); src/handlers/random/README.md describes it.
std::unique_ptr<Handler> NewRandomHandler();

}  // namespace theater::handlers
