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
// functions in message_server_actor::<interface>, exports are the functions this file defines in
// message_server_actor::exports::<interface>. Exports take their arguments by value and return
// owning values; nothing throws.
#include <cstdlib>
#include <string>

#include "message_server_actor.hpp"

namespace {

using Bytes = std::vector<uint8_t>;
using State = std::optional<Bytes>;
// What most handlers return: the new state, or an error.
using StateResult = theater_bindgen::Result<std::tuple<State>, std::string>;
namespace runtime = message_server_actor::runtime;

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

StateResult Init(State /*state*/, std::tuple<std::string> params) {
  runtime::Log("{{project_name}} " + std::get<0>(params) + " is ready for messages");
  return StateResult::Ok({CountState(0)});
}

}  // namespace message_server_actor::exports::actor

namespace message_server_actor::exports::message_server_client {

StateResult HandleSend(State state, std::tuple<Bytes> params) {
  runtime::Log("message: " + Text(std::get<0>(params)));
  return StateResult::Ok({CountState(CountOf(state) + 1)});
}

// params: (request id, message); the id is only needed to answer later (respond-to-request).
theater_bindgen::Result<std::tuple<State, std::tuple<State>>, std::string> HandleRequest(
    State state, std::tuple<std::string, Bytes> params) {
  const unsigned long count = CountOf(state) + 1;
  const std::string text = Text(std::get<1>(params));
  std::string reply;
  if (text == "ping") {
    reply = "pong";
  } else if (text == "count") {
    reply = std::to_string(count);
  } else {
    reply = "you said: " + text;
  }
  using R = theater_bindgen::Result<std::tuple<State, std::tuple<State>>, std::string>;
  return R::Ok({CountState(count), std::tuple<State>(ToBytes(reply))});
}

theater_bindgen::Result<std::tuple<State, std::tuple<types::ChannelAccept>>, std::string>
HandleChannelOpen(State state, std::tuple<std::string, Bytes> params) {
  runtime::Log("channel " + std::get<0>(params) + " opened");
  types::ChannelAccept accept;
  accept.accepted = true;
  accept.message = ToBytes("welcome to {{project_name}}");
  using R =
      theater_bindgen::Result<std::tuple<State, std::tuple<types::ChannelAccept>>, std::string>;
  return R::Ok({std::move(state), std::tuple<types::ChannelAccept>(std::move(accept))});
}

StateResult HandleChannelMessage(State state, std::tuple<std::string, Bytes> params) {
  const auto& [channel_id, msg] = params;
  auto sent = message_server_host::SendOnChannel(channel_id, ToBytes("echo: " + Text(msg)));
  if (!sent.ok()) return StateResult::Err(sent.error());
  return StateResult::Ok({CountState(CountOf(state) + 1)});
}

StateResult HandleChannelClose(State state, std::tuple<std::string> params) {
  runtime::Log("channel " + std::get<0>(params) + " closed");
  return StateResult::Ok({std::move(state)});
}

}  // namespace message_server_actor::exports::message_server_client
