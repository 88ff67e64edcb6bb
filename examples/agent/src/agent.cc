// agent: an AI agent as a Theater actor (examples/agent/README.md).
//
// It answers prompts by talking to an OpenAI-compatible chat-completions endpoint through the
// http-client handler, and runs the tools the model asks for as child actors with narrower
// permissions, spawned through the supervisor handler:
//
//   prompt (init state "prompt", or a message-server request)
//     -> append {"role": "user"} to the conversation
//     -> POST {endpoint}/v1/chat/completions with the conversation and the tool definitions
//     -> the reply has tool_calls? send each call's arguments to the tool's child actor
//        (message-server request), append its reply as a {"role": "tool"} message, call the
//        model again (at most max_tool_rounds times)
//     -> the reply is text: that is the answer; the turn is committed to the state.
//
// A turn that fails (endpoint down, HTTP error, malformed reply, too many rounds) changes
// nothing: the conversation stays as it was and the requester gets `error: <why>`.
//
// The conversation and settings are the actor's state (agent_state.h); the endpoint, model and
// API key may come from the environment handler (AGENT_ENDPOINT, AGENT_MODEL, OPENAI_API_KEY,
// the only variables the manifest exposes). Every request, response, tool call and reply crosses
// the sandbox through a host call, so all of it is in the actor's event chain.
//
// World `agent` (examples/agent/wit/agent.wit), C++ bindings from `theater bindgen`.
#include <span>
#include <string>
#include <string_view>

#include "agent.hpp"
#include "agent_state.h"
#include "chat_completions.h"
#include "json.h"

namespace {

using Bytes = std::vector<uint8_t>;
using agent_state::AgentState;
using chat_completions::ToolSpec;
using theater::world::exports::State;
namespace env = agent::environment;
namespace http = agent::http_client;
namespace host = agent::message_server_host;
namespace runtime = agent::runtime;
namespace supervisor = agent::supervisor;

constexpr std::string_view kDefaultEndpoint = "https://api.openai.com";
constexpr std::string_view kDefaultModel = "gpt-4o-mini";

// The tools this agent knows how to describe to the model; which of them it offers is decided
// by the "tools" of its state (each needs a manifest to spawn).
constexpr ToolSpec kKnownTools[] = {
    {"read_file",
     "Read a text file from the agent's document directory. Paths are relative to that directory.",
     "path", "The file's path relative to the document directory, e.g. \"notes.txt\"."},
    {"fetch_url", "Fetch a resource with HTTP GET. Only some hosts are allowed.", "url",
     "The absolute http or https URL to fetch."},
};

Bytes ToBytes(std::string_view text) {
  return Bytes(text.begin(), text.end());
}
std::string_view View(const Bytes& bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

const ToolSpec* FindKnownTool(std::string_view name) {
  for (const ToolSpec& t : kKnownTools) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// A log line with untrusted text shortened and made valid UTF-8.
void LogText(std::string_view label, std::string_view text) {
  std::string line(label);
  line += agent_json::ValidUtf8(agent_json::Prefix(text, 300));
  if (text.size() > 300) line += "...";
  runtime::Log(line);
}

// The environment's value of `name` when set and non-empty, else `fallback`.
std::string Setting(std::string_view name, std::string_view fallback) {
  std::optional<std::string> value = env::GetVar(name);
  return value && !value->empty() ? *value : std::string(fallback);
}

// "{endpoint}/v1/chat/completions"; an endpoint already ending in /v1 gets only the rest.
std::string CompletionsUrl(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (!endpoint.ends_with("/v1")) endpoint += "/v1";
  return endpoint + "/chat/completions";
}

// One model call: the assistant's reply to `messages`, or an error saying what failed.
theater_bindgen::Result<chat_completions::Reply, std::string> CallModel(
    const AgentState& state, std::span<const std::string> messages,
    std::span<const ToolSpec> tools) {
  using R = theater_bindgen::Result<chat_completions::Reply, std::string>;
  const std::string url = CompletionsUrl(
      Setting("AGENT_ENDPOINT", state.endpoint.empty() ? kDefaultEndpoint : state.endpoint));
  const std::string model =
      Setting("AGENT_MODEL", state.model.empty() ? kDefaultModel : state.model);
  const std::string key = Setting("OPENAI_API_KEY", "");

  agent::http_types::HttpRequest request;
  request.method = "POST";
  request.uri = url;
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("Accept", "application/json");
  if (!key.empty()) request.headers.emplace_back("Authorization", "Bearer " + key);
  request.body = ToBytes(chat_completions::RequestBody(model, messages, tools));
  auto response = http::SendHttp(request);
  if (!response.ok()) {
    return R::Err("the model endpoint " + url + " could not be reached: " + response.error());
  }
  const Bytes empty;
  std::string_view body = View(response.value().body ? *response.value().body : empty);
  if (response.value().status != 200) {
    std::optional<std::string> message = chat_completions::ErrorMessage(body);
    return R::Err("the model endpoint " + url + " answered HTTP " +
                  std::to_string(response.value().status) + ": " +
                  (message ? *message : agent_json::ValidUtf8(agent_json::Prefix(body, 300))));
  }
  std::string error;
  std::optional<chat_completions::Reply> reply = chat_completions::ParseReply(body, &error);
  if (!reply) return R::Err(error);
  return R::Ok(std::move(*reply));
}

// The id of the running child actor of `tool`, spawned now if there is none (the first time,
// or after the child stopped). The tool's settings object is the child's initial state.
theater_bindgen::Result<std::string, std::string> ToolChild(AgentState* state,
                                                            const agent_state::Tool& tool) {
  using R = theater_bindgen::Result<std::string, std::string>;
  if (const std::string* id = state->ChildOf(tool.name)) {
    for (const std::string& child : supervisor::ListChildren()) {
      if (child == *id) return R::Ok(child);
    }
  }
  auto spawned = supervisor::Spawn(tool.manifest, ToBytes(tool.config));
  if (!spawned.ok()) {
    return R::Err("cannot start the " + tool.name + " tool (" + tool.manifest +
                  "): " + spawned.error());
  }
  runtime::Log("tool " + tool.name + " runs as actor " + spawned.value());
  state->SetChild(tool.name, spawned.value());
  return R::Ok(spawned.value());
}

// Runs one tool call in its child actor; the reply (or the failure) is the tool message's text.
std::string RunToolCall(AgentState* state, const chat_completions::ToolCall& call) {
  LogText("tool call " + call.name + " ", call.arguments);
  const agent_state::Tool* tool = nullptr;
  for (const agent_state::Tool& t : state->tools) {
    if (t.name == call.name) tool = &t;
  }
  if (tool == nullptr) return "error: there is no tool named '" + call.name + "'";
  auto child = ToolChild(state, *tool);
  if (!child.ok()) return "error: " + child.error();
  auto reply = host::Request(child.value(), ToBytes(call.arguments));
  if (!reply.ok()) return "error: the " + call.name + " tool failed: " + reply.error();
  return agent_json::ValidUtf8(View(reply.value()));
}

// Answers `prompt`: the assistant's final text, with the whole turn appended to the state's
// conversation; on failure the conversation is left as it was.
theater_bindgen::Result<std::string, std::string> RunTurn(AgentState* state,
                                                          std::string_view prompt) {
  using R = theater_bindgen::Result<std::string, std::string>;
  if (prompt.empty()) return R::Err("the prompt is empty");
  std::vector<ToolSpec> tools;
  for (const agent_state::Tool& t : state->tools) tools.push_back(*FindKnownTool(t.name));

  std::vector<std::string> messages = state->messages;  // committed only on success
  if (messages.empty() && !state->system.empty()) {
    messages.push_back(chat_completions::SystemMessage(state->system));
  }
  LogText("user: ", prompt);
  messages.push_back(chat_completions::UserMessage(prompt));
  // Each round is one model call; a reply asking for tools once max_tool_rounds rounds of them
  // have run ends the turn (a model that never answers would otherwise loop forever).
  for (int64_t round = 0;; ++round) {
    auto reply = CallModel(*state, messages, tools);
    if (!reply.ok()) return R::Err(reply.error());
    messages.push_back(chat_completions::AssistantMessage(reply.value()));
    if (reply.value().tool_calls.empty()) {
      LogText("assistant: ", *reply.value().content);
      AgentState next = *state;
      next.messages = std::move(messages);
      if (agent_state::Save(next).size() > agent_state::kStateLimits.max_bytes) {
        return R::Err("the conversation has outgrown the state's limit of " +
                      std::to_string(agent_state::kStateLimits.max_bytes) +
                      " bytes; start a new agent");
      }
      *state = std::move(next);
      return R::Ok(*reply.value().content);
    }
    if (round == state->max_tool_rounds) {
      return R::Err("the model still asked for tools after " +
                    std::to_string(state->max_tool_rounds) +
                    " rounds of tool calls (max_tool_rounds); no answer");
    }
    for (const chat_completions::ToolCall& call : reply.value().tool_calls) {
      messages.push_back(chat_completions::ToolMessage(call.id, RunToolCall(state, call)));
    }
  }
}

// The prompt of a request: the "prompt" of a JSON object, or else the whole text.
std::string PromptOf(std::string_view message) {
  if (!message.empty() && message.front() == '{') {
    std::string ignored;
    std::optional<agent_json::Document> doc = agent_json::Document::Parse(message, &ignored);
    if (doc && doc->root()["prompt"].is_string()) return std::string(doc->root()["prompt"].str());
  }
  return std::string(message);
}

}  // namespace

namespace agent::exports::actor {

// Checks the settings, starts the tools and answers the initial prompt, if there is one (an
// error then fails the start, so `theater run` reports it).
InitResult Init(State state, InitParams params) {
  runtime::Log("agent " + std::get<0>(params) + " starting");
  std::string error;
  std::optional<AgentState> agent = agent_state::Load(state ? View(*state) : "", &error);
  if (!agent) return InitResult::Err(error);
  for (const agent_state::Tool& t : agent->tools) {
    if (FindKnownTool(t.name) == nullptr) {
      return InitResult::Err("unknown tool '" + t.name +
                             "' in the state's tools (this agent knows read_file and fetch_url)");
    }
    auto child = ToolChild(&*agent, t);
    if (!child.ok()) return InitResult::Err(child.error());
  }
  if (!agent->prompt.empty()) {
    auto answer = RunTurn(&*agent, agent->prompt);
    if (!answer.ok()) return InitResult::Err(answer.error());
  }
  agent->prompt.clear();
  return InitResult::Ok(ToBytes(agent_state::Save(*agent)));
}

}  // namespace agent::exports::actor

namespace agent::exports::message_server_client {

// A prompt; the reply is the answer, or `error: <why>` with the conversation unchanged.
HandleRequestResult HandleRequest(State state, HandleRequestParams params) {
  const auto& [requester, prompt] = params;
  std::string error;
  std::optional<AgentState> agent = agent_state::Load(state ? View(*state) : "", &error);
  if (!agent) return HandleRequestResult::Ok(std::move(state), ToBytes("error: " + error));
  auto answer = RunTurn(&*agent, PromptOf(View(prompt)));
  if (!answer.ok()) {
    // The conversation is as it was; the tools' ids, which the turn may have renewed, are kept.
    LogText("error: ", answer.error());
    return HandleRequestResult::Ok(ToBytes(agent_state::Save(*agent)),
                                   ToBytes("error: " + answer.error()));
  }
  return HandleRequestResult::Ok(ToBytes(agent_state::Save(*agent)), ToBytes(answer.value()));
}

// A prompt whose answer nobody waits for: it is logged and kept in the conversation.
HandleSendResult HandleSend(State state, HandleSendParams params) {
  std::string error;
  std::optional<AgentState> agent = agent_state::Load(state ? View(*state) : "", &error);
  if (!agent) return HandleSendResult::Err(error);
  auto answer = RunTurn(&*agent, PromptOf(View(std::get<0>(params))));
  if (!answer.ok()) LogText("error: ", answer.error());
  return HandleSendResult::Ok(ToBytes(agent_state::Save(*agent)));
}

HandleChannelOpenResult HandleChannelOpen(State state, HandleChannelOpenParams) {
  types::ChannelAccept refuse{
      .accepted = false,
      .message = ToBytes("the agent takes prompts as requests (theater message -r)")};
  return HandleChannelOpenResult::Ok(std::move(state), std::move(refuse));
}

// Channel messages and closes keep the state: the bindings' defaults.

}  // namespace agent::exports::message_server_client
