// Theater: a WebAssembly actor runtime.
#include "handlers/builtins.h"

#include <chrono>

namespace theater::handlers {

uint64_t WallClockMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace theater::handlers

namespace theater::runtime {

HandlerRegistry HandlerRegistry::WithBuiltins() {
  HandlerRegistry registry;
  registry.Register(handlers::NewRuntimeHandler());
  registry.Register(handlers::NewSupervisorHandler());
  registry.Register(handlers::NewTimingHandler());
  registry.Register(handlers::NewRandomHandler());
  registry.Register(handlers::NewEnvironmentHandler());
  return registry;
}

}  // namespace theater::runtime
