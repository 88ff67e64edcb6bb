// custom-handler example: the counter handler (counter_handler.h) as a plug-in that the stock
// `theater server --handler counter_handler.so` loads (docs/handlers.md, "Plug-ins"). Built as a
// shared object that links nothing of Theater: what the handler calls of the host API (Status,
// abi::Value, HostFunctions) the `theater` command provides when it loads it.
#include "counter_handler.h"
#include "theater/plugin.h"

THEATER_HANDLER_PLUGIN(counter_example::NewCounterHandler)
