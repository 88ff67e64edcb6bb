// Theater: a WebAssembly actor runtime.
//
// The http-framework handler as a unit: the factory of its prototype, which the built-in set
// (include/theater/builtins.h) registers. Everything else about it is private to its folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The http-framework handler's prototype (theater:simple/http-framework and the http-handlers callbacks); src/handlers/http-framework/README.md describes it.
std::unique_ptr<Handler> NewHttpFrameworkHandler();

}  // namespace theater::handlers
