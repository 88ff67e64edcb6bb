// fetch_url_tool: the agent example's URL-fetching tool, a child actor of the agent.
//
// Each message-server request is a tool call's arguments as the model wrote them,
// `{"url": "http(s)://..."}`; the tool GETs the URL and replies `HTTP <status>` followed by the
// body's text (cut at kMaxReplyBytes), or `error: <why>`. Which hosts it may reach is not this
// code's choice: its manifest (tools/fetch-url/manifest.toml) narrows the http-client permission it
// inherits from the agent to GET on the hosts the agent lists when it spawns the tool, and the
// handler checks every request and redirect hop against that before any connection is made
// (`error: permission-denied: Host '...' not in allowed hosts: [...]`).
//
// World `fetch-url-tool` (examples/agent/wit/agent.wit), C++ bindings from `theater bindgen`.
#include <string>
#include <string_view>

#include "../../../src/json.h"  // the agent's: one JSON reader for the three actors
#include "fetch_url_tool.hpp"

namespace {

using Bytes = std::vector<uint8_t>;
using theater::world::exports::State;
namespace http = fetch_url_tool::http_client;
namespace runtime = fetch_url_tool::runtime;

// Tool output goes into the model's context: more than this would cost more than it tells.
constexpr size_t kMaxReplyBytes = 32 * 1024;
constexpr agent_json::Limits kArgumentLimits{
    .max_bytes = 16 * 1024, .max_depth = 4, .max_values = 64};

Bytes ToBytes(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

// The reply to one tool call.
std::string FetchUrlTool(std::string_view arguments) {
  std::string error;
  std::optional<agent_json::Document> args =
      agent_json::Document::Parse(arguments, &error, kArgumentLimits);
  if (!args) return "error: the arguments are not valid JSON: " + error;
  agent_json::Value url = args->root()["url"];
  if (!url.is_string()) return "error: the arguments need a string 'url'";
  runtime::Log("fetch_url " + agent_json::ValidUtf8(agent_json::Prefix(url.str(), 256)));
  fetch_url_tool::http_types::HttpRequest request;
  request.method = "GET";
  request.uri = std::string(url.str());
  request.headers.emplace_back("User-Agent", "theater-agent-example/0.1");
  auto response = http::SendHttp(request);
  if (!response.ok()) return "error: " + response.error();
  std::string text = "HTTP " + std::to_string(response.value().status) + "\n";
  if (response.value().body) {
    const Bytes& body = *response.value().body;
    std::string_view view(reinterpret_cast<const char*>(body.data()), body.size());
    text += agent_json::Prefix(view, kMaxReplyBytes);
    if (body.size() > kMaxReplyBytes) {
      text += "\n[fetch_url: cut at " + std::to_string(kMaxReplyBytes) + " of " +
              std::to_string(body.size()) + " bytes]";
    }
  }
  return text;
}

}  // namespace

namespace fetch_url_tool::exports::actor {

InitResult Init(State state, InitParams params) {
  runtime::Log("fetch_url tool " + std::get<0>(params) + " ready");
  return InitResult::Ok(std::move(state));
}

}  // namespace fetch_url_tool::exports::actor

// The tool answers requests only: sends and channel messages keep the state, and a channel is
// refused, as the bindings' defaults do.
namespace fetch_url_tool::exports::message_server_client {

HandleRequestResult HandleRequest(State state, HandleRequestParams params) {
  const auto& [requester, msg] = params;
  const std::string reply =
      FetchUrlTool(std::string_view(reinterpret_cast<const char*>(msg.data()), msg.size()));
  return HandleRequestResult::Ok(std::move(state), ToBytes(reply));
}

}  // namespace fetch_url_tool::exports::message_server_client
