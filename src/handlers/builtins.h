// Theater: a WebAssembly actor runtime.
//
// Factories of the built-in handler prototypes (docs/handlers.md), which
// HandlerRegistry::WithBuiltins registers, and the small helpers their host functions share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "runtime/actor.h"
#include "runtime/handler.h"

namespace theater::handlers {

// The runtime actor a host function serves (ActorHostOptions::context).
inline runtime::Actor& ActorOf(runtime::ActorHost& host) {
  return *static_cast<runtime::Actor*>(host.context());
}

// The single result `err(message)` of a WIT function returning result<_, string>.
inline std::vector<abi::Value> ErrValue(const std::string& message) {
  return {abi::Value::Err(abi::Value::String(message))};
}
// The same for a failed Status, prefixed by its code's name ("not-found: actor ... not found"),
// so that an actor can tell kinds of failure apart.
inline std::vector<abi::Value> ErrValue(const Status& status) {
  return ErrValue(std::string(StatusCodeName(status.code())) + ": " + status.ToString());
}

std::unique_ptr<runtime::Handler> NewRuntimeHandler();
std::unique_ptr<runtime::Handler> NewSupervisorHandler();
std::unique_ptr<runtime::Handler> NewTimingHandler();
std::unique_ptr<runtime::Handler> NewRandomHandler();
std::unique_ptr<runtime::Handler> NewEnvironmentHandler();
std::unique_ptr<runtime::Handler> NewMessageServerHandler();
std::unique_ptr<runtime::Handler> NewStoreHandler();
std::unique_ptr<runtime::Handler> NewFilesystemHandler();

}  // namespace theater::handlers
