// Theater: a WebAssembly actor runtime.
//
// A management client's connection (connection.h).
#include "server/connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/utf8.h"
#include "server/server_impl.h"

namespace theater::server {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

// Events taken from one subscription per turn of the event loop, so that one busy subscription
// does not starve the connection's other work.
constexpr int kDrainBatch = 512;
// A rate-limited subscription announces what it skipped at most this often once it has caught up.
constexpr std::chrono::milliseconds kLimitNoticeEvery{100};
// How long a connection that failed may take to write its last message before it is closed.
constexpr auto kFailLinger = std::chrono::seconds(1);

bool TokensEqual(std::string_view a, std::string_view b) {
  // Constant time in the length of `b` (the secret): no early exit on the first mismatch.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    diff |= static_cast<unsigned char>(b[i] ^ (i < a.size() ? a[i] : 0));
  }
  return diff == 0;
}

std::string Ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

FrameDecoder::Limits FullLimits(const ServerOptions& o) {
  FrameDecoder::Limits limits;
  limits.max_frame_bytes = o.max_frame_bytes;
  limits.max_message_bytes = o.max_message_bytes;
  limits.max_pending_bytes = o.max_message_bytes;
  return limits;
}

// Before authentication (with a token set) a frame, a message and all partial messages together
// are limited to a few KiB: nothing large is read from a client that has not shown the token.
FrameDecoder::Limits UnauthenticatedLimits(const ServerOptions& o) {
  FrameDecoder::Limits limits = FullLimits(o);
  const size_t cap = std::min(o.max_unauthenticated_frame_bytes, o.max_frame_bytes);
  limits.max_frame_bytes = cap;
  limits.max_message_bytes = std::min(cap, o.max_message_bytes);
  limits.max_pending_bytes = limits.max_message_bytes;
  limits.frame_limit_label = "unauthenticated frame limit";
  limits.frame_limit_name = "max_unauthenticated_frame_bytes";
  return limits;
}

// The throttle's source of a peer address as the server writes it (an address it parsed).
std::string SourceOfPeer(const std::string& peer) {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(peer, ec);
  return ec ? peer : AuthThrottle::SourceOf(address);
}

}  // namespace

Connection::Connection(ServerImpl& server, tcp::socket socket, uint64_t serial, std::string peer,
                       bool peer_is_loopback)
    : server_(server),
      socket_(std::move(socket)),
      serial_(serial),
      peer_(std::move(peer)),
      auth_source_(SourceOfPeer(peer_)),
      peer_is_loopback_(peer_is_loopback),
      accepted_(Clock::now()),
      decoder_(server.options().token ? UnauthenticatedLimits(server.options())
                                      : FullLimits(server.options())),
      subscription_budget_(std::make_shared<chain::ByteBudget>(
          server.options().connection_subscription_bytes, server.subscription_budget())) {
  authenticated_ = !token_required();
}

bool Connection::token_required() const {
  return server_.options().token.has_value();
}

void Connection::Start() {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  StartRead();
}

// --- Reading ------------------------------------------------------------------------------

bool Connection::ShouldRead() const {
  return !closed_ && !close_after_write_ && !reading_ && !auth_wait_ && queued_.empty() &&
         !input_error_ && !decoder_.HasWholeFrame() && outbox_bytes() < kWriteHighWater;
}

void Connection::StartRead() {
  if (!ShouldRead()) {
    if (!reading_) paused_ = true;
    return;
  }
  if (paused_) {
    // The client could not send while this side did not read: its frame's clock restarts.
    paused_ = false;
    const Clock::time_point now = Clock::now();
    if (frame_started_) frame_started_ = now;
    if (header_read_) header_read_ = now;
  }
  reading_ = true;
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(read_buffer_), [self](const boost::system::error_code& ec,
                                                             size_t n) { self->OnRead(ec, n); });
}

void Connection::OnRead(const boost::system::error_code& ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    Close();
    return;
  }
  Ingest({read_buffer_.data(), n}, Clock::now());
  Pump();
}

void Connection::Ingest(std::span<const uint8_t> bytes, Clock::time_point now) {
  std::vector<std::vector<uint8_t>> messages;
  // Until it authenticates, a connection's frames are read one at a time: the first may be the
  // Authenticate that lifts the limits for the next.
  const size_t at_most = authenticated_ ? SIZE_MAX : 1;
  Status fed = decoder_.Feed(bytes, messages, now, at_most);
  for (std::vector<uint8_t>& m : messages) queued_.push_back(ParseCommand(m));
  if (!fed.ok()) {
    // The commands before the bad frame are answered first; then the connection closes. Only
    // clients that spoke the protocol are logged at info: anyone can open connections.
    spdlog::log(established_ ? spdlog::level::info : spdlog::level::debug,
                "management: connection {} ({}): {}", serial_, peer_, fed.ToString());
    input_error_ = "unreadable frame: " + fed.ToString();
  }
  if (decoder_.buffered_bytes() == 0 || decoder_.HasWholeFrame()) {
    frame_started_.reset();
    header_read_.reset();
  } else {
    if (!frame_started_) frame_started_ = now;
    if (decoder_.HasFrameHeader() && !header_read_) header_read_ = now;
  }
}

void Connection::Pump() {
  if (pumping_) return;  // the loop below looks again after each step
  pumping_ = true;
  const ServerOptions& o = server_.options();
  while (!closed_ && !close_after_write_) {
    if (!queued_.empty()) {
      if (auth_wait_) break;
      const uint64_t in_flight = next_slot_ - next_to_send_;
      if (in_flight >= o.max_commands_in_flight || outbox_bytes() >= kWriteHighWater) break;
      Result<CommandEnvelope>& front = queued_.front();
      if (front.ok() && in_flight > 0 && HasLargeReply(front->command)) break;
      Result<CommandEnvelope> envelope = std::move(front);
      queued_.pop_front();
      Handle(std::move(envelope));
      continue;
    }
    if (input_error_) {
      std::string why = std::move(*input_error_);
      input_error_.reset();
      Fail(why);
      break;
    }
    if (!auth_wait_ && decoder_.HasWholeFrame()) {
      Ingest({}, Clock::now());
      continue;
    }
    break;
  }
  pumping_ = false;
  StartRead();
}

void Connection::Handle(Result<CommandEnvelope> envelope) {
  PendingCommand ctx;
  ctx.slot = next_slot_++;
  server_.CountCommand();
  // Without a token, a client that sent a whole message speaks the protocol: it keeps its slot.
  if (!token_required()) MarkEstablished();
  if (!envelope.ok()) {
    Finish(ctx, ErrorResponse(envelope.status().code() == StatusCode::kParseError
                                  ? ManagementError::kSerializationError
                                  : ManagementError::kInvalidRequest,
                              envelope.status().ToString()));
    return;
  }
  ctx.request_id = envelope->request_id;
  ctx.wrapped = envelope->wrapped;
  if (envelope->command.name == kBridgedClientCommand) {
    return AdoptBridgedPeer(ctx, envelope->command);
  }
  const std::optional<std::string>& token = server_.options().token;
  bool shown = false;  // the command showed the right token (or any, without one set)
  if (envelope->token) {
    if (token && !TokensEqual(*envelope->token, *token)) return WrongToken(ctx);
    shown = true;
  }
  const bool authenticate = envelope->command.name == "Authenticate";
  if (authenticate) {
    Result<std::string> given = StringField(envelope->command.fields, "token");
    if (!given.ok()) {
      return Finish(ctx, ErrorResponse(ManagementError::kInvalidRequest,
                                       "Authenticate: " + given.status().ToString()));
    }
    if (token && !TokensEqual(*given, *token)) return WrongToken(ctx);
    shown = true;
  }
  if (shown && token && !authenticated_) {
    // The right token, from a source that guessed wrong lately: answered after the source's
    // delay, so that a guesser's own right guess would come no faster than its wrong ones.
    const Clock::time_point now = Clock::now();
    const Clock::time_point answer_at = server_.auth_throttle().OnSuccess(auth_source_, now);
    if (answer_at > now) {
      auth_wait_ = true;
      if (!auth_timer_) auth_timer_ = std::make_unique<asio::steady_timer>(server_.io());
      auth_timer_->expires_at(answer_at);
      auth_timer_->async_wait([weak = weak_from_this(), ctx, command = envelope->command,
                               authenticate](const boost::system::error_code& ec) mutable {
        auto self = weak.lock();
        if (ec || !self || self->closed_) return;
        self->auth_wait_ = false;
        self->Authenticated();
        self->Proceed(std::move(ctx), command, authenticate);
        self->Pump();
      });
      return;
    }
  }
  if (shown) Authenticated();
  Proceed(std::move(ctx), envelope->command, authenticate);
}

void Connection::Proceed(PendingCommand ctx, const Variant& command, bool authenticate) {
  if (authenticate) return Finish(ctx, MakeVariant("Authenticated", json::object()));
  if (!authenticated_) {
    return Finish(ctx, ErrorResponse(ManagementError::kUnauthorized,
                                     "this server requires a token: send Authenticate first"));
  }
  // Any command may ask to be shown the compiles its answer waits for (a start, an update, a
  // request whose actor spawns a child from a module not compiled yet).
  if (const auto it = command.fields.find("progress");
      it != command.fields.end() && it->is_boolean() && it->get<bool>()) {
    ctx.watches_compiles = true;
    ++compile_watches_;
  }
  server_.Dispatch(shared_from_this(), std::move(ctx), command);
}

void Connection::AdoptBridgedPeer(const PendingCommand& ctx, const Variant& command) {
  const std::optional<std::string>& key = server_.options().bridge_key;
  Result<std::string> given = StringField(command.fields, "key");
  Result<std::string> address_text = StringField(command.fields, "address");
  // Only this process's dashboard knows the key (drawn at each start, never sent beyond this
  // process's own connections). Its bridge connects from loopback, or from the management
  // server's own address when that is not loopback: the key, not the address, is the proof.
  if (!key || !given.ok() || !TokensEqual(*given, *key)) {
    spdlog::warn("management: connection {} ({}): BridgedClient without this server's bridge key",
                 serial_, peer_);
    return Fail("BridgedClient: only this server's own dashboard may name its client");
  }
  if (ctx.slot != 0 || bridged_) {
    return Fail("BridgedClient must be the first message of a connection");
  }
  if (!address_text.ok()) return Fail("BridgedClient: " + address_text.status().ToString());
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(*address_text, ec);
  if (ec) return Fail("BridgedClient: not an IP address: " + QuoteInput(*address_text));
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  const std::string peer = address.to_string();
  if (Status moved = server_.Repeer(*this, peer); !moved.ok()) return Fail(moved.message());
  spdlog::debug("management: connection {} ({}) carries the dashboard's browser at {}", serial_,
                peer_, peer);
  peer_ = peer;
  auth_source_ = AuthThrottle::SourceOf(address);
  peer_is_loopback_ = address.is_loopback();
  bridged_ = true;
  Finish(ctx, MakeVariant(kBridgedClientAccepted, json{{"address", peer}}));
}

void Connection::Authenticated() {
  if (!authenticated_) {
    authenticated_ = true;
    decoder_.set_limits(FullLimits(server_.options()));
  }
  MarkEstablished();
}

void Connection::MarkEstablished() {
  if (established_) return;
  established_ = true;
  server_.OnEstablished(*this);
}

void Connection::WrongToken(const PendingCommand& ctx) {
  // Each wrong token is answered only after a delay, during which nothing more is read: guessing
  // costs the guesser time, not the server (the connection holds an unauthenticated slot, which
  // a newcomer may take).
  const ServerOptions& o = server_.options();
  ++auth_failures_;
  auth_wait_ = true;
  const bool last = auth_failures_ >= o.max_auth_failures;
  // Across connections, the source's answers come one after another, each a growing delay
  // after the last: many connections guess no faster than one.
  const Clock::time_point now = Clock::now();
  const AuthThrottle::Failure source = server_.auth_throttle().OnFailure(auth_source_, now);
  std::string why = "wrong token (" + std::to_string(auth_failures_) + " of " +
                    std::to_string(o.max_auth_failures) + " attempts, max_auth_failures";
  why += last ? "): closing the connection"
              : "; each is answered after " + Ms(o.auth_failure_delay) + ", auth_failure_delay)";
  why += "; " + std::to_string(source.failures) + " wrong tokens from " + auth_source_ +
         " lately: its answers come " + Ms(source.delay) + " apart, doubling with each up to " +
         Ms(o.auth_source_delay_max) + " (auth_source_delay_max)";
  if (!auth_timer_) auth_timer_ = std::make_unique<asio::steady_timer>(server_.io());
  auth_timer_->expires_at(std::max(now + o.auth_failure_delay, source.answer_at));
  auth_timer_->async_wait(
      [weak = weak_from_this(), ctx, why, last](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || self->closed_) return;
        self->auth_wait_ = false;
        self->Finish(ctx, ErrorResponse(ManagementError::kUnauthorized, why));
        if (last) {
          self->close_after_write_ = true;
          self->close_deadline_ = Clock::now() + kFailLinger;
          self->Write();
          return;
        }
        self->Pump();
      });
}

void Connection::CheckDeadlines(Clock::time_point now) {
  if (closed_) return;
  if (close_deadline_) {
    if (now >= *close_deadline_) Close();
    return;
  }
  const ServerOptions& o = server_.options();
  if (!established_ && now - accepted_ >= o.unauthenticated_timeout) {
    return CloseWithNotice("closing: not authenticated within " + Ms(o.unauthenticated_timeout) +
                           " of connecting (unauthenticated_timeout)");
  }
  if (!reading_) return;  // only a frame this side is waiting for has a deadline
  if (frame_started_ && !header_read_ && now - *frame_started_ >= o.frame_header_timeout) {
    return CloseWithNotice("closing: a frame's 4-byte length did not arrive within " +
                           Ms(o.frame_header_timeout) +
                           " of its first byte (frame_header_timeout)");
  }
  if (header_read_ && now - *header_read_ >= o.frame_body_timeout) {
    return CloseWithNotice("closing: a frame's body did not arrive within " +
                           Ms(o.frame_body_timeout) + " of its length (frame_body_timeout)");
  }
}

// --- Writing ------------------------------------------------------------------------------

void Connection::Fail(const std::string& why) {
  if (closed_ || close_after_write_) return;
  Enqueue(ErrorResponse(ManagementError::kInvalidRequest, why).dump());
  close_after_write_ = true;
  close_deadline_ = Clock::now() + kFailLinger;
  Write();
}

void Connection::CloseWithNotice(const std::string& why) {
  if (closed_) return;
  spdlog::debug("management: connection {} ({}): {}", serial_, peer_, why);
  if (!writing_ && outbox_.empty()) {
    // One small frame into the socket's empty buffer, without waiting: if it does not fit, the
    // client was not reading anyway.
    std::string frame;
    FrameEncoder encoder;
    const std::string text = ErrorResponse(ManagementError::kInvalidRequest, why).dump();
    encoder.EncodeTo({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, frame);
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    if (!ec) socket_.write_some(asio::buffer(frame), ec);
  }
  Close();
}

void Connection::Finish(const PendingCommand& ctx, const json& response, std::vector<std::string> after) {
  if (closed_) return;
  FinishText(ctx, JsonText(response), std::move(after));
}

void Connection::FinishText(const PendingCommand& ctx, std::string response,
                            std::vector<std::string> after) {
  if (closed_) return;
  if (ctx.watches_compiles && compile_watches_ > 0) --compile_watches_;
  std::string text;
  if (ctx.wrapped) {
    JsonWriter w(text);
    w.BeginObject().Key("request_id").Value(ctx.request_id).Key("response").Raw(response);
    w.EndObject();
    response.clear();
    response.shrink_to_fit();
  } else {
    text = std::move(response);
  }
  std::vector<std::string>& entry = ready_[ctx.slot];
  entry.push_back(std::move(text));
  for (std::string& a : after) entry.push_back(std::move(a));
  // Send every reply whose turn has come (taken out first: a client that does not read may be
  // closed while they are queued).
  std::vector<std::string> turn;
  for (auto it = ready_.begin(); it != ready_.end() && it->first == next_to_send_;
       it = ready_.erase(it)) {
    for (std::string& m : it->second) turn.push_back(std::move(m));
    ++next_to_send_;
  }
  for (const std::string& m : turn) {
    Enqueue(m);
    if (closed_) return;
  }
  Write();
  Pump();
}

void Connection::Push(const std::string& message) {
  if (closed_ || close_after_write_) return;
  Enqueue(message);
  Write();
}

void Connection::Enqueue(std::string_view message) {
  if (closed_) return;
  encoder_.EncodeTo({reinterpret_cast<const uint8_t*>(message.data()), message.size()}, outbox_);
  if (outbox_bytes() > server_.options().max_outbox_bytes) {
    // Replies are bounded (max_reply_bytes), commands stop being read above the high-water
    // mark and subscriptions stop draining: only a client that does not read gets here.
    spdlog::info(
        "management: connection {} ({}): {} bytes wait to be written, more than {} "
        "(max_outbox_bytes): the client is not reading; closing",
        serial_, peer_, outbox_bytes(), server_.options().max_outbox_bytes);
    Close();
  }
}

void Connection::Write() {
  if (writing_ || closed_) return;
  if (outbox_.empty()) {
    if (close_after_write_) Close();
    return;
  }
  writing_ = true;
  in_flight_.clear();
  in_flight_.swap(outbox_);
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(in_flight_),
                    [self](const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      self->in_flight_.clear();  // capacity kept for the next swap
                      if (self->closed_) return;
                      if (ec) {
                        self->Close();
                        return;
                      }
                      self->OnWritten();
                    });
}

void Connection::OnWritten() {
  // A large reply's buffer is not kept for the next one.
  if (in_flight_.capacity() > kWriteHighWater) std::string().swap(in_flight_);
  if (outbox_.size() < kWriteHighWater / 2) {
    for (auto& [id, state] : subscriptions_) {
      if (state.stalled) {
        state.stalled = false;
        asio::post(server_.io(), [weak = weak_from_this(), id = id] {
          if (auto conn = weak.lock()) conn->Drain(id);
        });
      }
    }
  }
  Write();
  Pump();
}

// --- Subscriptions ------------------------------------------------------------------------

bool Connection::AtSubscriptionLimit() const {
  return subscriptions_.size() >= server_.options().max_subscriptions_per_connection;
}

void Connection::AddSubscription(const std::string& subscription_id, const std::string& actor_id,
                                 TheaterRuntime::Subscription subscription, ByteEncoding encoding,
                                 bool decoded, double max_events_per_s) {
  const ServerOptions& o = server_.options();
  subscription.SetByteLimits(o.subscription_queue_bytes, subscription_budget_);
  SubscriptionState& state = subscriptions_[subscription_id];
  state.actor_id = actor_id;
  state.encoding = encoding;
  state.decoded = decoded;
  state.limited = max_events_per_s > 0;
  state.subscription = std::make_unique<TheaterRuntime::Subscription>(std::move(subscription));
  // Events past the limit are dropped where they are published, before they are copied.
  if (state.limited) state.subscription->SetRateLimit(max_events_per_s);
  asio::io_context& io = server_.io();
  state.subscription->SetWakeup([&io, weak = weak_from_this(), subscription_id] {
    asio::post(io, [weak, subscription_id] {
      if (auto conn = weak.lock()) conn->Drain(subscription_id);
    });
  });
}

bool Connection::RemoveSubscription(const std::string& subscription_id,
                                    const std::string& actor_id) {
  auto it = subscriptions_.find(subscription_id);
  if (it == subscriptions_.end() || it->second.actor_id != actor_id) return false;
  subscriptions_.erase(it);  // the handle's destructor unsubscribes and frees what it held
  return true;
}

void Connection::EnqueueSkipped(SubscriptionState& state, const std::string& subscription_id) {
  std::string message;
  JsonWriter w(message);
  w.BeginVariant("ActorEvent").BeginObject().Key("event").Null();
  w.Member("actor_id", state.actor_id).Member("subscription_id", subscription_id);
  w.Member("dropped", uint64_t{std::exchange(state.skipped, 0)}).Member("limited", true);
  w.EndObject().EndObject();
  state.last_notice = Clock::now();
  Enqueue(message);
}

void Connection::Drain(const std::string& subscription_id) {
  if (closed_ || close_after_write_) return;
  auto it = subscriptions_.find(subscription_id);
  if (it == subscriptions_.end()) return;
  SubscriptionState& state = it->second;
  if (outbox_bytes() >= kWriteHighWater) {
    state.stalled = true;
    return;
  }
  std::string message;
  bool dropping = false;  // a rate-limited subscription reported events it dropped
  bool caught_up = false;
  for (int i = 0; i < kDrainBatch; ++i) {
    std::optional<chain::Delivery> d = state.subscription->TryNext();
    if (!d) {
      caught_up = true;
      break;
    }
    if (state.limited && d->is_gap()) {
      // Counted, and said at most every kLimitNoticeEvery (before the next event sent, or below).
      state.skipped += d->dropped;
      dropping = true;
      continue;
    }
    if (state.skipped > 0 && Clock::now() - state.last_notice >= kLimitNoticeEvery) {
      EnqueueSkipped(state, subscription_id);
    }
    // The form ParseCanonicalEventPush reads without a tree (protocol.h).
    message.clear();
    JsonWriter w(message);
    w.BeginVariant("ActorEvent").BeginObject().Key("event");
    if (d->is_gap()) {
      w.Null();
    } else {
      AppendChainEventJson(d->event, w.ValueSlot(), state.encoding, state.decoded);
    }
    w.Member("actor_id", d->is_gap() ? state.actor_id : d->actor_id);
    w.Member("subscription_id", subscription_id);
    w.Member(d->is_gap() ? "dropped" : "index", uint64_t{d->is_gap() ? d->dropped : d->index});
    w.EndObject().EndObject();
    Enqueue(message);
    if (closed_) return;
    if (outbox_bytes() >= kWriteHighWater) {
      // The rest waits in the subscription's bounded queue until the client has read.
      state.stalled = true;
      Write();
      return;
    }
  }
  if (!caught_up) {
    Write();
    // More may be queued: continue after whatever else is waiting on the loop.
    asio::post(server_.io(), [weak = weak_from_this(), subscription_id] {
      if (auto conn = weak.lock()) conn->Drain(subscription_id);
    });
    return;
  }
  // Caught up. A rate-limited subscription that is dropping events hears of the later ones only
  // when it asks: drain again shortly, which also says what was skipped when it is time to.
  if (state.skipped > 0 && Clock::now() - state.last_notice >= kLimitNoticeEvery) {
    EnqueueSkipped(state, subscription_id);
  }
  if ((dropping || state.skipped > 0) && !state.notice_scheduled) {
    state.notice_scheduled = true;
    auto timer = std::make_shared<asio::steady_timer>(server_.io(), kLimitNoticeEvery);
    timer->async_wait(
        [timer, weak = weak_from_this(), subscription_id](const boost::system::error_code&) {
          auto conn = weak.lock();
          if (!conn) return;
          auto found = conn->subscriptions_.find(subscription_id);
          if (found == conn->subscriptions_.end()) return;
          found->second.notice_scheduled = false;
          conn->Drain(subscription_id);
        });
  }
  Write();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  if (auth_timer_) auth_timer_->cancel();
  if (actor_watch_) actor_watch_->timer->cancel();
  actor_watch_.reset();
  subscriptions_.clear();
  for (const std::string& channel : channels_) {
    Status closed = server_.runtime().CloseChannel(channel);
    if (!closed.ok())
      spdlog::debug("management: closing channel {}: {}", channel, closed.ToString());
  }
  channels_.clear();
  // Nothing more will be written or read: free the buffers now, not when the last handler
  // holding this connection has run.
  std::string().swap(outbox_);
  ready_.clear();
  queued_.clear();
  server_.OnClosed(*this);
}

}  // namespace theater::server
