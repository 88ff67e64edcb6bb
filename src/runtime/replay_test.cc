// Theater: a WebAssembly actor runtime.
//
// Replay (theater/replay.h) end to end: real actors compiled by the build run in a real runtime
// with a saved chain; their chains are replayed and must come out identical, without a side
// effect (no child spawned, nothing logged); time travel stops at an event; another build of the
// actor diverges exactly where its behaviour differs; a module that is gone is named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <string>
#include <vector>

#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

using namespace testing_util;  // the fixture and its helpers
using ::testing::HasSubstr;

std::string Actor(const std::string& name) {
  return std::string(THEATER_TEST_ACTOR_DIR) + "/" + name + ".wasm";
}

std::string ProbeManifest(const std::string& extra = "") {
  return "name = \"probe\"\nversion = \"0.1.0\"\ncomponent = \"" + Actor("runtime_probe") + "\"\n" +
         HandlersOf("runtime_probe.wasm") + extra;
}

class ReplayTest : public RuntimeTest {
 protected:
  std::string Reply(const std::string& id, const std::string& command) {
    return Response(Request(id, command));
  }

  ReplayReport ReplayOf(const std::string& id, ReplayOptions options = {}) {
    Result<ReplayReport> report = runtime_->Replay(id, options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : ReplayReport{};
  }
};

TEST_F(ReplayTest, AnActorsChainReplaysIdenticalWithoutSideEffects) {
  const std::string id = Spawn(ProbeManifest());
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Reply(id, "count"), "1");
  EXPECT_EQ(Reply(id, "echo:hello"), "hello");
  EXPECT_EQ(Reply(id, "random:8").size(), 16u);  // nondeterministic: the replay must serve it
  EXPECT_EQ(Reply(id, "uuid").size(), 36u);
  EXPECT_EQ(Reply(id, "sleep:5"), "slept");
  EXPECT_EQ(Reply(id, "actor-id"), id);
  EXPECT_EQ(Reply(id, "err").rfind("error", 0), 0u);
  EXPECT_EQ(Reply(id, "log-flood:3:10"), "ok");
  EXPECT_EQ(Reply(id, "count"), "2");
  const std::string child = Reply(id, "spawn:" + ProbeManifest());
  ASSERT_EQ(child.size(), 36u) << child;
  EXPECT_EQ(Reply(id, "children"), child);

  const size_t actors = runtime_->List().size();
  const size_t log_lines = [&] {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_.size();
  }();
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  ReplayReport report = ReplayOf(id);
  EXPECT_TRUE(report.identical()) << report.divergence->index << " " << report.divergence->expected
                                  << "\n  got " << report.divergence->got;
  EXPECT_EQ(report.events, events->size());
  EXPECT_EQ(report.total, events->size());
  ASSERT_TRUE(report.state.has_value());
  EXPECT_EQ(Text(*report.state), State(id));
  // Served from the chain: no child spawned, no line logged by the replayed guest.
  EXPECT_EQ(runtime_->List().size(), actors);
  std::lock_guard<std::mutex> lock(log_mu_);
  EXPECT_EQ(log_.size(), log_lines);
}

TEST_F(ReplayTest, TimeTravelStopsAtAnEventWithTheStateItLeft) {
  const std::string id = Spawn(ProbeManifest());
  ASSERT_FALSE(id.empty());
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(Reply(id, "count"), std::to_string(i));
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  // The export events, in order: init ("0"), then the counts.
  std::vector<size_t> exports;
  for (size_t i = 0; i < events->size(); ++i) {
    if ((*events)[i].type == "wasm") exports.push_back(i);
  }
  ASSERT_EQ(exports.size(), 4u);
  for (size_t k = 0; k < exports.size(); ++k) {
    ReplayOptions options;
    options.until = exports[k];
    ReplayReport report = ReplayOf(id, options);
    EXPECT_TRUE(report.identical());
    EXPECT_EQ(report.events, exports[k] + 1);
    ASSERT_TRUE(report.state.has_value());
    EXPECT_EQ(Text(*report.state), std::to_string(k));
  }
  // An event before init is over: the state init started from (none here).
  ReplayOptions before_init;
  before_init.until = 0;
  ReplayReport first = ReplayOf(id, before_init);
  EXPECT_EQ(first.events, 1u);
  EXPECT_FALSE(first.state.has_value());
}

TEST_F(ReplayTest, TheInitialStateIsRecordedAndReplayedFrom) {
  const std::string id = Spawn(ProbeManifest(), "\"x\"");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Reply(id, "count"), "1");
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  Result<chain::Payload> second = chain::DecodePayload((*events)[1].payload);
  ASSERT_TRUE(second.ok());
  const auto* initial = std::get_if<chain::InitialState>(&*second);
  ASSERT_NE(initial, nullptr) << chain::EventToLine((*events)[1], 1);
  EXPECT_EQ(initial->source, "init_state");
  EXPECT_EQ(Text(initial->state.as_bytes()), "\"x\"");
  ReplayOptions options;
  options.until = 1;
  ReplayReport report = ReplayOf(id, options);
  ASSERT_TRUE(report.state.has_value());
  EXPECT_EQ(Text(*report.state), "\"x\"");
  EXPECT_TRUE(ReplayOf(id).identical());
}

TEST_F(ReplayTest, AnotherBuildDivergesAtTheFirstEventItChanges) {
  const std::string id = Spawn(ProbeManifest());
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Reply(id, "count"), "1");
  EXPECT_EQ(Reply(id, "echo:abc"), "abc");
  EXPECT_EQ(Reply(id, "count"), "2");
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  size_t echo_event = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    if (chain::EventToLine((*events)[i], i).find("echo:abc") != std::string::npos) echo_event = i;
  }
  ASSERT_GT(echo_event, 0u);

  ReplayOptions options;
  options.module = Actor("runtime_probe_changed");
  ReplayReport report = ReplayOf(id, options);
  ASSERT_FALSE(report.identical());
  EXPECT_EQ(report.divergence->index, echo_event);
  EXPECT_EQ(report.events, echo_event);
  EXPECT_EQ(report.divergence->event_type, "wasm");
  EXPECT_THAT(report.divergence->expected, HasSubstr("\"abc\""));
  EXPECT_THAT(report.divergence->got, HasSubstr("changed:abc"));
  // The same build replays identical with the override too.
  options.module = Actor("runtime_probe");
  EXPECT_TRUE(ReplayOf(id, options).identical());
}

TEST_F(ReplayTest, ACoreModuleUsingWasiReplaysItsClocksAndEntropyFromTheChain) {
  const std::string id = Spawn("name = \"wasi-p1-probe\"\nversion = \"0.1.0\"\ncomponent = \"" +
                               Actor("wasi_p1_probe") + "\"\n");
  ASSERT_FALSE(id.empty());
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  size_t wasi = 0;
  for (const chain::Event& e : *events) wasi += e.type.starts_with("wasi_snapshot_preview1/");
  EXPECT_GT(wasi, 3u) << "every WASI call is recorded";
  ReplayReport report = ReplayOf(id);
  EXPECT_TRUE(report.identical()) << report.divergence->index << " "
                                  << report.divergence->expected << "\n  got "
                                  << report.divergence->got;
  EXPECT_EQ(report.events, events->size());
}

TEST_F(ReplayTest, AChainThatCannotBeReplayedSaysWhy) {
  Result<ReplayReport> unknown = runtime_->Replay("00000000-0000-0000-0000-000000000001", {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().ToString(), HasSubstr("not found"));

  const std::string id = Spawn(ProbeManifest());
  ASSERT_FALSE(id.empty());
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  // A chain whose module is not in the store: named by its hash.
  std::vector<chain::Event> forged;
  std::optional<chain::Hash> parent;
  for (size_t i = 0; i < events->size(); ++i) {
    chain::Event e = (*events)[i];
    if (i == 0) {
      e.payload = chain::EncodePayload(chain::Lifecycle{
          "actor-load", chain::ActorLoadMessage(id, "probe", "0.1.0", std::string(64, 'a'))});
    }
    e.parent = parent;
    e.hash = chain::HashEvent(parent, e.type, e.payload);
    parent = e.hash;
    forged.push_back(std::move(e));
  }
  Result<ReplayReport> gone = runtime_->ReplayEvents(forged, {});
  ASSERT_FALSE(gone.ok());
  EXPECT_THAT(gone.status().ToString(), HasSubstr("sha256:" + std::string(64, 'a')));
  EXPECT_THAT(gone.status().ToString(), HasSubstr("not in the store"));
  // A chain that does not start at its first event.
  std::vector<chain::Event> tail(events->begin() + 1, events->end());
  EXPECT_FALSE(runtime_->ReplayEvents(tail, {}).ok());
}

// A saved chain damaged in the database is refused where the damage is (every recorded hash is
// checked as the replay reads it), never reported as a divergence of the actor.
TEST_F(ReplayTest, ADamagedSavedChainIsRefusedWhereItIsDamaged) {
  const std::string id = Spawn(ProbeManifest());
  ASSERT_FALSE(id.empty());
  for (int i = 0; i < 5; ++i) Reply(id, "count");
  ASSERT_TRUE(runtime_->Stop(id).ok());
  ASSERT_TRUE(runtime_->store()->Flush().ok());
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  ASSERT_GT(events->size(), 8u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((home_ / "theater.db").c_str(), &db), SQLITE_OK);
  const std::string damage =
      "UPDATE events SET payload = CAST('damaged' AS BLOB) WHERE seq = 7 AND actor_key = "
      "(SELECT actor_key FROM actor_keys WHERE actor = '" + id + "');";
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, damage.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  EXPECT_EQ(sqlite3_changes(db), 1);
  sqlite3_close(db);
  Result<ReplayReport> replayed = runtime_->Replay(id, {});
  ASSERT_FALSE(replayed.ok());
  EXPECT_THAT(replayed.status().ToString(), HasSubstr("does not verify: event #7: hash mismatch"));
}

}  // namespace
}  // namespace theater
