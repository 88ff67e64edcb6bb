// Theater: a WebAssembly actor runtime.
//
// The message-server handler: theater:simple/message-server-host (send, request, open-channel,
// send-on-channel, close-channel and the asynchronous replies list-outstanding-requests,
// respond-to-request, cancel-request) and the callbacks of theater:simple/message-server-client
// (docs/messaging.md).
//
// Each actor's instance owns an ActorMailbox: the actor's endpoint in the runtime's Router. It
// turns envelopes into operations in the actor's own bounded mailbox, so a message waits behind
// the actor's running call and a full mailbox is the sender's error. Requests the actor has not
// answered yet are kept in the ActorMailbox, keyed by request id, until `handle-request` returns
// an answer, a later call answers them with respond-to-request, they are cancelled, or the actor
// stops (the requester then gets an error).
//
// request and open-channel suspend the calling actor (never its worker) until the answer, the
// target's failure, or the timeout: the handler's `request_timeout_ms` (default 30,000), never
// longer than the actor's call deadline. send, request and send-on-channel to a target whose
// full mailbox blocks its senders (`[limits] mailbox_overflow = "block"`, docs/runtime.md) also
// suspend the caller until there is room, within the same timeout (WhileBlocked).
//
// What one actor may hold is bounded (docs/security.md): requests received and not answered
// (limits::kMaxOutstandingRequestsPerActor) and bytes of messages queued for it and not yet
// handled (limits::kMaxQueuedMessageBytesPerActor); a message past either is refused to its
// sender with an error naming the limit. Open channels are bounded by the router.
//
// Config (`[[handler]] type = "message-server"`): `request_timeout_ms`.
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/utf8.h"
#include "common/uuid.h"
#include "handlers/message-server/message_server_handler.h"
#include "theater/limits.h"
#include "theater/router.h"

namespace theater::handlers {
namespace {

using abi::Value;
using messaging::Envelope;
using messaging::Reply;
using messaging::ReplyFn;

constexpr std::string_view kClient = "theater:simple/message-server-client";
// handle-request as the handler system's documentation writes it: (msg) -> (state, (reply)).
constexpr std::string_view kSimpleRequestForm = "theater:simple/message-server-client-simple";
constexpr uint64_t kDefaultRequestTimeoutMs = 30'000;

// The callback an envelope calls, as "<interface>#<function>".
const std::string& ExportName(Envelope::Kind kind) {
  static const std::string kNames[] = {
      std::string(kClient) + "#handle-send",
      std::string(kClient) + "#handle-request",
      std::string(kClient) + "#handle-channel-open",
      std::string(kClient) + "#handle-channel-message",
      std::string(kClient) + "#handle-channel-close",
  };
  return kNames[static_cast<size_t>(kind)];
}

// The payload bytes of the messages queued for one actor and not yet handled, against
// limits::kMaxQueuedMessageBytesPerActor. The mailbox and every operation it posted share it
// without a lock or an allocation per message: each posted operation holds a reference and gives
// it back, with its bytes, when its call ends; the last reference deletes it. An operation's reply
// is then a lambda of two words, which std::function holds without allocating (a lock and a
// shared_ptr per message cost 5 % of a send's CPU).
class QueuedBytes {
 public:
  // The first reference is the caller's.
  static QueuedBytes* Create() { return new QueuedBytes(); }
  // Takes `bytes` and a reference, or (past the limit) nothing, saying in *queued how many bytes
  // were queued.
  bool TryTake(size_t bytes, size_t* queued) {
    size_t now = bytes_.load(std::memory_order_relaxed);
    do {
      if (now + bytes > limits::kMaxQueuedMessageBytesPerActor) {
        *queued = now;
        return false;
      }
    } while (!bytes_.compare_exchange_weak(now, now + bytes, std::memory_order_relaxed));
    refs_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  // Gives back what TryTake took.
  void Give(size_t bytes) {
    bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    Unref();
  }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  QueuedBytes() = default;
  std::atomic<size_t> bytes_{0};
  std::atomic<size_t> refs_{1};
};

// The actor's endpoint in the router.
class ActorMailbox final : public messaging::Endpoint,
                           public std::enable_shared_from_this<ActorMailbox> {
 public:
  ActorMailbox(std::weak_ptr<ActorContext> actor, std::string id, messaging::Router* router)
      : actor_(std::move(actor)), id_(std::move(id)), router_(router) {}
  ~ActorMailbox() override { queued_->Unref(); }
  ActorMailbox(const ActorMailbox&) = delete;
  ActorMailbox& operator=(const ActorMailbox&) = delete;

  // A move's hold took this mailbox's place (runtime/move.cc): a sender that looked it up before
  // may still deliver here, and what it delivers goes to the hold, never into an actor about to
  // stop. Counted in and out, so that the move waits for the deliveries already running
  // (Quiescent) before it lets the actor stop: either a delivery sees the flag, or the move
  // sees the delivery (both sequentially consistent).
  void SetSuperseded(bool superseded) override {
    superseded_.store(superseded, std::memory_order_seq_cst);
  }
  bool Quiescent() const override {
    return delivering_.load(std::memory_order_seq_cst) == 0;
  }

  Status Deliver(Envelope envelope) override {
    delivering_.fetch_add(1, std::memory_order_seq_cst);
    struct Leave {
      std::atomic<uint32_t>& count;
      ~Leave() { count.fetch_sub(1, std::memory_order_seq_cst); }
    } leave{delivering_};
    if (superseded_.load(std::memory_order_seq_cst)) [[unlikely]] {
      return router_->Redeliver(id_, std::move(envelope), this);
    }
    std::shared_ptr<ActorContext> actor = actor_.lock();
    if (!actor) return Unavailable("actor " + id_ + " has stopped");
    // Counted from here until the call that handles it ends (or is dropped with the actor).
    const size_t bytes = envelope.payload.size();
    if (size_t queued = 0; !queued_->TryTake(bytes, &queued)) {
      return ResourceExhausted(
          "actor " + id_ + " has " + std::to_string(queued) +
          " bytes of messages queued, and this one of " + std::to_string(bytes) +
          " bytes would pass the limit of " +
          std::to_string(limits::kMaxQueuedMessageBytesPerActor) +
          " queued message bytes per actor (limits::kMaxQueuedMessageBytesPerActor)");
    }
    ExportInvocation op;
    op.interface_name = std::string(kClient);
    std::string request_id;
    switch (envelope.kind) {
      case Envelope::Kind::kSend:
        op.function = "handle-send";
        op.params = abi::ValuesOf(Value::Bytes(std::move(envelope.payload)));
        break;
      case Envelope::Kind::kRequest: {
        op.function = "handle-request";
        request_id = NewProcessUniqueUuid();
        const bool simple = actor->ExportForm(kClient, op.function) == kSimpleRequestForm;
        if (simple) {
          op.params = abi::ValuesOf(Value::Bytes(std::move(envelope.payload)));
        } else {
          op.params =
              abi::ValuesOf(Value::String(request_id), Value::Bytes(std::move(envelope.payload)));
        }
        op.reply = [self = shared_from_this(), request_id, simple,
                    bytes](Result<std::vector<Value>> handled) {
          self->queued_->Give(bytes);
          self->OnRequestHandled(request_id, simple, std::move(handled));
        };
        break;
      }
      case Envelope::Kind::kChannelOpen:
        op.function = "handle-channel-open";
        op.params = abi::ValuesOf(Value::String(envelope.channel),
                                  Value::Bytes(std::move(envelope.payload)));
        op.reply = [queued = queued_, bytes,
                    reply = std::move(envelope.reply)](Result<std::vector<Value>> decided) {
          queued->Give(bytes);
          reply(ParseDecision(decided));
        };
        break;
      case Envelope::Kind::kChannelMessage:
        op.function = "handle-channel-message";
        op.params = abi::ValuesOf(Value::String(envelope.channel),
                                  Value::Bytes(std::move(envelope.payload)));
        break;
      case Envelope::Kind::kChannelClose:
        op.function = "handle-channel-close";
        op.params = abi::ValuesOf(Value::String(envelope.channel));
        break;
    }
    // Sends and channel messages and closes have no reply of their own: theirs gives the bytes
    // back (two words, kept inside the std::function).
    if (!op.reply) {
      op.reply = [queued = queued_, bytes](const Result<std::vector<Value>>&) {
        queued->Give(bytes);
      };
    }
    if (!actor->HasExport(ExportName(envelope.kind))) {
      queued_->Give(bytes);
      // A close nobody listens for is not the closer's error.
      if (envelope.kind == Envelope::Kind::kChannelClose) return Status();
      return FailedPrecondition("actor " + id_ + " does not export " + op.interface_name + "#" +
                                op.function);
    }
    if (!request_id.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      Status refused;
      if (closed_) {
        refused = FailedPrecondition("actor " + id_ + " is shutting down");
      } else if (outstanding_.size() >= limits::kMaxOutstandingRequestsPerActor) {
        refused = ResourceExhausted(
            "actor " + id_ + " has " + std::to_string(outstanding_.size()) +
            " requests outstanding (received and not answered), the limit of outstanding "
            "requests per actor (" +
            std::to_string(limits::kMaxOutstandingRequestsPerActor) +
            ", limits::kMaxOutstandingRequestsPerActor)");
      }
      if (!refused.ok()) {
        queued_->Give(bytes);
        return refused;
      }
      outstanding_.emplace(request_id, Pending{next_seq_++, std::move(envelope.reply)});
    }
    // The bytes go back when the call that handles them ends, whatever its outcome (the actor
    // answers every queued operation, with an error if it stops first); a refused operation's
    // reply never runs.
    Status posted = actor->Post(std::move(op));
    if (!posted.ok()) {
      queued_->Give(bytes);
      if (!request_id.empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        outstanding_.erase(request_id);  // refused: the router tells the requester, not us
      }
    }
    return posted;
  }

  uint64_t WaitForRoom(std::function<void()> room) override {
    std::shared_ptr<ActorContext> actor = actor_.lock();
    return actor ? actor->WaitForRoom(std::move(room)) : 0;
  }
  void CancelRoomWait(uint64_t ticket) override {
    if (std::shared_ptr<ActorContext> actor = actor_.lock()) actor->CancelRoomWait(ticket);
  }

  // The ids of requests received and not yet answered, oldest first.
  std::vector<std::string> Outstanding() {
    std::vector<std::pair<uint64_t, std::string>> by_age;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [id, pending] : outstanding_) by_age.emplace_back(pending.seq, id);
    }
    std::sort(by_age.begin(), by_age.end());
    std::vector<std::string> ids;
    for (auto& [seq, id] : by_age) ids.push_back(std::move(id));
    return ids;
  }

  // Removes a request and returns whom to answer; nullopt when it is not outstanding.
  std::optional<ReplyFn> Take(const std::string& request_id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = outstanding_.find(request_id);
    if (it == outstanding_.end()) return std::nullopt;
    ReplyFn reply = std::move(it->second.reply);
    outstanding_.erase(it);
    return reply;
  }

  // The actor stops: every unanswered request fails, and nothing new is taken.
  void Close() {
    std::unordered_map<std::string, Pending> pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      pending.swap(outstanding_);
    }
    for (auto& [id, p] : pending) {
      p.reply(Unavailable("actor " + id_ + " stopped before answering request " + id));
    }
  }

  const std::string& id() const { return id_; }

 private:
  struct Pending {
    uint64_t seq;
    ReplyFn reply;
  };

  // `simple`: the export has the documentation's form, whose reply is always given.
  void OnRequestHandled(const std::string& request_id, bool simple,
                        Result<std::vector<Value>> handled) {
    if (!handled.ok()) {
      if (auto reply = Take(request_id)) {
        (*reply)(handled.status().WithContext("actor " + id_ + " failed handling request " +
                                              request_id));
      }
      return;
    }
    // (option<list<u8>>,): some answers now; none leaves the request outstanding. The simple
    // form's (json,) always answers.
    const std::vector<Value>& results = *handled;
    if (results.size() != 1 || results[0].kind() != abi::TypeKind::kTuple ||
        results[0].items().size() != 1) {
      if (auto reply = Take(request_id)) {
        (*reply)(InternalError("handle-request of actor " + id_ + " returned a malformed result"));
      }
      return;
    }
    const Value& answer = results[0].items()[0];
    if (simple) {
      if (auto reply = Take(request_id)) (*reply)(Reply{true, answer.as_bytes()});
      return;
    }
    if (!answer.is_some()) return;
    // Answered already (respond-to-request from within handle-request): the first answer wins.
    if (auto reply = Take(request_id)) (*reply)(Reply{true, answer.payload()->as_bytes()});
  }

  // (channel-accept,) = ({accepted: bool, message: option<list<u8>>},).
  static Result<Reply> ParseDecision(const Result<std::vector<Value>>& decided) {
    if (!decided.ok()) return decided.status();
    const std::vector<Value>& results = *decided;
    if (results.size() != 1 || results[0].kind() != abi::TypeKind::kTuple ||
        results[0].items().size() != 1 || results[0].items()[0].kind() != abi::TypeKind::kRecord ||
        results[0].items()[0].items().size() != 2) {
      return InternalError("handle-channel-open returned a malformed result");
    }
    const std::vector<Value>& accept = results[0].items()[0].items();
    Reply reply;
    reply.accepted = accept[0].as_bool();
    if (accept[1].is_some()) reply.message = accept[1].payload()->as_bytes();
    return reply;
  }

  std::weak_ptr<ActorContext> actor_;
  const std::string id_;
  messaging::Router* const router_;  // the runtime's; outlives its actors' mailboxes
  std::atomic<uint32_t> delivering_{0};
  std::atomic<bool> superseded_{false};
  std::mutex mu_;
  std::unordered_map<std::string, Pending> outstanding_;
  uint64_t next_seq_ = 0;
  // Payload bytes of the messages posted to the actor whose calls have not ended; this
  // mailbox's reference is given back when it goes.
  QueuedBytes* const queued_ = QueuedBytes::Create();
  bool closed_ = false;
};

class MessageServerHandler final : public Handler {
 public:
  explicit MessageServerHandler(uint64_t request_timeout_ms = kDefaultRequestTimeoutMs)
      : request_timeout_ms_(request_timeout_ms) {}

  std::string_view name() const override { return "message-server"; }
  std::optional<std::string> imports() const override {
    return "theater:simple/message-server-host";
  }
  std::optional<std::string> exports() const override { return std::string(kClient); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    uint64_t timeout = kDefaultRequestTimeoutMs;
    for (const auto& [key, value] : config.config.items()) {
      if (key != "request_timeout_ms") return InvalidArgument("unknown key '" + key + "'");
      THEATER_ASSIGN_OR_RETURN(timeout, ConfigUnsigned(value, key));
      if (timeout == 0) return InvalidArgument("request_timeout_ms: must be at least 1");
    }
    return std::unique_ptr<Handler>(new MessageServerHandler(timeout));
  }

  Status SetupHostFunctions(ActorContext&, HostFunctions& functions) override {
    constexpr std::string_view kHost = "message-server-host";
    THEATER_RETURN_IF_ERROR(
        functions.Add(kHost, "send", [this](ActorContext& actor, HostArgs args) -> HostResults {
          const std::string& target = args[0].as_string();
          if (Status s = CheckActorId(target); !s.ok()) return ErrValue(s);
          messaging::Router* router = &actor.services().router();
          if (actor.GatesOutputs()) {
            // The output gate: sent once this call's events are durable.
            if (Status reachable = router->CheckReachable(target); !reachable.ok()) {
              return ErrValue(reachable);
            }
            actor.ReleaseOutput(
                [router, target, payload = args[1].as_bytes(), self = actor.WeakSelf(),
                 sender_id = actor.id()]() mutable {
                  Status sent = router->Send(target, std::move(payload), sender_id);
                  std::shared_ptr<ActorContext> sender = self.lock();
                  if (!sent.ok() && sender) {
                    sender->Log("message-server: a send to " + target + " failed: " +
                                sent.ToString());
                  }
                });
            return std::vector<Value>{Value::Ok()};
          }
          auto attempt = [&] { return router->Send(target, args[1].as_bytes(), actor.id()); };
          Status sent = attempt();
          Status waited = WhileBlocked(
              actor, "a send to actor " + target, attempt,
              [&](std::function<void()> room) { return router->WaitForRoom(target, room); }, &sent);
          if (!waited.ok()) return waited;  // this actor is being stopped: the call ends
          if (!sent.ok()) return ErrValue(sent);
          return std::vector<Value>{Value::Ok()};
        }));
    THEATER_RETURN_IF_ERROR(
        functions.Add(kHost, "request", [this](ActorContext& actor, HostArgs args) -> HostResults {
          const std::string& target = args[0].as_string();
          if (Status s = CheckActorId(target); !s.ok()) return ErrValue(s);
          if (target == actor.id()) {
            return ErrValue(
                "an actor cannot request itself: the request would wait behind the call that "
                "sent it");
          }
          messaging::Router* router = &actor.services().router();
          const std::string what = "request to actor " + target;
          Result<Reply> answer = Cancelled("no answer");
          Status ended;  // non-OK: this actor is being stopped, and the call ends with it
          // One request routed and answered; returns its refusal when it was not routed.
          auto attempt = [&]() -> Status {
            Status refused;
            ended = AwaitAnswer<Reply>(
                actor, what,
                [&](std::function<void(Result<Reply>)> done) {
                  // Written only when not routed: a routed request's answer may wake the call
                  // on another thread before this returns.
                  Status routed = router->Request(target, args[1].as_bytes(), done, actor.id());
                  if (!routed.ok()) {
                    refused = routed;
                    done(routed);
                  }
                },
                &answer);
            return ended.ok() ? refused : Status();
          };
          Status routed = attempt();
          if (!ended.ok()) return ended;
          Status waited = WhileBlocked(
              actor, "a " + what, attempt,
              [&](std::function<void()> room) { return router->WaitForRoom(target, room); },
              &routed);
          if (!waited.ok()) return waited;
          if (!ended.ok()) return ended;
          if (!routed.ok()) answer = routed;  // it waited for room in vain
          if (!answer.ok()) return ErrValue(answer.status());
          return std::vector<Value>{Value::Ok(Value::Bytes(
              answer->message ? std::move(*answer->message) : std::vector<uint8_t>{}))};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        kHost, "open-channel", [this](ActorContext& actor, HostArgs args) -> HostResults {
          const std::string& target = args[0].as_string();
          if (Status s = CheckActorId(target); !s.ok()) return ErrValue(s);
          if (target == actor.id()) return ErrValue("an actor cannot open a channel to itself");
          messaging::Router* router = &actor.services().router();
          std::vector<uint8_t> payload = args[1].as_bytes();
          std::string initiator = actor.id();
          Result<messaging::OpenedChannel> opened = Cancelled("no answer");
          Status waited = AwaitAnswer<messaging::OpenedChannel>(
              actor, "opening a channel to actor " + target,
              [&](std::function<void(Result<messaging::OpenedChannel>)> done) {
                router->OpenChannel(initiator, target, std::move(payload), std::move(done));
              },
              &opened);
          if (!waited.ok()) return waited;
          if (!opened.ok()) return ErrValue(opened.status());
          if (opened->message) {
            // The target's words on accepting arrive as the channel's first message, after this
            // call (docs/messaging.md).
            Envelope first;
            first.kind = Envelope::Kind::kChannelMessage;
            first.channel = opened->channel;
            first.sender = target;
            first.payload = std::move(*opened->message);
            if (mailbox_) {
              Status queued = mailbox_->Deliver(std::move(first));
              if (!queued.ok()) {
                actor.Log("message-server: the accept message of " + opened->channel +
                         " was dropped: " + queued.ToString());
              }
            }
          }
          return std::vector<Value>{Value::Ok(Value::String(opened->channel))};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        kHost, "send-on-channel", [this](ActorContext& actor, HostArgs args) -> HostResults {
          messaging::Router* router = &actor.services().router();
          if (actor.GatesOutputs()) {
            // The output gate: sent once this call's events are durable.
            if (Status open = router->CheckChannel(actor.id(), args[0].as_string()); !open.ok()) {
              return ErrValue(open);
            }
            actor.ReleaseOutput([router, sender = actor.id(), channel = args[0].as_string(),
                                 payload = args[1].as_bytes(), self = actor.WeakSelf()]() mutable {
              Status sent = router->SendOnChannel(sender, channel, std::move(payload));
              std::shared_ptr<ActorContext> held = self.lock();
              if (!sent.ok() && held) {
                held->Log("message-server: a message on channel " + channel + " failed: " +
                          sent.ToString());
              }
            });
            return std::vector<Value>{Value::Ok()};
          }
          const std::string& channel = args[0].as_string();
          auto attempt = [&] {
            return router->SendOnChannel(actor.id(), channel, args[1].as_bytes());
          };
          Status sent = attempt();
          Status waited = WhileBlocked(
              actor, "a message on channel " + channel, attempt,
              [&](std::function<void()> room) {
                return router->WaitForRoomOnChannel(actor.id(), channel, room);
              },
              &sent);
          if (!waited.ok()) return waited;
          if (!sent.ok()) return ErrValue(sent);
          return std::vector<Value>{Value::Ok()};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        kHost, "close-channel", [](ActorContext& actor, HostArgs args) -> HostResults {
          Status closed = actor.services().router().CloseChannel(actor.id(), args[0].as_string());
          if (!closed.ok()) return ErrValue(closed);
          return std::vector<Value>{Value::Ok()};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(kHost, "list-outstanding-requests",
                                          [this](ActorContext&, HostArgs) -> HostResults {
                                            std::vector<Value> ids;
                                            if (mailbox_) {
                                              for (std::string& id : mailbox_->Outstanding())
                                                ids.push_back(Value::String(id));
                                            }
                                            return std::vector<Value>{Value::List(std::move(ids))};
                                          }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        kHost, "respond-to-request", [this](ActorContext& actor, HostArgs args) -> HostResults {
          const std::string& id = args[0].as_string();
          std::optional<ReplyFn> reply = mailbox_ ? mailbox_->Take(id) : std::nullopt;
          if (!reply) return ErrValue(NotOutstanding(id));
          // The output gate: answered once this call's events are durable.
          actor.ReleaseOutput([reply = std::move(*reply), payload = args[1].as_bytes()]() mutable {
            reply(Reply{true, std::move(payload)});
          });
          return std::vector<Value>{Value::Ok()};
        }));
    return functions.Add(
        kHost, "cancel-request", [this](ActorContext& actor, HostArgs args) -> HostResults {
          const std::string& id = args[0].as_string();
          std::optional<ReplyFn> reply = mailbox_ ? mailbox_->Take(id) : std::nullopt;
          if (!reply) return ErrValue(NotOutstanding(id));
          (*reply)(Cancelled("request " + id + " was cancelled by actor " + actor.id()));
          return std::vector<Value>{Value::Ok()};
        });
  }

  Status Start(ActorContext& actor) override {
    router_ = &actor.services().router();
    mailbox_ = std::make_shared<ActorMailbox>(actor.WeakSelf(), actor.id(), router_);
    return router_->Register(actor.id(), mailbox_);
  }

  void Stop(StopKind) override {
    if (!mailbox_) return;
    router_->Unregister(mailbox_->id(), mailbox_.get());
    mailbox_->Close();
  }

 private:
  static Status CheckActorId(const std::string& id) {
    // The id is the guest's words (possibly megabytes): quoted, not echoed.
    if (!IsUuid(id)) return InvalidArgument("invalid actor id " + QuoteInput(id) + ": not a UUID");
    return Status();
  }
  static std::string NotOutstanding(const std::string& id) {
    return "request " + QuoteInput(id) +
           " is not outstanding (unknown, already answered or cancelled)";
  }

  // Suspends the actor until `start`'s callback delivers `*answer` (the outcome, or the timeout
  // as kDeadlineExceeded). A non-OK return means the wait itself ended: the actor is being
  // terminated, and the host function must end the call with that status.
  template <typename T>
  Status AwaitAnswer(ActorContext& actor, const std::string& what,
                     const std::function<void(std::function<void(Result<T>)>)>& start,
                     Result<T>* answer) {
    struct Shared {
      std::mutex mu;
      std::optional<Result<T>> result;
    };
    auto shared = std::make_shared<Shared>();
    Timers& timers = actor.services().timers();
    uint64_t timeout_ms = WaitTimeoutMs(actor);
    Timers::TimerId timer = 0;
    Result<uint64_t> woken = actor.Suspend([&](Waker waker) {
      auto finish = [shared, waker](Result<T> r) {
        {
          std::lock_guard<std::mutex> lock(shared->mu);
          if (shared->result) return;  // the first outcome wins
          shared->result = std::move(r);
        }
        waker.Wake();
      };
      timer = timers.Schedule(
          Timers::Clock::now() + std::chrono::milliseconds(timeout_ms),
          [finish, what, timeout_ms] {
            finish(
                DeadlineExceeded(what + " timed out after " + std::to_string(timeout_ms) + " ms"));
          });
      start(finish);
    });
    timers.Cancel(timer);
    if (!woken.ok()) return woken.status();
    std::lock_guard<std::mutex> lock(shared->mu);
    if (!shared->result) return InternalError("message-server: woken without a result");
    *answer = std::move(*shared->result);
    return Status();
  }

  // How long a call waits for an answer or for room: the handler's request timeout, never longer
  // than the actor's call deadline.
  uint64_t WaitTimeoutMs(const ActorContext& actor) const {
    return std::min(request_timeout_ms_, actor.manifest().limits.call_deadline_ms);
  }

  enum class Room { kMade, kNotBlocking, kTimedOut };
  // Suspends the actor (never its worker) until the target announces room (`wait_for_room`
  // registers the announcement, Router::WaitForRoom) or `deadline` passes. kNotBlocking at once
  // when the target does not block its senders. A non-OK return means the actor is being stopped.
  static Result<Room> AwaitRoom(
      ActorContext& actor, Timers::Clock::time_point deadline,
      const std::function<messaging::RoomWait(std::function<void()>)>& wait_for_room) {
    if (Timers::Clock::now() >= deadline) return Room::kTimedOut;
    // Shared with the wake-ups, which may run (on other threads) before Suspend's arm returns.
    struct Shared {
      std::mutex mu;
      std::atomic<bool> woken{false};
      Timers::TimerId timer = 0;
      messaging::RoomWait wait;
      bool not_blocking = false;
      bool timed_out = false;
    };
    auto shared = std::make_shared<Shared>();
    Timers& timers = actor.services().timers();
    Result<uint64_t> woken = actor.Suspend([&](Waker waker) {
      auto wake = [shared, waker](bool timed_out) {
        if (shared->woken.exchange(true)) return;  // the first wake-up wins
        if (timed_out) {
          std::lock_guard<std::mutex> lock(shared->mu);
          shared->timed_out = true;
        }
        waker.Wake();
      };
      {
        std::lock_guard<std::mutex> lock(shared->mu);
        shared->timer = timers.Schedule(deadline, [wake] { wake(true); });
      }
      messaging::RoomWait wait = wait_for_room([wake] { wake(false); });
      {
        std::lock_guard<std::mutex> lock(shared->mu);
        shared->not_blocking = !wait;
        shared->wait = std::move(wait);
      }
      if (shared->not_blocking) wake(false);
    });
    Timers::TimerId timer;
    messaging::RoomWait wait;
    bool not_blocking, timed_out;
    {
      std::lock_guard<std::mutex> lock(shared->mu);
      timer = shared->timer;
      wait = std::move(shared->wait);
      not_blocking = shared->not_blocking;
      timed_out = shared->timed_out;
    }
    timers.Cancel(timer);
    wait.Cancel();  // still registered when the deadline (or a stop) woke it
    if (!woken.ok()) return woken.status();
    if (not_blocking) return Room::kNotBlocking;
    return timed_out ? Room::kTimedOut : Room::kMade;
  }

  // A sender refused for a full mailbox (*outcome kResourceExhausted) whose target blocks its
  // senders (mailbox_overflow = "block") waits for room and tries again (`attempt`, which gives
  // the new outcome), as long as the target blocks and within WaitTimeoutMs. A sender that
  // cannot suspend (a direct call), or whose target does not block, keeps its refusal. A non-OK
  // return means the actor is being stopped: the host function ends the call with it.
  Status WhileBlocked(
      ActorContext& actor, const std::string& what, const std::function<Status()>& attempt,
      const std::function<messaging::RoomWait(std::function<void()>)>& wait_for_room,
      Status* outcome) {
    if (outcome->code() != StatusCode::kResourceExhausted || !actor.CanSuspend()) return Status();
    const uint64_t timeout_ms = WaitTimeoutMs(actor);
    const auto deadline = Timers::Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (outcome->code() == StatusCode::kResourceExhausted) {
      THEATER_ASSIGN_OR_RETURN(Room room, AwaitRoom(actor, deadline, wait_for_room));
      if (room == Room::kNotBlocking) return Status();
      if (room == Room::kTimedOut) {
        *outcome =
            DeadlineExceeded(what + " waited " + std::to_string(timeout_ms) +
                             " ms for room in a full mailbox (mailbox_overflow = \"block\"): " +
                             outcome->ToString());
        return Status();
      }
      *outcome = attempt();
    }
    return Status();
  }

  uint64_t request_timeout_ms_;
  std::shared_ptr<ActorMailbox> mailbox_;
  messaging::Router* router_ = nullptr;
};

}  // namespace

std::unique_ptr<Handler> NewMessageServerHandler() {
  return std::make_unique<MessageServerHandler>();
}

}  // namespace theater::handlers
