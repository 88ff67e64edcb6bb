// Theater: a WebAssembly actor runtime.
//
// The timing handler as a unit: the factory of its prototype, which the built-in set
// (include/theater/builtins.h) registers. Everything else about it is private to its folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The timing handler's prototype (theater:simple/timing); src/handlers/timing/README.md describes it.
std::unique_ptr<Handler> NewTimingHandler();

}  // namespace theater::handlers
