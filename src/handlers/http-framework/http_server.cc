// Theater: a WebAssembly actor runtime.
//
// The Beast side of the http-framework handler. One io_context and one thread per server; all
// connection state lives on that thread. Sessions are shared_ptrs kept alive by their pending
// asynchronous operations; the server tracks them by weak_ptr so that a shutdown can reach
// them. An actor's reply arrives on a runtime thread and is posted to the server's thread
// through a Poster, which refuses posts once the server is gone, so a late reply never touches
// a destroyed io_context. Beast and Asio report errors through error codes here; anything that
// still throws is caught where the thread runs the io_context.
#include "handlers/http-framework/http_server.h"
#include "common/ascii.h"
#include "common/utf8.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <future>
#include <mutex>
#include <unordered_map>

namespace theater::handlers::http {
namespace {

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

constexpr std::string_view kParamHeader = "x-route-param-";

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

Response TextResponse(unsigned status, std::string text) {
  Response res;
  res.result(status);
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(text);
  return res;
}

// http-response {status, headers, body} -> a Beast response. Framing headers the actor sets
// (Content-Length, Transfer-Encoding, Connection) are dropped: the server frames the response.
// Headers with an invalid name or a CR/LF/NUL in the value are dropped too.
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

// The one result tuple (R,) of an http-handlers call.
Result<const Value*> SingleResult(const Result<std::vector<Value>>& r, std::string_view what) {
  if (!r.ok()) return r.status();
  if (r->size() != 1 || (*r)[0].kind() != abi::TypeKind::kTuple || (*r)[0].items().size() != 1) {
    return InternalError(std::string(what) + " returned a malformed result");
  }
  return &(*r)[0].items()[0];
}

}  // namespace

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

namespace {

using Impl = HttpServer::Impl;

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// One WebSocket connection.
template <class Stream>
class WsSession : public SessionBase,
                  public WsBase,
                  public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(std::shared_ptr<Impl> impl, Stream&& stream, WebSocketEndpoint endpoint,
            std::string path, std::optional<std::string> query)
      : impl_(std::move(impl)),
        ws_(std::move(stream)),
        endpoint_(endpoint),
        path_(std::move(path)),
        query_(std::move(query)),
        id_(impl_->next_ws_id.fetch_add(1)),
        call_timer_(*impl_->strand) {}
  ~WsSession() override { impl_->Unregister(this); }

  void Start(Request req) {
    impl_->Register(this, this->weak_from_this());
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(impl_->options.limits.max_body_bytes);
    ws_.async_accept(req, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return self->Finish(false);
      self->OnOpen();
    });
  }

  void Queue(WsOutgoing message) override {
    if (finished_ || close_queued_) return;
    if (message.kind == WsOutgoing::Kind::kClose) close_queued_ = true;
    out_.push_back(std::move(message));
    if (!writing_) DoWrite();
  }
  const std::string& path() const override { return path_; }
  void OnShutdown() override { Queue(WsOutgoing{WsOutgoing::Kind::kClose, ""}); }
  void ForceClose() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

 private:
  void OnOpen() {
    open_ = true;
    {
      std::lock_guard<std::mutex> lock(impl_->ws_mu);
      impl_->websockets[id_] = std::static_pointer_cast<WsBase>(this->shared_from_this());
    }
    if (endpoint_.connect_handler) {
      std::vector<Value> params = {Value::U64(*endpoint_.connect_handler), Value::U64(id_),
                                   Value::String(path_),
                                   query_ ? Value::Some(Value::String(*query_)) : Value::None()};
      impl_->actor->Call("handle-websocket-connect", std::move(params), [](auto) {}).IgnoreError();
    }
    if (impl_->shutting_down) OnShutdown();
    DoRead();
  }

  void DoRead() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->OnRead(ec);
    });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return Finish(true);
    std::string data = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    Value message =
        ws_.got_text()
            ? Value::Record(
                  {Value::Variant(0), Value::None(), Value::Some(Value::String(std::move(data)))})
            : Value::Record({Value::Variant(1),
                             Value::Some(Value::Bytes({data.begin(), data.end()})), Value::None()});
    std::vector<Value> params = {Value::U64(endpoint_.message_handler), Value::U64(id_),
                                 std::move(message)};
    // Only the timer holds the session while the actor works (nothing off the server's thread
    // may own it); past request_timeout the reply is dropped and the next message is read.
    uint64_t generation = ++generation_;
    auto self = this->shared_from_this();
    call_timer_.expires_after(impl_->options.limits.request_timeout);
    call_timer_.async_wait([self, generation](beast::error_code ec) {
      if (ec || self->generation_ != generation || self->finished_) return;
      ++self->generation_;
      self->DoRead();
    });
    std::weak_ptr<WsSession> weak = self;
    std::shared_ptr<Poster> poster = impl_->poster;
    Status queued = impl_->actor->Call(
        "handle-websocket-message", std::move(params),
        [weak, poster, generation](Result<std::vector<Value>> r) {
          auto shared = std::make_shared<Result<std::vector<Value>>>(std::move(r));
          poster->Post([weak, shared, generation] {
            auto s = weak.lock();
            if (!s || s->generation_ != generation) return;
            ++s->generation_;
            s->call_timer_.cancel();
            s->OnReply(*shared);
          });
        });
    if (!queued.ok()) {
      ++generation_;
      call_timer_.cancel();
      Queue(WsOutgoing{WsOutgoing::Kind::kClose, ""});
      return;
    }
  }

  // The messages handle-websocket-message returned are sent, in order; then the next frame is
  // read (so one connection's messages reach the actor one at a time, in order).
  void OnReply(const Result<std::vector<Value>>& r) {
    Result<const Value*> list = SingleResult(r, "handle-websocket-message");
    if (list.ok()) {
      for (const Value& m : (*list)->items()) {
        Result<WsOutgoing> out = WsOutgoingFromValue(m);
        if (out.ok()) Queue(std::move(out).value());
      }
    }
    if (!finished_) DoRead();
  }

  void DoWrite() {
    if (out_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    WsOutgoing& m = out_.front();
    auto self = this->shared_from_this();
    auto done = [self](beast::error_code ec, size_t = 0) {
      self->out_.pop_front();
      if (ec) {
        self->writing_ = false;
        return;
      }
      self->DoWrite();
    };
    switch (m.kind) {
      case WsOutgoing::Kind::kText:
      case WsOutgoing::Kind::kBinary:
        ws_.text(m.kind == WsOutgoing::Kind::kText);
        ws_.async_write(asio::buffer(m.payload), done);
        break;
      case WsOutgoing::Kind::kPing:
        ws_.async_ping(websocket::ping_data(m.payload.c_str()),
                       [done](beast::error_code ec) { done(ec); });
        break;
      case WsOutgoing::Kind::kPong:
        ws_.async_pong(websocket::ping_data(m.payload.c_str()),
                       [done](beast::error_code ec) { done(ec); });
        break;
      case WsOutgoing::Kind::kClose:
        ws_.async_close(websocket::close_code::normal, [done](beast::error_code ec) { done(ec); });
        break;
    }
  }

  void Finish(bool notify) {
    if (finished_) return;
    finished_ = true;
    {
      std::lock_guard<std::mutex> lock(impl_->ws_mu);
      impl_->websockets.erase(id_);
    }
    if (notify && open_ && endpoint_.disconnect_handler) {
      impl_->actor
          ->Call("handle-websocket-disconnect",
                 {Value::U64(*endpoint_.disconnect_handler), Value::U64(id_)}, [](auto) {})
          .IgnoreError();
    }
    call_timer_.cancel();
    ForceClose();
    impl_->Unregister(this);
  }

  std::shared_ptr<Impl> impl_;  // the server outlives its connections
  websocket::stream<Stream> ws_;
  WebSocketEndpoint endpoint_;
  std::string path_;
  std::optional<std::string> query_;
  const uint64_t id_;
  asio::steady_timer call_timer_;
  uint64_t generation_ = 0;  // bumped when a message's call is settled
  beast::flat_buffer buffer_;
  std::deque<WsOutgoing> out_;
  bool writing_ = false;
  bool close_queued_ = false;
  bool open_ = false;
  bool finished_ = false;
};

// One HTTP connection: reads a request, runs it through routing, middleware and the handler
// (each an asynchronous actor call with a timeout), writes the response, and reads the next one
// while keep-alive holds.
template <class Stream>
class HttpSession : public SessionBase, public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(std::shared_ptr<Impl> impl, Stream&& stream)
      : impl_(std::move(impl)), stream_(std::move(stream)), call_timer_(*impl_->strand) {}
  ~HttpSession() override { impl_->Unregister(this); }

  void Start() {
    impl_->Register(this, this->weak_from_this());
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(impl_->options.limits.idle_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->DoRead();
                              });
    } else {
      DoRead();
    }
  }

  void OnShutdown() override {
    keep_alive_ = false;
    if (idle_) Close();
  }
  void ForceClose() override { Close(); }

 private:
  void DoRead() {
    if (impl_->shutting_down) return Close();
    parser_.emplace();
    parser_->header_limit(impl_->options.limits.max_header_bytes);
    parser_->body_limit(impl_->options.limits.max_body_bytes);
    idle_ = true;
    beast::get_lowest_layer(stream_).expires_after(impl_->options.limits.idle_timeout);
    // The header first: a client that sent "Expect: 100-continue" waits for our go-ahead
    // before sending the body (and an oversized Content-Length is refused before that).
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (!ec && !closed_ && !parser_->is_done()) {
      auto expect = parser_->get().find(bhttp::field::expect);
      auto self = this->shared_from_this();
      auto read_body = [self] {
        bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                          [self](beast::error_code ec, size_t) { self->OnRead(ec); });
      };
      if (expect != parser_->get().end() &&
          AsciiEqualsIgnoreCase(expect->value(), "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                          [self, read_body](beast::error_code ec, size_t) {
                            if (ec) return self->Close();
                            read_body();
                          });
        return;
      }
      read_body();
      return;
    }
    OnRead(ec);
  }

  void OnRead(beast::error_code ec) {
    idle_ = false;
    if (closed_) return;
    if (ec == bhttp::error::body_limit) {
      return SendError(413, "request body larger than " +
                                std::to_string(impl_->options.limits.max_body_bytes) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      return SendError(431, "request header larger than " +
                                std::to_string(impl_->options.limits.max_header_bytes) + " bytes");
    }
    if (ec) {
      // A malformed request gets 400; a closed, reset or idle connection just closes.
      if (ec.category() == beast::error_code(bhttp::error::bad_method).category() &&
          ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        return SendError(400, "malformed request");
      }
      return Close();
    }
    req_ = parser_->release();
    keep_alive_ = req_.keep_alive() && !impl_->shutting_down;
    // While the actor works the connection waits; the call has its own timeout.
    beast::get_lowest_layer(stream_).expires_never();
    Process();
  }

  void Process() {
    std::string_view target(req_.target().data(), req_.target().size());
    size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    routing_ = impl_->CurrentRouting();
    if (websocket::is_upgrade(req_)) {
      auto it = routing_->websockets.find(std::string(path));
      if (it != routing_->websockets.end()) {
        std::optional<std::string> query;
        if (q != std::string_view::npos) query = std::string(target.substr(q + 1));
        if (!IsValidUtf8(target)) return SendError(400, "the request target is not UTF-8");
        auto ws = std::make_shared<WsSession<Stream>>(impl_, std::move(stream_), it->second,
                                                      std::string(path), std::move(query));
        closed_ = true;  // the stream now belongs to the WebSocket session
        call_timer_.cancel();
        impl_->Unregister(this);
        ws->Start(std::move(req_));
        return;
      }
    }
    std::string_view method(req_.method_string().data(), req_.method_string().size());
    RouteMatch match = routing_->routes.Find(method, path);
    if (match.outcome == RouteMatch::Outcome::kNotFound) {
      return SendError(404, "no route for " + std::string(path.substr(0, 200)));
    }
    if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed) {
      Response res = TextResponse(405, "method " + std::string(method) + " not allowed");
      std::string allow;
      for (const std::string& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
      res.set(bhttp::field::allow, allow);
      return Write(std::move(res));
    }
    // WIT strings must be UTF-8: refuse what cannot be delivered rather than alter it.
    if (!IsValidUtf8(target)) return SendError(400, "the request target is not UTF-8");
    std::vector<Value> headers;
    for (const auto& field : req_) {
      std::string_view name(field.name_string().data(), field.name_string().size());
      std::string_view value(field.value().data(), field.value().size());
      // A client cannot forge route parameters.
      if (name.size() >= kParamHeader.size() &&
          AsciiEqualsIgnoreCase(name.substr(0, kParamHeader.size()), kParamHeader)) {
        continue;
      }
      if (!IsValidUtf8(name) || !IsValidUtf8(value)) {
        return SendError(400, "a request header is not UTF-8");
      }
      headers.push_back(
          Value::Tuple({Value::String(std::string(name)), Value::String(std::string(value))}));
    }
    for (auto& [name, value] : match.params) {
      if (!IsValidUtf8(value)) return SendError(400, "route parameter '" + name + "' is not UTF-8");
      headers.push_back(
          Value::Tuple({Value::String("X-Route-Param-" + name), Value::String(std::move(value))}));
    }
    std::optional<Value> body;
    if (!req_.body().empty()) {
      body = Value::Some(Value::Bytes({req_.body().begin(), req_.body().end()}));
    }
    Value request =
        Value::Record({Value::String(std::string(method)), Value::String(std::string(target)),
                       Value::List(std::move(headers)), body ? std::move(*body) : Value::None()});
    handler_id_ = match.route->handler_id;
    middleware_.clear();
    for (const Middleware& m : routing_->middleware) {
      if (MiddlewareApplies(m.path, path)) middleware_.push_back(m.handler_id);
    }
    RunStage(0, std::move(request));
  }

  // Stage i < middleware_.size() runs that middleware; the last stage runs the handler.
  // The continuations capture a raw pointer: they run only while the session is alive (see
  // CallActor), and must not keep it alive from the actor's side, off the server's thread.
  void RunStage(size_t i, Value request) {
    HttpSession* self = this;
    if (i < middleware_.size()) {
      CallActor(
          "handle-middleware", {Value::U64(middleware_[i]), std::move(request)},
          [self, i](const Result<std::vector<Value>>& r) {
            Result<const Value*> v = SingleResult(r, "handle-middleware");
            if (!v.ok() || (*v)->kind() != abi::TypeKind::kRecord || (*v)->items().size() != 2) {
              return self->SendError(500, "middleware failed");
            }
            if (!(*v)->items()[0].as_bool()) return self->SendError(403, "forbidden");
            self->RunStage(i + 1, (*v)->items()[1]);
          });
      return;
    }
    CallActor("handle-request", {Value::U64(handler_id_), std::move(request)},
              [self](const Result<std::vector<Value>>& r) {
                Result<const Value*> v = SingleResult(r, "handle-request");
                if (!v.ok()) return self->SendError(500, "the actor's handler failed");
                Result<Response> res = ResponseFromValue(**v);
                if (!res.ok()) return self->SendError(500, "the actor's response is invalid");
                self->Write(std::move(res).value());
              });
  }

  // Calls the actor; `then` runs on this thread with the reply, unless the call timed out
  // first (504) or could not be queued (503, or 500 when the actor lacks the export).
  void CallActor(std::string_view function, std::vector<Value> params,
                 std::function<void(const Result<std::vector<Value>>&)> then) {
    uint64_t generation = ++generation_;
    auto self = this->shared_from_this();
    call_timer_.expires_after(impl_->options.limits.request_timeout);
    call_timer_.async_wait([self, generation](beast::error_code ec) {
      if (ec || self->generation_ != generation || self->closed_) return;
      ++self->generation_;  // the late reply is dropped
      self->keep_alive_ = false;
      self->SendError(504, "the actor did not answer within " +
                               std::to_string(self->impl_->options.limits.request_timeout.count()) +
                               " ms");
    });
    std::weak_ptr<HttpSession> weak = self;
    std::shared_ptr<Poster> poster = impl_->poster;
    auto cont =
        std::make_shared<std::function<void(const Result<std::vector<Value>>&)>>(std::move(then));
    Status queued = impl_->actor->Call(
        function, std::move(params),
        [weak, poster, generation, cont](Result<std::vector<Value>> r) {
          auto shared = std::make_shared<Result<std::vector<Value>>>(std::move(r));
          poster->Post([weak, generation, cont, shared] {
            auto s = weak.lock();
            if (!s || s->closed_ || s->generation_ != generation) return;
            ++s->generation_;
            s->call_timer_.cancel();
            (*cont)(*shared);
          });
        });
    if (!queued.ok()) {
      ++generation_;
      call_timer_.cancel();
      if (queued.code() == StatusCode::kFailedPrecondition) {
        return SendError(500, "the actor cannot serve this request");
      }
      Response res = TextResponse(503, "the actor is not accepting requests");
      res.set(bhttp::field::retry_after, "1");
      keep_alive_ = false;
      return Write(std::move(res));
    }
  }

  // An error status; 4xx for a request that could not be read fully also closes.
  void SendError(unsigned status, std::string text) {
    if (status == 400 || status == 413 || status == 431) keep_alive_ = false;
    Write(TextResponse(status, std::move(text) + "\n"));
  }

  void Write(Response res) {
    if (closed_) return;
    res.version(req_.version() ? req_.version() : 11);
    res.set(bhttp::field::server, "theater");
    res.keep_alive(keep_alive_ && !impl_->shutting_down);
    res.prepare_payload();
    res_ = std::make_shared<Response>(std::move(res));
    beast::get_lowest_layer(stream_).expires_after(impl_->options.limits.idle_timeout);
    bhttp::async_write(stream_, *res_,
                       [self = this->shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         bool again = self->res_->keep_alive();
                         self->res_.reset();
                         if (!again) return self->LingerClose();
                         self->DoRead();
                       });
  }

  // Closes after a response, reading (and dropping) what the client may still be sending for a
  // moment, so that the close does not reset the connection before the client read the answer.
  void LingerClose() {
    if constexpr (kIsTls<Stream>) {
      Close();
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream_.expires_after(std::chrono::milliseconds(500));
      Drain();
    }
  }
  void Drain() {
    drain_ = std::make_shared<std::array<char, 4096>>();
    stream_.async_read_some(asio::buffer(*drain_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->closed_) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    call_timer_.cancel();
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).socket().close(ec);
    impl_->Unregister(this);
  }

  std::shared_ptr<Impl> impl_;  // the server outlives its connections
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request req_;
  std::shared_ptr<Response> res_;
  std::shared_ptr<std::array<char, 4096>> drain_;
  asio::steady_timer call_timer_;
  std::shared_ptr<const Routing> routing_;  // keeps the matched route alive
  uint64_t handler_id_ = 0;
  std::vector<uint64_t> middleware_;
  uint64_t generation_ = 0;  // bumped when a call's outcome is settled
  bool keep_alive_ = true;
  bool idle_ = false;
  bool closed_ = false;
};

}  // namespace

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
    std::make_shared<HttpSession<TlsStream>>(shared_from_this(),
                                             TlsStream(std::move(socket), *tls))
        ->Start();
  } else {
    std::make_shared<HttpSession<PlainStream>>(shared_from_this(), PlainStream(std::move(socket)))
        ->Start();
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
