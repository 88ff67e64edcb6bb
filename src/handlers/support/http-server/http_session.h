// Theater: a WebAssembly actor runtime.
//
// One HTTP connection of an HttpServer, over a stream type (beast::tcp_stream or its TLS
// stream): HttpSession reads requests, runs them through routing, middleware and the handler,
// writes the responses, and hands the stream to a WebSocket session (websocket_session.h) after
// an upgrade. A template instantiated in one file per stream type (plain_http_sessions.cc,
// tls_http_sessions.cc; http_server_impl.h says why).
//
// Thread-safety: a session lives on its server's strand; only weak references leave it.
// Ownership: shared, kept alive by its pending asynchronous operations; the server tracks it by
// weak_ptr.
#pragma once

#include <array>
#include <boost/beast/websocket/rfc6455.hpp>
#include <type_traits>

#include "common/ascii.h"
#include "common/utf8.h"
#include "handlers/support/http-server/http_server_impl.h"

namespace theater::handlers::http {

inline constexpr std::string_view kParamHeader = "x-route-param-";

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

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
        closed_ = true;  // the stream now belongs to the WebSocket session
        call_timer_.cancel();
        impl_->Unregister(this);
        StartWebSocket<Stream>(impl_, std::move(stream_), it->second, std::string(path),
                               std::move(query), std::move(req_));
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

}  // namespace theater::handlers::http
