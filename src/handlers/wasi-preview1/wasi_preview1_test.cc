// Theater: a WebAssembly actor runtime.
//
// The wasi-preview1 handler end to end with a real core module built against wasi-libc
// (tests/actors/wasi_p1_probe.c): stdout and stderr become log lines (a line split over two
// writes included), clocks, entropy and the empty environment answer, the nondeterministic calls
// are in the chain, and a parent can disallow the handler for a child. Hostile arguments to each
// function are src/runtime/hostile_host_calls_test.cc's.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

using namespace testing_util;  // the fixture and its helpers

std::string WasiProbeManifest(const std::string& extra = "") {
  return "name = \"wasi-p1-probe\"\nversion = \"0.1.0\"\ncomponent = \"" +
         std::string(THEATER_TEST_ACTOR_DIR) + "/wasi_p1_probe.wasm\"\n" + extra;
}

class WasiPreview1Test : public RuntimeTest {
 protected:
  std::vector<std::string> LogLines(size_t at_least) {
    WaitFor([&] {
      std::lock_guard<std::mutex> lock(log_mu_);
      return log_.size() >= at_least;
    });
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }
};

TEST_F(WasiPreview1Test, StdioClocksEntropyAndTheEnvironmentWorkAndAreRecorded) {
  const std::string id = Spawn(WasiProbeManifest());
  ASSERT_FALSE(id.empty());
  const std::vector<std::string> expected = {"hello from stdout", "second line, 42",
                                             "and one from stderr",
                                             "probe: clock=1 monotonic=1 entropy=1 env=none"};
  EXPECT_EQ(LogLines(expected.size()), expected);

  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  auto count = [&](std::string_view type) {
    return std::count_if(events->begin(), events->end(),
                         [&](const chain::Event& e) { return e.type == type; });
  };
  // The wall and the monotonic clock, and the entropy: what a replay needs.
  EXPECT_EQ(count("wasi_snapshot_preview1/clock_time_get"), 2);
  EXPECT_EQ(count("wasi_snapshot_preview1/random_get"), 1);
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
}

// A parent can disallow WASI preview 1 for a child: the child's first WASI call traps (a core
// function has no error value to return), so its init fails and it never runs; the parent, which
// has the permission, runs the same module.
TEST_F(WasiPreview1Test, AParentCanDisallowItForAChild) {
  const std::string parent = Spawn(WasiProbeManifest());
  ASSERT_FALSE(parent.empty());
  SpawnRequest request;
  request.parent_id = parent;
  request.manifest = WasiProbeManifest("[permission_policy.wasi_preview1]\ntype = \"disallow\"\n");
  Result<std::string> child = runtime_->Spawn(request);
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.status().ToString().find(
                "wasi_snapshot_preview1.fd_fdstat_get: Handler type 'wasi-preview1' not "
                "permitted by effective permissions"),
            std::string::npos)
      << child.status().ToString();
  EXPECT_EQ(runtime_->List().size(), 1u);
}

}  // namespace
}  // namespace theater
