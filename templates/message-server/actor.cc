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
#include <theater/theater.hpp>

#include <cstdlib>
#include <string>

namespace {

unsigned long CountOf(const theater::State& state) {
  if (!state) return 0;
  return std::strtoul(std::string(theater::as_string_view(*state)).c_str(), nullptr, 10);
}

void Count(theater::State& state) { state = theater::to_bytes(std::to_string(CountOf(state) + 1)); }

std::string Text(const theater::Bytes& bytes) { return std::string(theater::as_string_view(bytes)); }

theater::Result Init(theater::State& state, std::string_view actor_id) {
  theater::log("{{project_name}} " + std::string(actor_id) + " is ready for messages");
  state = theater::to_bytes("0");
  return theater::Result::ok();
}

theater::Result HandleSend(theater::State& state, const theater::Bytes& msg) {
  theater::log("message: " + Text(msg));
  Count(state);
  return theater::Result::ok();
}

theater::Result HandleRequest(theater::State& state, std::string_view /*request_id*/,
                              const theater::Bytes& msg, std::optional<theater::Bytes>& response) {
  Count(state);
  const std::string text = Text(msg);
  if (text == "ping") {
    response = theater::to_bytes("pong");
  } else if (text == "count") {
    response = theater::to_bytes(std::to_string(CountOf(state)));
  } else {
    response = theater::to_bytes("you said: " + text);
  }
  return theater::Result::ok();
}

theater::Result ChannelOpen(theater::State& /*state*/, std::string_view channel_id,
                            const theater::Bytes& /*msg*/, theater::ChannelAccept& accept) {
  theater::log("channel " + std::string(channel_id) + " opened");
  accept.message = theater::to_bytes("welcome to {{project_name}}");
  return theater::Result::ok();
}

theater::Result ChannelMessage(theater::State& state, std::string_view channel_id,
                               const theater::Bytes& msg) {
  Count(state);
  const std::string echo = "echo: " + Text(msg);
  theater_result_t sent;
  theater_message_send_on_channel(channel_id.data(), channel_id.size(),
                                  reinterpret_cast<const uint8_t*>(echo.data()), echo.size(), &sent);
  if (sent.is_err) return theater::Result::err(theater::detail::take(&sent.err));
  return theater::Result::ok();
}

theater::Result ChannelClose(theater::State& /*state*/, std::string_view channel_id) {
  theater::log("channel " + std::string(channel_id) + " closed");
  return theater::Result::ok();
}

}  // namespace

THEATER_CPP_ACTOR_INIT(Init)
THEATER_CPP_HANDLE_SEND(HandleSend)
THEATER_CPP_HANDLE_REQUEST(HandleRequest)
THEATER_CPP_HANDLE_CHANNEL_OPEN(ChannelOpen)
THEATER_CPP_HANDLE_CHANNEL_MESSAGE(ChannelMessage)
THEATER_CPP_HANDLE_CHANNEL_CLOSE(ChannelClose)
