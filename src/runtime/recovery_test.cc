// Theater: a WebAssembly actor runtime.
//
// Recovery (theater/recovery.h) end to end: a runtime with durable actors is shut down and a new
// one on the same home brings its actors back (same ids, states, parents; chains continuing and
// replaying identical); a runtime without durable actors brings nothing back; an actor whose
// module is gone is reported, left stopped with its chain untouched, and takes its children with
// it; an actor killed with its host (kill -9) comes back from the state of its last durable
// event, a large one recomputed by replaying its chain.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/crash_child.h"
#include "testing/runtime_test_fixture.h"
#include "theater/chain_store.h"

namespace theater {
namespace {

using namespace testing_util;  // the fixture and its helpers
using ::testing::HasSubstr;

std::string ProbeManifest() {
  return "name = \"probe\"\nversion = \"0.1.0\"\ncomponent = \"" +
         std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe.wasm\"\n" +
         HandlersOf("runtime_probe.wasm");
}

class RecoveryTest : public RuntimeTest {
 protected:
  void StartDurable(bool durable = true) {
    RuntimeOptions options;
    options.durable_actors = durable;
    Start(options);
  }

  std::string Reply(const std::string& id, const std::string& command) {
    return Response(Request(id, command));
  }

  RecoveryReport Recover() {
    Result<RecoveryReport> report = runtime_->Recover();
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : RecoveryReport{};
  }

  const RecoveredActor* Find(const RecoveryReport& report, const std::string& id) {
    for (const RecoveredActor& a : report.actors) {
      if (a.id == id) return &a;
    }
    return nullptr;
  }

  size_t StoredEvents(const std::string& id) {
    Result<std::vector<chain::Event>> events = runtime_->Events(id);
    return events.ok() ? events->size() : 0;
  }
};

TEST_F(RecoveryTest, ACleanRestartBringsBackActorsWithTheirStatesParentsAndChains) {
  StartDurable();
  const std::string parent = Spawn(ProbeManifest());
  ASSERT_FALSE(parent.empty());
  const std::string child = Reply(parent, "spawn:" + ProbeManifest());
  ASSERT_EQ(child.size(), 36u) << child;
  const std::string big = Spawn(ProbeManifest());
  for (int i = 0; i < 3; ++i) Reply(parent, "count");
  Reply(child, "count");
  EXPECT_EQ(Reply(big, "pad:5000"), "5002");  // "0|" + 5000: recorded by digest
  const std::string parent_state = State(parent);
  const std::string child_state = State(child);
  const std::string big_state = State(big);
  const size_t parent_events = StoredEvents(parent);

  StartDurable();  // the old runtime shuts down first, keeping its actors for recovery
  EXPECT_TRUE(runtime_->List().empty());
  RecoveryReport report = Recover();
  EXPECT_EQ(report.recovered, 3u);
  EXPECT_EQ(report.failed, 0u);
  ASSERT_EQ(report.actors.size(), 3u);
  // Parents first.
  auto position = [&](const std::string& id) {
    return std::find_if(report.actors.begin(), report.actors.end(),
                        [&](const RecoveredActor& a) { return a.id == id; }) -
           report.actors.begin();
  };
  EXPECT_LT(position(parent), position(child));
  const RecoveredActor* recovered_big = Find(report, big);
  ASSERT_NE(recovered_big, nullptr);
  EXPECT_EQ(recovered_big->state_source, "store");  // kept at shutdown: no replay needed
  EXPECT_EQ(Find(report, parent)->state_source, "chain");

  // A second Recover() finds them running and leaves them be.
  EXPECT_TRUE(Recover().actors.empty());
  EXPECT_EQ(State(parent), parent_state);
  EXPECT_EQ(State(child), child_state);
  EXPECT_EQ(State(big), big_state);
  Result<std::vector<std::string>> children = runtime_->Children(parent);
  ASSERT_TRUE(children.ok());
  EXPECT_THAT(*children, ::testing::ElementsAre(child));
  Result<ActorSummary> summary = runtime_->Summary(child);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->parent_id, std::optional<std::string>(parent));
  // Working again, without init having run (the count goes on).
  EXPECT_EQ(Reply(parent, "count"), "4");
  EXPECT_EQ(Reply(child, "count"), "2");
  // The chain goes on from its head: one chain, a recovery event in it, verified.
  Result<std::vector<chain::Event>> events = runtime_->Events(parent);
  ASSERT_TRUE(events.ok());
  ASSERT_GT(events->size(), parent_events);
  // After the old instance's stop: the recovery, then the new instance's load.
  auto step_at = [&](size_t index) -> chain::Lifecycle {
    Result<chain::Payload> payload = chain::DecodePayload((*events)[index].payload);
    const auto* step = payload.ok() ? std::get_if<chain::Lifecycle>(&*payload) : nullptr;
    return step ? *step : chain::Lifecycle{};
  };
  EXPECT_EQ(step_at(parent_events).kind, "actor-stopped");
  const chain::Lifecycle marker = step_at(parent_events + 1);
  const chain::Lifecycle* step = &marker;
  EXPECT_EQ(step->kind, "actor-recovered");
  EXPECT_EQ(step_at(parent_events + 2).kind, "actor-load");
  EXPECT_THAT(step->message, HasSubstr("resuming from the state after event #"));
  EXPECT_TRUE(runtime_->VerifyChain(parent).ok());
  // Replays identical across the recovery (TearDown replays every chain as well).
  Result<ReplayReport> replay = runtime_->Replay(parent, {});
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  EXPECT_TRUE(replay->identical());

  // A second restart: the same again (the recovered actors are durable too).
  StartDurable();
  report = Recover();
  EXPECT_EQ(report.recovered, 3u);
  EXPECT_EQ(Reply(parent, "count"), "5");
}

// What a spawn may read stays with the actor across a restart of its host: a recovered actor
// started under read_roots (a client beyond loopback's) restarts bound to them.
TEST_F(RecoveryTest, ARecoveredActorKeepsWhatItsSpawnsMayRead) {
  StartDurable();
  const std::filesystem::path roots = home_ / "roots";
  std::filesystem::create_directories(roots);
  std::filesystem::copy_file(std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe.wasm",
                             roots / "probe.wasm");
  auto manifest = [&](const std::string& extra) {
    return "name = \"rooted\"\nversion = \"0.1.0\"\ncomponent = \"" +
           (roots / "probe.wasm").string() + "\"\nauto_handlers = true\n" + extra;
  };
  std::ofstream(roots / "m.toml") << manifest("");
  std::ofstream(home_ / "secret.json") << R"({"pw": "hunter2"})";
  SpawnRequest request;
  request.manifest = (roots / "m.toml").string();
  request.read_roots = LocalReadRoots{{roots}, "the test's roots"};
  Result<std::string> id = runtime_->Spawn(request);
  ASSERT_TRUE(id.ok()) << id.status().ToString();

  StartDurable();
  RecoveryReport report = Recover();
  ASSERT_EQ(report.recovered, 1u);
  std::ofstream(roots / "m.toml")
      << manifest("init_state = \"" + (home_ / "secret.json").string() + "\"\n");
  Status restarted = runtime_->Restart(*id);
  EXPECT_FALSE(restarted.ok());
  EXPECT_THAT(restarted.ToString(), HasSubstr("the test's roots"));
  EXPECT_THAT(restarted.ToString(), ::testing::Not(HasSubstr("hunter2")));
}

TEST_F(RecoveryTest, WithoutDurableActorsNothingComesBack) {
  StartDurable(/*durable=*/false);
  const std::string id = Spawn(ProbeManifest());
  ASSERT_FALSE(id.empty());
  StartDurable();
  RecoveryReport report = Recover();
  EXPECT_TRUE(report.actors.empty());
  EXPECT_TRUE(runtime_->List().empty());
}

TEST_F(RecoveryTest, AnActorStoppedBeforeTheShutdownStaysStopped) {
  StartDurable();
  const std::string kept = Spawn(ProbeManifest());
  const std::string stopped = Spawn(ProbeManifest());
  ASSERT_TRUE(runtime_->Stop(stopped).ok());
  StartDurable();
  RecoveryReport report = Recover();
  ASSERT_EQ(report.actors.size(), 1u);
  EXPECT_EQ(report.actors[0].id, kept);
  EXPECT_FALSE(Running(stopped));
}

TEST_F(RecoveryTest, AnActorWhoseModuleIsGoneIsReportedAndKeepsItsChain) {
  StartDurable();
  const std::string parent = Spawn(ProbeManifest());
  const std::string child = Reply(parent, "spawn:" + ProbeManifest());
  ASSERT_EQ(child.size(), 36u) << child;
  const std::string other = Spawn(ProbeManifest());
  runtime_.reset();
  size_t parent_events = 0;
  {
    // The registry now names a module nobody kept.
    auto store = chain::ChainStore::Open(home_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto rows = (*store)->ListActors();
    ASSERT_TRUE(rows.ok());
    for (chain::ActorRecord row : *rows) {
      if (row.actor_id == parent) {
        parent_events = row.event_count;
        const std::string key = "\"module_sha256\":\"";
        size_t at = row.recovery.find(key);
        ASSERT_NE(at, std::string::npos) << row.recovery;
        row.recovery.replace(at + key.size(), 64, std::string(64, '0'));
        ASSERT_TRUE((*store)->UpsertActor(row).ok());
      }
    }
  }
  StartDurable();
  RecoveryReport report = Recover();
  EXPECT_EQ(report.recovered, 1u);
  EXPECT_EQ(report.failed, 2u);
  const RecoveredActor* lost = Find(report, parent);
  ASSERT_NE(lost, nullptr);
  EXPECT_THAT(lost->status.ToString(), HasSubstr("module sha256:0000"));
  const RecoveredActor* orphan = Find(report, child);
  ASSERT_NE(orphan, nullptr);
  EXPECT_THAT(orphan->status.ToString(), HasSubstr("its parent " + parent + " did not come back"));
  EXPECT_TRUE(Running(other));
  EXPECT_FALSE(Running(parent));
  // Its chain is as it was, and the registry says what became of it.
  EXPECT_EQ(StoredEvents(parent), parent_events);
  auto rows = runtime_->store()->ListActors();
  ASSERT_TRUE(rows.ok());
  for (const chain::ActorRecord& row : *rows) {
    if (row.actor_id == parent || row.actor_id == child) {
      EXPECT_EQ(row.status, "unrecovered");
    }
  }
}

// kill -9 of a host whose actors are durable and busy: each comes back from the state of its
// last durable event (large states recomputed by a replay), and its chain, with the calls the
// crash cut short, verifies and replays identical.
TEST_F(RecoveryTest, AfterKillNineActorsComeBackFromTheirLastDurableEvent) {
  runtime_.reset();  // the child owns the database
  const std::string probe = std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe.wasm";
  Result<pid_t> child =
      testing_util::StartWhenReady({THEATER_CRASH_CHILD, home_.string(), probe, "strict", "durable"});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  ASSERT_TRUE(testing_util::KillNineSoon(*child).ok());

  StartDurable();
  RecoveryReport report = Recover();
  EXPECT_EQ(report.recovered, 8u);
  EXPECT_EQ(report.failed, 0u);
  size_t replayed = 0;
  for (const RecoveredActor& actor : report.actors) {
    EXPECT_TRUE(actor.status.ok()) << actor.id << ": " << actor.status.ToString();
    if (actor.state_source == "replay") ++replayed;
    // It answers, and counts on from what its chain last recorded.
    const std::string before = State(actor.id);
    const size_t digits = before.find_first_not_of("0123456789");
    const uint64_t count = std::stoull(before.substr(0, digits));
    EXPECT_EQ(Reply(actor.id, "count"), std::to_string(count + 1));
    EXPECT_TRUE(runtime_->VerifyChain(actor.id).ok());
  }
  // The padded actors' states are recorded by digest and were never kept: replayed.
  EXPECT_EQ(replayed, 4u);
}

}  // namespace
}  // namespace theater
