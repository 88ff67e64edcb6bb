// Theater: a WebAssembly actor runtime.
//
// ManagementServer: the management protocol's server (docs/protocol.md). It listens on TCP,
// reads commands from each connection, drives a TheaterRuntime with them and writes replies and
// pushes (events of subscriptions, results of actors started with `parent`, channel messages).
//
// Networking runs on its own Boost.Asio thread; runtime operations that wait (spawn, stop,
// requests) use the runtime's asynchronous forms, so a slow command on one connection never
// holds up another. Replies on a connection go out in the order of its commands.
//
// Thread-safety: Start/Stop from one thread; everything else is internal.
// Ownership: the server borrows the runtime (which must outlive it) and owns its sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "theater/runtime.h"
#include "theater/status.h"

namespace theater::server {

struct ServerOptions {
  std::string address = "127.0.0.1:9000";  // host:port; port 0 picks a free one
  // The shared secret clients must present; required to listen beyond loopback.
  std::optional<std::string> token;
  size_t max_frame_bytes = 64u << 20;
  size_t max_message_bytes = 256u << 20;
  size_t max_connections = 1024;
  // Events queued for one subscriber before they are dropped (with a gap notice).
  size_t subscription_queue = 65536;
  std::chrono::milliseconds request_timeout{30'000};  // RequestActorMessage, OpenChannel
};

class ManagementServer {
 public:
  // Binds and starts serving. Errors: the address is malformed or cannot be bound, or it is not
  // loopback and no token is set.
  static Result<std::unique_ptr<ManagementServer>> Start(TheaterRuntime& runtime,
                                                         ServerOptions options);
  virtual ~ManagementServer() = default;

  // The address actually bound ("127.0.0.1:40123" when port 0 was asked for).
  virtual std::string address() const = 0;
  // Stops accepting, closes every connection (ending its subscriptions and channels) and joins
  // the network thread. Idempotent. Does not stop the runtime's actors.
  virtual void Stop() = 0;
};

// `theater server`: serves until SIGTERM or SIGINT, then stops every actor, syncs the database
// and returns 0 (1 when it could not start). Prints "listening on <address>" on stdout once
// ready, so scripts and tests can wait for it.
struct ServeOptions {
  ServerOptions server;
  RuntimeOptions runtime;
};
int Serve(ServeOptions options);

}  // namespace theater::server
