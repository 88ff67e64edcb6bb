// Theater: a WebAssembly actor runtime.
//
// Replicated actors (docs/distribution.md, "Replicated actors"; chain_replicator.h,
// runtime/replicated_actors.cc): three persisting runtimes in this process, hosts a, b and c of
// one lattice over a real nats-server with JetStream, and the probe actor
// (tests/actors/runtime_probe.c). An actor whose manifest says durability = "replicated" has its
// chain copied into the lattice as it goes; when its host leaves, exactly one other host takes
// it over, with the state it had and a chain that verifies from its first event, and it answers
// there; one stopped for good is forgotten, so nobody takes it over; without a lattice, or with
// a durability the manifest format does not know, the spawn is refused with a reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/chain_replicator.h"
#include "cluster/lattice_test_hosts.h"
#include "cluster/replica_frames.h"
#include "testing/nats_server.h"
#include "testing/runtime_test_fixture.h"
#include "testing/wait_for.h"
#include "theater/chain.h"

namespace theater::cluster {
namespace {

using ::testing::HasSubstr;
using testing_util::NatsServer;
using testing_util::ProbeManifest;
using testing_util::Response;
using testing_util::WaitFor;
using namespace std::chrono_literals;

const std::string kReplicated = ProbeManifest("durability = \"replicated\"\n", "replicated");

class LatticeReplicationTest : public LatticeHostsTest {
 protected:
  LatticeReplicationTest() : LatticeHostsTest({"a", "b", "c"}, "rep", /*persist=*/true) {}

  bool Up(const std::string& name) { return hosts_.at(name) && hosts_.at(name)->runtime; }

  std::string Ask(const std::string& host, const std::string& id, const std::string& command) {
    return Response(R(host).Call(id, "theater:simple/message-server-client", "handle-request",
                                 {abi::Value::String("req"),
                                  abi::Value::Bytes(testing_util::Bytes(command))}));
  }
  bool RunsOn(const std::string& host, const std::string& id) {
    return Up(host) && R(host).Phase(id).ok();
  }

};

TEST_F(LatticeReplicationTest, AReplicatedActorRunsAgainElsewhereWithItsStateWhenItsHostLeaves) {
  const std::string id = Spawn("b", kReplicated);
  ASSERT_FALSE(id.empty());
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(Ask("b", id, "count"), std::to_string(i));
  const std::vector<chain::Event> on_b = R("b").Events(id).value();

  hosts_.at("b")->Leave();
  hosts_.at("b").reset();
  std::string taker;
  ASSERT_TRUE(WaitFor([&] {
    if (RunsOn("a", id)) taker = "a";
    if (RunsOn("c", id)) taker = "c";
    return !taker.empty();
  }, 20s)) << "no host took the actor over";
  const std::string other = taker == "a" ? "c" : "a";
  // Exactly one host runs it: the other lost the directory's compare-and-set.
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(RunsOn(other, id));
  // Its state is what it was, and it goes on from there.
  EXPECT_EQ(Ask(taker, id, "count"), "4");
  // Its chain is one chain: b's events first, then the recovery here, verifying end to end.
  Result<std::vector<chain::Event>> events = R(taker).Events(id);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_GT(events->size(), on_b.size());
  EXPECT_TRUE(chain::VerifyEvents(*events).ok());
  // b's events are the start of it, hash for hash.
  for (size_t i = 0; i < on_b.size(); ++i) {
    EXPECT_EQ(chain::ToHex((*events)[i].hash), chain::ToHex(on_b[i].hash)) << "event " << i;
  }
  bool recovered = false;
  for (const chain::Event& e : *events) {
    const std::string payload(e.payload.begin(), e.payload.end());
    if (payload.find("actor-recovered") != std::string::npos) recovered = true;
  }
  EXPECT_TRUE(recovered) << "its chain says where it came back";
  EXPECT_TRUE(R(taker).VerifyChain(id).ok());
}

TEST_F(LatticeReplicationTest, AnActorStoppedForGoodIsForgottenAndNobodyTakesItOver) {
  const std::string stopped = Spawn("b", kReplicated);
  ASSERT_FALSE(stopped.empty());
  ASSERT_EQ(Ask("b", stopped, "count"), "1");
  ASSERT_TRUE(R("b").Stop(stopped).ok());
  // A second one stays: its takeover shows that b's replicated actors were looked for.
  const std::string kept = Spawn("b", kReplicated);
  ASSERT_FALSE(kept.empty());
  hosts_.at("b")->Leave();
  hosts_.at("b").reset();
  ASSERT_TRUE(WaitFor([&] { return RunsOn("a", kept) || RunsOn("c", kept); }, 20s));
  // The taker goes through b's records one at a time, a few milliseconds each: a forgotten one
  // would have been taken by now.
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(RunsOn("a", stopped));
  EXPECT_FALSE(RunsOn("c", stopped));
}

TEST_F(LatticeReplicationTest, AReplicatedActorNeedsALatticeAndKnownDurabilities) {
  const std::filesystem::path home = testing_util::NewTestHome("theater-replication-alone");
  RuntimeOptions options = testing_util::TestRuntimeOptions(home);
  Result<std::unique_ptr<TheaterRuntime>> alone = TheaterRuntime::Create(options, BuiltinHandlers());
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  SpawnRequest request;
  request.manifest = kReplicated;
  Result<std::string> refused = (*alone)->Spawn(request);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().ToString(), HasSubstr("needs a lattice"));
  request.manifest = ProbeManifest("durability = \"eventual\"\n");
  refused = (*alone)->Spawn(request);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().ToString(), HasSubstr("durability"));
  EXPECT_THAT(refused.status().ToString(), HasSubstr("\"local\" or \"replicated\""));
  alone->reset();
  std::filesystem::remove_all(home);
}

TEST(ReplicaFramesTest, EventsArriveWholeAndMalformedFramesAreRefused) {
  std::unique_ptr<chain::EventChain> chain = std::make_unique<chain::EventChain>();
  chain->Append(chain::Lifecycle{"actor-load", "one"});
  chain->Append(chain::Lifecycle{"runtime-setup", "two"});
  const std::vector<chain::Event> events = chain->events();
  std::string frame;
  EncodeReplicaFrame(0, events, frame);
  Result<ReplicaFrame> back = ParseReplicaFrame(frame);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->first_index, 0u);
  EXPECT_EQ(back->events, events);
  EXPECT_TRUE(chain::VerifyEvents(back->events).ok());
  for (size_t cut : {size_t{0}, size_t{5}, frame.size() / 2, frame.size() - 1}) {
    Result<ReplicaFrame> short_frame = ParseReplicaFrame(frame.substr(0, cut));
    ASSERT_FALSE(short_frame.ok()) << cut;
    EXPECT_EQ(short_frame.status().code(), StatusCode::kInvalidArgument);
  }
  std::string lying = frame;
  lying[9] = '\xff';  // the event count
  EXPECT_THAT(ParseReplicaFrame(lying).status().message(), HasSubstr("claims"));
  EXPECT_THAT(ParseReplicaFrame(frame + "x").status().message(), HasSubstr("after its last event"));
}

// What a NATS cluster of three adds (docs/distribution.md, "Replicated actors"): with the
// lattice's buckets and chains stream kept three times, the loss of the NATS server a host was
// connected to loses nothing. Hosts a and b reach three clustered nats-servers; one is killed;
// the replicated actor on b goes on, and when b then leaves, a takes it over with its state from
// the copies the surviving servers keep.
TEST(LatticeNatsClusterTest, AReplicatedActorOutlivesTheLossOfANatsServerAndThenOfItsHost) {
  if (!NatsServer::Installed()) GTEST_SKIP() << "nats-server is not installed (install-deps.sh)";
  testing_util::NatsCluster nats;
  ASSERT_TRUE(nats.ok()) << "the NATS cluster did not start; node 0's log: " << nats.node(0).log();
  // JetStream answers once the three have elected a leader.
  ASSERT_TRUE(WaitFor([&] {
    ClusterOptions probe;
    probe.url = nats.url();
    probe.lattice = "probe";
    probe.host_id = "probe";
    probe.jetstream_replicas = 3;
    Result<std::unique_ptr<LatticeMember>> member =
        LatticeMember::Join(probe, [] { return LatticeMember::Facts{0, ""}; });
    if (!member.ok()) return false;
    (*member)->Leave();
    return true;
  }, 30s)) << "JetStream never answered on the NATS cluster";
  std::map<std::string, std::unique_ptr<LatticeTestHost>> hosts;
  for (const std::string name : {"a", "b"}) {
    hosts[name] = StartLatticeTestHost(nats.url(), name, "r3", /*persist=*/true, 3);
    ASSERT_TRUE(hosts[name]);
  }
  ASSERT_TRUE(WaitFor([&] {
    return hosts["a"]->member->IsLive("b", 5s) && hosts["b"]->member->IsLive("a", 5s);
  }));
  auto ask = [&](const std::string& host, const std::string& id) {
    return Response(hosts.at(host)->runtime->Call(
        id, "theater:simple/message-server-client", "handle-request",
        {abi::Value::String("req"), abi::Value::Bytes(testing_util::Bytes("count"))}));
  };
  SpawnRequest request;
  request.manifest = kReplicated;
  Result<std::string> id = hosts["b"]->runtime->Spawn(request);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(ask("b", *id), std::to_string(i));

  // The server b is connected to goes; b's client moves to another, and the actor goes on.
  const std::string b_server = hosts["b"]->member->nats().connected_url();
  int lost = -1;
  for (int i = 0; i < 3; ++i) {
    if (nats.node(i).url() == b_server) lost = i;
  }
  ASSERT_GE(lost, 0) << "b is connected to " << b_server;
  nats.node(lost).Kill();
  ASSERT_TRUE(WaitFor([&] {
    const std::string now = hosts["b"]->member->nats().connected_url();
    return !now.empty() && now != b_server;
  }, 20s)) << "b never reconnected to another NATS server";
  EXPECT_EQ(ask("b", *id), "4");
  std::this_thread::sleep_for(500ms);  // its last events reach the stream

  // Then b goes too: a takes the actor over from what the two remaining servers keep.
  hosts["b"]->Leave();
  hosts["b"].reset();
  ASSERT_TRUE(WaitFor([&] { return hosts["a"]->runtime->Phase(*id).ok(); }, 30s))
      << "a never took the actor over";
  EXPECT_EQ(ask("a", *id), "5");
  EXPECT_TRUE(hosts["a"]->runtime->VerifyChain(*id).ok());
}

}  // namespace
}  // namespace theater::cluster
