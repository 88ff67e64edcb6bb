// chat_completions: the agent example's side of the OpenAI-compatible chat-completions protocol,
// as pure functions over JSON text (no host calls), so that the host-side tests can check them
// directly.
//
//   request:  POST {endpoint}/v1/chat/completions
//             {"model": ..., "messages": [...], "tools": [{"type": "function", "function": ...}]}
//   response: {"choices": [{"message": {"role": "assistant", "content": "..." | null,
//              "tool_calls": [{"id", "type": "function",
//                              "function": {"name", "arguments": "<JSON text>"}}]}}]}
//             or, on failure, {"error": {"message": ...}}
//
// The response comes from outside the sandbox and is bounded here in every dimension (size,
// nesting, number of tool calls, length of each field) before the agent acts on it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"

namespace chat_completions {

// What the model is told about one tool: a function taking one string parameter.
struct ToolSpec {
  std::string_view name;
  std::string_view description;
  std::string_view parameter;
  std::string_view parameter_description;
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the model wrote it (not trusted to be valid)
};

// The assistant's turn: its text, or the tools it wants run, or both.
struct Reply {
  std::optional<std::string> content;
  std::vector<ToolCall> tool_calls;
};

// Bounds on a response (its body is also capped by the http-client handler's
// max_response_bytes).
inline constexpr agent_json::Limits kResponseLimits{
    .max_bytes = 4u << 20, .max_depth = 16, .max_values = 1u << 16};
inline constexpr size_t kMaxToolCalls = 16;
inline constexpr size_t kMaxToolCallIdBytes = 256;
inline constexpr size_t kMaxToolNameBytes = 64;
inline constexpr size_t kMaxArgumentsBytes = 64 * 1024;

// Messages of the conversation, as compact JSON objects.
inline std::string SystemMessage(std::string_view text) {
  agent_json::Writer w;
  w.BeginObject().Member("role", "system").Member("content", text).EndObject();
  return w.Take();
}
inline std::string UserMessage(std::string_view text) {
  agent_json::Writer w;
  w.BeginObject().Member("role", "user").Member("content", text).EndObject();
  return w.Take();
}
inline std::string ToolMessage(std::string_view tool_call_id, std::string_view content) {
  agent_json::Writer w;
  w.BeginObject().Member("role", "tool").Member("tool_call_id", tool_call_id);
  w.Member("content", content).EndObject();
  return w.Take();
}
// The assistant's message as it goes back to the model in later requests: rebuilt from the
// fields the protocol defines, so nothing else the endpoint sent is carried along.
inline std::string AssistantMessage(const Reply& reply) {
  agent_json::Writer w;
  w.BeginObject().Member("role", "assistant").Key("content");
  if (reply.content) {
    w.String(*reply.content);
  } else {
    w.Null();
  }
  if (!reply.tool_calls.empty()) {
    w.Key("tool_calls").BeginArray();
    for (const ToolCall& call : reply.tool_calls) {
      w.BeginObject().Member("id", call.id).Member("type", "function").Key("function");
      w.BeginObject().Member("name", call.name).Member("arguments", call.arguments).EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return w.Take();
}

// The request body. `messages` are JSON objects (the conversation so far).
inline std::string RequestBody(std::string_view model, std::span<const std::string> messages,
                               std::span<const ToolSpec> tools) {
  agent_json::Writer w;
  w.BeginObject().Member("model", model).Key("messages").BeginArray();
  for (const std::string& m : messages) w.Raw(m);
  w.EndArray();
  if (!tools.empty()) {
    w.Key("tools").BeginArray();
    for (const ToolSpec& t : tools) {
      w.BeginObject().Member("type", "function").Key("function").BeginObject();
      w.Member("name", t.name).Member("description", t.description);
      w.Key("parameters").BeginObject().Member("type", "object").Key("properties").BeginObject();
      w.Key(t.parameter).BeginObject().Member("type", "string");
      w.Member("description", t.parameter_description).EndObject();
      w.EndObject().Key("required").BeginArray().String(t.parameter).EndArray();
      w.EndObject();  // parameters
      w.EndObject().EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return w.Take();
}

// The error message of an `{"error": {"message": ...}}` body, if it is one.
inline std::optional<std::string> ErrorMessage(std::string_view body) {
  std::string ignored;
  std::optional<agent_json::Document> doc =
      agent_json::Document::Parse(body, &ignored, kResponseLimits);
  if (!doc) return std::nullopt;
  agent_json::Value error = doc->root()["error"];
  if (error["message"].is_string()) {
    return std::string(agent_json::Prefix(error["message"].str(), 1024));
  }
  if (error.is_string()) return std::string(agent_json::Prefix(error.str(), 1024));
  return std::nullopt;
}

// Reads a successful response's first choice; nullopt with *error saying what is wrong.
inline std::optional<Reply> ParseReply(std::string_view body, std::string* error) {
  std::string why;
  std::optional<agent_json::Document> doc =
      agent_json::Document::Parse(body, &why, kResponseLimits);
  if (!doc) {
    *error = "the model's response is not valid JSON: " + why;
    return std::nullopt;
  }
  agent_json::Value message = doc->root()["choices"].at(0)["message"];
  if (!message.is_object()) {
    if (std::optional<std::string> e = ErrorMessage(body)) {
      *error = "the model endpoint answered with an error: " + *e;
    } else {
      *error = "the model's response has no choices[0].message object";
    }
    return std::nullopt;
  }
  Reply reply;
  agent_json::Value content = message["content"];
  if (content.is_string()) {
    reply.content = std::string(content.str());
  } else if (content.valid() && !content.is_null()) {
    *error = "the model's message content is neither a string nor null";
    return std::nullopt;
  }
  agent_json::Value calls = message["tool_calls"];
  if (calls.valid() && !calls.is_null() && !calls.is_array()) {
    *error = "the model's tool_calls is not an array";
    return std::nullopt;
  }
  if (calls.size() > kMaxToolCalls) {
    *error = "the model asked for " + std::to_string(calls.size()) +
             " tool calls at once, more than the limit of " + std::to_string(kMaxToolCalls);
    return std::nullopt;
  }
  size_t index = 0;
  for (agent_json::Value c = calls.first(); c.valid(); c = c.next(), ++index) {
    const std::string where = "tool_calls[" + std::to_string(index) + "]";
    agent_json::Value id = c["id"], name = c["function"]["name"];
    agent_json::Value arguments = c["function"]["arguments"];
    if (!id.is_string() || id.str().empty() || id.str().size() > kMaxToolCallIdBytes) {
      *error = "the model's " + where + ".id is not a string of 1 to " +
               std::to_string(kMaxToolCallIdBytes) + " bytes";
      return std::nullopt;
    }
    if (!name.is_string() || name.str().empty() || name.str().size() > kMaxToolNameBytes) {
      *error = "the model's " + where + ".function.name is not a string of 1 to " +
               std::to_string(kMaxToolNameBytes) + " bytes";
      return std::nullopt;
    }
    // Some endpoints send the arguments as an object rather than as its text: take either.
    std::string_view args_text = arguments.is_string()   ? arguments.str()
                                 : arguments.is_object() ? arguments.raw()
                                                         : std::string_view();
    if (args_text.empty() || args_text.size() > kMaxArgumentsBytes) {
      *error = "the model's " + where + ".function.arguments is not JSON text of 1 to " +
               std::to_string(kMaxArgumentsBytes) + " bytes";
      return std::nullopt;
    }
    reply.tool_calls.push_back(
        {std::string(id.str()), std::string(name.str()), std::string(args_text)});
  }
  if (!reply.content && reply.tool_calls.empty()) {
    *error = "the model's message has neither content nor tool calls";
    return std::nullopt;
  }
  return reply;
}

}  // namespace chat_completions
