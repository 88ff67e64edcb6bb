// Theater: a WebAssembly actor runtime.
//
// The message-server handler as a unit: the factory of its prototype, which the built-in set
// (include/theater/builtins.h) registers. Everything else about it is private to its folder.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace theater::handlers {

// The message-server handler's prototype (theater:simple/message-server-host and the message-server-client callbacks); src/handlers/message-server/README.md describes it.
std::unique_ptr<Handler> NewMessageServerHandler();

}  // namespace theater::handlers
