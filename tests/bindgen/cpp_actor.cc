// cpp_actor: the C++ twin of c_actor.c, written only against the C++ bindings `theater bindgen`
// generates for tests/bindgen/wit/bindgen-actor.wit (no SDK header). init logs a greeting and
// starts the state at "init"; one-way messages append "|send:<msg>"; requests:
//
//   echo:<text>         replies <text>
//   state               replies the state passed to this call
//   get-state           runtime.get-state, replies its bytes or "none"
//   mark:<text>         appends "|<text>" to the state, replies "ok"
//   send:<id>:<msg>     message-server-host.send; replies "ok" or "error:<why>"
//   request:<id>:<msg>  message-server-host.request; replies the answer or "error:<why>"
//   store               store.new, store, store-at-label, list-labels, get-by-label, get;
//                       replies "labels=<l,..>;bylabel=<beta|other>;get=<text>"
//   chain               runtime.get-chain; replies "events=<n>;linked=<yes|no>"
#include <string>
#include <string_view>

#include "bindgen_actor.hpp"

namespace {

using Bytes = std::vector<uint8_t>;
using theater::world::exports::State;
namespace host = theater::world::message_server_host;
namespace runtime = theater::world::runtime;
namespace store = theater::world::store;

Bytes ToBytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

State Append(const State& state, std::string_view suffix) {
  Bytes out = state.value_or(Bytes());
  out.insert(out.end(), suffix.begin(), suffix.end());
  return out;
}

std::string Unit(const theater_bindgen::Result<std::monostate, std::string>& r) {
  return r.ok() ? "ok" : "error:" + r.error();
}

std::string StoreRoundTrip() {
  auto id = store::New();
  if (!id.ok()) return "error:new:" + id.error();
  const std::string& sid = id.value();
  const Bytes alpha = ToBytes("alpha");
  const Bytes beta = ToBytes("beta");
  auto a = store::Store(sid, alpha);
  auto b = store::StoreAtLabel(sid, "latest", beta);
  auto labels = store::ListLabels(sid);
  auto by_label = store::GetByLabel(sid, "latest");
  if (!a.ok() || !b.ok() || !labels.ok() || !by_label.ok()) return "error:store-calls";
  auto got = store::Get(sid, a.value());
  std::string label_text;
  for (const std::string& l : labels.value()) label_text += (label_text.empty() ? "" : ",") + l;
  const bool matches = by_label.value().has_value() && by_label.value()->hash == b.value().hash;
  return "labels=" + label_text + ";bylabel=" + (matches ? "beta" : "other") +
         ";get=" + (got.ok() ? std::string(got.value().begin(), got.value().end()) : "error");
}

std::string ChainSummary() {
  theater::world::types::Chain chain = runtime::GetChain();
  bool linked = !chain.events.empty() && !chain.events[0].event.parent.has_value();
  for (size_t i = 1; i < chain.events.size(); i++) {
    const auto& parent = chain.events[i].event.parent;
    if (!parent.has_value() || *parent != chain.events[i - 1].hash) linked = false;
  }
  return "events=" + std::to_string(chain.events.size()) + ";linked=" + (linked ? "yes" : "no");
}

// "<head>:<tail>" -> {head, tail}; tail is empty without a ':'.
std::pair<std::string, std::string> Split(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return {std::string(text), ""};
  return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

}  // namespace

namespace bindgen_actor::exports::actor {

InitResult Init(State state, InitParams params) {
  const auto& [actor_id] = params;
  runtime::Log("Hello from " + actor_id + "!");
  return InitResult::Ok(state.has_value() ? Append(state, "|restart") : State(ToBytes("init")));
}

}  // namespace bindgen_actor::exports::actor

// handle-channel-message and handle-channel-close keep the bindings' defaults (the state stays);
// handle-channel-open replaces its default, which refuses.
namespace bindgen_actor::exports::message_server_client {

HandleSendResult HandleSend(State state, HandleSendParams params) {
  const auto& [msg] = params;
  return HandleSendResult::Ok(Append(state, "|send:" + std::string(msg.begin(), msg.end())));
}

HandleRequestResult HandleRequest(State state, HandleRequestParams params) {
  const auto& [request_id, raw] = params;
  auto [cmd, arg] = Split(std::string(raw.begin(), raw.end()));
  std::string reply;
  if (cmd == "echo") {
    reply = arg;
  } else if (cmd == "state") {
    reply = state.has_value() ? std::string(state->begin(), state->end()) : "none";
  } else if (cmd == "get-state") {
    State host_state = runtime::GetState();
    reply = host_state.has_value() ? std::string(host_state->begin(), host_state->end()) : "none";
  } else if (cmd == "mark") {
    state = Append(state, "|" + arg);
    reply = "ok";
  } else if (cmd == "send") {
    auto [target, msg] = Split(arg);
    reply = Unit(host::Send(target, ToBytes(msg)));
  } else if (cmd == "request") {
    auto [target, msg] = Split(arg);
    auto answer = host::Request(target, ToBytes(msg));
    reply = answer.ok() ? std::string(answer.value().begin(), answer.value().end())
                        : "error:" + answer.error();
  } else if (cmd == "store") {
    reply = StoreRoundTrip();
  } else if (cmd == "chain") {
    reply = ChainSummary();
  } else {
    reply = "error:unknown command " + cmd;
  }
  return HandleRequestResult::Ok(std::move(state), State(ToBytes(reply)));
}

HandleChannelOpenResult HandleChannelOpen(State state, HandleChannelOpenParams) {
  return HandleChannelOpenResult::Ok(std::move(state), types::ChannelAccept{.accepted = true});
}

}  // namespace bindgen_actor::exports::message_server_client
