// Theater: a WebAssembly actor runtime.
//
// The management server (management_server.h, docs/protocol.md).
//
// One Boost.Asio thread owns every socket and every connection's state; nothing here is touched
// from another thread except through asio::post. Commands that the runtime answers at once
// (list, state, metrics, send) run on that thread. Commands that wait run elsewhere: the
// runtime's asynchronous forms (spawn, stop, request) call back on runtime threads, and the few
// blocking runtime calls (terminate, restart, pause, resume, channels, chain reads, the stores)
// run on a small pool. Either way the reply is posted back to the network thread, which sends
// each connection's replies in the order of its commands.
#include "server/management_server.h"

#include <signal.h>

#include <spdlog/spdlog.h>
#include <atomic>
#include <boost/asio.hpp>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/uuid.h"
#include "server/client.h"
#include "server/framing.h"
#include "server/protocol.h"
#include "theater/version.h"

namespace theater::server {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

// Past this many bytes waiting to be written to a client, its subscriptions stop being drained
// (their queues fill and then drop, with a gap notice) until the client has read some.
constexpr size_t kWriteHighWater = 8u << 20;
// Events taken from one subscription per turn of the event loop, so that one busy subscription
// does not starve the connection's other work.
constexpr int kDrainBatch = 512;

bool TokensEqual(std::string_view a, std::string_view b) {
  // Constant time in the length of `b` (the secret): no early exit on the first mismatch.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    diff |= static_cast<unsigned char>(b[i] ^ (i < a.size() ? a[i] : 0));
  }
  return diff == 0;
}

json ManifestToJson(const Manifest& m) {
  json out = json::object();
  out["name"] = m.name;
  out["version"] = m.version;
  out["component"] = m.component;
  out["description"] = m.description ? json(*m.description) : json(nullptr);
  out["long_description"] = m.long_description ? json(*m.long_description) : json(nullptr);
  out["save_chain"] = m.save_chain;
  out["init_state"] = m.init_state ? json(*m.init_state) : json(nullptr);
  out["permission_policy"] = m.permission_policy;
  json handlers = json::array();
  for (const HandlerConfig& h : m.handlers) {
    json entry = h.config.is_object() ? h.config : json::object();
    entry["type"] = h.type;
    handlers.push_back(std::move(entry));
  }
  out["handler"] = std::move(handlers);
  return out;
}

json MetricsToJson(const ActorMetrics& m) {
  json out = {{"calls", m.calls},
              {"failures", m.failures},
              {"latency_min_ns", m.latency_min_ns},
              {"latency_avg_ns", m.latency_avg_ns},
              {"latency_max_ns", m.latency_max_ns},
              {"mailbox_depth", m.mailbox_depth},
              {"mailbox_peak", m.mailbox_peak},
              {"memory_bytes", m.memory_bytes},
              {"memory_peak_bytes", m.memory_peak_bytes},
              {"uptime_ms", m.uptime_ms},
              {"events", m.events}};
  out["custom"] = json::object();
  for (const auto& [name, value] : m.custom) out["custom"][name] = value;
  return out;
}

json ActorResultPush(const ChildEvent& event) {
  json body;
  switch (event.kind) {
    case ChildEvent::Kind::kExit:
      body = MakeVariant("Success",
                         json{{"actor_id", event.child_id},
                              {"result", event.data ? BytesToJson(*event.data) : json(nullptr)}});
      break;
    case ChildEvent::Kind::kError: {
      json error = json::object();
      error["UnexpectedError"] = event.error.ToString();
      body = MakeVariant("Error", json{{"actor_id", event.child_id}, {"error", error}});
      break;
    }
    case ChildEvent::Kind::kExternalStop:
      body = MakeVariant("ExternalStop", json{{"actor_id", event.child_id}});
      break;
  }
  json out = json::object();
  out["ActorResult"] = std::move(body);
  return out;
}

class ServerImpl;

// One client connection. Lives on the network thread; shared with posted completions through
// weak pointers, so a reply for a connection that has gone is dropped.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerImpl& server, tcp::socket socket, uint64_t serial);

  void Start();
  void Close();
  bool closed() const { return closed_; }
  uint64_t serial() const { return serial_; }

  // --- Used by the server's command handlers (network thread only). ---
  struct Context {
    uint64_t slot = 0;
    json request_id;
    bool wrapped = false;
  };
  // The reply to the command in `slot`, then `after` (pushes that must follow it).
  void Finish(const Context& ctx, const json& response, std::vector<std::string> after = {});
  void Push(const std::string& message);
  void Push(const json& message) {
    Push(message.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  void AddSubscription(const std::string& subscription_id, const std::string& actor_id,
                       TheaterRuntime::Subscription subscription, ByteEncoding encoding);
  bool RemoveSubscription(const std::string& subscription_id, const std::string& actor_id);
  void Drain(const std::string& subscription_id);
  size_t subscription_count() const { return subscriptions_.size(); }
  std::set<std::string>& channels() { return channels_; }
  bool authenticated = false;

 private:
  void Read();
  void OnMessage(std::vector<uint8_t> message);
  void Enqueue(std::string_view message);
  void Write();
  void OnWritten();

  struct SubscriptionState {
    std::string actor_id;
    ByteEncoding encoding = ByteEncoding::kArray;
    std::unique_ptr<TheaterRuntime::Subscription> subscription;
    bool stalled = false;  // not drained because the client is behind on reading
  };

  ServerImpl& server_;
  tcp::socket socket_;
  const uint64_t serial_;
  std::array<uint8_t, 64 * 1024> read_buffer_{};
  FrameDecoder decoder_;
  FrameEncoder encoder_{kCompactCompleteMax};
  // Frames waiting to be written, and those being written (swapped when a write completes).
  std::string outbox_;
  std::string in_flight_;
  bool writing_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
  uint64_t next_slot_ = 0;
  uint64_t next_to_send_ = 0;
  std::map<uint64_t, std::vector<std::string>> ready_;  // finished replies waiting for their turn
  std::map<std::string, SubscriptionState> subscriptions_;
  std::set<std::string> channels_;
};

class ServerImpl final : public ManagementServer {
 public:
  ServerImpl(TheaterRuntime& runtime, ServerOptions options)
      : runtime_(runtime),
        options_(std::move(options)),
        acceptor_(io_),
        started_(std::chrono::steady_clock::now()) {}
  ~ServerImpl() override { Stop(); }

  Status Listen();
  std::string address() const override { return bound_address_; }
  void Stop() override;

  // --- For connections (network thread). ---
  TheaterRuntime& runtime() { return runtime_; }
  const ServerOptions& options() const { return options_; }
  asio::io_context& io() { return io_; }
  void Forget(Connection* connection);
  void Dispatch(const std::shared_ptr<Connection>& conn, Connection::Context ctx,
                const Variant& command);
  uint64_t NextCommandCount() { return ++commands_; }

 private:
  void Accept();
  void OnTopLevelEvent(const ChildEvent& event);
  // A completion for `ctx` on `conn` from any thread: posts the reply to the network thread.
  std::function<void(json, std::vector<std::string>)> Replier(
      const std::shared_ptr<Connection>& conn, const Connection::Context& ctx);
  // Runs `work` on the blocking pool and replies with what it returns.
  void Blocking(const std::shared_ptr<Connection>& conn, const Connection::Context& ctx,
                std::function<json()> work);

  void StartActor(const std::shared_ptr<Connection>& conn, const Connection::Context& ctx,
                  const json& fields);
  void OpenChannel(const std::shared_ptr<Connection>& conn, const Connection::Context& ctx,
                   const json& fields);

  TheaterRuntime& runtime_;
  ServerOptions options_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::unique_ptr<asio::thread_pool> blocking_;
  std::string bound_address_;
  const std::chrono::steady_clock::time_point started_;
  bool stopped_ = false;
  uint64_t next_serial_ = 1;
  uint64_t commands_ = 0;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
  // Top-level actors started with `parent: true`, and who hears their result.
  std::unordered_map<std::string, std::weak_ptr<Connection>> parents_;
};

// ---------------------------------------------------------------------------------------------
// Connection

Connection::Connection(ServerImpl& server, tcp::socket socket, uint64_t serial)
    : server_(server),
      socket_(std::move(socket)),
      serial_(serial),
      decoder_(FrameDecoder::Limits{
          server.options().max_frame_bytes, server.options().max_message_bytes, 16,
          server.options().max_message_bytes, std::chrono::milliseconds(30'000)}) {
  authenticated = !server.options().token.has_value();
}

void Connection::Start() {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  Read();
}

void Connection::Read() {
  auto self = shared_from_this();
  socket_.async_read_some(
      asio::buffer(read_buffer_), [self](const boost::system::error_code& ec, size_t n) {
        if (self->closed_) return;
        if (ec) {
          self->Close();
          return;
        }
        std::vector<std::vector<uint8_t>> messages;
        Status fed = self->decoder_.Feed({self->read_buffer_.data(), n}, messages);
        for (auto& m : messages) self->OnMessage(std::move(m));
        if (!fed.ok()) {
          // The stream can no longer be trusted: say why, then hang up (the only case).
          spdlog::info("management: connection {}: {}", self->serial_, fed.ToString());
          self->Enqueue(
              ErrorResponse(ManagementError::kInvalidRequest, "unreadable frame: " + fed.ToString())
                  .dump());
          self->close_after_write_ = true;
          self->Write();
          return;
        }
        self->Read();
      });
}

void Connection::OnMessage(std::vector<uint8_t> message) {
  Context ctx;
  ctx.slot = next_slot_++;
  server_.NextCommandCount();
  Result<Envelope> envelope = ParseCommand(message);
  if (!envelope.ok()) {
    Finish(ctx, ErrorResponse(envelope.status().code() == StatusCode::kParseError
                                  ? ManagementError::kSerializationError
                                  : ManagementError::kInvalidRequest,
                              envelope.status().ToString()));
    return;
  }
  ctx.request_id = envelope->request_id;
  ctx.wrapped = envelope->wrapped;
  if (envelope->token) {
    if (!server_.options().token || TokensEqual(*envelope->token, *server_.options().token)) {
      authenticated = true;
    } else {
      Finish(ctx, ErrorResponse(ManagementError::kUnauthorized, "wrong token"));
      return;
    }
  }
  server_.Dispatch(shared_from_this(), std::move(ctx), envelope->command);
}

void Connection::Finish(const Context& ctx, const json& response, std::vector<std::string> after) {
  if (closed_) return;
  std::string text;
  if (ctx.wrapped) {
    json wrapped = json::object();
    wrapped["request_id"] = ctx.request_id;
    wrapped["response"] = response;
    text = wrapped.dump(-1, ' ', false, json::error_handler_t::replace);
  } else {
    text = response.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  std::vector<std::string>& entry = ready_[ctx.slot];
  entry.push_back(std::move(text));
  for (std::string& a : after) entry.push_back(std::move(a));
  // Send every reply whose turn has come.
  for (auto it = ready_.begin(); it != ready_.end() && it->first == next_to_send_;
       it = ready_.erase(it)) {
    for (const std::string& m : it->second) Enqueue(m);
    ++next_to_send_;
  }
  Write();
}

void Connection::Push(const std::string& message) {
  if (closed_) return;
  Enqueue(message);
  Write();
}

void Connection::Enqueue(std::string_view message) {
  encoder_.EncodeTo({reinterpret_cast<const uint8_t*>(message.data()), message.size()}, outbox_);
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
}

void Connection::AddSubscription(const std::string& subscription_id, const std::string& actor_id,
                                 TheaterRuntime::Subscription subscription, ByteEncoding encoding) {
  SubscriptionState& state = subscriptions_[subscription_id];
  state.actor_id = actor_id;
  state.encoding = encoding;
  state.subscription = std::make_unique<TheaterRuntime::Subscription>(std::move(subscription));
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
  subscriptions_.erase(it);  // the handle's destructor unsubscribes
  return true;
}

void Connection::Drain(const std::string& subscription_id) {
  if (closed_) return;
  auto it = subscriptions_.find(subscription_id);
  if (it == subscriptions_.end()) return;
  SubscriptionState& state = it->second;
  if (outbox_.size() + in_flight_.size() >= kWriteHighWater) {
    state.stalled = true;
    return;
  }
  std::string message;
  for (int i = 0; i < kDrainBatch; ++i) {
    std::optional<chain::Delivery> d = state.subscription->TryNext();
    if (!d) {
      Write();
      return;
    }
    message.clear();
    message += "{\"ActorEvent\":{\"event\":";
    if (d->is_gap()) {
      message += "null";
    } else {
      AppendChainEventJson(d->event, message, state.encoding);
    }
    message += ",\"actor_id\":\"";
    message += d->is_gap() ? state.actor_id : d->actor_id;
    message += "\",\"subscription_id\":\"";
    message += subscription_id;
    message += d->is_gap() ? "\",\"dropped\":" : "\",\"index\":";
    message += std::to_string(d->is_gap() ? d->dropped : d->index);
    message += "}}";
    Enqueue(message);
  }
  Write();
  // More may be queued: continue after whatever else is waiting on the loop.
  asio::post(server_.io(), [weak = weak_from_this(), subscription_id] {
    if (auto conn = weak.lock()) conn->Drain(subscription_id);
  });
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  subscriptions_.clear();
  for (const std::string& channel : channels_) {
    Status closed = server_.runtime().CloseChannel(channel);
    if (!closed.ok())
      spdlog::debug("management: closing channel {}: {}", channel, closed.ToString());
  }
  channels_.clear();
  server_.Forget(this);
}

// ---------------------------------------------------------------------------------------------
// Server

Status ServerImpl::Listen() {
  THEATER_ASSIGN_OR_RETURN(auto host_port, SplitAddress(options_.address));
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  auto results = resolver.resolve(host_port.first, std::to_string(host_port.second), ec);
  if (ec || results.empty()) {
    return InvalidArgument("cannot resolve '" + host_port.first + "': " + ec.message());
  }
  tcp::endpoint endpoint = results.begin()->endpoint();
  if (!endpoint.address().is_loopback() && !options_.token) {
    return FailedPrecondition("refusing to listen on " + options_.address +
                              " without a token: set --token-file or THEATER_SERVER_TOKEN "
                              "(only loopback addresses may go without one)");
  }
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return IOError("listening on " + options_.address + ": " + ec.message());
  tcp::endpoint bound = acceptor_.local_endpoint(ec);
  bound_address_ = bound.address().is_v6()
                       ? "[" + bound.address().to_string() + "]:" + std::to_string(bound.port())
                       : bound.address().to_string() + ":" + std::to_string(bound.port());
  blocking_ = std::make_unique<asio::thread_pool>(4);
  runtime_.SetTopLevelListener([this](const ChildEvent& event) {
    asio::post(io_, [this, event] { OnTopLevelEvent(event); });
  });
  Accept();
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
  return Status();
}

void ServerImpl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  runtime_.SetTopLevelListener(nullptr);
  if (thread_.joinable()) {
    asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      std::vector<std::shared_ptr<Connection>> open;
      for (auto& [ptr, conn] : connections_) open.push_back(conn);
      for (auto& conn : open) conn->Close();
      io_.stop();
    });
    thread_.join();
  }
  if (blocking_) blocking_->join();
}

void ServerImpl::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted) {
        spdlog::warn("management: accept: {}", ec.message());
        Accept();
      }
      return;
    }
    if (connections_.size() >= options_.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      auto conn = std::make_shared<Connection>(*this, std::move(socket), next_serial_++);
      connections_[conn.get()] = conn;
      conn->Start();
    }
    Accept();
  });
}

void ServerImpl::Forget(Connection* connection) {
  // Deferred: the connection may be in the middle of one of its own handlers.
  asio::post(io_, [this, connection] { connections_.erase(connection); });
}

void ServerImpl::OnTopLevelEvent(const ChildEvent& event) {
  auto it = parents_.find(event.child_id);
  if (it == parents_.end()) return;
  std::shared_ptr<Connection> conn = it->second.lock();
  parents_.erase(it);
  if (conn) conn->Push(ActorResultPush(event));
}

std::function<void(json, std::vector<std::string>)> ServerImpl::Replier(
    const std::shared_ptr<Connection>& conn, const Connection::Context& ctx) {
  return [this, weak = std::weak_ptr<Connection>(conn), ctx](json response,
                                                             std::vector<std::string> after) {
    asio::post(io_,
               [weak, ctx, response = std::move(response), after = std::move(after)]() mutable {
                 if (auto c = weak.lock()) c->Finish(ctx, response, std::move(after));
               });
  };
}

void ServerImpl::Blocking(const std::shared_ptr<Connection>& conn, const Connection::Context& ctx,
                          std::function<json()> work) {
  asio::post(*blocking_,
             [reply = Replier(conn, ctx), work = std::move(work)] { reply(work(), {}); });
}

void ServerImpl::Dispatch(const std::shared_ptr<Connection>& conn, Connection::Context ctx,
                          const Variant& command) {
  const std::string& name = command.name;
  const json& fields = command.fields;
  auto finish = [&](const json& response) { conn->Finish(ctx, response); };
  auto invalid = [&](const Status& status) {
    finish(ErrorResponse(ManagementError::kInvalidRequest, name + ": " + status.ToString()));
  };

  if (name == "Authenticate") {
    Result<std::string> token = StringField(fields, "token");
    if (!token.ok()) return invalid(token.status());
    if (options_.token && !TokensEqual(*token, *options_.token)) {
      return finish(ErrorResponse(ManagementError::kUnauthorized, "wrong token"));
    }
    conn->authenticated = true;
    return finish(MakeVariant("Authenticated", json::object()));
  }
  if (!conn->authenticated) {
    return finish(ErrorResponse(ManagementError::kUnauthorized,
                                "this server requires a token: send Authenticate first"));
  }

  // Commands about one actor all name it in `id`.
  auto actor_id = [&]() { return ActorIdField(fields, "id"); };
  auto ok_reply = [](std::string_view variant, const std::string& id) {
    return MakeVariant(variant, json{{"id", id}});
  };

  if (name == "ListActors") {
    json actors = json::array();
    json details = json::array();
    for (const ActorSummary& a : runtime_.List()) {
      actors.push_back(json::array({a.id, a.name}));
      details.push_back(json{{"id", a.id},
                             {"name", a.name},
                             {"phase", std::string(ActorPhaseName(a.phase))},
                             {"parent_id", a.parent_id ? json(*a.parent_id) : json(nullptr)},
                             {"manifest", a.manifest_source}});
    }
    return finish(MakeVariant("ActorList", json{{"actors", actors}, {"details", details}}));
  }
  if (name == "GetServerInfo") {
    size_t subscriptions = 0;
    size_t channels = 0;
    for (auto& [ptr, c] : connections_) {
      subscriptions += c->subscription_count();
      channels += c->channels().size();
    }
    auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
    return finish(MakeVariant("ServerInfo", json{{"version", std::string(kVersion)},
                                                 {"protocol", kProtocolVersion},
                                                 {"uptime_ms", uptime.count()},
                                                 {"actors", runtime_.List().size()},
                                                 {"connections", connections_.size()},
                                                 {"subscriptions", subscriptions},
                                                 {"channels", channels},
                                                 {"commands", commands_}}));
  }
  if (name == "StartActor") return StartActor(conn, ctx, fields);
  if (name == "OpenChannel") return OpenChannel(conn, ctx, fields);
  if (name == "NewStore") {
    return Blocking(conn, ctx, [this]() -> json {
      Result<store::ContentStore*> stores = runtime_.content_store();
      if (!stores.ok()) return ErrorResponse(stores.status(), Subject::kStore);
      Result<std::string> id = (*stores)->CreateStore();
      if (!id.ok()) return ErrorResponse(id.status(), Subject::kStore);
      return MakeVariant("StoreCreated", json{{"store_id", *id}});
    });
  }
  if (name == "ListStored") {
    return Blocking(conn, ctx, [this]() -> json {
      json actors = json::array();
      if (chain::ChainStore* store = runtime_.store()) {
        Result<std::vector<chain::ActorRecord>> records = store->ListActors();
        if (!records.ok()) return ErrorResponse(records.status(), Subject::kStore);
        for (const chain::ActorRecord& r : *records) {
          actors.push_back(json{{"id", r.actor_id},
                                {"name", r.name},
                                {"status", r.status},
                                {"manifest", r.manifest},
                                {"events", r.event_count}});
        }
      }
      return MakeVariant("StoredActors", json{{"actors", actors}});
    });
  }
  if (name == "SendOnChannel" || name == "CloseChannel") {
    Result<std::string> channel = StringField(fields, "channel_id");
    if (!channel.ok()) return invalid(channel.status());
    if (!conn->channels().count(*channel)) {
      return finish(ErrorResponse(ManagementError::kChannelNotFound,
                                  "channel " + *channel + " is not open on this connection"));
    }
    if (name == "CloseChannel") {
      conn->channels().erase(*channel);
      Status closed = runtime_.CloseChannel(*channel);
      if (!closed.ok()) return finish(ErrorResponse(closed, Subject::kChannel));
      return finish(MakeVariant("ChannelClosed", json{{"channel_id", *channel}}));
    }
    Result<std::vector<uint8_t>> message = BytesField(fields, "message");
    if (!message.ok()) return invalid(message.status());
    Status sent = runtime_.SendOnChannel(*channel, std::move(*message));
    if (!sent.ok()) return finish(ErrorResponse(sent, Subject::kChannel));
    return finish(MakeVariant("MessageSent", json{{"channel_id", *channel}}));
  }

  // Everything below is about one actor.
  static const std::set<std::string> kActorCommands = {
      "StopActor",           "TerminateActor",       "RestartActor",     "PauseActor",
      "ResumeActor",         "ListChildren",         "GetActorStatus",   "GetActorState",
      "GetActorManifest",    "GetActorEvents",       "GetActorMetrics",  "VerifyChain",
      "SubscribeToActor",    "UnsubscribeFromActor", "SendActorMessage", "RequestActorMessage",
      "UpdateActorComponent"};
  if (!kActorCommands.count(name)) {
    return finish(
        ErrorResponse(ManagementError::kInvalidRequest, "unknown command '" + name + "'"));
  }
  Result<std::string> id_or = actor_id();
  if (!id_or.ok()) return invalid(id_or.status());
  const std::string id = *id_or;

  if (name == "StopActor") {
    runtime_.StopAsync(id, [reply = Replier(conn, ctx), id](Result<bool> found) {
      if (!found.ok()) return reply(ErrorResponse(found.status(), Subject::kActor), {});
      if (!*found) {
        return reply(ErrorResponse(ManagementError::kActorNotFound, "actor " + id + " not found"),
                     {});
      }
      reply(MakeVariant("ActorStopped", json{{"id", id}}), {});
    });
    return;
  }
  if (name == "TerminateActor") {
    return Blocking(conn, ctx, [this, id]() -> json {
      Status s = runtime_.Terminate(id);
      if (!s.ok()) return ErrorResponse(s, Subject::kActor);
      // A forced stop reports nothing to a supervisor; a client attached with `parent` still
      // hears that the actor is gone.
      ChildEvent event;
      event.kind = ChildEvent::Kind::kExternalStop;
      event.child_id = id;
      asio::post(io_, [this, event] { OnTopLevelEvent(event); });
      return MakeVariant("ActorStopped", json{{"id", id}});
    });
  }
  if (name == "RestartActor" || name == "PauseActor" || name == "ResumeActor") {
    return Blocking(conn, ctx, [this, id, name]() -> json {
      Status s = name == "RestartActor" ? runtime_.Restart(id)
                 : name == "PauseActor" ? runtime_.Pause(id)
                                        : runtime_.Resume(id);
      if (!s.ok()) return ErrorResponse(s, Subject::kActor);
      return MakeVariant(name == "RestartActor" ? "Restarted"
                         : name == "PauseActor" ? "ActorPaused"
                                                : "ActorResumed",
                         json{{"id", id}});
    });
  }
  if (name == "ListChildren") {
    Result<std::vector<std::string>> children = runtime_.Children(id);
    if (!children.ok()) return finish(ErrorResponse(children.status(), Subject::kActor));
    return finish(MakeVariant("ActorChildren", json{{"id", id}, {"children", *children}}));
  }
  if (name == "GetActorStatus") {
    Result<ActorPhase> phase = runtime_.Phase(id);
    if (phase.ok()) {
      return finish(MakeVariant(
          "ActorStatus",
          json{{"id", id}, {"status", "Running"}, {"phase", std::string(ActorPhaseName(*phase))}}));
    }
    // Not running: the registry knows whether it stopped or failed.
    return Blocking(conn, ctx, [this, id]() -> json {
      chain::ChainStore* store = runtime_.store();
      if (store) {
        Result<std::vector<chain::ActorRecord>> records = store->ListActors();
        if (!records.ok()) return ErrorResponse(records.status(), Subject::kStore);
        for (const chain::ActorRecord& r : *records) {
          if (r.actor_id != id) continue;
          return MakeVariant("ActorStatus",
                             json{{"id", id},
                                  {"status", r.status == "failed" ? "Failed" : "Stopped"},
                                  {"phase", "Stopped"}});
        }
      }
      return ErrorResponse(ManagementError::kActorNotFound, "actor " + id + " not found");
    });
  }
  if (name == "GetActorState") {
    Result<std::optional<std::vector<uint8_t>>> state = runtime_.State(id);
    if (!state.ok()) return finish(ErrorResponse(state.status(), Subject::kActor));
    return finish(MakeVariant(
        "ActorState", json{{"id", id}, {"state", *state ? BytesToJson(**state) : json(nullptr)}}));
  }
  if (name == "GetActorManifest") {
    Result<Manifest> manifest = runtime_.GetManifest(id);
    if (!manifest.ok()) return finish(ErrorResponse(manifest.status(), Subject::kActor));
    return finish(
        MakeVariant("ActorManifest", json{{"id", id}, {"manifest", ManifestToJson(*manifest)}}));
  }
  if (name == "GetActorMetrics") {
    Result<ActorMetrics> metrics = runtime_.Metrics(id);
    if (!metrics.ok()) return finish(ErrorResponse(metrics.status(), Subject::kActor));
    return finish(
        MakeVariant("ActorMetrics", json{{"id", id}, {"metrics", MetricsToJson(*metrics)}}));
  }
  if (name == "GetActorEvents") {
    Result<ByteEncoding> encoding = ByteEncodingField(fields);
    if (!encoding.ok()) return invalid(encoding.status());
    return Blocking(conn, ctx, [this, id, encoding = *encoding]() -> json {
      Result<std::vector<chain::Event>> events = runtime_.Events(id);
      if (!events.ok()) return ErrorResponse(events.status(), Subject::kActor);
      std::string text = "{\"ActorEvents\":{\"id\":\"" + id + "\",\"events\":[";
      for (size_t i = 0; i < events->size(); ++i) {
        if (i) text.push_back(',');
        AppendChainEventJson((*events)[i], text, encoding);
      }
      text += "]}}";
      // Parsed back so the reply goes through the same path as every other; chains are read
      // rarely enough for this not to matter.
      return json::parse(text);
    });
  }
  if (name == "VerifyChain") {
    return Blocking(conn, ctx, [this, id]() -> json {
      Result<std::vector<chain::Event>> events = runtime_.Events(id);
      if (!events.ok()) return ErrorResponse(events.status(), Subject::kActor);
      Status verified = runtime_.VerifyChain(id);
      return MakeVariant(
          "ChainVerified",
          json{{"id", id},
               {"valid", verified.ok()},
               {"events", events->size()},
               {"error", verified.ok() ? json(nullptr) : json(verified.ToString())}});
    });
  }
  if (name == "SubscribeToActor") {
    Result<ByteEncoding> encoding = ByteEncodingField(fields);
    if (!encoding.ok()) return invalid(encoding.status());
    Result<TheaterRuntime::Subscription> sub =
        runtime_.Subscribe(id, options_.subscription_queue, chain::OverflowPolicy::kLossy);
    if (!sub.ok()) return finish(ErrorResponse(sub.status(), Subject::kActor));
    const std::string subscription_id = NewUuid();
    // Reply first, so that the client hears Subscribed before the first event.
    finish(MakeVariant("Subscribed", json{{"id", id}, {"subscription_id", subscription_id}}));
    conn->AddSubscription(subscription_id, id, std::move(*sub), *encoding);
    return;
  }
  if (name == "UnsubscribeFromActor") {
    Result<std::string> subscription_id = StringField(fields, "subscription_id");
    if (!subscription_id.ok()) return invalid(subscription_id.status());
    if (!conn->RemoveSubscription(*subscription_id, id)) {
      return finish(ErrorResponse(
          ManagementError::kInvalidRequest,
          "no subscription " + *subscription_id + " to actor " + id + " on this connection"));
    }
    return finish(MakeVariant("Unsubscribed", json{{"id", id}}));
  }
  if (name == "SendActorMessage") {
    Result<std::vector<uint8_t>> data = BytesField(fields, "data");
    if (!data.ok()) return invalid(data.status());
    Status sent = runtime_.SendMessage(id, std::move(*data));
    if (!sent.ok()) return finish(ErrorResponse(sent, Subject::kActor));
    return finish(ok_reply("SentMessage", id));
  }
  if (name == "RequestActorMessage") {
    Result<std::vector<uint8_t>> data = BytesField(fields, "data");
    if (!data.ok()) return invalid(data.status());
    runtime_.RequestMessageAsync(
        id, std::move(*data), options_.request_timeout,
        [reply = Replier(conn, ctx), id](Result<std::vector<uint8_t>> answer) {
          if (!answer.ok()) return reply(ErrorResponse(answer.status(), Subject::kActor), {});
          reply(
              MakeVariant("RequestedMessage", json{{"id", id}, {"message", BytesToJson(*answer)}}),
              {});
        });
    return;
  }
  if (name == "UpdateActorComponent") {
    Result<std::string> component = StringField(fields, "component");
    if (!component.ok()) return invalid(component.status());
    return Blocking(conn, ctx, [this, id, component = *component]() -> json {
      Status s = runtime_.UpdateComponent(id, component);
      if (!s.ok()) return ErrorResponse(s, Subject::kActor);
      return MakeVariant("ActorComponentUpdated", json{{"id", id}});
    });
  }
}

void ServerImpl::StartActor(const std::shared_ptr<Connection>& conn, const Connection::Context& ctx,
                            const json& fields) {
  auto invalid = [&](const Status& status) {
    conn->Finish(
        ctx, ErrorResponse(ManagementError::kInvalidRequest, "StartActor: " + status.ToString()));
  };
  Result<std::string> manifest = StringField(fields, "manifest");
  if (!manifest.ok()) return invalid(manifest.status());
  Result<std::optional<std::vector<uint8_t>>> state = OptionalBytesField(fields, "initial_state");
  if (!state.ok()) return invalid(state.status());
  Result<bool> parent = BoolField(fields, "parent", false);
  if (!parent.ok()) return invalid(parent.status());
  Result<bool> subscribe = BoolField(fields, "subscribe", false);
  if (!subscribe.ok()) return invalid(subscribe.status());
  Result<ByteEncoding> encoding = ByteEncodingField(fields);
  if (!encoding.ok()) return invalid(encoding.status());

  SpawnRequest request;
  request.manifest = std::move(*manifest);
  request.state = std::move(*state);
  request.actor_id = NewUuid();
  const std::string id = *request.actor_id;
  std::string subscription_id;
  if (*subscribe) {
    Result<TheaterRuntime::Subscription> sub = runtime_.SubscribeBeforeSpawn(
        id, options_.subscription_queue, chain::OverflowPolicy::kLossy);
    if (!sub.ok()) return conn->Finish(ctx, ErrorResponse(sub.status(), Subject::kSpawn));
    subscription_id = NewUuid();
    conn->AddSubscription(subscription_id, id, std::move(*sub), *encoding);
  }
  if (*parent) parents_[id] = conn;
  runtime_.SpawnAsync(std::move(request),
                      [this, reply = Replier(conn, ctx), id, subscription_id,
                       weak = std::weak_ptr<Connection>(conn)](Result<std::string> spawned) {
                        if (spawned.ok())
                          return reply(MakeVariant("ActorStarted", json{{"id", id}}), {});
                        reply(ErrorResponse(spawned.status(), Subject::kSpawn), {});
                        asio::post(io_, [this, id, subscription_id, weak] {
                          parents_.erase(id);
                          if (auto c = weak.lock(); c && !subscription_id.empty())
                            c->RemoveSubscription(subscription_id, id);
                        });
                      });
}

void ServerImpl::OpenChannel(const std::shared_ptr<Connection>& conn,
                             const Connection::Context& ctx, const json& fields) {
  auto invalid = [&](const std::string& why) {
    conn->Finish(ctx, ErrorResponse(ManagementError::kInvalidRequest, "OpenChannel: " + why));
  };
  // A ChannelParticipant: {"Actor": "<id>"} (a newtype variant: its value is the id itself)
  // or "External", which the server cannot open a channel to.
  auto participant = fields.find("actor_id");
  if (participant == fields.end()) return invalid("missing field 'actor_id'");
  if (!participant->is_object() || participant->size() != 1 || !participant->contains("Actor")) {
    return invalid("actor_id must be {\"Actor\": \"<id>\"}: the server opens channels to actors");
  }
  const json& value = (*participant)["Actor"];
  if (!value.is_string() || !IsUuid(value.get<std::string>())) {
    return invalid("actor_id must name an actor id");
  }
  const std::string id = value.get<std::string>();
  Result<std::vector<uint8_t>> initial = BytesField(fields, "initial_message");
  if (!initial.ok()) return invalid(initial.status().ToString());

  std::weak_ptr<Connection> weak = conn;
  ChannelListener listener;
  listener.on_message = [this, weak, id](std::string_view channel, std::vector<uint8_t> message) {
    std::string text = "{\"ChannelMessage\":{\"channel_id\":" + json(channel).dump() +
                       ",\"sender_id\":{\"Actor\":\"" + id + "\"},\"message\":";
    AppendBytesJson(message, text);
    text += "}}";
    asio::post(io_, [weak, text = std::move(text)] {
      if (auto c = weak.lock()) c->Push(text);
    });
  };
  listener.on_close = [this, weak](std::string_view channel) {
    asio::post(io_, [weak, channel = std::string(channel)] {
      auto c = weak.lock();
      if (!c || !c->channels().erase(channel)) return;
      c->Push(MakeVariant("ChannelClosed", json{{"channel_id", channel}, {"closed_by", "actor"}}));
    });
  };
  asio::post(*blocking_, [this, weak, ctx, id, initial = std::move(*initial),
                          listener = std::move(listener)]() mutable {
    Result<ExternalChannel> opened =
        runtime_.OpenChannel(id, std::move(initial), std::move(listener), options_.request_timeout);
    asio::post(io_, [this, weak, ctx, id, opened = std::move(opened)] {
      auto c = weak.lock();
      if (!opened.ok()) {
        if (c) c->Finish(ctx, ErrorResponse(opened.status(), Subject::kChannel));
        return;
      }
      if (!c || c->closed()) {
        // The client left while the actor decided.
        Status closed = runtime_.CloseChannel(opened->channel);
        (void)closed;
        return;
      }
      c->channels().insert(opened->channel);
      std::vector<std::string> after;
      if (opened->accept_message) {
        std::string text = "{\"ChannelMessage\":{\"channel_id\":" + json(opened->channel).dump() +
                           ",\"sender_id\":{\"Actor\":\"" + id + "\"},\"message\":";
        AppendBytesJson(*opened->accept_message, text);
        text += "}}";
        after.push_back(std::move(text));
      }
      json actor = json::object();
      actor["Actor"] = id;
      c->Finish(
          ctx,
          MakeVariant("ChannelOpened", json{{"channel_id", opened->channel}, {"actor_id", actor}}),
          std::move(after));
    });
  });
}

}  // namespace

Result<std::unique_ptr<ManagementServer>> ManagementServer::Start(TheaterRuntime& runtime,
                                                                  ServerOptions options) {
  auto server = std::make_unique<ServerImpl>(runtime, std::move(options));
  THEATER_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<ManagementServer>(std::move(server));
}

int Serve(ServeOptions options) {
  // SIGINT and SIGTERM are taken by sigwait below; every thread created from here on inherits
  // the mask, so none of them is interrupted by these signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // A server owns its home: a second one there would run actors with nothing saved.
  options.runtime.exclusive_home = true;
  Result<std::unique_ptr<TheaterRuntime>> runtime = TheaterRuntime::Create(options.runtime);
  if (!runtime.ok()) {
    std::fprintf(stderr, "theater server: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  Result<std::unique_ptr<ManagementServer>> server =
      ManagementServer::Start(**runtime, options.server);
  if (!server.ok()) {
    std::fprintf(stderr, "theater server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("management: {} received: stopping", received == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->Stop();
  Status shut = (*runtime)->Shutdown();
  if (!shut.ok()) {
    std::fprintf(stderr, "theater server: shutting down: %s\n", shut.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace theater::server
