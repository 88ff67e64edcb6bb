// Theater: a WebAssembly actor runtime.
//
// Shutdown's grace (RuntimeOptions::shutdown_grace, issue 52 item 7) with real spinning guests
// (tests/actors/spinner.c, and the runtime probe's `spin`): Shutdown() lets running calls finish
// within the grace, terminates those that outlive it and returns soon after it ends, instead of
// waiting for each call's deadline; each terminated actor's chain says why; EndShutdownGrace cuts
// the grace short; and a runtime on the same home brings every actor back from its last committed
// state, as after a clean stop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "testing/runtime_test_fixture.h"
#include "testing/stopped_actors.h"
#include "testing/wait_for.h"
#include "theater/chain_store.h"

namespace theater {
namespace {

using namespace testing_util;  // the fixture and its helpers
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

const std::string kSpinner = std::string(THEATER_TEST_ACTOR_DIR) + "/spinner.wasm";

std::string SpinnerManifest(const std::string& name) {
  return "name = \"" + name + "\"\nversion = \"0.1.0\"\ncomponent = \"" + kSpinner +
         "\"\n[[handler]]\ntype = \"message-server\"\n";
}

std::string ProbeManifest() {
  return "name = \"probe\"\nversion = \"0.1.0\"\ncomponent = \"" +
         std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe.wasm\"\n" +
         HandlersOf("runtime_probe.wasm");
}

class RuntimeShutdownTest : public RuntimeTest {
 protected:
  void SetUp() override { home_ = NewTestHome("theater-shutdown"); }

  void StartDurable(std::chrono::milliseconds grace) {
    RuntimeOptions options;
    options.durable_actors = true;
    options.shutdown_grace = grace;
    Start(options);
  }

  std::string Reply(const std::string& id, const std::string& command) {
    return Response(Request(id, command));
  }

  // Sends `command` (one that spins) and waits until the actor runs it.
  std::future<Result<std::vector<Value>>> SpinIn(const std::string& id,
                                                 const std::string& command) {
    auto reply = RequestAsync(id, command);
    EXPECT_TRUE(WaitFor([&] {
      return runtime_->Phase(id).value_or(ActorPhase::kStopped) == ActorPhase::kProcessing;
    })) << id
        << " did not start its call";
    return reply;
  }

  // What the runtime left in its home (the runtime must be gone).
  testing_util::StoppedActors WhatTheRuntimeLeft() { return testing_util::WhatTheHomeHolds(home_); }
};

// Three actors spinning inside a call (two in loops, one a child of an idle parent) and an idle
// one: Shutdown() returns soon after a 1 s grace, not after the 300 s call deadline; the spinning
// calls fail saying why; each spinner's chain records the termination and the idle actors' a
// plain stop; every actor stays recorded as running and comes back from its last committed state.
TEST_F(RuntimeShutdownTest, CallsThatOutliveTheGraceAreTerminatedAndTheirActorsComeBack) {
  constexpr auto kGrace = 1000ms;
  StartDurable(kGrace);
  const std::string loop = Spawn(SpinnerManifest("loop"));
  const std::string recurse = Spawn(SpinnerManifest("recurse"));
  const std::string parent = Spawn(ProbeManifest());
  ASSERT_FALSE(loop.empty());
  ASSERT_FALSE(recurse.empty());
  ASSERT_FALSE(parent.empty());
  const std::string child = Reply(parent, "spawn:" + ProbeManifest());
  ASSERT_EQ(child.size(), 36u) << child;
  EXPECT_EQ(Reply(child, "count"), "1");
  EXPECT_EQ(Reply(child, "count"), "2");
  EXPECT_EQ(Reply(parent, "count"), "1");
  const std::string child_state = State(child);

  std::vector<std::future<Result<std::vector<Value>>>> spinning;
  spinning.push_back(SpinIn(loop, "loop"));
  spinning.push_back(SpinIn(recurse, "recurse"));
  spinning.push_back(SpinIn(child, "spin"));

  const auto start = Clock::now();
  Status shut = runtime_->Shutdown();
  const auto took = Clock::now() - start;
  ASSERT_TRUE(shut.ok()) << shut.ToString();
  EXPECT_GE(took, kGrace - 50ms) << "the calls were cut off before their grace ended";
  // The margin is for a busy machine: terminating an interrupted call takes microseconds.
  EXPECT_LT(took, kGrace + 4s) << "Shutdown() waited for the calls instead of ending them";
  std::printf(
      "Shutdown() with 3 spinning calls and a 1 s grace took %lld ms\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  for (auto& reply : spinning) {
    ASSERT_EQ(reply.wait_for(10s), std::future_status::ready);
    Result<std::vector<Value>> r = reply.get();
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().ToString(), HasSubstr("outlived the 1 s shutdown grace"));
  }

  runtime_.reset();
  const testing_util::StoppedActors left = WhatTheRuntimeLeft();
  const std::string terminated =
      "terminated: the host stopped and the call outlived the 1 s shutdown grace";
  EXPECT_EQ(left.stopped_because.at(loop), terminated);
  EXPECT_EQ(left.stopped_because.at(recurse), terminated);
  EXPECT_EQ(left.stopped_because.at(child), terminated);
  EXPECT_EQ(left.stopped_because.at(parent), "stopped");  // it ran nothing: a plain stop
  for (const std::string& id : {loop, recurse, parent, child}) {
    EXPECT_EQ(left.status.at(id), "running") << id << " is not kept for recovery";
  }

  StartDurable(kGrace);
  Result<RecoveryReport> report = runtime_->Recover();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->recovered, 4u);
  EXPECT_EQ(report->failed, 0u);
  // From the last committed state: the interrupted call left nothing behind.
  EXPECT_EQ(State(child), child_state);
  EXPECT_EQ(Reply(child, "count"), "3");
  EXPECT_EQ(Reply(parent, "count"), "2");
  EXPECT_EQ(Reply(loop, "ping"), "pong");
  EXPECT_EQ(Reply(recurse, "ping"), "pong");
  Result<std::vector<std::string>> children = runtime_->Children(parent);
  ASSERT_TRUE(children.ok());
  EXPECT_THAT(*children, ::testing::ElementsAre(child));
  for (const std::string& id : {loop, recurse, parent, child}) {
    EXPECT_TRUE(runtime_->VerifyChain(id).ok()) << id;
  }
  // TearDown replays every chain, the terminated calls included.
}

// A call that ends within the grace is not cut off: it finishes, and so does Shutdown(), without
// waiting for the rest of the grace.
TEST_F(RuntimeShutdownTest, ACallThatEndsWithinTheGraceFinishes) {
  StartDurable(60s);
  const std::string id = Spawn(ProbeManifest());
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Reply(id, "count"), "1");
  auto reply = SpinIn(id, "sleep:300");
  const auto start = Clock::now();
  ASSERT_TRUE(runtime_->Shutdown().ok());
  EXPECT_LT(Clock::now() - start, 30s);
  ASSERT_EQ(reply.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(Response(reply.get()), "slept");
  runtime_.reset();
  const testing_util::StoppedActors left = WhatTheRuntimeLeft();
  EXPECT_EQ(left.stopped_because.at(id), "stopped");
  EXPECT_EQ(left.status.at(id), "running");
}

// EndShutdownGrace (a server's second SIGTERM) ends a long grace at once, from another thread.
TEST_F(RuntimeShutdownTest, EndShutdownGraceTerminatesAtOnce) {
  StartDurable(600s);
  const std::string id = Spawn(SpinnerManifest("loop"));
  ASSERT_FALSE(id.empty());
  auto reply = SpinIn(id, "loop");
  auto shutdown = std::async(std::launch::async, [&] { return runtime_->Shutdown(); });
  // Shutdown() has begun once the actor is stopping (and still spinning, for 600 s).
  ASSERT_TRUE(WaitFor([&] {
    return runtime_->Phase(id).value_or(ActorPhase::kStopped) == ActorPhase::kShuttingDown;
  }));
  EXPECT_EQ(shutdown.wait_for(0s), std::future_status::timeout);
  const auto cut = Clock::now();
  runtime_->EndShutdownGrace();
  ASSERT_EQ(shutdown.wait_for(30s), std::future_status::ready);
  EXPECT_LT(Clock::now() - cut, 10s);
  EXPECT_TRUE(shutdown.get().ok());
  ASSERT_EQ(reply.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(reply.get().ok());
  runtime_.reset();
  const testing_util::StoppedActors left = WhatTheRuntimeLeft();
  EXPECT_THAT(left.stopped_because.at(id), HasSubstr("cutting its 600 s shutdown grace short"));
  EXPECT_EQ(left.status.at(id), "running");
}

// A grace of zero terminates at once; one called for before Shutdown() does too.
TEST_F(RuntimeShutdownTest, AZeroGraceOrAnEarlyEndTerminatesAtOnce) {
  for (bool early : {false, true}) {
    StartDurable(early ? 600s : 0ms);
    const std::string id = Spawn(SpinnerManifest("loop"));
    ASSERT_FALSE(id.empty());
    auto reply = SpinIn(id, "loop");
    if (early) runtime_->EndShutdownGrace();
    const auto start = Clock::now();
    ASSERT_TRUE(runtime_->Shutdown().ok());
    EXPECT_LT(Clock::now() - start, 10s) << (early ? "early end" : "zero grace");
    ASSERT_EQ(reply.wait_for(10s), std::future_status::ready);
    EXPECT_FALSE(reply.get().ok());
  }
  runtime_.reset();  // shut down: nothing left to replay
}

// A negative grace, or one past kMaxShutdownGrace, is refused, naming the limit.
TEST_F(RuntimeShutdownTest, AGraceOutOfBoundsIsRefused) {
  for (std::chrono::milliseconds grace : {-1ms, kMaxShutdownGrace + 1ms}) {
    RuntimeOptions options = TestRuntimeOptions(home_);
    options.shutdown_grace = grace;
    auto created = TheaterRuntime::Create(options, BuiltinHandlers());
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(created.status().ToString(), HasSubstr("shutdown_grace must be between 0 and"));
  }
  RuntimeOptions options = TestRuntimeOptions(home_);
  options.shutdown_grace = kMaxShutdownGrace;
  EXPECT_TRUE(TheaterRuntime::Create(options, BuiltinHandlers()).ok());
}

}  // namespace
}  // namespace theater
