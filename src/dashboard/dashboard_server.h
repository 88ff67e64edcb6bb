// Theater: a WebAssembly actor runtime.
//
// DashboardServer: the web dashboard of `theater server --dashboard` (docs/dashboard.md). It
// serves the dashboard's files, built into the binary, over HTTP, and bridges each browser's
// WebSocket at /ws to a connection of its own to the management server: every WebSocket text
// message is one management-protocol message (a command from the page; a reply or a push from
// the server; several of them waiting at once go together as one JSON array), framed on the TCP
// side as docs/protocol.md says. The page therefore speaks the
// same protocol as the CLI, and the management server applies the same rules to it: tokens,
// limits, subscriptions, channels, the rules for clients beyond loopback.
//
// What it adds is what a browser needs:
//   * each browser's connection first tells the management server who the browser is (its
//     address, with the server's bridge key), so the server's rules for clients beyond loopback
//     apply to a browser beyond loopback as to any such client;
//   * no request reaches the management server unless the WebSocket upgrade names this
//     dashboard as its Origin (another site the user visits cannot drive it), and, when the
//     dashboard listens on loopback, its Host is that loopback address (a DNS-rebound name
//     cannot either);
//   * every response carries a Content-Security-Policy without inline script, no-store, nosniff,
//     no referrer and no framing;
//   * bounds: request headers 8 KiB, no request bodies, WebSocket messages from the page 4 MiB,
//     30 s to send a request, and at most `max_sockets` browsers at once; a page that does not
//     read its WebSocket is disconnected once 64 MiB wait for it.
//
// Thread-safety: Start and Stop from one thread; the server runs on its own Asio thread.
// Ownership: owns its listener, its thread and every connection.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "theater/status.h"

namespace theater::dashboard {

struct DashboardOptions {
  std::string address = "127.0.0.1:9001";  // host:port; port 0 picks a free one
  std::string management_address;          // where the management server listens
  // Whether the management server requires a token. A dashboard beyond loopback is refused
  // without one (its pages would drive the server without any secret).
  bool token_required = false;
  // The management server's ServerOptions::bridge_key. With it, each browser's connection to the
  // management server first names the browser's address (BridgedClient), so the server applies
  // to a browser beyond loopback exactly the rules of a client beyond loopback. A dashboard
  // beyond loopback is refused without one (its browsers would pass for loopback clients).
  std::optional<std::string> bridge_key;
  size_t max_sockets = 256;                   // open connections (HTTP and WebSocket)
  size_t max_ws_message_bytes = 4u << 20;     // one message from a page
  size_t max_pending_to_browser = 64u << 20;  // bytes waiting to be written to one page
};

class DashboardServer {
 public:
  // Binds and starts serving. Errors: the address is malformed or cannot be bound, or it is not
  // loopback and the management server has no token or no bridge key was given.
  [[nodiscard]] static Result<std::unique_ptr<DashboardServer>> Start(DashboardOptions options);
  virtual ~DashboardServer() = default;
  // The address bound ("127.0.0.1:9001").
  virtual std::string address() const = 0;
  // Closes every connection and joins the thread. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace theater::dashboard
