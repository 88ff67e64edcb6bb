// Theater: a WebAssembly actor runtime.
//
// The commands that talk to actors (docs/protocol.md): one-way messages, requests, event
// subscriptions, and channels. Messages and subscriptions are answered on the network thread; a
// request waits for the actor on the runtime's threads, a channel opens on the blocking pool.
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "common/uuid.h"
#include "server/event_pages.h"
#include "server/server_impl.h"

namespace theater::server {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

// A ChannelMessage push: what actor `actor_id` sent on `channel`.
std::string ChannelMessageText(std::string_view channel, const std::string& actor_id,
                               std::span<const uint8_t> message) {
  std::string text;
  JsonWriter w(text);
  w.BeginVariant("ChannelMessage").BeginObject().Member("channel_id", channel);
  w.Key("sender_id").BeginObject().Member("Actor", actor_id).EndObject();
  AppendBytesJson(message, w.Key("message").ValueSlot());
  w.EndObject().EndObject();
  return text;
}

// The channel a command names in `channel_id`, which must be open on its connection (a client
// cannot use another's channels); nullopt once the error has been replied.
std::optional<std::string> ChannelOfConnection(CommandCall& call) {
  Result<std::string> channel = StringField(call.fields, "channel_id");
  if (!channel.ok()) {
    call.Invalid(channel.status());
    return std::nullopt;
  }
  if (!call.conn->channels().count(*channel)) {
    call.Finish(ErrorResponse(ManagementError::kChannelNotFound,
                              "channel " + *channel + " is not open on this connection"));
    return std::nullopt;
  }
  return std::move(channel).value();
}

}  // namespace

json ServerImpl::SubscriptionLimitError(const CommandCall& call, std::string_view remedy) const {
  return ErrorResponse(ManagementError::kInvalidRequest,
                       std::string(call.name) + ": this connection has " +
                           std::to_string(call.conn->subscription_count()) +
                           " subscriptions, the limit (max_subscriptions_per_connection = " +
                           std::to_string(options_.max_subscriptions_per_connection) +
                           "): " + std::string(remedy));
}

void ServerImpl::SendActorMessage(CommandCall& call) {
  Result<std::vector<uint8_t>> data = BytesField(call.fields, "data");
  if (!data.ok()) return call.Invalid(data.status());
  // An actor whose full mailbox blocks its senders (mailbox_overflow = "block") is waited on,
  // within the request timeout, holding no thread: the answer comes once there was room, and
  // meanwhile the connection counts the command in flight (max_commands_in_flight), so a client
  // that keeps sending is held back through its connection.
  // Nearly always the outcome comes before SendMessageAsync returns, and is answered here, on
  // the network thread, as a plain send is.
  struct Outcome {
    std::mutex mu;
    bool returned = false;
    std::optional<Status> early;
  };
  auto outcome = std::make_shared<Outcome>();
  runtime_.SendMessageAsync(call.actor_id, std::move(*data), options_.request_timeout,
                            [this, outcome, weak = std::weak_ptr<Connection>(call.conn),
                             ctx = call.ctx, id = call.actor_id](Status sent) {
                              {
                                std::lock_guard<std::mutex> lock(outcome->mu);
                                if (!outcome->returned) {
                                  outcome->early = std::move(sent);
                                  return;
                                }
                              }
                              std::string text =
                                  JsonText(sent.ok() ? MakeVariant("SentMessage", json{{"id", id}})
                                                     : ErrorResponse(sent, Subject::kActor));
                              asio::post(io_, [weak, ctx, text = std::move(text)]() mutable {
                                if (auto c = weak.lock()) c->FinishText(ctx, std::move(text));
                              });
                            });
  std::optional<Status> sent;
  {
    std::lock_guard<std::mutex> lock(outcome->mu);
    outcome->returned = true;
    sent = std::move(outcome->early);
  }
  if (!sent) return;  // it waits for room; the answer comes later
  if (!sent->ok()) return call.Finish(ErrorResponse(*sent, Subject::kActor));
  call.Finish(MakeVariant("SentMessage", json{{"id", call.actor_id}}));
}

void ServerImpl::RequestActorMessage(CommandCall& call) {
  Result<std::vector<uint8_t>> data = BytesField(call.fields, "data");
  if (!data.ok()) return call.Invalid(data.status());
  runtime_.RequestMessageAsync(
      call.actor_id, std::move(*data), options_.request_timeout,
      [this, weak = std::weak_ptr<Connection>(call.conn), ctx = call.ctx, id = call.actor_id,
       max_reply = options_.max_reply_bytes](Result<std::vector<uint8_t>> answer) {
        // Built as text, not as a JSON tree (16 bytes a byte), and only within the limit.
        std::string text;
        if (!answer.ok()) {
          text = JsonText(ErrorResponse(answer.status(), Subject::kActor));
        } else if (const size_t size = EncodedBytesSize(*answer, ByteEncoding::kArray);
                   size + 128 > max_reply) {
          text = JsonText(
              ErrorResponse(ManagementError::kActorError,
                            "the answer of actor " + id + " takes " + std::to_string(size) +
                                " bytes as JSON, more than the reply limit of " +
                                std::to_string(max_reply) + " bytes (max_reply_bytes)"));
        } else {
          JsonWriter w(text);
          w.BeginVariant("RequestedMessage").BeginObject().Member("id", id);
          AppendBytesJson(*answer, w.Key("message").ValueSlot());
          w.EndObject().EndObject();
        }
        asio::post(io_, [weak, ctx, text = std::move(text)]() mutable {
          if (auto c = weak.lock()) c->FinishText(ctx, std::move(text));
        });
      });
}

void ServerImpl::SubscribeToActor(CommandCall& call) {
  const json& fields = call.fields;
  Result<ByteEncoding> encoding = ByteEncodingField(fields);
  if (!encoding.ok()) return call.Invalid(encoding.status());
  Result<bool> decoded = BoolField(fields, "decoded", false);
  if (!decoded.ok()) return call.Invalid(decoded.status());
  double max_events_per_s = 0;
  if (auto it = fields.find("max_events_per_s"); it != fields.end() && !it->is_null()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() == 0) {
      return call.Invalid(InvalidArgument("field 'max_events_per_s' must be a positive integer"));
    }
    max_events_per_s = static_cast<double>(it->get<uint64_t>());
  }
  const std::shared_ptr<Connection>& conn = call.conn;
  if (conn->AtSubscriptionLimit()) {
    return call.Finish(
        SubscriptionLimitError(call, "unsubscribe from one first, or use another connection"));
  }
  Result<TheaterRuntime::Subscription> sub =
      runtime_.Subscribe(call.actor_id, options_.subscription_queue, chain::OverflowPolicy::kLossy);
  if (!sub.ok()) return call.Finish(ErrorResponse(sub.status(), Subject::kActor));
  const std::string subscription_id = NewUuid();
  // Reply first, so that the client hears Subscribed before the first event.
  call.Finish(
      MakeVariant("Subscribed", json{{"id", call.actor_id}, {"subscription_id", subscription_id}}));
  conn->AddSubscription(subscription_id, call.actor_id, std::move(*sub), *encoding, *decoded,
                        max_events_per_s);
}

void ServerImpl::UnsubscribeFromActor(CommandCall& call) {
  Result<std::string> subscription_id = StringField(call.fields, "subscription_id");
  if (!subscription_id.ok()) return call.Invalid(subscription_id.status());
  if (!call.conn->RemoveSubscription(*subscription_id, call.actor_id)) {
    return call.Finish(ErrorResponse(ManagementError::kInvalidRequest,
                                     "no subscription " + *subscription_id + " to actor " +
                                         call.actor_id + " on this connection"));
  }
  call.Finish(MakeVariant("Unsubscribed", json{{"id", call.actor_id}}));
}

void ServerImpl::OpenChannel(CommandCall& call) {
  auto invalid = [&](const std::string& why) {
    call.Finish(ErrorResponse(ManagementError::kInvalidRequest, "OpenChannel: " + why));
  };
  // A ChannelParticipant: {"Actor": "<id>"} (a newtype variant: its value is the id itself)
  // or "External", which the server cannot open a channel to.
  auto participant = call.fields.find("actor_id");
  if (participant == call.fields.end()) return invalid("missing field 'actor_id'");
  if (!participant->is_object() || participant->size() != 1 || !participant->contains("Actor")) {
    return invalid("actor_id must be {\"Actor\": \"<id>\"}: the server opens channels to actors");
  }
  const json& value = (*participant)["Actor"];
  if (!value.is_string() || !IsUuid(value.get<std::string>())) {
    return invalid("actor_id must name an actor id");
  }
  const std::string id = value.get<std::string>();
  Result<std::vector<uint8_t>> initial = BytesField(call.fields, "initial_message");
  if (!initial.ok()) return invalid(initial.status().ToString());

  std::weak_ptr<Connection> weak = call.conn;
  ChannelListener listener;
  listener.on_message = [this, weak, id](std::string_view channel, std::vector<uint8_t> message) {
    asio::post(io_, [weak, text = ChannelMessageText(channel, id, message)] {
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
  asio::post(*blocking_, [this, weak, ctx = call.ctx, id, initial = std::move(*initial),
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
        after.push_back(ChannelMessageText(opened->channel, id, *opened->accept_message));
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

void ServerImpl::SendOnChannel(CommandCall& call) {
  std::optional<std::string> channel = ChannelOfConnection(call);
  if (!channel) return;
  Result<std::vector<uint8_t>> message = BytesField(call.fields, "message");
  if (!message.ok()) return call.Invalid(message.status());
  Status sent = runtime_.SendOnChannel(*channel, std::move(*message));
  if (!sent.ok()) return call.Finish(ErrorResponse(sent, Subject::kChannel));
  call.Finish(MakeVariant("MessageSent", json{{"channel_id", *channel}}));
}

void ServerImpl::CloseChannel(CommandCall& call) {
  std::optional<std::string> channel = ChannelOfConnection(call);
  if (!channel) return;
  call.conn->channels().erase(*channel);
  Status closed = runtime_.CloseChannel(*channel);
  if (!closed.ok()) return call.Finish(ErrorResponse(closed, Subject::kChannel));
  call.Finish(MakeVariant("ChannelClosed", json{{"channel_id", *channel}}));
}

}  // namespace theater::server
