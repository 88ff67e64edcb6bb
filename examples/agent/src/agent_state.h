// agent_state: the agent example's state, the JSON document the host keeps between calls.
//
//   {
//     "endpoint": "https://api.openai.com",     // optional; AGENT_ENDPOINT overrides it
//     "model": "gpt-4o-mini",                   // optional; AGENT_MODEL overrides it
//     "system": "You are ...",                  // optional system message
//     "max_tool_rounds": 8,                     // model calls with tools per prompt, at most
//     "tools": {                                // the tools, each a child actor
//       "read_file": {"manifest": "tools/read-file/manifest.toml", "root": "dir"},
//       "fetch_url": {"manifest": "tools/fetch-url/manifest.toml", "allowed_hosts":
//       ["example.com"]}
//     },
//     "prompt": "...",                          // init only: answered at start, then dropped
//     "children": {"read_file": "<actor id>"},  // written by the agent
//     "messages": [{"role": "user", "content": "..."}, ...]   // the conversation
//   }
//
// Each tool's object is given, as it is, to the child as its initial state, which the tool's
// manifest fills its templates from (`{{root}}`, `{{allowed_hosts}}`). Load and Save are pure
// functions over the text, shared with the host-side tests.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json.h"

namespace agent_state {

// A state is the conversation and its settings; larger means a runaway conversation.
inline constexpr agent_json::Limits kStateLimits{
    .max_bytes = 8u << 20, .max_depth = 32, .max_values = 1u << 18};
inline constexpr int64_t kDefaultMaxToolRounds = 8;
inline constexpr int64_t kMaxToolRoundsLimit = 64;

struct Tool {
  std::string name;
  std::string manifest;
  std::string config;  // the tool's object, JSON text: the child's initial state
};

struct AgentState {
  std::string endpoint;
  std::string model;
  std::string system;
  int64_t max_tool_rounds = kDefaultMaxToolRounds;
  std::vector<Tool> tools;
  std::string prompt;
  std::vector<std::pair<std::string, std::string>> children;  // tool name -> child actor id
  std::vector<std::string> messages;                          // JSON objects

  const std::string* ChildOf(std::string_view tool) const {
    for (const auto& [name, id] : children) {
      if (name == tool) return &id;
    }
    return nullptr;
  }
  void SetChild(std::string_view tool, std::string id) {
    for (auto& [name, child] : children) {
      if (name == tool) {
        child = std::move(id);
        return;
      }
    }
    children.emplace_back(std::string(tool), std::move(id));
  }
};

// Reads a state document; an absent or empty state is a fresh agent with default settings.
inline std::optional<AgentState> Load(std::string_view text, std::string* error) {
  AgentState state;
  if (text.empty()) return state;
  std::string why;
  std::optional<agent_json::Document> doc = agent_json::Document::Parse(text, &why, kStateLimits);
  if (!doc) {
    *error = "the state is not valid JSON: " + why;
    return std::nullopt;
  }
  agent_json::Value root = doc->root();
  if (!root.is_object()) {
    *error = "the state is not a JSON object";
    return std::nullopt;
  }
  // Optional strings: absent is fine, another type is a mistake worth naming.
  const auto string_field = [&](std::string_view key, std::string* out) {
    agent_json::Value v = root[key];
    if (!v.valid() || v.is_null()) return true;
    if (!v.is_string()) {
      *error = "state field '" + std::string(key) + "' must be a string";
      return false;
    }
    *out = std::string(v.str());
    return true;
  };
  if (!string_field("endpoint", &state.endpoint) || !string_field("model", &state.model) ||
      !string_field("system", &state.system) || !string_field("prompt", &state.prompt)) {
    return std::nullopt;
  }
  if (agent_json::Value rounds = root["max_tool_rounds"]; rounds.valid()) {
    std::optional<int64_t> n = rounds.integer();
    if (!n || *n < 1 || *n > kMaxToolRoundsLimit) {
      *error = "state field 'max_tool_rounds' must be an integer from 1 to " +
               std::to_string(kMaxToolRoundsLimit);
      return std::nullopt;
    }
    state.max_tool_rounds = *n;
  }
  agent_json::Value tools = root["tools"];
  if (tools.valid() && !tools.is_object()) {
    *error = "state field 'tools' must be an object";
    return std::nullopt;
  }
  for (agent_json::Value t = tools.first(); t.valid(); t = t.next()) {
    if (!t.is_object() || !t["manifest"].is_string() || t["manifest"].str().empty()) {
      *error = "state field 'tools." + std::string(t.key()) +
               "' must be an object with a non-empty string 'manifest'";
      return std::nullopt;
    }
    state.tools.push_back(
        {std::string(t.key()), std::string(t["manifest"].str()), std::string(t.raw())});
  }
  agent_json::Value children = root["children"];
  for (agent_json::Value c = children.first(); c.valid(); c = c.next()) {
    if (children.is_object() && c.is_string()) state.SetChild(c.key(), std::string(c.str()));
  }
  agent_json::Value messages = root["messages"];
  if (messages.valid() && !messages.is_array()) {
    *error = "state field 'messages' must be an array";
    return std::nullopt;
  }
  for (agent_json::Value m = messages.first(); m.valid(); m = m.next()) {
    if (!m.is_object() || !m["role"].is_string()) {
      *error = "state field 'messages' must hold objects with a string 'role'";
      return std::nullopt;
    }
    state.messages.emplace_back(m.raw());
  }
  return state;
}

// The state document (the prompt is left out: once answered it lives in the messages).
inline std::string Save(const AgentState& state) {
  agent_json::Writer w;
  w.BeginObject();
  if (!state.endpoint.empty()) w.Member("endpoint", state.endpoint);
  if (!state.model.empty()) w.Member("model", state.model);
  if (!state.system.empty()) w.Member("system", state.system);
  w.Key("max_tool_rounds").Int(state.max_tool_rounds);
  w.Key("tools").BeginObject();
  for (const Tool& t : state.tools) w.Key(t.name).Raw(t.config);
  w.EndObject();
  w.Key("children").BeginObject();
  for (const auto& [name, id] : state.children) w.Member(name, id);
  w.EndObject();
  w.Key("messages").BeginArray();
  for (const std::string& m : state.messages) w.Raw(m);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace agent_state
