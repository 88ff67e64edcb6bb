// Theater: a WebAssembly actor runtime.
//
// One WebSocket connection of an HttpServer, over a stream type (beast::tcp_stream or its TLS
// stream), after an HTTP session (http_session.h) accepted the upgrade: WsSession hands each
// message to the actor and sends what it answers, one message at a time, in order. A template
// instantiated in one file per stream type, through StartWebSocket (plain_websocket_sessions.cc,
// tls_websocket_sessions.cc; http_server_impl.h says why).
//
// Thread-safety: a session lives on its server's strand; only weak references leave it.
// Ownership: shared, kept alive by its pending asynchronous operations; the server tracks it by
// weak_ptr.
#pragma once

#include <boost/beast/websocket.hpp>
#include <deque>

#include "common/utf8.h"
#include "handlers/support/http-server/http_server_impl.h"

namespace theater::handlers::http {

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

template <class Stream>
void StartWebSocket(std::shared_ptr<HttpServer::Impl> impl, Stream&& stream,
                    WebSocketEndpoint endpoint, std::string path, std::optional<std::string> query,
                    Request upgrade) {
  std::make_shared<WsSession<Stream>>(std::move(impl), std::move(stream), endpoint, std::move(path),
                                      std::move(query))
      ->Start(std::move(upgrade));
}

}  // namespace theater::handlers::http
