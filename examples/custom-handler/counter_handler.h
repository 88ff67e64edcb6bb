// custom-handler example: a third-party handler, defined outside the runtime's tree.
//
// CounterHandler serves the interface `example:counter/counter` with one function,
// `next: func() -> u64`: each call returns the actor's next count (1, 2, 3, ... by default).
// Each actor gets its own instance (its own count). It is written only against the public host
// API (theater/handler.h), the way any embedder's handler is; docs/handlers.md walks through it.
//
// Config (`[[handler]] type = "counter"`): `start` (the first value, default 1) and `step` (the
// increment, default 1), both non-negative integers; any other key is refused by name.
//
// Thread-safety: as every handler instance (theater/handler.h): its host function runs on its
// actor's fiber, one call at a time, so the count needs no lock.
#pragma once

#include <memory>

#include "theater/handler.h"

namespace counter_example {

// The WIT the handler declares (Handler::wit()), so the runtime can type its host function.
inline constexpr std::string_view kCounterWit = R"(package example:counter;

interface counter {
  /// The actor's next count.
  next: func() -> u64;
}
)";

std::unique_ptr<theater::Handler> NewCounterHandler();

}  // namespace counter_example
