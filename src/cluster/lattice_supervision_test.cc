// Theater: a WebAssembly actor runtime.
//
// Supervision across hosts (runtime/remote_children.cc, docs/distribution.md): three runtimes in
// this process, hosts a, b and c of one lattice over a real nats-server, and real probe actors
// (tests/actors/runtime_probe.c), whose supervisor callbacks note what they heard in their state.
// A parent on a spawns children whose manifests place them on b and c; it lists, stops and
// restarts them there; a child's failure there reaches it and its one-for-one strategy restarts
// the child where it ran, its chain going on; a host that leaves fails its children (the parent
// hears it name the host) and they are spawned again on a host that is there; a parent's host
// that leaves takes its children elsewhere down with it; a child's permissions stay bounded by
// its parent's policy on the other host.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "cluster/lattice_test_hosts.h"
#include "testing/nats_server.h"
#include "testing/runtime_test_fixture.h"
#include "testing/wait_for.h"
#include "theater/chain.h"

namespace theater::cluster {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using testing_util::NatsServer;
using testing_util::ProbeManifest;
using testing_util::Response;
using testing_util::WaitFor;
using namespace std::chrono_literals;

const std::string kOneForOne =
    "[[handler]]\ntype = \"supervisor\"\nstrategy = \"one-for-one\"\nmax_restarts = 5\n"
    "restart_period_ms = 60000\n";

// A probe child that its parent's host places on `host`.
std::string ChildOn(const std::string& host, const std::string& extra = "") {
  return ProbeManifest("placement = \"" + host + "\"\n" + extra, "child");
}

class LatticeSupervisionTest : public LatticeHostsTest {
 protected:
  LatticeSupervisionTest() : LatticeHostsTest({"a", "b", "c"}, "sup", /*persist=*/false) {}
  // handle-request of actor `id` on `host`, as the probe answers it.
  std::string Ask(const std::string& host, const std::string& id, const std::string& command) {
    return Response(R(host).Call(id, "theater:simple/message-server-client", "handle-request",
                                 {abi::Value::String("req"), abi::Value::Bytes(testing_util::Bytes(command))}));
  }
  std::string State(const std::string& host, const std::string& id) {
    Result<std::optional<std::vector<uint8_t>>> state = R(host).State(id);
    if (!state.ok() || !*state) return "";
    return std::string((*state)->begin(), (*state)->end());
  }
  bool RunsOn(const std::string& host, const std::string& id) {
    return hosts_.count(host) > 0 && hosts_.at(host) && H(host).runtime &&
           R(host).Phase(id).ok();
  }

};

TEST_F(LatticeSupervisionTest, AParentSupervisesChildrenItPlacedOnTwoOtherHosts) {
  const std::string parent = Spawn("a", ProbeManifest(kOneForOne, "parent"));
  const std::string on_b = Ask("a", parent, "spawn:" + ChildOn("b"));
  const std::string on_c = Ask("a", parent, "spawn:" + ChildOn("c"));
  ASSERT_TRUE(IsUuid(on_b)) << on_b;
  ASSERT_TRUE(IsUuid(on_c)) << on_c;
  EXPECT_TRUE(RunsOn("b", on_b));
  EXPECT_TRUE(RunsOn("c", on_c));
  EXPECT_FALSE(RunsOn("a", on_b)) << "a child runs on the host its manifest names only";
  EXPECT_THAT(R("a").Children(parent).value(), UnorderedElementsAre(on_b, on_c));
  EXPECT_EQ(Ask("a", parent, "children"), on_b + "," + on_c);
  // Its state and events are read on its host, for the parent on a.
  ASSERT_EQ(Ask("b", on_b, "count"), "1");
  EXPECT_EQ(Ask("a", parent, "child-state:" + on_b), "1");
  std::promise<Result<std::vector<chain::Event>>> asked;
  H("a").messenger->ChildEventsOn("b", on_b, 1 << 20, [&](Result<std::vector<chain::Event>> e) {
    asked.set_value(std::move(e));
  });
  Result<std::vector<chain::Event>> events = asked.get_future().get();
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  EXPECT_EQ(events->size(), R("b").Events(on_b).value().size());
  EXPECT_TRUE(chain::VerifyEvents(*events).ok());
  // Only a child of another host's actor is that host's to read.
  const std::string own = Spawn("b", ProbeManifest("", "own"));
  std::promise<Result<std::optional<std::vector<uint8_t>>>> refused;
  H("a").messenger->ChildStateOn("b", own, [&](Result<std::optional<std::vector<uint8_t>>> st) {
    refused.set_value(std::move(st));
  });
  EXPECT_EQ(refused.get_future().get().status().code(), StatusCode::kNotFound);

  // A failure on b reaches the parent on a, whose strategy restarts the child on b.
  ASSERT_EQ(Ask("b", on_b, "count"), "2");
  EXPECT_THAT(Ask("b", on_b, "trap"), HasSubstr("error"));
  ASSERT_TRUE(WaitFor([&] { return State("a", parent).find("child-error:" + on_b) != std::string::npos; }))
      << State("a", parent);
  ASSERT_TRUE(WaitFor([&] { return RunsOn("b", on_b) && State("b", on_b) == "0"; }));
  Result<std::vector<chain::Event>> chain = R("b").Events(on_b);
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  EXPECT_TRUE(chain::VerifyEvents(*chain).ok()) << "the restarted child's chain goes on";
  bool restart_recorded = false;
  for (const chain::Event& e : *chain) {
    const std::string payload(e.payload.begin(), e.payload.end());
    if (payload.find("restarted by supervisor " + parent + " on host a") != std::string::npos) {
      restart_recorded = true;
    }
  }
  EXPECT_TRUE(restart_recorded) << "its chain says who restarted it, from which host";
  EXPECT_THAT(R("a").Children(parent).value(), UnorderedElementsAre(on_b, on_c));

  // restart-child and stop-child reach the child's host.
  ASSERT_EQ(Ask("b", on_b, "count"), "1");
  EXPECT_EQ(Ask("a", parent, "restart-child:" + on_b), "ok");
  EXPECT_TRUE(WaitFor([&] { return RunsOn("b", on_b) && State("b", on_b) == "0"; }));
  EXPECT_EQ(Ask("a", parent, "stop-child:" + on_c), "ok");
  EXPECT_FALSE(RunsOn("c", on_c));
  EXPECT_EQ(R("a").Children(parent).value(), std::vector<std::string>{on_b});

  // A child that exits tells its parent so, and is no longer its child.
  EXPECT_EQ(Ask("b", on_b, "shutdown:done"), "ok");
  ASSERT_TRUE(WaitFor([&] { return State("a", parent).find("child-exit:" + on_b) != std::string::npos; }))
      << State("a", parent);
  EXPECT_TRUE(WaitFor([&] { return R("a").Children(parent).value().empty(); }));

  // The parent's stop stops its children on other hosts first.
  const std::string again = Ask("a", parent, "spawn:" + ChildOn("c"));
  ASSERT_TRUE(IsUuid(again)) << again;
  ASSERT_TRUE(R("a").Stop(parent).ok());
  EXPECT_FALSE(RunsOn("c", again));
}

TEST_F(LatticeSupervisionTest, AHostThatLeavesFailsItsChildrenAndTheParentRestartsThemElsewhere) {
  const std::string parent = Spawn("a", ProbeManifest(kOneForOne, "parent"));
  const std::string on_c = Ask("a", parent, "spawn:" + ChildOn("c"));
  ASSERT_TRUE(IsUuid(on_c)) << on_c;
  ASSERT_TRUE(RunsOn("c", on_c));

  H("c").Leave();
  ASSERT_TRUE(WaitFor([&] {
    return State("a", parent).find("child-error:" + on_c) != std::string::npos;
  })) << State("a", parent);
  EXPECT_THAT(State("a", parent), HasSubstr("host c left the lattice"));
  // Its placement names a host that is gone: the least loaded of the others takes it, same id.
  ASSERT_TRUE(WaitFor([&] { return RunsOn("a", on_c) || RunsOn("b", on_c); }));
  EXPECT_EQ(R("a").Children(parent).value(), std::vector<std::string>{on_c});
  // Wherever it runs now, its parent still reaches it.
  EXPECT_EQ(Ask("a", parent, "stop-child:" + on_c), "ok");
  EXPECT_FALSE(RunsOn("a", on_c) || RunsOn("b", on_c));
}

TEST_F(LatticeSupervisionTest, ChildrenStopWhenTheirParentsHostLeaves) {
  const std::string parent = Spawn("a", ProbeManifest("", "parent"));
  const std::string on_b = Ask("a", parent, "spawn:" + ChildOn("b"));
  ASSERT_TRUE(IsUuid(on_b)) << on_b;
  ASSERT_TRUE(RunsOn("b", on_b));
  // A parent whose strategy is none is told of a failure and does not restart.
  EXPECT_THAT(Ask("b", on_b, "trap"), HasSubstr("error"));
  ASSERT_TRUE(WaitFor([&] { return State("a", parent).find("child-error:" + on_b) != std::string::npos; }));
  EXPECT_TRUE(WaitFor([&] { return R("a").Children(parent).value().empty(); }));
  EXPECT_FALSE(RunsOn("b", on_b));

  const std::string second = Ask("a", parent, "spawn:" + ChildOn("b"));
  ASSERT_TRUE(IsUuid(second)) << second;
  // The parent's host goes without stopping it (its runtime stays up, its lattice link goes).
  H("a").messenger->Close();
  H("a").member.reset();
  EXPECT_TRUE(WaitFor([&] { return !RunsOn("b", second); }, 10s))
      << "a child does not outlive its parent's host";
}

TEST_F(LatticeSupervisionTest, AChildOnAnotherHostIsBoundByItsParentsPolicy) {
  // The parent may read only HOME; its child on b, asking for PATH, is refused there as it would
  // be on the parent's host.
  const std::string parent = Spawn(
      "a", ProbeManifest("\n[permission_policy.environment]\ntype = \"restrict\"\n"
                         "[permission_policy.environment.config]\nallowed_vars = [\"HOME\"]\n",
                         "parent"));
  const std::string on_b = Ask("a", parent, "spawn:" + ChildOn("b"));
  ASSERT_TRUE(IsUuid(on_b)) << on_b;
  EXPECT_EQ(Ask("b", on_b, "env:PATH"), "none");
  const std::string free = Spawn("b", ProbeManifest("", "free"));
  EXPECT_NE(Ask("b", free, "env:PATH"), "none") << "a top-level actor of b reads it";
}

}  // namespace
}  // namespace theater::cluster
