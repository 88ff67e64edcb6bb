// {{project_name}}: a minimal Theater actor in C++.
//
// init runs once when the actor starts. It logs a greeting and keeps a JSON state,
// {"starts": N}, that counts how often it started.
#include <theater/theater.hpp>

#include <cstdlib>
#include <string>

namespace {

theater::Result Init(theater::State& state, std::string_view actor_id) {
  theater::log("Hello from {{project_name}} (" + std::string(actor_id) + ")!");

  // The state is the JSON text of init.json; find the number after "starts".
  std::string json = state ? std::string(theater::as_string_view(*state)) : std::string();
  unsigned long starts = 0;
  if (size_t key = json.find("\"starts\""); key != std::string::npos) {
    if (size_t colon = json.find(':', key); colon != std::string::npos) {
      starts = std::strtoul(json.c_str() + colon + 1, nullptr, 10);
    }
  }
  starts++;
  theater::logf("started %lu time(s)", starts);
  state = theater::to_bytes("{\"starts\": " + std::to_string(starts) + "}");
  return theater::Result::ok();
}

}  // namespace

THEATER_CPP_ACTOR_INIT(Init)
