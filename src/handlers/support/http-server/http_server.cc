// Theater: a WebAssembly actor runtime.
//
// The Beast side of the http-framework handler: the server's accept loop, its life and the calls
// other threads make (the connections are in http_session.h). All connection state lives on the
// server's strand of the host's I/O loop. Sessions are shared_ptrs kept alive by their pending
// asynchronous operations; the server tracks them by weak_ptr so that a shutdown can reach
// them. An actor's reply arrives on a runtime thread and is posted to the server's thread
// through a Poster, which refuses posts once the server is gone, so a late reply never touches
// a finished server. Beast and Asio report errors through error codes here; anything that
// still throws is caught where the thread runs the io_context.
#include "handlers/support/http-server/http_server.h"

#include <openssl/ssl.h>

#include <future>

#include "common/ascii.h"
#include "common/utf8.h"
#include "handlers/support/http-server/http_server_impl.h"

namespace theater::handlers::http {

Response TextResponse(unsigned status, std::string text) {
  Response res;
  res.result(status);
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(text);
  return res;
}

Result<Response> ResponseFromValue(const Value& v) {
  if (v.kind() != abi::TypeKind::kRecord || v.items().size() != 3) {
    return InternalError("malformed http-response");
  }
  const auto& f = v.items();
  uint64_t status = f[0].as_u64();
  if (status < 100 || status > 599) {
    return InvalidArgument("status " + std::to_string(status) + " is not in 100-599");
  }
  Response res;
  res.result(static_cast<unsigned>(status));
  for (const Value& pair : f[1].items()) {
    const std::string& name = pair.items()[0].as_string();
    const std::string& value = pair.items()[1].as_string();
    if (!IsHttpToken(name)) continue;
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) continue;
    if (AsciiEqualsIgnoreCase(name, "content-length") ||
        AsciiEqualsIgnoreCase(name, "transfer-encoding") ||
        AsciiEqualsIgnoreCase(name, "connection")) {
      continue;
    }
    res.insert(name, value);
  }
  if (f[2].is_some()) {
    const std::vector<uint8_t>& body = f[2].payload()->as_bytes();
    res.body().assign(body.begin(), body.end());
  }
  return res;
}

Result<const Value*> SingleResult(const Result<std::vector<Value>>& r, std::string_view what) {
  if (!r.ok()) return r.status();
  if (r->size() != 1 || (*r)[0].kind() != abi::TypeKind::kTuple || (*r)[0].items().size() != 1) {
    return InternalError(std::string(what) + " returned a malformed result");
  }
  return &(*r)[0].items()[0];
}

bool MiddlewareApplies(std::string_view prefix, std::string_view path) {
  if (prefix == "/" || prefix == "/*") return true;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

Result<WsOutgoing> WsOutgoingFromValue(const Value& m) {
  if (m.kind() != abi::TypeKind::kRecord || m.items().size() != 3) {
    return InvalidArgument("malformed websocket-message");
  }
  const Value& ty = m.items()[0];
  const Value& data = m.items()[1];
  const Value& text = m.items()[2];
  auto bytes = [&]() -> std::optional<std::string> {
    if (data.is_some()) {
      const auto& b = data.payload()->as_bytes();
      return std::string(b.begin(), b.end());
    }
    if (text.is_some()) return text.payload()->as_string();
    return std::nullopt;
  };
  WsOutgoing out;
  switch (ty.case_index()) {
    case 0:  // text
      out.kind = WsOutgoing::Kind::kText;
      if (text.is_some()) {
        out.payload = text.payload()->as_string();
      } else if (data.is_some()) {
        auto b = bytes();
        if (!IsValidUtf8(*b)) return InvalidArgument("a text message's data must be UTF-8");
        out.payload = *b;
      } else {
        return InvalidArgument("a text message needs `text`");
      }
      return out;
    case 1:  // binary
      out.kind = WsOutgoing::Kind::kBinary;
      if (auto b = bytes()) {
        out.payload = *b;
        return out;
      }
      return InvalidArgument("a binary message needs `data`");
    case 3:
      out.kind = WsOutgoing::Kind::kClose;
      return out;
    case 4:
      out.kind = WsOutgoing::Kind::kPing;
      out.payload = bytes().value_or("");
      break;
    case 5:
      out.kind = WsOutgoing::Kind::kPong;
      out.payload = bytes().value_or("");
      break;
    default:
      return InvalidArgument("a message of type connect or other cannot be sent");
  }
  if (out.payload.size() > 125)
    return InvalidArgument("a ping or pong payload is at most 125 bytes");
  return out;
}

void HttpServer::Impl::DoAccept() {
  // The accepted socket's completions run on the server's strand, as everything else.
  acceptor->async_accept(*strand, [self = shared_from_this()](beast::error_code ec,
                                                              tcp::socket socket) {
    if (ec == asio::error::operation_aborted || self->shutting_down || !self->acceptor->is_open())
      return;
    if (!ec) self->Accepted(std::move(socket));
    self->DoAccept();
  });
}

void HttpServer::Impl::Accepted(tcp::socket socket) {
  if (sessions.size() >= options.limits.max_connections) {
    beast::error_code ec;
    socket.close(ec);  // over the limit: refuse at once rather than queue
    return;
  }
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  if (tls) {
    StartTlsSession(shared_from_this(), std::move(socket));
  } else {
    StartPlainSession(shared_from_this(), std::move(socket));
  }
}

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  ForceStop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(asio::io_context& io, Options options,
                                                      std::shared_ptr<ActorPort> actor,
                                                      std::shared_ptr<const Routing> routing) {
  auto impl = std::make_shared<Impl>();
  impl->options = std::move(options);
  impl->actor = std::move(actor);
  impl->routing = std::move(routing);
  impl->strand.emplace(asio::make_strand(io));
  const Options& o = impl->options;
  beast::error_code ec;
  asio::ip::address address =
      asio::ip::make_address(o.host == "localhost" ? "127.0.0.1" : o.host, ec);
  if (ec) return InvalidArgument("host '" + o.host + "' is not an IP address");
  if (o.cert_path || o.key_path) {
    if (!o.cert_path || !o.key_path)
      return InvalidArgument("TLS needs both cert-path and key-path");
    impl->tls.emplace(ssl::context::tls_server);
    impl->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                               ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                               ssl::context::no_tlsv1_1,
                           ec);
    impl->tls->use_certificate_chain_file(*o.cert_path, ec);
    if (ec) {
      return InvalidArgument("cannot load the TLS certificate '" + *o.cert_path +
                             "': " + ec.message());
    }
    impl->tls->use_private_key_file(*o.key_path, ssl::context::pem, ec);
    if (ec)
      return InvalidArgument("cannot load the TLS key '" + *o.key_path + "': " + ec.message());
    if (SSL_CTX_check_private_key(impl->tls->native_handle()) != 1) {
      return InvalidArgument("the TLS key '" + *o.key_path + "' does not match the certificate");
    }
  }
  tcp::endpoint endpoint(address, o.port);
  impl->acceptor.emplace(*impl->strand);
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::string where = o.host + ":" + std::to_string(o.port);
    if (ec == asio::error::address_in_use) {
      return AlreadyExists("cannot listen on " + where + ": address in use");
    }
    return IOError("cannot listen on " + where + ": " + ec.message());
  }
  impl->port = impl->acceptor->local_endpoint(ec).port();
  impl->poster = std::make_shared<Poster>(*impl->strand);
  // Listening already: connections wait in the backlog until the first accept runs.
  asio::post(*impl->strand, [impl] { impl->DoAccept(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

void HttpServer::SetRouting(std::shared_ptr<const Routing> routing) {
  std::lock_guard<std::mutex> lock(impl_->routing_mu);
  impl_->routing = std::move(routing);
}

void HttpServer::BeginShutdown() {
  if (impl_->shutdown_started.exchange(true)) return;
  // The loop never blocks, so this is a hand-over, not a wait for the actor.
  RunOnStrandAndWait([](Impl& impl) { impl.DoShutdown(); });
}

void HttpServer::RunOnStrandAndWait(void (*step)(Impl& impl)) {
  auto closed = std::make_shared<std::promise<void>>();
  std::future<void> done = closed->get_future();
  std::shared_ptr<Impl> impl = impl_;
  const bool posted = impl_->poster->Post([impl, closed, step] {
    step(*impl);
    closed->set_value();
  });
  // On one of the loop's threads it cannot wait for the loop: the step runs soon after.
  if (posted && !impl_->strand->get_inner_executor().running_in_this_thread()) {
    done.wait_for(std::chrono::seconds(2));
  }
}

bool HttpServer::finished() const {
  return impl_->finished;
}

void HttpServer::ForceStop() {
  impl_->shutdown_started = true;
  // Closing is quick and the loop never blocks: when this returns, the port is free and no
  // connection is open.
  RunOnStrandAndWait([](Impl& impl) { impl.DoForceStop(); });
  impl_->poster->Close();
  std::lock_guard<std::mutex> lock(impl_->ws_mu);
  impl_->websockets.clear();
}

Status HttpServer::SendWebSocket(uint64_t connection_id, WsOutgoing message) {
  // Only a weak reference leaves the server's thread: a session must die on that thread.
  std::weak_ptr<WsBase> weak;
  {
    std::lock_guard<std::mutex> lock(impl_->ws_mu);
    auto it = impl_->websockets.find(connection_id);
    if (it != impl_->websockets.end()) weak = it->second;
  }
  if (weak.expired()) {
    return NotFound("no open WebSocket connection " + std::to_string(connection_id));
  }
  auto shared = std::make_shared<WsOutgoing>(std::move(message));
  if (!impl_->poster->Post([weak, shared] {
        if (auto s = weak.lock()) s->Queue(std::move(*shared));
      })) {
    return NotFound("the server of WebSocket connection " + std::to_string(connection_id) +
                    " has stopped");
  }
  return Status::Ok();
}

Status HttpServer::CloseWebSocket(uint64_t connection_id) {
  return SendWebSocket(connection_id, WsOutgoing{WsOutgoing::Kind::kClose, ""});
}

void HttpServer::CloseWebSocketsAt(const std::string& path) {
  std::shared_ptr<Impl> impl = impl_;
  impl_->poster->Post([impl, path] {
    std::vector<std::shared_ptr<WsBase>> matching;
    {
      std::lock_guard<std::mutex> lock(impl->ws_mu);
      for (auto& [id, weak] : impl->websockets) {
        if (auto ws = weak.lock(); ws && ws->path() == path) matching.push_back(ws);
      }
    }
    for (auto& ws : matching) ws->Queue(WsOutgoing{WsOutgoing::Kind::kClose, ""});
  });
}

Status CheckHost(const std::string& host) {
  if (host == "localhost") return Status::Ok();
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  if (ec) {
    return InvalidArgument("host '" + host.substr(0, 80) +
                           "' is not an IP address (or \"localhost\"); names are not resolved");
  }
  return Status::Ok();
}

size_t HttpServer::open_connections() const {
  return impl_->open;
}

}  // namespace theater::handlers::http
