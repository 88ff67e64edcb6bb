// Theater: a WebAssembly actor runtime.
//
// The wasi-preview2 handler as a unit: the WASI 0.2 interfaces a component made with the
// preview-1 adapter imports (README.md lists them), served with the component's own types
// through HostFunctions::ServeComponentInterfaces. Everything else about it is private to its
// folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The handler's prototype; activated for every component importing a `wasi:` interface.
std::unique_ptr<Handler> NewWasiPreview2Handler();

}  // namespace theater::handlers
