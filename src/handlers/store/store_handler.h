// Theater: a WebAssembly actor runtime.
//
// The store handler as a unit: the factory of its prototype, which the built-in set
// (include/theater/builtins.h) registers. Everything else about it is private to its folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The store handler's prototype (theater:simple/store); src/handlers/store/README.md describes it.
std::unique_ptr<Handler> NewStoreHandler();

}  // namespace theater::handlers
