// Theater: a WebAssembly actor runtime.
//
// The timing handler end to end with real actors (tests/actors/runtime_probe.c's `sleep:<ms>`)
// in a real runtime: a sleeping call holds no worker thread, and a sleep that would outlast the
// call's deadline is refused at once. (src/runtime/runtime_test.cc has a terminate that cancels a
// sleep.)
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

using abi::Value;
using namespace std::chrono_literals;
using namespace testing_util;  // the fixture and its helpers

TEST_F(RuntimeTest, SleepingActorsDoNotHoldWorkers) {
  // 2 workers, 200 actors each sleeping 300 ms: if a sleep held its worker this would take
  // 30 s; suspended, it takes about one sleep.
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(Spawn(ProbeManifest()));
  auto start = std::chrono::steady_clock::now();
  std::vector<std::future<Result<std::vector<Value>>>> replies;
  for (const auto& id : ids) replies.push_back(RequestAsync(id, "sleep:300"));
  for (auto& r : replies) EXPECT_EQ(Response(r.get()), "slept");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);  // half the 30 s held workers take
}

TEST_F(RuntimeTest, SleepBeyondTheCallDeadlineIsRefused) {
  std::string id = Spawn(ProbeManifest("[limits]\ncall_deadline_ms = 100\n"));
  std::string r = Response(Request(id, "sleep:1000"));
  EXPECT_NE(r.find("error:"), std::string::npos) << r;
  EXPECT_NE(r.find("deadline"), std::string::npos) << r;
  EXPECT_TRUE(Running(id));
}

}  // namespace
}  // namespace theater
