// Theater: a WebAssembly actor runtime.
//
// Helpers the runtime's end-to-end tests share: a runtime configured for tests (two workers, the
// build's shared compile cache, no progress lines) in a fresh temporary home, and polling
// (WaitFor, testing/wait_for.h).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/uuid.h"
#include "testing/wait_for.h"
#include "theater/runtime.h"

namespace theater::testing_util {

// A fresh directory under the system's temporary directory, e.g. /tmp/theater-msg-<uuid>.
inline std::filesystem::path NewTestHome(std::string_view prefix) {
  std::filesystem::path home =
      std::filesystem::temp_directory_path() / (std::string(prefix) + "-" + NewUuid());
  std::filesystem::create_directories(home);
  return home;
}

// Replays the chain of every actor `runtime` knows, running or stored (theater/replay.h), and
// expects each to come out identical: the fixtures call it before they stop their runtime, so
// every actor of every integration test is also a replay test. A chain the runtime did not keep
// (save_chain = false), one whose first events retention pruned, and one a test damaged (which
// verification refuses too) cannot be replayed (docs/replay.md, "What cannot be replayed"); any
// other error fails the test.
inline void ExpectEveryChainReplays(TheaterRuntime& runtime) {
  std::set<std::string> ids;
  for (const ActorSummary& actor : runtime.List()) ids.insert(actor.id);
  if (chain::ChainStore* store = runtime.store()) {
    Result<std::vector<chain::ActorRecord>> stored = store->ListActors();
    if (stored.ok()) {
      for (const chain::ActorRecord& record : *stored) ids.insert(record.actor_id);
    }
  }
  for (const std::string& id : ids) {
    Result<ReplayReport> report = runtime.Replay(id, {});
    if (!report.ok()) {
      const std::string why = report.status().ToString();
      // A chain a test damaged on purpose is refused, as verification refuses it.
      const bool damaged =
          why.find("does not verify") != std::string::npos && !runtime.VerifyChain(id).ok();
      const bool not_kept = why.find("was not kept") != std::string::npos ||
                            why.find("are no longer held") != std::string::npos;
      EXPECT_TRUE(not_kept || damaged) << "replaying actor " << id << ": " << why;
      continue;
    }
    EXPECT_TRUE(report->identical())
        << "the chain of actor " << id << " diverges at event #" << report->divergence->index
        << "\n  expected: " << report->divergence->expected
        << "\n  got:      " << report->divergence->got << "\n"
        << report->divergence->detail;
  }
}

// Options for a runtime under test in `home`.
inline RuntimeOptions TestRuntimeOptions(const std::filesystem::path& home) {
  RuntimeOptions options;
  options.home = home;
  options.workers = 2;
  options.engine.cache_dir = std::string(THEATER_BUILD_DIR) + "/test-home/cache";
  options.engine.progress = engine::EngineOptions::Progress::kOff;
  // The test actors, which tests' actors spawn as children from anywhere.
  options.spawn_roots = {THEATER_TEST_ACTOR_DIR};
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

}  // namespace theater::testing_util
