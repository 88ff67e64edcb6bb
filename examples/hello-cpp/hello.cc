// hello-cpp: the hello actor (examples/hello/hello.c) written in C++.
//
// init logs "Hello from <actor-id>!", increments "count" in the JSON document kept as the
// actor's state (init.json to begin with), and returns the updated document as the new state.
//
// The actor is written against the C++ bindings `theater bindgen` generates for the world
// `minimal` of Theater's WIT (docs/bindgen.md): minimal.hpp declares the import
// minimal::runtime::Log and the export this file implements, minimal::exports::actor::Init,
// with short names for its types (InitResult, InitParams, State).
//
// This directory is an actor project: its bindings are checked in (bindings/, made with
// `theater bindgen wit --world minimal --lang cpp --out bindings`; a test holds them to what
// bindgen makes today), so it builds and runs from the source tree:
//   theater build examples/hello-cpp
//   theater run examples/hello-cpp/manifest.toml
// examples/CMakeLists.txt builds the same actor into build/examples/hello-cpp/ with bindings it
// generates there.
#include <string>
#include <string_view>

#include "minimal.hpp"

namespace {

std::vector<uint8_t> ToBytes(std::string_view text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

// Where the digits of the number under "count" are in a JSON object: {begin, end}, or
// {npos, npos}. A real actor would use a JSON library; this one stays dependency-free and does
// not understand escapes.
std::pair<size_t, size_t> FindCount(std::string_view json) {
  constexpr std::string_view kKey = "\"count\"";
  constexpr std::string_view kSpace = " \t\r\n";
  for (size_t at = json.find(kKey); at != std::string_view::npos; at = json.find(kKey, at + 1)) {
    size_t colon = json.find_first_not_of(kSpace, at + kKey.size());
    if (colon == std::string_view::npos || json[colon] != ':') continue;
    size_t begin = json.find_first_not_of(kSpace, colon + 1);
    if (begin == std::string_view::npos) break;
    size_t end = json.find_first_not_of("0123456789", begin);
    if (end == std::string_view::npos) end = json.size();
    if (end > begin) return {begin, end};
  }
  return {std::string_view::npos, std::string_view::npos};
}

}  // namespace

namespace minimal::exports::actor {

// The arguments are this function's to keep; the result is an owning value.
InitResult Init(State state, InitParams params) {
  const auto& [actor_id] = params;
  runtime::Log("Hello from " + actor_id + "!");

  std::string json = state ? std::string(state->begin(), state->end()) : std::string();
  auto [begin, end] = FindCount(json);
  if (begin == std::string::npos) {
    // No state, or no counter in it: start a fresh document.
    runtime::Log("count = 1 (new state)");
    return InitResult::Ok(ToBytes(R"({"greeting": "Hello", "count": 1})"));
  }
  if (end - begin > 18) {  // would overflow; the host keeps the old state on error
    return InitResult::Err("count " + json.substr(begin, end - begin) + " is too large");
  }
  uint64_t count = 0;
  for (size_t i = begin; i < end; i++) count = count * 10 + static_cast<uint64_t>(json[i] - '0');
  count++;
  json.replace(begin, end - begin, std::to_string(count));
  runtime::Log("count = " + std::to_string(count));
  return InitResult::Ok(ToBytes(json));
}

}  // namespace minimal::exports::actor
