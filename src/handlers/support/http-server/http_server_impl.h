// Theater: a WebAssembly actor runtime.
//
// The inside of HttpServer (http_server.h), shared by the files that implement it: the server's
// state (HttpServer::Impl), what its connections build on, and the functions that start them.
// Beast's templates for the connections (http_session.h, websocket_session.h) are instantiated
// in four files, compiled side by side: the HTTP connections and the WebSockets of plain servers
// (plain_http_sessions.cc, plain_websocket_sessions.cc) and of TLS ones (tls_http_sessions.cc,
// tls_websocket_sessions.cc). All of them in one file took GCC 73 s and 3.3 GB at -O2; split,
// none takes more than 1.5 GiB in either build (docs/benchmarks.md, "The whole test run").
// Included only by this handler's server files.
//
// Thread-safety and ownership: as HttpServer's (http_server.h).
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "handlers/support/http-server/http_server.h"

namespace theater::handlers::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using abi::Value;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

using Strand = asio::strand<asio::io_context::executor_type>;

// Posts work to a server's strand for as long as the server runs.
class Poster {
 public:
  explicit Poster(Strand strand) : strand_(std::move(strand)) {}
  bool Post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!open_) return false;
    asio::post(strand_, std::move(fn));
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }

 private:
  std::mutex mu_;
  Strand strand_;
  bool open_ = true;  // guarded by mu_
};

// What the server knows of a connection (io thread only).
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // A graceful stop began: finish what is in flight, then close.
  virtual void OnShutdown() = 0;
  // Close now.
  virtual void ForceClose() = 0;
};

class WsBase {
 public:
  virtual ~WsBase() = default;
  virtual void Queue(WsOutgoing message) = 0;
  virtual const std::string& path() const = 0;
};

// A plain-text response with `status` (errors the server answers itself).
Response TextResponse(unsigned status, std::string text);

// http-response {status, headers, body} -> a Beast response. Framing headers the actor sets
// (Content-Length, Transfer-Encoding, Connection) are dropped: the server frames the response.
// Headers with an invalid name or a CR/LF/NUL in the value are dropped too.
Result<Response> ResponseFromValue(const Value& v);

// The one result tuple (R,) of an http-handlers call.
Result<const Value*> SingleResult(const Result<std::vector<Value>>& r, std::string_view what);

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Options options;
  std::shared_ptr<ActorPort> actor;
  std::optional<Strand> strand;  // of the host's loop: every completion below runs on it
  std::optional<ssl::context> tls;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> grace;
  std::shared_ptr<Poster> poster;
  std::atomic<uint16_t> port{0};
  std::atomic<bool> shutdown_started{false};
  std::atomic<bool> finished{false};
  std::atomic<size_t> open{0};
  std::atomic<uint64_t> next_ws_id{1};

  mutable std::mutex routing_mu;
  std::shared_ptr<const Routing> routing;  // guarded by routing_mu

  std::mutex ws_mu;
  std::unordered_map<uint64_t, std::weak_ptr<WsBase>> websockets;  // guarded by ws_mu

  // On the strand only.
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  bool shutting_down = false;

  // Every session holds the Impl: it is destroyed after the last of them.
  ~Impl() {
    if (poster) poster->Close();
  }

  std::shared_ptr<const Routing> CurrentRouting() const {
    std::lock_guard<std::mutex> lock(routing_mu);
    return routing;
  }

  void Register(SessionBase* s, std::weak_ptr<SessionBase> w) {
    sessions.emplace(s, std::move(w));
    open.fetch_add(1);
  }
  void Unregister(SessionBase* s) {
    if (sessions.erase(s) == 0) return;
    open.fetch_sub(1);
    MaybeFinish();
  }
  void MaybeFinish() {
    if (!shutting_down || !sessions.empty()) return;
    if (grace) grace->cancel();
    Finish();
  }
  // Nothing is left to serve: later posts are refused.
  void Finish() {
    poster->Close();
    finished = true;
  }
  std::vector<std::shared_ptr<SessionBase>> LiveSessions() {
    std::vector<std::shared_ptr<SessionBase>> out;
    for (auto& [p, w] : sessions) {
      if (auto s = w.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  void DoAccept();
  void Accepted(tcp::socket socket);
  void DoShutdown() {
    if (shutting_down) return;
    shutting_down = true;
    beast::error_code ec;
    if (acceptor) acceptor->close(ec);
    for (auto& s : LiveSessions()) s->OnShutdown();
    grace.emplace(*strand);
    grace->expires_after(options.limits.shutdown_timeout);
    grace->async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      for (auto& s : self->LiveSessions()) s->ForceClose();
      self->Finish();
    });
    MaybeFinish();
  }
  // Closes everything now (ForceStop, on the strand).
  void DoForceStop() {
    shutting_down = true;
    beast::error_code ec;
    if (acceptor) acceptor->close(ec);
    if (grace) grace->cancel();
    for (auto& s : LiveSessions()) s->ForceClose();
    Finish();
  }
};

using Impl = HttpServer::Impl;

// Start serving an accepted connection: HTTP first (http_session.h). The TLS one shakes hands
// first, with the server's context (impl->tls).
void StartPlainSession(std::shared_ptr<Impl> impl, tcp::socket socket);
void StartTlsSession(std::shared_ptr<Impl> impl, tcp::socket socket);

// Continues a connection whose request `upgrade` asked for a WebSocket at `path` (an HTTP
// session's last step; websocket_session.h). Defined for PlainStream and TlsStream only.
template <class Stream>
void StartWebSocket(std::shared_ptr<Impl> impl, Stream&& stream, WebSocketEndpoint endpoint,
                    std::string path, std::optional<std::string> query, Request upgrade);

}  // namespace theater::handlers::http
