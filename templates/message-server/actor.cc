// {{project_name}}: a Theater actor that talks through the message-server handler, in C++.
//
// Try it against a running server (`theater server`):
//   id=$(theater start manifest.toml)
//   theater message $id "hello"              # handle-send: logged and counted
//   theater message --request $id "ping"     # handle-request: answers "pong"
//   theater message --request $id "count"    # answers how many messages it received
//   theater channel open $id                 # each line comes back as "echo: <line>"
//
// State: the number of messages received, as decimal text.
//
// The actor implements the WIT world `message-server-actor` (wit/worlds.wit), through the
// bindings `theater bindgen` generated in bindings/message_server_actor.hpp: imports are
// functions in message_server_actor::<interface> (also reachable as theater::world::<interface>),
// exports are the functions this file defines in message_server_actor::exports::<interface>.
// Exports take their arguments by value and return owning values; nothing throws.
#include <cstdlib>
#include <string>

#include "message_server_actor.hpp"

namespace {

using theater::world::exports::State;  // every export's state: std::optional<std::vector<uint8_t>>
using Bytes = std::vector<uint8_t>;

Bytes ToBytes(const std::string& text) {
  return Bytes(text.begin(), text.end());
}
std::string Text(const Bytes& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

unsigned long CountOf(const State& state) {
  return state ? std::strtoul(Text(*state).c_str(), nullptr, 10) : 0;
}

State CountState(unsigned long n) {
  return ToBytes(std::to_string(n));
}

}  // namespace

namespace message_server_actor::exports::actor {

InitResult Init(State /*state*/, InitParams params) {
  const auto& [actor_id] = params;
  runtime::Log("{{project_name}} " + actor_id + " is ready for messages");
  return InitResult::Ok(CountState(0));
}

}  // namespace message_server_actor::exports::actor

namespace message_server_actor::exports::message_server_client {

HandleSendResult HandleSend(State state, HandleSendParams params) {
  const auto& [msg] = params;
  runtime::Log("message: " + Text(msg));
  return HandleSendResult::Ok(CountState(CountOf(state) + 1));
}

// The request id is only needed to answer later (message_server_host::RespondToRequest).
HandleRequestResult HandleRequest(State state, HandleRequestParams params) {
  const auto& [request_id, msg] = params;
  const unsigned long count = CountOf(state) + 1;
  const std::string text = Text(msg);
  std::string reply;
  if (text == "ping") {
    reply = "pong";
  } else if (text == "count") {
    reply = std::to_string(count);
  } else {
    reply = "you said: " + text;
  }
  return HandleRequestResult::Ok(CountState(count), State(ToBytes(reply)));
}

HandleChannelOpenResult HandleChannelOpen(State state, HandleChannelOpenParams params) {
  const auto& [channel_id, msg] = params;
  runtime::Log("channel " + channel_id + " opened");
  types::ChannelAccept accept{.accepted = true, .message = ToBytes("welcome to {{project_name}}")};
  return HandleChannelOpenResult::Ok(std::move(state), std::move(accept));
}

HandleChannelMessageResult HandleChannelMessage(State state, HandleChannelMessageParams params) {
  const auto& [channel_id, msg] = params;
  auto sent = message_server_host::SendOnChannel(channel_id, ToBytes("echo: " + Text(msg)));
  if (!sent.ok()) return HandleChannelMessageResult::Err(sent.error());
  return HandleChannelMessageResult::Ok(CountState(CountOf(state) + 1));
}

HandleChannelCloseResult HandleChannelClose(State state, HandleChannelCloseParams params) {
  const auto& [channel_id] = params;
  runtime::Log("channel " + channel_id + " closed");
  return HandleChannelCloseResult::Ok(std::move(state));
}

}  // namespace message_server_actor::exports::message_server_client
