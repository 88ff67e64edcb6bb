// Theater: a WebAssembly actor runtime.
//
// The wasi-http handler as a unit: a component written for the `wasi:http/proxy` world runs as
// an actor, its `wasi:http/incoming-handler` called for each request its listener receives
// (README.md, "wasi-http"). It serves the whole of WASI 0.2 for its actors, wasi:http/types
// included, in place of the wasi-preview2 handler.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The handler's prototype; an actor declares it (`[[handler]] type = "wasi-http"`).
std::unique_ptr<Handler> NewWasiHttpHandler();

}  // namespace theater::handlers
