// Theater: a WebAssembly actor runtime.
//
// Factories of the built-in handler prototypes (docs/handlers.md). HandlerRegistry::WithBuiltins
// registers them all.
#pragma once

#include <memory>

#include "runtime/handler.h"

namespace theater::handlers {

std::unique_ptr<runtime::Handler> NewRuntimeHandler();
std::unique_ptr<runtime::Handler> NewSupervisorHandler();
std::unique_ptr<runtime::Handler> NewTimingHandler();
std::unique_ptr<runtime::Handler> NewRandomHandler();
std::unique_ptr<runtime::Handler> NewEnvironmentHandler();

}  // namespace theater::handlers
