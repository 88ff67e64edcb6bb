// Theater: a WebAssembly actor runtime.
#include "theater/builtins.h"

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "handlers/environment/environment_handler.h"
#include "handlers/filesystem/filesystem_handler.h"
#include "handlers/http-client/http_client_handler.h"
#include "handlers/http-framework/http_framework_handler.h"
#include "handlers/message-server/message_server_handler.h"
#include "handlers/process/process_handler.h"
#include "handlers/random/random_handler.h"
#include "handlers/runtime/runtime_handler.h"
#include "handlers/store/store_handler.h"
#include "handlers/supervisor/supervisor_handler.h"
#include "handlers/timing/timing_handler.h"
#include "handlers/wasi-preview1/wasi_preview1_handler.h"
#include "handlers/wasi-preview2/wasi_http_handler.h"
#include "handlers/wasi-preview2/wasi_preview2_handler.h"

namespace theater {

HandlerRegistry BuiltinHandlers() {
  // The standard set, one line each: adding a built-in handler is its folder and a line here.
  using Factory = std::unique_ptr<Handler> (*)();
  static constexpr Factory kFactories[] = {
      handlers::NewRuntimeHandler,       handlers::NewSupervisorHandler,
      handlers::NewTimingHandler,        handlers::NewRandomHandler,
      handlers::NewEnvironmentHandler,   handlers::NewMessageServerHandler,
      handlers::NewStoreHandler,         handlers::NewFilesystemHandler,
      handlers::NewProcessHandler,       handlers::NewHttpClientHandler,
      handlers::NewHttpFrameworkHandler, handlers::NewWasiPreview1Handler,
      handlers::NewWasiPreview2Handler,  handlers::NewWasiHttpHandler,
  };
  HandlerRegistry registry;
  for (Factory factory : kFactories) {
    Status registered = registry.Register(factory());
    // The built-in handlers declare no WIT of their own, so registering cannot fail.
    if (!registered.ok()) {
      spdlog::critical("built-in handler: {}", registered.ToString());
      std::abort();
    }
  }
  return registry;
}

}  // namespace theater
