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
// instead of a wait. Replies (to requests and channel openings) come back through callbacks;
// nothing here waits for a participant to decide, so one slow target never holds up routing to
// the others.
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

  // Adds a participant. kAlreadyExists when the id is registered.
  Status Register(std::string_view id, std::shared_ptr<Endpoint> endpoint);
  // Removes a participant (if `id` names `endpoint`; a stale unregister does nothing) and
  // remembers it as stopped. Its channels close: the other participant of each receives
  // kChannelClose, and an opening it had not answered fails for its initiator.
  void Unregister(std::string_view id, const Endpoint* endpoint);

  // Sets how a miss is explained to a sender, e.g. "actor X exists but does not receive
  // messages". Returning OK falls back to the generic kNotFound. Set before routing starts.
  void SetMissExplainer(std::function<Status(std::string_view id)> explain);

  // A one-way message.
  Status Send(std::string_view target, std::vector<uint8_t> payload);
  // What Send() to `target` would fail with for want of a participant (kNotFound, kUnavailable,
  // the miss explainer's error), without sending: for a sender that sends later.
  Status CheckReachable(std::string_view target) const;
  // A request. On OK, `reply` is called exactly once later; on an error it is never called.
  Status Request(std::string_view target, std::vector<uint8_t> payload, ReplyFn reply);

  // Opens a channel from `initiator` to `target` (the target decides through its endpoint).
  // `done` gets the channel, or why there is none (unreachable target, refusal —
  // kFailedPrecondition whose message includes the target's message when it is text —, the target
  // failing or stopping). Returns without waiting for the decision. `done` may run before this
  // returns.
  void OpenChannel(std::string_view initiator, std::string_view target,
                   std::vector<uint8_t> initial_message,
                   std::function<void(Result<OpenedChannel>)> done);
  // Sends on an open channel to its other participant. kNotFound when the channel is not open
  // (unknown, closed, or still opening); kPermissionDenied when `sender` is not a participant.
  Status SendOnChannel(std::string_view sender, std::string_view channel,
                       std::vector<uint8_t> payload);
  // What SendOnChannel() would fail with for want of an open channel with `sender` in it.
  Status CheckChannel(std::string_view sender, std::string_view channel);
  // Closes a channel; the other participant receives kChannelClose. Errors as SendOnChannel.
  Status CloseChannel(std::string_view sender, std::string_view channel);
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
  // The endpoint for `target`, or the error a sender sees.
  Result<std::shared_ptr<Endpoint>> Resolve(std::string_view target) const;
  Status Deliver(std::string_view target, Envelope envelope);

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

  mutable std::mutex channels_mu_;
  std::unordered_map<std::string, Channel> channels_;
  // participant id -> the ids of the channels it is in (open or opening).
  std::unordered_map<std::string, std::unordered_set<std::string>> channels_of_;
};

// A fresh channel id: "ch_" followed by 32 lower-case hex digits.
std::string NewChannelId();

}  // namespace theater::messaging
