// hello-cpp: the hello actor (examples/hello/hello.c) written in C++ with theater.hpp.
//
// init logs "Hello from <actor-id>!", increments "count" in the JSON document kept as the
// actor's state (init.json to begin with), and returns the updated document as the new state.
//
// Build (what examples/CMakeLists.txt does):
//   clang-14 --target=wasm32-wasi -O2 -mexec-model=reactor -std=c++17 -fno-exceptions -I sdk/c \
//     -lc-printscan-long-double -lc++ -lc++abi -o hello-cpp.wasm examples/hello-cpp/hello.cc
#include <theater/theater.hpp>

#include <string>
#include <string_view>

namespace {

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

theater::Result Init(theater::State& state, std::string_view actor_id) {
  theater::log("Hello from " + std::string(actor_id) + "!");

  std::string json = state ? std::string(theater::as_string_view(*state)) : std::string();
  auto [begin, end] = FindCount(json);
  if (begin == std::string::npos) {
    // No state, or no counter in it: start a fresh document.
    state = theater::to_bytes(R"({"greeting": "Hello", "count": 1})");
    theater::log("count = 1 (new state)");
    return theater::Result::ok();
  }
  if (end - begin > 18) {  // would overflow; the host keeps the old state on error
    return theater::Result::err("count " + json.substr(begin, end - begin) + " is too large");
  }
  uint64_t count = 0;
  for (size_t i = begin; i < end; i++) count = count * 10 + static_cast<uint64_t>(json[i] - '0');
  count++;
  json.replace(begin, end - begin, std::to_string(count));
  state = theater::to_bytes(json);
  theater::logf("count = %llu", static_cast<unsigned long long>(count));
  return theater::Result::ok();
}

}  // namespace

THEATER_CPP_ACTOR_INIT(Init)
