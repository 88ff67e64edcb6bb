// Theater: a WebAssembly actor runtime.
//
// The victim of the runtime's kill -9 test (runtime_test.cc, KillNineDuringChainWrites): runs
// actors whose chains are saved and keeps them busy until it is killed.
//
//   runtime_crash_child <home> <probe.wasm> <none|batched|strict> [durable]
//
// Prints "ready" once chains are being written, then calls actors forever. With `durable` (the
// recovery test, recovery_test.cc) its actors are durable, and every other one has a state
// large enough to be recorded by digest.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "theater/runtime.h"
#include "theater/builtins.h"

int main(int argc, char** argv) {
  using namespace theater;
  const bool durable = argc == 5 && std::string(argv[4]) == "durable";
  if (argc != 4 && !durable) {
    std::fprintf(stderr, "usage: runtime_crash_child <home> <probe.wasm> <durability> [durable]\n");
    return 2;
  }
  RuntimeOptions options;
  options.home = argv[1];
  options.workers = 2;
  options.engine.progress = engine::EngineOptions::Progress::kOff;
  if (const char* shared = std::getenv("THEATER_HOME")) {
    options.engine.cache_dir = std::string(shared) + "/cache";
  }
  Result<chain::Durability> durability = chain::ParseDurability(argv[3]);
  if (!durability.ok()) {
    std::fprintf(stderr, "%s\n", durability.status().ToString().c_str());
    return 2;
  }
  options.durability = *durability;
  options.durable_actors = durable;
  options.log_sink = [](std::string_view, std::string_view, std::string_view) {};
  auto runtime = TheaterRuntime::Create(options, BuiltinHandlers());
  if (!runtime.ok()) {
    std::fprintf(stderr, "%s\n", runtime.status().ToString().c_str());
    return 1;
  }
  std::string manifest = "name = \"victim\"\nversion = \"1\"\nsave_chain = true\ncomponent = \"" +
                         std::string(argv[2]) + "\"\nauto_handlers = true\n";
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    SpawnRequest request;
    request.manifest = manifest;
    auto id = (*runtime)->Spawn(request);
    if (!id.ok()) {
      std::fprintf(stderr, "%s\n", id.status().ToString().c_str());
      return 1;
    }
    ids.push_back(*id);
    if (durable && i % 2 == 0) {
      auto padded = (*runtime)->Call(
          *id, "theater:simple/message-server-client", "handle-request",
          {abi::Value::String("r"), abi::Value::Bytes({'p', 'a', 'd', ':', '2', '0', '0', '0'})});
      if (!padded.ok()) {
        std::fprintf(stderr, "%s\n", padded.status().ToString().c_str());
        return 1;
      }
    }
  }
  for (uint64_t n = 0;; ++n) {
    auto r = (*runtime)->Call(
        ids[n % ids.size()], "theater:simple/message-server-client", "handle-request",
        {abi::Value::String("r"), abi::Value::Bytes({'c', 'o', 'u', 'n', 't'})});
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    if (n == 200) std::cout << "ready" << std::endl;
  }
}
