// {{project_name}}: a minimal Theater actor in C++.
//
// init runs once when the actor starts. It logs a greeting and keeps a JSON state,
// {"starts": N}, that counts how often it started.
//
// The actor implements the WIT world `minimal` (wit/worlds.wit): bindings/minimal.hpp, generated
// by `theater bindgen`, declares what the host provides (minimal::runtime::Log, ...) and the
// function this file defines (minimal::exports::actor::Init), with short names for its types
// (InitResult, InitParams, State). Exports take their arguments by value and return owning
// values; nothing throws.
#include <cstdlib>
#include <string>

#include "minimal.hpp"

namespace minimal::exports::actor {

InitResult Init(State state, InitParams params) {
  const auto& [actor_id] = params;
  runtime::Log("Hello from {{project_name}} (" + actor_id + ")!");

  // The state is the JSON text of init.json; find the number after "starts".
  const std::string json = state ? std::string(state->begin(), state->end()) : std::string();
  unsigned long starts = 0;
  if (size_t key = json.find("\"starts\""); key != std::string::npos) {
    if (size_t colon = json.find(':', key); colon != std::string::npos) {
      starts = std::strtoul(json.c_str() + colon + 1, nullptr, 10);
    }
  }
  starts++;
  runtime::Log("started " + std::to_string(starts) + " time(s)");
  const std::string next = "{\"starts\": " + std::to_string(starts) + "}";
  return InitResult::Ok(std::vector<uint8_t>(next.begin(), next.end()));
}

}  // namespace minimal::exports::actor
