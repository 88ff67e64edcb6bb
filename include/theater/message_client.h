// Theater: a WebAssembly actor runtime.
//
// MessageClient: the embedder as a participant in messaging (docs/messaging.md), like another
// actor: one-way messages, requests with a timeout, and channels it opens, all carried by the
// Router (theater/router.h) that the actors' message-server handlers use. The runtime offers one
// (TheaterRuntime::SendMessage and the rest forward to it); it is messaging's code, not the
// runtime's: the runtime only schedules the export calls the message-server handler queues.
//
// Errors a caller sees: kNotFound (no such actor, or it does not receive messages), kUnavailable
// (it stopped), kFailedPrecondition (it is shutting down, does not export the callback, or
// refused a channel), kResourceExhausted (its mailbox is full), kDeadlineExceeded (no answer in
// time).
//
// Thread-safety: every method may be called from any thread. The blocking forms (Request,
// OpenChannel) must not be called from a runtime thread (a listener, a reply callback).
// Ownership: refers to the router and the timers, which must outlive it; owns the participants
// of the channels it opened until they close.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "theater/router.h"
#include "theater/status.h"
#include "theater/timers.h"

namespace theater {

// How the embedder hears from an actor on a channel it opened (OpenChannel). Both callbacks run
// on runtime threads (often the sending actor's worker): they must be quick and must not call
// the blocking forms of this API.
struct ChannelListener {
  std::function<void(std::string_view channel, std::vector<uint8_t> message)> on_message;
  // The actor closed the channel, or stopped. Not called for CloseChannel from this side.
  std::function<void(std::string_view channel)> on_close;
};

// A channel the embedder opened, and what the actor said when it accepted.
struct ExternalChannel {
  std::string channel;
  std::optional<std::vector<uint8_t>> accept_message;
};

namespace messaging {

class MessageClient {
 public:
  MessageClient(Router& router, Timers& timers) : router_(router), timers_(timers) {}
  MessageClient(const MessageClient&) = delete;
  MessageClient& operator=(const MessageClient&) = delete;

  // Queues handle-send(message) on actor `id`. Never waits: a full mailbox is kResourceExhausted
  // whatever the actor's mailbox_overflow.
  Status Send(std::string_view id, std::vector<uint8_t> message);
  // Send, except that while the actor's full mailbox blocks its senders (`[limits]
  // mailbox_overflow = "block"`) it waits for room, on the timers (no thread is held), up to
  // `timeout` (then kDeadlineExceeded). `done` gets the outcome once, on a runtime thread or
  // before this returns.
  void SendAsync(std::string_view id, std::vector<uint8_t> message,
                 std::chrono::milliseconds timeout, std::function<void(Status)> done);
  // Queues handle-request and delivers the answer (given by handle-request or later by
  // respond-to-request), the actor's failure, or kDeadlineExceeded after `timeout`, whichever
  // comes first, to `done`, once, on a runtime thread. Waits for room, within `timeout`, as
  // SendAsync does.
  void RequestAsync(std::string_view id, std::vector<uint8_t> message,
                    std::chrono::milliseconds timeout,
                    std::function<void(Result<std::vector<uint8_t>>)> done);
  // RequestAsync, waiting for the outcome.
  Result<std::vector<uint8_t>> Request(std::string_view id, std::vector<uint8_t> message,
                                       std::chrono::milliseconds timeout);
  // Opens a channel to the actor (its handle-channel-open decides); messages and the close from
  // the actor's side reach `listener`.
  Result<ExternalChannel> OpenChannel(std::string_view id, std::vector<uint8_t> initial_message,
                                      ChannelListener listener,
                                      std::chrono::milliseconds timeout);
  // Sends on / closes a channel this client opened. kNotFound when it is not open.
  Status SendOnChannel(std::string_view channel, std::vector<uint8_t> message);
  Status CloseChannel(std::string_view channel);

 private:
  // The embedder's end of one channel.
  class ExternalParticipant;
  // A send or request waiting for room in a blocking mailbox.
  class BlockedAttempt;
  // Forgets a channel and unregisters its participant (idempotent).
  std::shared_ptr<ExternalParticipant> ForgetExternalChannel(std::string_view channel);

  Router& router_;
  Timers& timers_;
  std::mutex external_mu_;
  std::unordered_map<std::string, std::shared_ptr<ExternalParticipant>> external_channels_;
};

}  // namespace messaging
}  // namespace theater
