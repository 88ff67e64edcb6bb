// Theater: a WebAssembly actor runtime.
//
// Connection: one client of the management server (management_server.h). It reads frames
// (framing.h) under deadlines, authenticates, hands commands to the server in order, sends the
// replies in command order, pushes the events of its subscriptions and the messages of its
// channels, and keeps what it holds bounded:
//   * reading: a frame's length must arrive within frame_header_timeout of its first byte and
//     its body within frame_body_timeout; until it authenticates (with a token set) frames are
//     limited to max_unauthenticated_frame_bytes and read one at a time; a wrong token is
//     answered after auth_failure_delay, and max_auth_failures of them close the connection;
//     across connections, the source address's recent failures (auth_throttle.h) space its
//     answers ever further apart, and a right token waits out the source's current delay;
//   * commands: at most max_commands_in_flight unanswered, and a command whose reply can be
//     large (events, state, chain verification) starts only once every earlier reply is out;
//     while the outbox is above its high-water mark nothing more is read;
//   * output: past max_outbox_bytes waiting to be written the client is not reading, and is
//     disconnected; subscriptions stop draining at the high-water mark (their queues, bounded in
//     events and bytes, then drop with a gap notice);
//   * subscriptions: at most max_subscriptions_per_connection, their queues charged to this
//     connection's byte budget and the server's.
//
// Thread-safety: lives on the server's network thread; every method runs there. Completions from
// other threads reach it through asio::post and a weak pointer, so a reply for a connection that
// has gone is dropped.
// Ownership: the server holds each connection (shared_ptr) until it closes; a connection borrows
// the server, which outlives it, and owns its socket, subscriptions and channel ids.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_writer.h"
#include "server/framing.h"
#include "server/protocol.h"
#include "theater/runtime.h"
#include "theater/status.h"
#include "theater/subscription.h"

namespace theater::server {

class ServerImpl;

// Past this many bytes waiting to be written to a client, its subscriptions stop being drained
// and no more of its commands are read, until it has read some.
inline constexpr size_t kWriteHighWater = 8u << 20;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Clock = std::chrono::steady_clock;
  using tcp = boost::asio::ip::tcp;

  Connection(ServerImpl& server, tcp::socket socket, uint64_t serial, std::string peer,
             bool peer_is_loopback);

  void Start();
  // Closes the socket, ends the subscriptions and channels, and tells the server. Idempotent.
  void Close();
  // Closes with `why` as a last Error message, written at once when nothing else is being
  // written (a client that is not reading does not hold the connection open for it).
  void CloseWithNotice(const std::string& why);
  // Closes the connection when one of its deadlines has passed (the server's sweep calls it).
  void CheckDeadlines(Clock::time_point now);

  bool closed() const { return closed_; }
  uint64_t serial() const { return serial_; }
  const std::string& peer() const { return peer_; }
  bool peer_is_loopback() const { return peer_is_loopback_; }
  // Authenticated (with a token set), or (without) has sent a whole message: a client that
  // speaks the protocol, which keeps its slot.
  bool established() const { return established_; }
  size_t outbox_bytes() const { return outbox_.size() + in_flight_.size(); }

  // --- Used by the server's command handlers (network thread only). ---
  // The command a handler answers: its place in the connection's reply order, and how its reply
  // is addressed (the request id and the wrapping it came with).
  struct PendingCommand {
    uint64_t slot = 0;
    nlohmann::json request_id;
    bool wrapped = false;
    // The command said `"progress": true`: until it is answered, the connection is pushed the
    // progress of the server's module compiles (CompileProgress).
    bool watches_compiles = false;
  };
  // The reply to the command in `slot`, then `after` (pushes that must follow it).
  void Finish(const PendingCommand& ctx, const nlohmann::json& response,
              std::vector<std::string> after = {});
  // The same with the reply already serialized (a large reply built as text, never as a tree).
  void FinishText(const PendingCommand& ctx, std::string response, std::vector<std::string> after = {});
  void Push(const std::string& message);
  void Push(const nlohmann::json& message) { Push(JsonText(message)); }
  // Whether another subscription would pass max_subscriptions_per_connection.
  bool AtSubscriptionLimit() const;
  void AddSubscription(const std::string& subscription_id, const std::string& actor_id,
                       TheaterRuntime::Subscription subscription, ByteEncoding encoding,
                       bool decoded = false, double max_events_per_s = 0);
  bool RemoveSubscription(const std::string& subscription_id, const std::string& actor_id);
  size_t subscription_count() const { return subscriptions_.size(); }
  // Some command of this connection that asked for compile progress is not answered yet.
  bool watching_compiles() const { return compile_watches_ > 0; }
  std::set<std::string>& channels() { return channels_; }

  // The piece of store content GetStoreContent is paging through (store_commands.cc), kept
  // between its pages so that content larger than one reply is read from the store once, not
  // once a page. The slot is handed to the blocking pool, hence its own mutex; the bytes are
  // dropped after the last page (or when another piece is asked for, or the connection goes).
  struct PagedContent {
    std::mutex mu;
    std::string store_id;
    std::string hash;
    std::shared_ptr<const std::vector<uint8_t>> bytes;
  };
  const std::shared_ptr<PagedContent>& paged_content() { return paged_content_; }

  // WatchActors (watch_commands.cc): while the client watches, a timer pushes a snapshot of the
  // actors table every `interval`.
  struct ActorWatch {
    std::string id;
    std::chrono::milliseconds interval{1000};
    std::unique_ptr<boost::asio::steady_timer> timer;
    bool building = false;  // a snapshot is being built on the pool
  };
  std::unique_ptr<ActorWatch>& actor_watch() { return actor_watch_; }

 private:
  void StartRead();
  bool ShouldRead() const;
  void OnRead(const boost::system::error_code& ec, size_t n);
  // Feeds bytes (or none: frames held back earlier) to the decoder and queues the messages.
  void Ingest(std::span<const uint8_t> bytes, Clock::time_point now);
  // Dispatches queued commands while the limits allow, then reads on when it may.
  void Pump();
  void Handle(Result<CommandEnvelope> envelope);
  void Authenticated();
  // BridgedClient (ServerOptions::bridge_key): the first message of the dashboard's connection
  // for one browser, naming that browser's address. Accepted only as a connection's first
  // message with the right key; anything else closes the connection.
  void AdoptBridgedPeer(const PendingCommand& ctx, const Variant& command);
  void WrongToken(const PendingCommand& ctx);
  // What follows a token check that passed (or a command that showed none): the Authenticated
  // reply, the Unauthorized refusal, or the command itself.
  void Proceed(PendingCommand ctx, const Variant& command, bool authenticate);
  void MarkEstablished();
  // Sends `why` as an Error, then closes once it is written (or after a second).
  void Fail(const std::string& why);
  void Enqueue(std::string_view message);
  void Write();
  void OnWritten();
  void Drain(const std::string& subscription_id);
  // The gap notice for the events a rate-limited subscription skipped.
  struct SubscriptionState;
  void EnqueueSkipped(SubscriptionState& state, const std::string& subscription_id);
  bool token_required() const;

  struct SubscriptionState {
    std::string actor_id;
    ByteEncoding encoding = ByteEncoding::kArray;
    bool decoded = false;  // events carry their payload decoded too
    // With max_events_per_s, the subscription drops what passes the limit (SetRateLimit); the
    // gaps it reports are added up in `skipped` and announced (with "limited": true) at most
    // every kLimitNoticeEvery.
    bool limited = false;
    uint64_t skipped = 0;
    Clock::time_point last_notice{};
    bool notice_scheduled = false;
    std::unique_ptr<TheaterRuntime::Subscription> subscription;
    bool stalled = false;  // not drained because the client is behind on reading
  };

  size_t compile_watches_ = 0;  // unanswered commands with watches_compiles
  std::shared_ptr<PagedContent> paged_content_ = std::make_shared<PagedContent>();
  std::unique_ptr<ActorWatch> actor_watch_;
  ServerImpl& server_;
  tcp::socket socket_;
  const uint64_t serial_;
  // Who the client is: the socket's peer address, or, once a BridgedClient message was accepted,
  // the browser's address the dashboard's bridge named.
  std::string peer_;
  std::string auth_source_;  // AuthThrottle::SourceOf the peer
  bool peer_is_loopback_;
  bool bridged_ = false;
  const Clock::time_point accepted_;
  std::array<uint8_t, 64 * 1024> read_buffer_{};
  FrameDecoder decoder_;
  FrameEncoder encoder_{kCompactCompleteMax};

  // Reading.
  bool reading_ = false;
  bool paused_ = false;  // not reading because of this side's limits (not the client's fault)
  std::optional<Clock::time_point> frame_started_;  // first byte of the frame being read
  std::optional<Clock::time_point> header_read_;    // its 4-byte length complete
  std::deque<Result<CommandEnvelope>> queued_;             // commands read, not yet dispatched
  std::optional<std::string> input_error_;          // the stream broke after the queued ones

  // Authentication.
  bool authenticated_ = false;
  bool established_ = false;
  size_t auth_failures_ = 0;
  bool auth_wait_ = false;  // a token's answer waits for its delay
  std::unique_ptr<boost::asio::steady_timer> auth_timer_;

  // Writing: frames waiting, and those being written (swapped when a write completes).
  std::string outbox_;
  std::string in_flight_;
  bool writing_ = false;
  bool close_after_write_ = false;
  std::optional<Clock::time_point> close_deadline_;  // set by Fail
  bool closed_ = false;
  bool pumping_ = false;
  uint64_t next_slot_ = 0;
  uint64_t next_to_send_ = 0;
  std::map<uint64_t, std::vector<std::string>> ready_;  // finished replies waiting for their turn

  std::map<std::string, SubscriptionState> subscriptions_;
  std::shared_ptr<chain::ByteBudget> subscription_budget_;
  std::set<std::string> channels_;
};

}  // namespace theater::server
