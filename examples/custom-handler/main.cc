// custom-handler example: an embedder that adds its own handler to the runtime.
//
// The program registers CounterHandler (counter_handler.h) beside the built-in handlers, spawns
// counter_actor.wasm (built beside this program), which calls the handler's `next` three times
// in its `init` and logs "counter: 1 2 3", prints that line, and checks that the actor's chain
// holds the three calls and replays identical without the handler. Exit status 0 when all of
// that happened.
//
//   build/examples/custom-handler/custom-handler-demo            run it
//   build/examples/custom-handler/custom-handler-demo --chain    also list the chain's events
//
// It uses only the public API (include/theater/): what any program embedding Theater would.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "counter_handler.h"
#include "theater/builtins.h"
#include "theater/runtime.h"

namespace {

// The directory of this program (the actor is built beside it).
std::filesystem::path ProgramDir() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : self.parent_path();
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "custom-handler-demo: error: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool list_chain = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: custom-handler-demo [--chain]\n"
          "Runs an actor that calls a handler defined outside the runtime (example:counter/"
          "counter)\nthree times and prints what it logged. --chain also lists the actor's "
          "chain.\n");
      return 0;
    }
    if (arg == "--chain") {
      list_chain = true;
      continue;
    }
    return Fail("unknown argument '" + std::string(arg) + "' (try --help)");
  }

  // The built-in handlers, and ours beside them.
  theater::HandlerRegistry handlers = theater::BuiltinHandlers();
  if (theater::Status added = handlers.Register(counter_example::NewCounterHandler());
      !added.ok()) {
    return Fail(added.ToString());
  }

  // A runtime that keeps chains in memory; compiled actors are cached under $THEATER_HOME (or
  // ~/.theater) as for the `theater` command.
  theater::RuntimeOptions options;
  options.persist = false;
  std::mutex mu;
  std::vector<std::string> logged;
  options.log_sink = [&](std::string_view, std::string_view, std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    logged.emplace_back(line);
  };
  auto runtime = theater::TheaterRuntime::Create(options, std::move(handlers));
  if (!runtime.ok()) return Fail(runtime.status().ToString());

  // The manifest names the handler and configures it (start = 1, step = 1 are the defaults).
  const std::filesystem::path actor = ProgramDir() / "counter_actor.wasm";
  theater::SpawnRequest request;
  request.manifest = "name = \"counter-demo\"\n"
                     "version = \"0.1.0\"\n"
                     "component = \"" + actor.string() + "\"\n"
                     "\n"
                     "[[handler]]\n"
                     "type = \"counter\"\n"
                     "start = 1\n"
                     "step = 1\n";
  theater::Result<std::string> id = (*runtime)->Spawn(std::move(request));
  if (!id.ok()) return Fail(id.status().ToString());

  // The chain records every call the actor made to the handler, with its result.
  theater::Result<std::vector<theater::chain::Event>> events = (*runtime)->Events(*id);
  if (!events.ok()) return Fail(events.status().ToString());
  size_t counter_calls = 0;
  for (const theater::chain::Event& event : *events) {
    if (event.type == "example:counter/counter/next") ++counter_calls;
    if (list_chain) std::fprintf(stderr, "chain: %s\n", event.type.c_str());
  }
  // The chain replays identical without the handler: the runtime answers its calls from the
  // chain (docs/replay.md).
  theater::Result<theater::ReplayReport> replay = (*runtime)->Replay(*id, {});
  if (!replay.ok()) return Fail("replay: " + replay.status().ToString());
  if (!replay->identical()) {
    return Fail("replay diverged at event #" + std::to_string(replay->divergence->index) + ": " +
                replay->divergence->got);
  }
  if (theater::Status stopped = (*runtime)->Stop(*id); !stopped.ok()) {
    return Fail(stopped.ToString());
  }
  if (theater::Status down = (*runtime)->Shutdown(); !down.ok()) return Fail(down.ToString());

  std::string line;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const std::string& l : logged) {
      if (l.starts_with("counter:")) line = l;
    }
  }
  if (line.empty()) return Fail("the actor logged no counter line");
  std::printf("%s\n", line.c_str());
  if (counter_calls != 3) {
    return Fail("the chain holds " + std::to_string(counter_calls) +
                " calls of example:counter/counter.next, expected 3");
  }
  return 0;
}
