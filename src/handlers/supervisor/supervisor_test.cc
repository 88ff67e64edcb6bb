// Theater: a WebAssembly actor runtime.
//
// The supervisor handler end to end with real actors (tests/actors/runtime_probe.c spawning,
// listing, inspecting, stopping and restarting its children) in a real runtime: children spawned
// from init, notifications to their own supervisor only, children stopped first, the restart
// strategies and their intensity budget, and a child's permissions narrowed from its parent's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

using abi::Value;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using namespace testing_util;  // the fixture and its helpers

TEST_F(RuntimeTest, SupervisorSpawnsListsInspectsAndStopsChildren) {
  std::string parent = Spawn(ProbeManifest());
  std::string child = Response(Request(parent, "spawn:" + ProbeManifest("", "child")));
  ASSERT_TRUE(IsUuid(child)) << child;
  EXPECT_EQ(runtime_->Children(parent).value(), std::vector<std::string>{child});
  EXPECT_EQ(Response(Request(parent, "children")), child);
  EXPECT_EQ(runtime_->List().size(), 2u);
  ASSERT_EQ(Response(Request(child, "count")), "1");
  EXPECT_EQ(Response(Request(parent, "child-state:" + child)), "1");
  std::string stranger = Spawn(ProbeManifest());
  EXPECT_NE(Response(Request(parent, "stop-child:" + stranger)).find("not a child"),
            std::string::npos);
  EXPECT_NE(Response(Request(parent, "child-state:" + stranger)).find("not a child"),
            std::string::npos);
  EXPECT_EQ(Response(Request(parent, "stop-child:" + child)), "ok");
  EXPECT_FALSE(Running(child));
  EXPECT_EQ(Response(Request(parent, "children")), "");
  EXPECT_EQ(State(parent).find("child-external-stop"), std::string::npos)
      << "a stop the supervisor asked for is not reported back to it";
}

TEST_F(RuntimeTest, AParentMaySpawnChildrenFromItsOwnInit) {
  std::string child_manifest = "child.toml";
  std::filesystem::path path = home_ / child_manifest;
  {
    std::ofstream out(path);
    out << ProbeManifest("", "child");
  }
  // The parent's manifest beside the child's: an actor's spawn reads files of its own package.
  std::ofstream(home_ / "parent.toml") << ProbeManifest("", "parent");
  std::string parent =
      Spawn((home_ / "parent.toml").string(), "\"spawn-in-init:" + path.string() + "\"");
  ASSERT_FALSE(parent.empty());
  auto children = runtime_->Children(parent).value();
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(State(parent), "0|spawned:" + children[0]);
  EXPECT_EQ(runtime_->List().size(), 2u);
}

TEST_F(RuntimeTest, SupervisorsHearAboutTheirOwnChildrenOnly) {
  std::string a = Spawn(ProbeManifest());
  std::string b = Spawn(ProbeManifest());
  std::string child_a = Response(Request(a, "spawn:" + ProbeManifest()));
  std::string child_b = Response(Request(b, "spawn:" + ProbeManifest()));
  ASSERT_TRUE(IsUuid(child_a) && IsUuid(child_b));

  EXPECT_FALSE(Request(child_a, "trap").ok());
  ASSERT_TRUE(WaitFor([&] {
    return State(a).find("child-error:" + child_a + ":5:") != std::string::npos;
  })) << State(a);
  EXPECT_NE(State(a).find("unreachable"), std::string::npos) << State(a);

  EXPECT_EQ(Response(Request(child_b, "shutdown:bye")), "ok");
  ASSERT_TRUE(WaitFor([&] {
    return State(b).find("child-exit:" + child_b + ":bye") != std::string::npos;
  })) << State(b);
  EXPECT_EQ(State(a).find(child_b), std::string::npos);
  EXPECT_EQ(State(b).find(child_a), std::string::npos);
  EXPECT_FALSE(Running(child_b));

  std::string child_c = Response(Request(a, "spawn:" + ProbeManifest()));
  ASSERT_TRUE(runtime_->Stop(child_c).ok());
  ASSERT_TRUE(WaitFor([&] {
    return State(a).find("child-external-stop:" + child_c) != std::string::npos;
  })) << State(a);
}

// With no restart strategy the parent decides: a failed child stays its child (listed, its last
// state readable) until it restarts it, from its manifest with its chain going on, or lets it go
// with stop-child (a parent could not restart a failed child from handle-child-error: it was no
// longer its child by then).
TEST_F(RuntimeTest, AFailedChildStaysItsParentsUntilItRestartsOrLetsItGo) {
  std::string parent = Spawn(ProbeManifest());
  std::string child = Response(Request(parent, "spawn:" + ProbeManifest("", "child")));
  ASSERT_TRUE(IsUuid(child)) << child;
  ASSERT_EQ(Response(Request(child, "count")), "1");
  EXPECT_FALSE(Request(child, "trap").ok());
  ASSERT_TRUE(WaitFor([&] {
    return State(parent).find("child-error:" + child) != std::string::npos;
  })) << State(parent);
  EXPECT_FALSE(Running(child));
  EXPECT_EQ(Response(Request(parent, "children")), child);
  EXPECT_EQ(runtime_->Children(parent).value(), std::vector<std::string>{child});
  EXPECT_EQ(Response(Request(parent, "child-state:" + child)), "1") << "the state it failed with";

  EXPECT_EQ(Response(Request(parent, "restart-child:" + child)), "ok");
  EXPECT_TRUE(Running(child));
  EXPECT_EQ(State(child), "0") << "started afresh from its manifest";
  EXPECT_EQ(Response(Request(child, "count")), "1");
  Result<std::vector<chain::Event>> events = runtime_->Events(child);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  EXPECT_TRUE(chain::VerifyEvents(*events).ok()) << "its chain goes on";
  bool restart_recorded = false;
  for (const chain::Event& e : *events) {
    const std::string payload(e.payload.begin(), e.payload.end());
    if (payload.find("restarted by supervisor " + parent) != std::string::npos) {
      restart_recorded = true;
    }
  }
  EXPECT_TRUE(restart_recorded);

  // It fails again; stop-child lets it go, and it is no one's child any more.
  EXPECT_FALSE(Request(child, "trap").ok());
  ASSERT_TRUE(WaitFor([&] { return !Running(child); }));
  ASSERT_TRUE(WaitFor([&] { return Response(Request(parent, "children")) == child; }));
  EXPECT_EQ(Response(Request(parent, "stop-child:" + child)), "ok");
  EXPECT_EQ(Response(Request(parent, "children")), "");
  EXPECT_THAT(Response(Request(parent, "restart-child:" + child)), HasSubstr("not a child"));
  EXPECT_FALSE(Running(child));
  EXPECT_EQ(runtime_->List().size(), 1u);
}

TEST_F(RuntimeTest, RunawayChildIsReportedAsATimeout) {
  std::string parent = Spawn(ProbeManifest());
  std::string child =
      Response(Request(parent, "spawn:" + ProbeManifest("[limits]\ncall_deadline_ms = 100\n")));
  ASSERT_TRUE(IsUuid(child)) << child;
  EXPECT_EQ(Request(child, "spin").status().code(), StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(WaitFor([&] {
    return State(parent).find("child-error:" + child + ":0:") != std::string::npos;
  })) << State(parent);
}

TEST_F(RuntimeTest, StoppingAParentStopsItsChildrenFirstNewestFirst) {
  std::string parent = Spawn(ProbeManifest());
  std::vector<std::string> children;
  for (int i = 0; i < 3; ++i)
    children.push_back(Response(Request(parent, "spawn:" + ProbeManifest())));
  auto sub = runtime_->Subscribe("", 1000, chain::OverflowPolicy::kStrict);
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(runtime_->Stop(parent).ok());
  EXPECT_TRUE(runtime_->List().empty());
  std::vector<std::string> stopped;
  while (auto d = sub->TryNext()) {
    auto payload = chain::DecodePayload(d->event.payload);
    if (!payload.ok()) continue;
    if (auto* life = std::get_if<chain::Lifecycle>(&*payload)) {
      if (life->kind == "actor-stopped") stopped.push_back(d->actor_id);
    }
  }
  EXPECT_EQ(stopped, (std::vector<std::string>{children[2], children[1], children[0], parent}));
}

TEST_F(RuntimeTest, OneForOneRestartsTheFailedChildUntilTheBudgetIsSpent) {
  std::string parent = Spawn(ProbeManifest(
      "[[handler]]\ntype = \"supervisor\"\nstrategy = \"one-for-one\"\nmax_restarts = 2\n"
      "restart_period_ms = 60000\n"));
  std::string child = Response(Request(parent, "spawn:" + ProbeManifest()));
  ASSERT_TRUE(IsUuid(child));
  for (int round = 1; round <= 2; ++round) {
    ASSERT_EQ(Response(Request(child, "count")), "1");
    EXPECT_FALSE(Request(child, "trap").ok());
    ASSERT_TRUE(WaitFor([&] {
      auto phase = runtime_->Phase(child);
      return phase.ok() && *phase == ActorPhase::kIdle && State(child) == "0";
    })) << "round "
        << round;
    EXPECT_EQ(runtime_->Children(parent).value(), std::vector<std::string>{child});
  }
  auto chain = runtime_->Events(child);
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain::VerifyEvents(*chain).ok()) << "the restarted child's chain continues";
  // The third failure exceeds the budget: the supervisor fails upward.
  EXPECT_FALSE(Request(child, "trap").ok());
  ASSERT_TRUE(WaitFor([&] { return !Running(parent) && !Running(child) && !TopLevel().empty(); }));
  auto events = TopLevel();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].child_id, parent);
  EXPECT_NE(events[0].error.ToString().find("restart intensity exceeded"), std::string::npos)
      << events[0].error.ToString();
}

TEST_F(RuntimeTest, ARestartStormEndsWithTheSupervisorFailingUpward) {
  std::string grandparent = Spawn(ProbeManifest());
  std::string parent = Response(
      Request(grandparent, "spawn:" + ProbeManifest("[[handler]]\ntype = \"supervisor\"\n"
                                                    "strategy = \"one-for-one\"\nmax_restarts = 5\n"
                                                    "restart_period_ms = 60000\n")));
  ASSERT_TRUE(IsUuid(parent)) << parent;
  std::vector<std::string> kids;
  for (int i = 0; i < 10; ++i)
    kids.push_back(Response(Request(parent, "spawn:" + ProbeManifest())));
  // All ten fail at once: five restarts are allowed, the sixth failure exceeds the budget.
  std::vector<std::future<Result<std::vector<Value>>>> traps;
  for (const auto& k : kids) traps.push_back(RequestAsync(k, "trap"));
  for (auto& t : traps) EXPECT_FALSE(t.get().ok());
  ASSERT_TRUE(WaitFor([&] { return !Running(parent); })) << "the supervisor failed";
  for (const auto& k : kids) EXPECT_TRUE(WaitFor([&] { return !Running(k); })) << k;
  // Its own supervisor heard why.
  ASSERT_TRUE(WaitFor([&] {
    return State(grandparent).find("child-error:" + parent) != std::string::npos;
  })) << State(grandparent);
  EXPECT_NE(State(grandparent).find("restart intensity exceeded"), std::string::npos)
      << State(grandparent);
  EXPECT_EQ(runtime_->List().size(), 1u);
}

// A handler whose Start can be held: it stands for a handler that takes its time to start (one
// that connects somewhere, or waits for a lock), and so holds a restarted child at the moment it
// is registered (a stop can find it) but still starting its handlers.
struct StartGate {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;            // each Start waits until the gate opens again
  std::vector<std::string> held;  // the actors whose Start is (or was) held, in order
  void Close() {
    std::lock_guard<std::mutex> lock(mu);
    closed = true;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    closed = false;
    cv.notify_all();
  }
  std::vector<std::string> Held() {
    std::lock_guard<std::mutex> lock(mu);
    return held;
  }
};

class GatedStartHandler final : public Handler {
 public:
  explicit GatedStartHandler(std::shared_ptr<StartGate> gate) : gate_(std::move(gate)) {}
  std::string_view name() const override { return "gated-start"; }
  std::optional<std::string> imports() const override { return std::nullopt; }
  std::optional<std::string> exports() const override { return std::nullopt; }
  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig&) const override {
    return std::unique_ptr<Handler>(new GatedStartHandler(gate_));
  }
  Status SetupHostFunctions(ActorContext&, HostFunctions&) override { return Status(); }
  Status Start(ActorContext& actor) override {
    std::shared_ptr<StartGate> gate = gate_;  // nothing of this instance is touched after the wait
    std::unique_lock<std::mutex> lock(gate->mu);
    if (!gate->closed) return Status();
    gate->held.push_back(actor.id());
    gate->cv.wait(lock, [&] { return !gate->closed; });
    return Status();
  }

 private:
  std::shared_ptr<StartGate> gate_;
};

// A one-for-one supervisor allowing `max_restarts` in a minute, and a child whose handlers start
// with the gated one (a [[handler]] table's instance comes before those its imports activate).
std::string GatedSupervisor(int max_restarts) {
  return ProbeManifest(
      "[[handler]]\ntype = \"supervisor\"\nstrategy = \"one-for-one\"\n"
      "max_restarts = " +
      std::to_string(max_restarts) + "\nrestart_period_ms = 60000\n");
}
std::string GatedChild() {
  return ProbeManifest("[[handler]]\ntype = \"gated-start\"\n");
}

class GatedRuntimeTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    HandlerRegistry handlers = BuiltinHandlers();
    ASSERT_TRUE(handlers.Register(std::make_unique<GatedStartHandler>(gate_)).ok());
    Start({}, std::move(handlers));
  }
  void TearDown() override {
    gate_->Open();  // a failed test must not leave a spawn waiting in it
    RuntimeTest::TearDown();
  }
  // Whether an actor held in the gate has been reached by a stop (it no longer counts as
  // starting: shutting down, or gone).
  bool AHeldActorIsStopping() {
    for (const std::string& id : gate_->Held()) {
      Result<ActorPhase> phase = runtime_->Phase(id);
      if (!phase.ok() || *phase != ActorPhase::kStarting) return true;
    }
    return false;
  }
  std::shared_ptr<StartGate> gate_ = std::make_shared<StartGate>();
};

// The restart storm of ARestartStormEndsWithTheSupervisorFailingUpward, with the restarted
// children held while they start their handlers: the supervisor fails upward and its stop finds
// them registered but not yet started. It must wait for them to finish starting, not take their
// handlers and instance away while they start (which crashed the process).
TEST_F(GatedRuntimeTest, ASupervisorFailingUpwardStopsChildrenStillStartingAfterARestart) {
  for (int round = 0; round < 3; ++round) {
    std::string parent = Spawn(GatedSupervisor(5));
    std::vector<std::string> kids;
    for (int i = 0; i < 10; ++i) kids.push_back(Response(Request(parent, "spawn:" + GatedChild())));
    for (const auto& k : kids) ASSERT_TRUE(IsUuid(k)) << k;
    gate_->Close();
    // Five fail at once and are restarted, within the budget; their restarts are held.
    std::vector<std::future<Result<std::vector<Value>>>> traps;
    for (size_t i = 0; i < 5; ++i) traps.push_back(RequestAsync(kids[i], "trap"));
    ASSERT_TRUE(WaitFor([&] { return gate_->Held().size() == 5; }))
        << "round " << round << ": " << gate_->Held().size() << " held";
    // Five more fail at once: the first of them spends the budget, and the supervisor's stop
    // reaches the children still starting.
    for (size_t i = 5; i < kids.size(); ++i) traps.push_back(RequestAsync(kids[i], "trap"));
    for (auto& t : traps) EXPECT_FALSE(t.get().ok());
    ASSERT_TRUE(WaitFor([&] { return AHeldActorIsStopping(); })) << "round " << round;
    gate_->Open();
    // The top-level listener hears the supervisor's failure after it has left the table, so
    // wait for both.
    const size_t failures = static_cast<size_t>(round + 1);
    ASSERT_TRUE(WaitFor([&] { return runtime_->List().empty() && TopLevel().size() >= failures; }))
        << "round " << round << ": " << runtime_->List().size() << " actors left, "
        << TopLevel().size() << " top-level failures";
    auto events = TopLevel();
    ASSERT_EQ(events.size(), failures);
    EXPECT_EQ(events.back().child_id, parent);
    EXPECT_NE(events.back().error.ToString().find("restart intensity exceeded"), std::string::npos)
        << events.back().error.ToString();
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->held.clear();
  }
}

// A child stopped from outside while its supervisor restarts it: the stop finds the new
// incarnation starting its handlers, waits for them, and the child stays stopped (the spawn the
// stop cut short is not a failure to restart again).
TEST_F(GatedRuntimeTest, AChildStoppedWhileItsSupervisorRestartsItStaysStopped) {
  std::string parent = Spawn(GatedSupervisor(1000));
  for (int round = 0; round < 3; ++round) {
    std::string child = Response(Request(parent, "spawn:" + GatedChild()));
    ASSERT_TRUE(IsUuid(child)) << child;
    gate_->Close();
    EXPECT_FALSE(Request(child, "trap").ok());
    ASSERT_TRUE(WaitFor([&] { return gate_->Held().size() == 1; })) << "round " << round;
    std::promise<bool> stopped;
    runtime_->StopAsync(child,
                        [&](Result<bool> found) { stopped.set_value(found.ok() && *found); });
    ASSERT_TRUE(WaitFor([&] { return AHeldActorIsStopping(); })) << "round " << round;
    gate_->Open();
    EXPECT_TRUE(stopped.get_future().get()) << "round " << round;
    EXPECT_FALSE(Running(child)) << "round " << round;
    ASSERT_TRUE(WaitFor([&] {
      return State(parent).find("child-external-stop:" + child) != std::string::npos;
    })) << "round "
        << round << ": " << State(parent);
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(Running(child)) << "round " << round << ": restarted after its stop";
    EXPECT_TRUE(runtime_->Children(parent).value().empty()) << "round " << round;
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->held.clear();
  }
  EXPECT_EQ(runtime_->List().size(), 1u);
}

// A restart-child of a child its strategy is restarting at that moment (what a parent's
// handle-child-error asks) joins that restart: the child runs once, and the call is answered
// "ok", not "not found".
TEST_F(GatedRuntimeTest, ARestartChildDuringItsStrategysRestartJoinsIt) {
  std::string parent = Spawn(GatedSupervisor(1000));
  std::string child = Response(Request(parent, "spawn:" + GatedChild()));
  ASSERT_TRUE(IsUuid(child)) << child;
  gate_->Close();
  EXPECT_FALSE(Request(child, "trap").ok());
  ASSERT_TRUE(WaitFor([&] { return gate_->Held().size() == 1; }));
  std::future<Result<std::vector<Value>>> joined = RequestAsync(parent, "restart-child:" + child);
  std::this_thread::sleep_for(50ms);
  gate_->Open();
  Result<std::vector<Value>> answer = joined.get();
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(Response(answer), "ok");
  EXPECT_TRUE(Running(child));
  EXPECT_EQ(gate_->Held().size(), 1u);
  // Restarted once, by its strategy: a second restart (what the call did before it joined) would
  // add a second actor-restart event.
  Result<std::vector<chain::Event>> events = runtime_->Events(child);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  size_t restarts = 0;
  for (const chain::Event& e : *events) {
    const std::string payload(e.payload.begin(), e.payload.end());
    if (payload.find("actor-restart") != std::string::npos) ++restarts;
  }
  EXPECT_EQ(restarts, 1u);
}

TEST_F(RuntimeTest, OneForAllAndRestForOneRestartTheRightSiblings) {
  for (std::string strategy : {"one-for-all", "rest-for-one"}) {
    std::string parent = Spawn(
        ProbeManifest("[[handler]]\ntype = \"supervisor\"\nstrategy = \"" + strategy + "\"\n"));
    std::vector<std::string> kids;
    for (int i = 0; i < 3; ++i)
      kids.push_back(Response(Request(parent, "spawn:" + ProbeManifest())));
    for (const auto& k : kids) ASSERT_EQ(Response(Request(k, "count")), "1");
    EXPECT_FALSE(Request(kids[1], "trap").ok());
    // The failed child and those after it start afresh ("0"); for one-for-all the first too.
    ASSERT_TRUE(WaitFor([&] { return State(kids[1]) == "0" && State(kids[2]) == "0"; }))
        << strategy;
    if (strategy == "one-for-all") {
      EXPECT_TRUE(WaitFor([&] { return State(kids[0]) == "0"; })) << strategy;
    } else {
      std::this_thread::sleep_for(100ms);
      EXPECT_EQ(State(kids[0]), "1") << strategy;
    }
    EXPECT_EQ(runtime_->Children(parent).value(), kids) << strategy << ": order kept";
    ASSERT_TRUE(runtime_->Stop(parent).ok());
  }
}

TEST_F(RuntimeTest, RestartKeepsTheIdAndContinuesTheChain) {
  std::string id = Spawn(ProbeManifest());
  ASSERT_EQ(Response(Request(id, "count")), "1");
  size_t before = runtime_->Events(id)->size();
  ASSERT_TRUE(runtime_->Restart(id).ok());
  EXPECT_EQ(runtime_->Phase(id).value(), ActorPhase::kIdle);
  EXPECT_EQ(State(id), "0");
  auto events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  EXPECT_GT(events->size(), before);
  EXPECT_TRUE(chain::VerifyEvents(*events).ok());
}

TEST_F(RuntimeTest, ChildPermissionsNarrowTheParentsAndDenialsFailClosed) {
  std::string parent = Spawn(ProbeManifest());
  std::string child = Response(Request(
      parent, "spawn:" + ProbeManifest("[permission_policy.timing]\ntype = \"disallow\"\n")));
  ASSERT_TRUE(IsUuid(child)) << child;
  std::string r = Response(Request(child, "sleep:1"));
  EXPECT_NE(r.find("error:"), std::string::npos) << r;
  EXPECT_NE(r.find("timing"), std::string::npos) << r;

  std::string limited = Response(Request(
      parent, "spawn:" + ProbeManifest("[permission_policy.timing]\ntype = \"restrict\"\n"
                                       "[permission_policy.timing.config]\nmax_sleep_duration = "
                                       "10\n")));
  ASSERT_TRUE(IsUuid(limited)) << limited;
  EXPECT_EQ(Response(Request(limited, "sleep:5")), "slept");
  EXPECT_NE(Response(Request(limited, "sleep:50")).find("error:"), std::string::npos);

  // A grandchild of the disallowed child cannot regain timing by inheriting.
  std::string grandchild = Response(Request(child, "spawn:" + ProbeManifest()));
  ASSERT_TRUE(IsUuid(grandchild)) << grandchild;
  EXPECT_NE(Response(Request(grandchild, "sleep:1")).find("error:"), std::string::npos);

  std::string no_children = Response(Request(
      parent, "spawn:" + ProbeManifest("[permission_policy.supervisor]\ntype = \"disallow\"\n")));
  ASSERT_TRUE(IsUuid(no_children));
  EXPECT_NE(Response(Request(no_children, "spawn:" + ProbeManifest())).find("error:"),
            std::string::npos);
}

}  // namespace
}  // namespace theater
