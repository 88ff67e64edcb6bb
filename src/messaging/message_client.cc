// Theater: a WebAssembly actor runtime.
#include "theater/message_client.h"

#include <condition_variable>
#include <future>
#include <mutex>

#include "common/uuid.h"

namespace theater::messaging {

// The embedder's end of one channel: hands what the actor sends to the listener.
class MessageClient::ExternalParticipant final : public Endpoint {
 public:
  ExternalParticipant(MessageClient& client, ChannelListener listener)
      : client_(client), listener_(std::move(listener)), id_("external-" + NewUuid()) {}

  Status Deliver(Envelope envelope) override {
    switch (envelope.kind) {
      case Envelope::Kind::kChannelMessage:
        if (listener_.on_message)
          listener_.on_message(envelope.channel, std::move(envelope.payload));
        return Status();
      case Envelope::Kind::kChannelClose:
        client_.ForgetExternalChannel(envelope.channel);
        if (listener_.on_close) listener_.on_close(envelope.channel);
        return Status();
      default:
        return FailedPrecondition("participant " + id_ +
                                  " (the embedder) receives channel "
                                  "messages only");
    }
  }
  const std::string& id() const { return id_; }

 private:
  MessageClient& client_;
  ChannelListener listener_;
  const std::string id_;
};

std::shared_ptr<MessageClient::ExternalParticipant> MessageClient::ForgetExternalChannel(
    std::string_view channel) {
  std::shared_ptr<ExternalParticipant> participant;
  {
    std::lock_guard<std::mutex> lock(external_mu_);
    auto it = external_channels_.find(std::string(channel));
    if (it == external_channels_.end()) return nullptr;
    participant = std::move(it->second);
    external_channels_.erase(it);
  }
  router_.Unregister(participant->id(), participant.get());
  return participant;
}

// Tries a send or a request (`attempt`) and, while it is refused because the target's full
// mailbox blocks its senders, waits for room (Router::WaitForRoom) and tries again, until
// `deadline`; then gives `done` the last outcome (a routed request's answer comes through its
// own reply). Attempts run one at a time, under the mutex: neither an attempt nor a registration
// calls back into this object (the room's announcement runs on the timers' thread).
class MessageClient::BlockedAttempt final : public std::enable_shared_from_this<BlockedAttempt> {
 public:
  BlockedAttempt(Router& router, Timers& timers, std::string target, std::string what,
                 std::chrono::milliseconds timeout, std::function<Status()> attempt,
                 std::function<void(Status)> done)
      : router_(router),
        timers_(timers),
        target_(std::move(target)),
        what_(std::move(what)),
        timeout_(timeout),
        deadline_(Timers::Clock::now() + timeout),
        attempt_(std::move(attempt)),
        done_(std::move(done)) {}

  void Try() {
    Status outcome;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      outcome = attempt_();
      if (outcome.code() == StatusCode::kResourceExhausted) {
        if (Timers::Clock::now() >= deadline_) {
          outcome = TimedOut(outcome);
        } else {
          wait_ =
              router_.WaitForRoom(target_, [weak = weak_from_this(), generation = ++generation_] {
                if (auto self = weak.lock()) self->OnRoom(generation);
              });
          if (wait_) {
            if (timer_ == 0) {
              timer_ =
                  timers_.Schedule(deadline_, [self = shared_from_this()] { self->OnDeadline(); });
            }
            return;  // waits for room
          }
        }
      }
    }
    Finish(std::move(outcome));
  }

 private:
  Status TimedOut(const Status& refusal) const {
    return DeadlineExceeded(
        what_ + " waited " + std::to_string(timeout_.count()) +
        " ms for room in a full mailbox (mailbox_overflow = \"block\"): " + refusal.ToString());
  }
  void OnRoom(uint64_t generation) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_ || generation != generation_) return;
      wait_ = RoomWait{};
    }
    Try();
  }
  void OnDeadline() {
    RoomWait wait;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      wait = std::move(wait_);
      ++generation_;  // a late announcement of room tries nothing
    }
    wait.Cancel();
    Finish(TimedOut(ResourceExhausted("actor " + target_ + " stayed full")));
  }
  void Finish(Status outcome) {
    std::function<void(Status)> done;
    Timers::TimerId timer = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
      done = std::move(done_);
      timer = timer_;
    }
    if (timer != 0) timers_.Cancel(timer);
    done(std::move(outcome));
  }

  Router& router_;
  Timers& timers_;
  const std::string target_;
  const std::string what_;
  const std::chrono::milliseconds timeout_;
  const Timers::Clock::time_point deadline_;
  const std::function<Status()> attempt_;
  std::mutex mu_;
  std::function<void(Status)> done_;
  bool finished_ = false;
  RoomWait wait_;
  uint64_t generation_ = 0;
  Timers::TimerId timer_ = 0;
};

Status MessageClient::Send(std::string_view id, std::vector<uint8_t> message) {
  return router_.Send(id, std::move(message));
}

void MessageClient::SendAsync(std::string_view id, std::vector<uint8_t> message,
                              std::chrono::milliseconds timeout, std::function<void(Status)> done) {
  // Kept for the attempts after a refusal, each of which sends a copy.
  auto kept = std::make_shared<const std::vector<uint8_t>>(std::move(message));
  std::string target(id);
  Status sent = router_.Send(target, *kept);
  if (sent.code() != StatusCode::kResourceExhausted) return done(sent);
  auto attempt = std::make_shared<BlockedAttempt>(
      router_, timers_, target, "a send to actor " + target, timeout,
      [router = &router_, target, kept] { return router->Send(target, *kept); }, std::move(done));
  attempt->Try();
}

void MessageClient::RequestAsync(std::string_view id, std::vector<uint8_t> message,
                                      std::chrono::milliseconds timeout,
                                      std::function<void(Result<std::vector<uint8_t>>)> done) {
  // Whichever comes first, the answer or the timeout, is delivered; the other is dropped.
  struct Once {
    std::mutex mu;
    std::function<void(Result<std::vector<uint8_t>>)> done;
    Timers::TimerId timer = 0;
  };
  auto once = std::make_shared<Once>();
  once->done = std::move(done);
  auto finish = [once, timers = &timers_](Result<std::vector<uint8_t>> r) {
    std::function<void(Result<std::vector<uint8_t>>)> done;
    {
      std::lock_guard<std::mutex> lock(once->mu);
      done = std::move(once->done);
      once->done = nullptr;
      if (once->timer) timers->Cancel(once->timer);
    }
    if (done) done(std::move(r));
  };
  std::string target(id);
  {
    // Armed before the request goes out, under the lock an early answer waits for.
    std::lock_guard<std::mutex> lock(once->mu);
    once->timer =
        timers_.Schedule(Timers::Clock::now() + timeout, [finish, target, timeout] {
          finish(DeadlineExceeded("request to actor " + target + " timed out after " +
                                  std::to_string(timeout.count()) + " ms"));
        });
  }
  ReplyFn on_reply = [finish](Result<Reply> reply) {
    if (!reply.ok()) {
      finish(reply.status());
      return;
    }
    finish(reply->message ? std::move(*reply->message) : std::vector<uint8_t>{});
  };
  // Refused for a full mailbox that blocks its senders, it is routed again once there is room
  // (a copy each time), within the same timeout.
  auto kept = std::make_shared<const std::vector<uint8_t>>(std::move(message));
  Status routed = router_.Request(target, *kept, on_reply);
  if (routed.code() != StatusCode::kResourceExhausted) {
    if (!routed.ok()) finish(routed);
    return;
  }
  auto attempt = std::make_shared<BlockedAttempt>(
      router_, timers_, target, "a request to actor " + target, timeout,
      [router = &router_, target, kept, on_reply] {
        return router->Request(target, *kept, on_reply);
      },
      [finish](Status routed) {
        if (!routed.ok()) finish(routed);  // routed: the answer comes through on_reply
      });
  attempt->Try();
}

Result<std::vector<uint8_t>> MessageClient::Request(std::string_view id,
                                                         std::vector<uint8_t> message,
                                                         std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<std::vector<uint8_t>>>>();
  auto future = promise->get_future();
  RequestAsync(id, std::move(message), timeout, [promise](Result<std::vector<uint8_t>> r) {
    promise->set_value(std::move(r));
  });
  return future.get();
}

Result<ExternalChannel> MessageClient::OpenChannel(std::string_view id,
                                                 std::vector<uint8_t> initial_message,
                                                 ChannelListener listener,
                                                 std::chrono::milliseconds timeout) {
  auto participant = std::make_shared<ExternalParticipant>(*this, std::move(listener));
  THEATER_RETURN_IF_ERROR(router_.Register(participant->id(), participant));
  struct Outcome {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<OpenedChannel>> result;
    bool abandoned = false;  // the opener gave up: a late acceptance is closed at once
  };
  auto outcome = std::make_shared<Outcome>();
  router_.OpenChannel(participant->id(), id, std::move(initial_message),
                      [this, outcome, participant](Result<OpenedChannel> opened) {
                        std::unique_lock<std::mutex> lock(outcome->mu);
                        if (outcome->abandoned) {
                          lock.unlock();
                          if (opened.ok())
                            (void)router_.CloseChannel(participant->id(), opened->channel);
                          router_.Unregister(participant->id(), participant.get());
                          return;
                        }
                        if (opened.ok()) {
                          // Recorded before the opener returns, so that a message or close the
                          // actor sends at once finds the channel.
                          std::lock_guard<std::mutex> channels(external_mu_);
                          external_channels_[opened->channel] = participant;
                        }
                        outcome->result = std::move(opened);
                        outcome->cv.notify_all();
                      });
  std::unique_lock<std::mutex> lock(outcome->mu);
  if (!outcome->cv.wait_for(lock, timeout, [&] { return outcome->result.has_value(); })) {
    outcome->abandoned = true;
    lock.unlock();
    return DeadlineExceeded("opening a channel to actor " + std::string(id) + " timed out after " +
                            std::to_string(timeout.count()) + " ms");
  }
  Result<OpenedChannel> opened = std::move(*outcome->result);
  lock.unlock();
  if (!opened.ok()) {
    router_.Unregister(participant->id(), participant.get());
    return opened.status();
  }
  return ExternalChannel{opened->channel, std::move(opened->message)};
}

Status MessageClient::SendOnChannel(std::string_view channel, std::vector<uint8_t> message) {
  std::shared_ptr<ExternalParticipant> participant;
  {
    std::lock_guard<std::mutex> lock(external_mu_);
    auto it = external_channels_.find(std::string(channel));
    if (it != external_channels_.end()) participant = it->second;
  }
  if (!participant) return NotFound("channel " + std::string(channel) + " is not open");
  return router_.SendOnChannel(participant->id(), channel, std::move(message));
}

Status MessageClient::CloseChannel(std::string_view channel) {
  std::shared_ptr<ExternalParticipant> participant = ForgetExternalChannel(channel);
  if (!participant) return NotFound("channel " + std::string(channel) + " is not open");
  // Unregistering the participant closed the channel and told the actor.
  return Status();
}

}  // namespace theater::messaging
