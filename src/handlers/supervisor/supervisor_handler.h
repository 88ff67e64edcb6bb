// Theater: a WebAssembly actor runtime.
//
// The supervisor handler as a unit: the factory of its prototype, which the built-in set
// (include/theater/builtins.h) registers. Everything else about it is private to its folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The supervisor handler's prototype (theater:simple/supervisor and the supervisor-handlers callbacks); src/handlers/supervisor/README.md describes it.
std::unique_ptr<Handler> NewSupervisorHandler();

}  // namespace theater::handlers
