// {{project_name}}: a Theater supervisor actor in C++.
//
// Commands, sent as requests (`theater message --request <id> "<command>"`):
//   spawn:<manifest>   start a child (a manifest path, URL or TOML text); answers its id
//   list               the children's ids, comma-separated
//   stop:<child-id>    stop a child
// A child that fails is restarted; one that exits or is stopped from outside is only logged.
//
// The actor implements the world `supervisor-messages` (wit/supervisor-messages.wit: the
// supervisor-actor and message-server-actor worlds together), through the bindings
// `theater bindgen` generated in bindings/supervisor_messages.hpp: imports are functions in
// supervisor_messages::<interface>, exports are the functions this file defines in
// supervisor_messages::exports::<interface>. Exports take their arguments by value and return
// owning values; nothing throws.
#include <string>

#include "supervisor_messages.hpp"

namespace {

using Bytes = std::vector<uint8_t>;
using State = std::optional<Bytes>;
// What most handlers return: the new state, or an error.
using StateResult = theater_bindgen::Result<std::tuple<State>, std::string>;
namespace runtime = supervisor_messages::runtime;
namespace supervisor = supervisor_messages::supervisor;

std::string Text(const Bytes& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::string Spawn(const std::string& manifest) {
  auto child = supervisor::Spawn(manifest, std::nullopt);
  if (!child.ok()) return "error: " + child.error();
  runtime::Log("spawned child " + child.value());
  return child.value();
}

std::string Children() {
  std::string list;
  for (const std::string& child : supervisor::ListChildren()) {
    list += (list.empty() ? "" : ",") + child;
  }
  return list;
}

std::string Stop(const std::string& child) {
  auto stopped = supervisor::StopChild(child);
  return stopped.ok() ? "ok" : "error: " + stopped.error();
}

}  // namespace

namespace supervisor_messages::exports::actor {

StateResult Init(State state, std::tuple<std::string> params) {
  runtime::Log("supervisor {{project_name}} " + std::get<0>(params) + " started");
  return StateResult::Ok({std::move(state)});
}

}  // namespace supervisor_messages::exports::actor

namespace supervisor_messages::exports::message_server_client {

theater_bindgen::Result<std::tuple<State, std::tuple<State>>, std::string> HandleRequest(
    State state, std::tuple<std::string, Bytes> params) {
  const std::string text = Text(std::get<1>(params));
  std::string answer;
  if (text.rfind("spawn:", 0) == 0) {
    answer = Spawn(text.substr(6));
  } else if (text.rfind("stop:", 0) == 0) {
    answer = Stop(text.substr(5));
  } else if (text == "list") {
    answer = Children();
  } else {
    answer = "commands: spawn:<manifest>, list, stop:<child-id>";
  }
  using R = theater_bindgen::Result<std::tuple<State, std::tuple<State>>, std::string>;
  return R::Ok({std::move(state), std::tuple<State>(Bytes(answer.begin(), answer.end()))});
}

// One-way messages and channels are not used: channels are refused.
StateResult HandleSend(State state, std::tuple<Bytes>) {
  return StateResult::Ok({std::move(state)});
}

theater_bindgen::Result<std::tuple<State, std::tuple<types::ChannelAccept>>, std::string>
HandleChannelOpen(State state, std::tuple<std::string, Bytes>) {
  using R =
      theater_bindgen::Result<std::tuple<State, std::tuple<types::ChannelAccept>>, std::string>;
  return R::Ok({std::move(state), std::tuple<types::ChannelAccept>(types::ChannelAccept{})});
}

StateResult HandleChannelMessage(State state, std::tuple<std::string, Bytes>) {
  return StateResult::Ok({std::move(state)});
}

StateResult HandleChannelClose(State state, std::tuple<std::string>) {
  return StateResult::Ok({std::move(state)});
}

}  // namespace supervisor_messages::exports::message_server_client

namespace supervisor_messages::exports::supervisor_handlers {

StateResult HandleChildError(State state, std::tuple<std::string, types::WitActorError> params) {
  const auto& [child_id, error] = params;
  runtime::Log("child " + child_id + " failed (error type " +
               std::to_string(static_cast<int>(error.error_type)) + "); restarting it");
  auto restarted = supervisor::RestartChild(child_id);
  if (!restarted.ok()) runtime::Log("restart failed: " + restarted.error());
  return StateResult::Ok({std::move(state)});
}

StateResult HandleChildExit(State state, std::tuple<std::string, State> params) {
  const auto& [child_id, data] = params;
  runtime::Log("child " + child_id + " exited" + (data ? " with data" : ""));
  return StateResult::Ok({std::move(state)});
}

StateResult HandleChildExternalStop(State state, std::tuple<std::string> params) {
  runtime::Log("child " + std::get<0>(params) + " was stopped from outside");
  return StateResult::Ok({std::move(state)});
}

}  // namespace supervisor_messages::exports::supervisor_handlers
