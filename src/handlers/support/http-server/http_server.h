// Theater: a WebAssembly actor runtime.
//
// HttpServer: one listening server of the http-framework handler, on Boost.Beast, on the host's
// I/O loop (include/theater/io_loop.h). Its accept loop and connection I/O run on a strand of
// the loop of its own, so they are serialised without a thread of their own, and never wait for
// an actor: each request is handed to the actor asynchronously (ActorPort::Call, which queues an
// operation in the actor's mailbox) and the response is written when the call's reply comes
// back, or 504 when it does not within `request_timeout`. docs/handlers.md, "http-framework",
// describes the request pipeline.
//
// Thread-safety: every public method may be called from any thread (the handler calls them on
// the actor's fiber, Stop on a runtime thread). Routing snapshots are swapped under a mutex;
// everything else is done by posting to the server's strand.
//
// Ownership: the handler instance of one actor owns its servers (unique_ptr). The server's state
// is shared with its connections and the loop's pending completions, and lives until the last of
// them ends. Destroying a server closes every connection at once (waiting for that, on the loop,
// unless called from one of the loop's threads); it never waits for the actor. The loop must
// outlive the server's connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "handlers/support/http-server/route_table.h"
#include "theater/abi/value.h"
#include "theater/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace theater::handlers::http {

// A middleware: runs for requests whose path is `path` or lies below it (by segment).
struct Middleware {
  uint64_t id = 0;
  std::string path;
  uint64_t handler_id = 0;
};

// A WebSocket endpoint at an exact path.
struct WebSocketEndpoint {
  std::optional<uint64_t> connect_handler;
  uint64_t message_handler = 0;
  std::optional<uint64_t> disconnect_handler;
};

// Everything a running server consults per request. Immutable once published: the handler
// builds a new one for every change and swaps it in (SetRouting).
struct Routing {
  RouteTable routes;
  std::vector<Middleware> middleware;  // in the order added: the order they run
  std::map<std::string, WebSocketEndpoint> websockets;
};

// Whether middleware registered at `prefix` applies to the raw request path `path`.
bool MiddlewareApplies(std::string_view prefix, std::string_view path);

struct ServerLimits {
  uint64_t max_body_bytes = 1 << 20;
  uint32_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds request_timeout{30'000};  // one actor call
  std::chrono::milliseconds idle_timeout{30'000};     // reading a request, keep-alive idle
  std::chrono::milliseconds shutdown_timeout{5'000};  // graceful stop: drain bound
  size_t max_connections = 1024;
};

// How the server reaches the actor that owns it.
class ActorPort {
 public:
  using Done = std::function<void(Result<std::vector<abi::Value>>)>;
  virtual ~ActorPort() = default;
  // Queues a call of the actor's theater:simple/http-handlers#<function> with `params` (the
  // params tuple's elements). `done` runs later, on any thread, with the results after the
  // state. A non-OK return means the call was not queued and `done` will not run:
  // kFailedPrecondition when the actor does not export the function, kUnavailable or
  // kResourceExhausted when it is stopping or its mailbox is full.
  virtual Status Call(std::string_view function, std::vector<abi::Value> params, Done done) = 0;
};

// An outgoing WebSocket frame (or a close).
struct WsOutgoing {
  enum class Kind { kText, kBinary, kClose, kPing, kPong };
  Kind kind = Kind::kText;
  std::string payload;
};

// Checks that `host` is an address a server can bind: an IPv4 or IPv6 literal, or "localhost"
// (127.0.0.1). Names are not resolved (that would block, and could change between calls).
[[nodiscard]] Status CheckHost(const std::string& host);

// A websocket-message value (wit/http.wit) as a frame to send. Errors (kInvalidArgument) when the
// payload its type needs is missing, or for `connect` and `other`, which cannot be sent.
[[nodiscard]] Result<WsOutgoing> WsOutgoingFromValue(const abi::Value& message);

class HttpServer {
 public:
  struct Options {
    uint64_t server_id = 0;
    std::string host = "127.0.0.1";        // an IP address
    uint16_t port = 0;                     // 0: any free port
    std::optional<std::string> cert_path;  // both set: HTTPS
    std::optional<std::string> key_path;
    ServerLimits limits;
  };

  // Binds, loads the TLS files, and starts accepting on `io`'s loop. Errors: kInvalidArgument
  // (bad address or TLS files), kIOError / kAlreadyExists (cannot bind).
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> Start(
      boost::asio::io_context& io, Options options, std::shared_ptr<ActorPort> actor,
      std::shared_ptr<const Routing> routing);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Publishes new routes, middleware and WebSocket endpoints; the next request uses them.
  void SetRouting(std::shared_ptr<const Routing> routing);

  // Starts a graceful stop and returns once the listening socket is closed (so the port can
  // be bound again): idle connections close, requests in flight are answered (by the actor,
  // later) and then their connections close, WebSocket connections are sent a close frame.
  // Whatever is still open after `shutdown_timeout` is closed. Idempotent.
  void BeginShutdown();
  // True once a shutdown has completed: no connection is left.
  bool finished() const;
  // Closes everything now (also what the destructor does).
  void ForceStop();

  // Queues a frame on an open WebSocket connection of this server. kNotFound when the
  // connection is unknown or closed.
  [[nodiscard]] Status SendWebSocket(uint64_t connection_id, WsOutgoing message);
  [[nodiscard]] Status CloseWebSocket(uint64_t connection_id);
  // Closes every open WebSocket connection whose endpoint is `path` (disable-websocket).
  void CloseWebSocketsAt(const std::string& path);

  // Connections currently open (HTTP and WebSocket), for tests and get-server-info.
  size_t open_connections() const;

  struct Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  // Runs `step` on the server's strand and waits for it (at most 2 s; not at all when called on
  // a thread of the loop).
  void RunOnStrandAndWait(void (*step)(Impl& impl));
  std::shared_ptr<Impl> impl_;
};

}  // namespace theater::handlers::http
