// {{project_name}}: a Theater supervisor actor in C++.
//
// Commands, sent as requests (`theater message --request <id> "<command>"`):
//   spawn:<manifest>   start a child (a manifest path under this actor's directory or the
//                      server's --spawn-root, a URL, a store:// reference or TOML text);
//                      answers its id
//   list               the children's ids, comma-separated
//   stop:<child-id>    stop a child
// A child that fails is restarted; one that exits or is stopped from outside is only logged.
//
// The actor implements the world `supervisor-messages` (wit/supervisor-messages.wit: the
// supervisor-actor and message-server-actor worlds together), through the bindings
// `theater bindgen` generated in bindings/supervisor_messages.hpp: imports are functions in
// supervisor_messages::<interface>, exports are the functions this file defines in
// supervisor_messages::exports::<interface> (theater::world names supervisor_messages, so the
// helpers below do not repeat it). Exports take their arguments by value and return owning
// values; nothing throws.
#include <string>

#include "supervisor_messages.hpp"

namespace {

using theater::world::exports::State;  // every export's state: std::optional<std::vector<uint8_t>>
using Bytes = std::vector<uint8_t>;
namespace runtime = theater::world::runtime;
namespace supervisor = theater::world::supervisor;

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

InitResult Init(State state, InitParams params) {
  const auto& [actor_id] = params;
  runtime::Log("supervisor {{project_name}} " + actor_id + " started");
  return InitResult::Ok(std::move(state));
}

}  // namespace supervisor_messages::exports::actor

// Only requests are used. One-way messages and channels keep the bindings' defaults: a message
// keeps the state, a channel is refused.
namespace supervisor_messages::exports::message_server_client {

HandleRequestResult HandleRequest(State state, HandleRequestParams params) {
  const auto& [request_id, msg] = params;
  const std::string text = Text(msg);
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
  return HandleRequestResult::Ok(std::move(state), State(Bytes(answer.begin(), answer.end())));
}

}  // namespace supervisor_messages::exports::message_server_client

namespace supervisor_messages::exports::supervisor_handlers {

HandleChildErrorResult HandleChildError(State state, HandleChildErrorParams params) {
  const auto& [child_id, error] = params;
  runtime::Log("child " + child_id + " failed (error type " +
               std::to_string(static_cast<int>(error.error_type)) + "); restarting it");
  auto restarted = supervisor::RestartChild(child_id);
  if (!restarted.ok()) runtime::Log("restart failed: " + restarted.error());
  return HandleChildErrorResult::Ok(std::move(state));
}

HandleChildExitResult HandleChildExit(State state, HandleChildExitParams params) {
  const auto& [child_id, data] = params;
  runtime::Log("child " + child_id + " exited" + (data ? " with data" : ""));
  return HandleChildExitResult::Ok(std::move(state));
}

HandleChildExternalStopResult HandleChildExternalStop(State state,
                                                      HandleChildExternalStopParams params) {
  const auto& [child_id] = params;
  runtime::Log("child " + child_id + " was stopped from outside");
  return HandleChildExternalStopResult::Ok(std::move(state));
}

}  // namespace supervisor_messages::exports::supervisor_handlers
