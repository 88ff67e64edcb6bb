// Theater: a WebAssembly actor runtime.
//
// The wasi-preview2 handler as a unit: the WASI 0.2 interfaces a component made with the
// preview-1 adapter imports (README.md lists them), served with the component's own types
// through HostFunctions::ServeComponentInterfaces. Everything else about it is private to its
// folder.
#pragma once

#include <memory>

#include "handlers/wasi-preview2/wasi_preview2.h"
#include "theater/handler.h"

namespace theater::handlers {

// The handler's prototype; activated for every component importing a `wasi:` interface.
std::unique_ptr<Handler> NewWasiPreview2Handler();

// How a WasiPreview2 of `actor` reaches it: stdout and stderr lines to its log, every call into
// its chain, waits parked on the runtime's timers, random bytes from the OS, and the directories
// its handlers grant as preopens. Shared by the wasi-preview2 and wasi-http handlers.
WasiPreview2::Options WasiOptionsFor(ActorContext& actor);

}  // namespace theater::handlers
