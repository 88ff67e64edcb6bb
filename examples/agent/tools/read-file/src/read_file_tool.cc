// read_file_tool: the agent example's file-reading tool, a child actor of the agent.
//
// Each message-server request is a tool call's arguments as the model wrote them,
// `{"path": "<relative path>"}`; the reply is the file's text (cut at kMaxReplyBytes), or
// `error: <why>` when the arguments are malformed or the filesystem handler refuses. The
// confinement is not this code's doing: the filesystem handler is rooted at the directory the
// agent names when it spawns the tool, and the manifest (tools/read-file/manifest.toml) narrows the
// inherited permission to reading within that directory, so a path leading out of it ("../x",
// "/etc/passwd", a symbolic link out) is refused by the host whatever this actor asks.
//
// World `read-file-tool` (examples/agent/wit/agent.wit), C++ bindings from `theater bindgen`.
#include <string>
#include <string_view>

#include "../../../src/json.h"  // the agent's: one JSON reader for the three actors
#include "read_file_tool.hpp"

namespace {

using Bytes = std::vector<uint8_t>;
using theater::world::exports::State;
namespace fs = read_file_tool::filesystem;
namespace runtime = read_file_tool::runtime;

// Tool output goes into the model's context: more than this would cost more than it tells.
constexpr size_t kMaxReplyBytes = 32 * 1024;
// Arguments are a small object; anything larger is not a path.
constexpr agent_json::Limits kArgumentLimits{
    .max_bytes = 16 * 1024, .max_depth = 4, .max_values = 64};

Bytes ToBytes(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

// The reply to one tool call.
std::string ReadFileTool(std::string_view arguments) {
  std::string error;
  std::optional<agent_json::Document> args =
      agent_json::Document::Parse(arguments, &error, kArgumentLimits);
  if (!args) return "error: the arguments are not valid JSON: " + error;
  agent_json::Value path = args->root()["path"];
  if (!path.is_string()) return "error: the arguments need a string 'path'";
  runtime::Log("read_file " + agent_json::ValidUtf8(agent_json::Prefix(path.str(), 256)));
  auto content = fs::ReadFile(path.str());
  if (!content.ok()) return "error: " + content.error();
  std::string text(content.value().begin(), content.value().end());
  if (text.size() > kMaxReplyBytes) {
    const size_t total = text.size();
    text = std::string(agent_json::Prefix(text, kMaxReplyBytes));
    text += "\n[read_file: cut at " + std::to_string(text.size()) + " of " + std::to_string(total) +
            " bytes]";
  }
  return text;
}

}  // namespace

namespace read_file_tool::exports::actor {

InitResult Init(State state, InitParams params) {
  runtime::Log("read_file tool " + std::get<0>(params) + " ready");
  return InitResult::Ok(std::move(state));
}

}  // namespace read_file_tool::exports::actor

// The tool answers requests only: sends and channel messages keep the state, and a channel is
// refused, as the bindings' defaults do.
namespace read_file_tool::exports::message_server_client {

HandleRequestResult HandleRequest(State state, HandleRequestParams params) {
  const auto& [requester, msg] = params;
  const std::string reply =
      ReadFileTool(std::string_view(reinterpret_cast<const char*>(msg.data()), msg.size()));
  return HandleRequestResult::Ok(std::move(state), ToBytes(reply));
}

}  // namespace read_file_tool::exports::message_server_client
