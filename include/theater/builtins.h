// Theater: a WebAssembly actor runtime.
//
// The standard handler set: runtime, supervisor, timing, random, environment, message-server,
// store, filesystem, process, http-client, http-framework, wasi-preview1 and wasi-preview2
// (docs/handlers.md; each has a README in src/handlers/<name>/). The `theater` CLI and server run with exactly
// these; an embedder starts from them and registers its own beside them
// (theater/handler_registry.h).
//
// Thread-safety: returns a fresh registry on every call; nothing is shared between calls.
#pragma once

#include "theater/handler_registry.h"

namespace theater {

// A registry holding one prototype of every built-in handler.
HandlerRegistry BuiltinHandlers();

}  // namespace theater
