// Theater: a WebAssembly actor runtime.
//
// Helpers the runtime's end-to-end tests share: a runtime configured for tests (two workers, the
// build's shared compile cache, no progress lines) in a fresh temporary home, and polling.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/uuid.h"
#include "theater/runtime.h"

namespace theater::testing_util {

// A fresh directory under the system's temporary directory, e.g. /tmp/theater-msg-<uuid>.
inline std::filesystem::path NewTestHome(std::string_view prefix) {
  std::filesystem::path home =
      std::filesystem::temp_directory_path() / (std::string(prefix) + "-" + NewUuid());
  std::filesystem::create_directories(home);
  return home;
}

// Options for a runtime under test in `home`.
inline RuntimeOptions TestRuntimeOptions(const std::filesystem::path& home) {
  RuntimeOptions options;
  options.home = home;
  options.workers = 2;
  options.engine.cache_dir = std::string(THEATER_BUILD_DIR) + "/test-home/cache";
  options.engine.progress = engine::EngineOptions::Progress::kOff;
  return options;
}

// What a test actor's manifest says about the handlers its module uses (actors declare them;
// docs/manifest.md, "Handlers"), to append after the manifest's top-level keys: the messaging
// actors (messenger, bench_actor) declare message-server and timing; the runtime probe, which
// imports nearly every handler's interface, has the runtime add them (auto_handlers).
inline std::string HandlersOf(std::string_view component) {
  if (component.ends_with("runtime_probe.wasm")) return "auto_handlers = true\n";
  return "\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\ntype = \"timing\"\n";
}

inline std::vector<uint8_t> Bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

// Polls `pred` every 2 ms until it holds or `timeout` passes; returns its last answer.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

}  // namespace theater::testing_util
