// Theater: a WebAssembly actor runtime.
//
// Router: the runtime's one routing service for messages between participants — actors (by
// their UUID) and external clients such as the management server (docs/messaging.md). It maps a
// participant id to its Endpoint, the participant's bounded mailbox, and keeps the table of open
// channels.
//
// Delivery is synchronous and never blocks: Route looks the target up and hands the envelope to
// its endpoint, which queues it or refuses it at once. So messages from one sender to one target
// arrive in the order the sender routed them, and a full mailbox is an error the sender sees
// instead of a wait. (A sender whose target blocks its senders while full, `[limits]
// mailbox_overflow = "block"`, waits for room in its own way, a suspended call or a timer, and
// hears of room through WaitForRoom; nothing here waits.) Replies (to requests and channel
// openings) come back through callbacks; nothing here waits for a participant to decide, so one
// slow target never holds up routing to the others.
//
// The participant table is split into shards, each with its own mutex, so routes to different
// targets rarely meet on a lock; the channel table has one mutex of its own.
//
// Errors a sender can see, distinct by code:
//   kNotFound           no participant with that id was ever registered here (or it is too long
//                       ago to remember: the router remembers the last `remembered_stops` ids)
//   kUnavailable        the participant has stopped
//   kFailedPrecondition the participant is shutting down (its endpoint refuses new work)
//   kResourceExhausted  its mailbox is full, or (opening a channel) either participant is in
//                       max_channels_per_participant channels already
//
// Thread-safety: every method may be called from any thread, concurrently. Endpoint::Deliver
// and the reply callbacks are called without any router lock held, so they may call back into
// the router. Ownership: the router holds endpoints by shared_ptr until they unregister.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "theater/limits.h"
#include "theater/status.h"
#include "theater/string_hash.h"

namespace theater {
class RecentIds;
}

namespace theater::messaging {

// What a request or a channel opening is answered with. A request's answer is `message`
// (accepted is true); a channel opening's is the target's decision and its optional message.
struct Reply {
  bool accepted = true;
  std::optional<std::vector<uint8_t>> message;
};
// Called exactly once with the answer or the reason there is none (the target failed, stopped,
// refused, or the request was cancelled). May run on any thread.
using ReplyFn = std::function<void(Result<Reply>)>;

// One message as a mailbox receives it.
struct Envelope {
  enum class Kind {
    kSend,            // payload; nothing is sent back
    kRequest,         // payload; `reply` gets the answer
    kChannelOpen,     // channel, sender (the initiator), payload (its first message); `reply`
                      // gets the decision
    kChannelMessage,  // channel, payload
    kChannelClose,    // channel: the other participant closed it (or stopped)
  };
  Kind kind = Kind::kSend;
  std::vector<uint8_t> payload;
  std::string channel;
  std::string sender;
  ReplyFn reply;
};

// A participant's mailbox as the router sees it.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // Queues `envelope` or refuses it, without blocking: kResourceExhausted when the mailbox is
  // full, kFailedPrecondition when the participant is shutting down. When it refuses, it must not
  // have called (and must not later call) envelope.reply: the router reports the refusal.
  virtual Status Deliver(Envelope envelope) = 0;
  // Whether Deliver needs envelope.sender for every kind (a participant on another host does:
  // its host keeps per-pair order and reports refusals to the sender). The router fills it in
  // for such endpoints only, so that a local delivery builds no sender string.
  virtual bool wants_sender() const { return false; }
  // Told by whoever Install()s another endpoint in this one's place (a move's hold), before its
  // participant stops: from then on Deliver passes what it is handed to the router's current
  // endpoint for the id instead of taking it (a sender that looked this endpoint up before the
  // install may still deliver here). false undoes it (the participant goes on here after all).
  virtual void SetSuperseded(bool superseded) { (void)superseded; }
  // Whether no Deliver call is running. Once superseded and quiescent, nothing more reaches the
  // participant through this endpoint: what its mailbox holds is all it will get.
  virtual bool Quiescent() const { return true; }
  // For a sender Deliver refused with kResourceExhausted: when the participant blocks its
  // senders while full (an actor whose manifest says mailbox_overflow = "block"), registers
  // `room` to run once, on a timer thread, when there may be room (or the participant stops),
  // and returns a ticket; 0 when it does not (the refusal stands). A participant on another host
  // returns 0: across hosts a full mailbox refuses.
  virtual uint64_t WaitForRoom(std::function<void()> room) {
    (void)room;
    return 0;
  }
  // Forgets a WaitForRoom registration whose sender stopped waiting.
  virtual void CancelRoomWait(uint64_t ticket) { (void)ticket; }
};

// A sender's registration to hear of room in a full mailbox (Router::WaitForRoom). Empty when
// the target does not block its senders.
struct RoomWait {
  std::shared_ptr<Endpoint> endpoint;
  uint64_t ticket = 0;
  explicit operator bool() const { return ticket != 0; }
  // Forgets the registration, if any (a sender that stops waiting).
  void Cancel() const {
    if (ticket != 0) endpoint->CancelRoomWait(ticket);
  }
};

// The participants of other hosts (docs/distribution.md), consulted when no local participant
// has an id. Implemented by the lattice (src/cluster/); a single host has none.
class RemoteRoutes {
 public:
  virtual ~RemoteRoutes() = default;
  // The endpoint that stands here for participant `id` on another host, or kNotFound when no
  // other host holds it (the router then answers as for any miss). Any other error is the
  // sender's (the host that holds it was lost, the directory cannot be read).
  virtual Result<std::shared_ptr<Endpoint>> Find(std::string_view id) = 0;
};

// A channel as its opener learns it.
struct OpenedChannel {
  std::string channel;
  // What the target said when it accepted (docs/messaging.md: delivered to an actor initiator
  // as the channel's first message).
  std::optional<std::vector<uint8_t>> message;
};

class Router {
 public:
  // `remembered_stops`: how many stopped participant ids the router keeps to answer
  // kUnavailable rather than kNotFound. `max_channels_per_participant`: how many channels (open
  // or opening) one participant may be in; an opening past it, at either end, fails with
  // kResourceExhausted naming the limit.
  explicit Router(size_t remembered_stops = 65536,
                  size_t max_channels_per_participant = limits::kMaxChannelsPerActor);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Adds a participant. kAlreadyExists when the id is registered, unless what is registered is
  // a HoldingEndpoint (include/theater/holding_endpoint.h: the id's actor is moving here, or
  // back): the participant then arrives there, and the hold hands over to it.
  Status Register(std::string_view id, std::shared_ptr<Endpoint> endpoint);
  // Makes `endpoint` the id's entry whatever was there, and returns what was (null: nothing).
  // With `why`, the channels of the id close as for a stop, their other participants told why
  // (an actor moving away: channels do not follow it).
  std::shared_ptr<Endpoint> Install(std::string_view id, std::shared_ptr<Endpoint> endpoint,
                                    const std::string& why = {});
  // Makes `endpoint` the id's entry if `expected` is; returns whether it did.
  bool ReplaceIf(std::string_view id, const Endpoint* expected, std::shared_ptr<Endpoint> endpoint);
  // Delivers what a superseded endpoint (`from`) was handed to whatever holds `id` now; refused
  // with kFailedPrecondition when that is `from` itself.
  Status Redeliver(std::string_view id, Envelope envelope, const Endpoint* from);
  // Removes a participant (if `id` names `endpoint`; a stale unregister does nothing) and
  // remembers it as stopped. Its channels close: the other participant of each receives
  // kChannelClose, and an opening it had not answered fails for its initiator.
  void Unregister(std::string_view id, const Endpoint* endpoint);

  // Routes to the participants of other hosts, asked on a local miss; null: none (the
  // default). `routes` must outlive routing; set it before the first route that may need it.
  void SetRemoteRoutes(RemoteRoutes* routes) { remote_.store(routes, std::memory_order_release); }

  // Sets how a miss is explained to a sender, e.g. "actor X exists but does not receive
  // messages". Returning OK falls back to the generic kNotFound. Set before routing starts.
  void SetMissExplainer(std::function<Status(std::string_view id)> explain);

  // A one-way message. `sender` (an actor's or client's id, or "") is told to a participant on
  // another host, which keeps per-pair order and reports refusals by it.
  Status Send(std::string_view target, std::vector<uint8_t> payload,
              std::string_view sender = {});
  // What Send() to `target` would fail with for want of a participant (kNotFound, kUnavailable,
  // the miss explainer's error), without sending: for a sender that sends later.
  Status CheckReachable(std::string_view target) const;
  // A request. On OK, `reply` is called exactly once later; on an error it is never called.
  Status Request(std::string_view target, std::vector<uint8_t> payload, ReplyFn reply,
                 std::string_view sender = {});

  // Opens a channel from `initiator` to `target` (the target decides through its endpoint).
  // `done` gets the channel, or why there is none (unreachable target, refusal —
  // kFailedPrecondition whose message includes the target's message when it is text —, the target
  // failing or stopping). Returns without waiting for the decision. `done` may run before this
  // returns.
  void OpenChannel(std::string_view initiator, std::string_view target,
                   std::vector<uint8_t> initial_message,
                   std::function<void(Result<OpenedChannel>)> done);
  // A channel opening that arrives from another host: `initiator` is a participant there (the
  // remote routes reach it), `target` a local one, `channel` the id the initiator's host drew.
  // The channel is recorded here as it is there, so that messages and closes from either side
  // find it (SendOnChannel and CloseChannel with the remote participant as sender).
  // `decided` gets the target's decision, or why there is none, exactly once.
  void OpenChannelFromRemote(std::string channel, std::string initiator, std::string target,
                             std::vector<uint8_t> initial_message, ReplyFn decided);
  // Closes every channel one of whose participants `gone` says is gone (a lost host's), telling
  // the local participant of each; openings they had not answered fail for their initiator.
  void DropParticipants(const std::function<bool(std::string_view id)>& gone,
                        const std::string& why);
  // Sends on an open channel to its other participant. kNotFound when the channel is not open
  // (unknown, closed, or still opening); kPermissionDenied when `sender` is not a participant.
  Status SendOnChannel(std::string_view sender, std::string_view channel,
                       std::vector<uint8_t> payload);
  // What SendOnChannel() would fail with for want of an open channel with `sender` in it.
  Status CheckChannel(std::string_view sender, std::string_view channel);
  // Closes a channel; the other participant receives kChannelClose. Errors as SendOnChannel.
  Status CloseChannel(std::string_view sender, std::string_view channel);
  // For a sender whose Send, Request or SendOnChannel was refused with kResourceExhausted: asks
  // the local participant `target` (Endpoint::WaitForRoom) to run `room` when there may be room.
  // Empty when `target` does not block its senders, is not here, or is gone: the refusal stands.
  RoomWait WaitForRoom(std::string_view target, std::function<void()> room);
  // The same for the other participant of `channel` (SendOnChannel's target).
  RoomWait WaitForRoomOnChannel(std::string_view sender, std::string_view channel,
                                std::function<void()> room);
  size_t open_channels() const;

 private:
  // Looked up by string_view without building a std::string (every message does a lookup).
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<Endpoint>, StringHash, std::equal_to<>> endpoints;
    // The last remembered_stops_per_shard_ ids unregistered here (a fixed table: a stop
    // allocates nothing).
    std::unique_ptr<RecentIds> stopped;
  };
  static constexpr size_t kShards = 64;
  Shard& ShardFor(std::string_view id) const;
  // The local participant `target`, or null (*stopped_here: it was one, and stopped).
  std::shared_ptr<Endpoint> FindLocal(std::string_view target, bool* stopped_here) const;
  // The endpoint for `target` (local, else another host's), or the error a sender sees.
  Result<std::shared_ptr<Endpoint>> Resolve(std::string_view target) const;
  // The refusal of an opening that would put `who` ("the opener "/"the target " `role`) past
  // max_channels_per_participant_.
  Status ChannelCapReached(std::string_view role, std::string_view who, size_t channels) const;
  Status Deliver(std::string_view target, Envelope envelope, std::string_view sender = {});
  // Ends every channel of the participants `gone` (the other participant of each is told; an
  // opening not yet answered fails for its initiator with `why`).
  void EndChannelsOf(const std::vector<std::string>& gone, const std::string& why);

  struct Channel {
    std::string initiator;
    std::string target;
    bool open = false;                                // false while the target decides
    std::function<void(Result<OpenedChannel>)> done;  // while opening
  };
  // Removes channel `id` when it is open and `sender` is in it; returns the other participant.
  Result<std::string> OtherParticipant(std::string_view sender, std::string_view channel,
                                       bool remove);
  void FinishOpening(const std::string& channel, const std::string& target, Result<Reply> decision);

  const size_t remembered_stops_per_shard_;
  const size_t max_channels_per_participant_;
  mutable std::array<Shard, kShards> shards_;
  std::function<Status(std::string_view)> explain_miss_;
  std::atomic<RemoteRoutes*> remote_{nullptr};

  mutable std::mutex channels_mu_;
  std::unordered_map<std::string, Channel> channels_;
  // participant id -> the ids of the channels it is in (open or opening).
  std::unordered_map<std::string, std::unordered_set<std::string>> channels_of_;
};

// A fresh channel id: "ch_" followed by 32 lower-case hex digits.
std::string NewChannelId();

}  // namespace theater::messaging
