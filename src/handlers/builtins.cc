// Theater: a WebAssembly actor runtime.
#include "handlers/builtins.h"

namespace theater::runtime {

HandlerRegistry HandlerRegistry::WithBuiltins() {
  HandlerRegistry registry;
  registry.Register(handlers::NewRuntimeHandler());
  registry.Register(handlers::NewSupervisorHandler());
  registry.Register(handlers::NewTimingHandler());
  registry.Register(handlers::NewRandomHandler());
  registry.Register(handlers::NewEnvironmentHandler());
  registry.Register(handlers::NewMessageServerHandler());
  registry.Register(handlers::NewStoreHandler());
  registry.Register(handlers::NewFilesystemHandler());
  registry.Register(handlers::NewProcessHandler());
  registry.Register(handlers::NewHttpClientHandler());
  registry.Register(handlers::NewHttpFrameworkHandler());
  return registry;
}

}  // namespace theater::runtime
