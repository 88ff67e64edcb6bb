// Theater: a WebAssembly actor runtime.
//
// Factories of the built-in handler prototypes (docs/handlers.md), which
// HandlerRegistry::WithBuiltins registers, and the small helpers their host functions share.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
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

// The single result `ok(v)` (or `ok` without a value) of a WIT function returning a result.
inline std::vector<abi::Value> OkValue(std::optional<abi::Value> v = std::nullopt) {
  std::vector<abi::Value> out;
  out.push_back(abi::Value::Ok(std::move(v)));
  return out;
}

// `["a", "b"]`, as the permission checks print lists in their messages.
inline std::string FormatList(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out += ", ";
    out += "\"" + list[i] + "\"";
  }
  return out + "]";
}

// Whether the lexically normal absolute `path` equals `dir` or lies below it, compared by whole
// components (so /data2 is not within /data).
inline bool PathWithin(const std::filesystem::path& path, const std::filesystem::path& dir) {
  auto p = path.begin();
  for (auto d = dir.begin(); d != dir.end(); ++d, ++p) {
    if (d->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *d) return false;
  }
  return true;
}

std::unique_ptr<runtime::Handler> NewRuntimeHandler();
std::unique_ptr<runtime::Handler> NewSupervisorHandler();
std::unique_ptr<runtime::Handler> NewTimingHandler();
std::unique_ptr<runtime::Handler> NewRandomHandler();
std::unique_ptr<runtime::Handler> NewEnvironmentHandler();
std::unique_ptr<runtime::Handler> NewMessageServerHandler();
std::unique_ptr<runtime::Handler> NewStoreHandler();
std::unique_ptr<runtime::Handler> NewFilesystemHandler();
std::unique_ptr<runtime::Handler> NewProcessHandler();
std::unique_ptr<runtime::Handler> NewHttpClientHandler();
std::unique_ptr<runtime::Handler> NewHttpFrameworkHandler();

}  // namespace theater::handlers
