// Theater: a WebAssembly actor runtime.
//
// The supervisor handler end to end with real actors (tests/actors/runtime_probe.c spawning,
// listing, inspecting, stopping and restarting its children) in a real runtime: children spawned
// from init, notifications to their own supervisor only, children stopped first, the restart
// strategies and their intensity budget, and a child's permissions narrowed from its parent's.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

using abi::Value;
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
  std::string parent = Spawn(ProbeManifest(), "\"spawn-in-init:" + path.string() + "\"");
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
