// Theater: a WebAssembly actor runtime.
//
// TheaterRuntime end to end with real actors (tests/actors/runtime_probe.c) on a real worker
// pool and a real SQLite database in a temporary directory: spawn and init, state threading,
// the phase machine (pause, resume, graceful stop, terminate), mailbox overflow, deadlines,
// traps, suspension without holding workers, supervision (callbacks, children stopped first,
// restart strategies and intensity), permissions, persistence, subscriptions and metrics.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "common/sanitizers.h"
#include "common/test_http_server.h"
#include "common/uuid.h"
#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

using abi::Value;
using namespace std::chrono_literals;
using namespace testing_util;  // the fixture and its helpers

TEST_F(RuntimeTest, SpawnRunsInitAndReturnsTheIdOnceReady) {
  std::string id = Spawn(ProbeManifest());
  ASSERT_TRUE(IsUuid(id)) << id;
  EXPECT_EQ(runtime_->Phase(id).value(), ActorPhase::kIdle);
  EXPECT_EQ(State(id), "0");
  auto list = runtime_->List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, id);
  EXPECT_EQ(list[0].name, "probe");
  EXPECT_FALSE(list[0].parent_id.has_value());
}

TEST_F(RuntimeTest, CallsThreadTheStateOneAtATime) {
  std::string id = Spawn(ProbeManifest());
  std::vector<std::future<Result<std::vector<Value>>>> replies;
  for (int i = 0; i < 50; ++i) replies.push_back(RequestAsync(id, "count"));
  std::set<std::string> seen;
  for (auto& r : replies) seen.insert(Response(r.get()));
  EXPECT_EQ(seen.size(), 50u) << "each call saw the state the previous one left";
  EXPECT_EQ(State(id), "50");
  EXPECT_EQ(Response(Request(id, "get-state")), "50");
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
}

TEST_F(RuntimeTest, SpawnFailsWithTheInitErrorAndLeavesNothingBehind) {
  SpawnRequest request;
  request.manifest = ProbeManifest();
  request.state = Bytes("\"fail-init\"");
  Result<std::string> id = runtime_->Spawn(request);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().ToString().find("init failed on purpose"), std::string::npos)
      << id.status().ToString();
  EXPECT_TRUE(runtime_->List().empty());
  EXPECT_TRUE(TopLevel().empty()) << "an init failure goes to the spawner only";
}

// Manifests, components and initial states fetched over HTTP from a real server on loopback;
// references in a fetched manifest resolve against its URL.
TEST_F(RuntimeTest, SpawnsFromUrls) {
  std::filesystem::path root = home_ / "served";
  std::filesystem::create_directories(root / "actors");
  std::filesystem::copy_file(kProbe, root / "probe.wasm");
  std::ofstream(root / "actors" / "probe.toml")
      << "name = \"remote\"\nversion = \"1.0.0\"\ncomponent = \"../probe.wasm\"\n";
  std::ofstream(root / "actors" / "failing.toml")
      << "name = \"remote\"\nversion = \"1.0.0\"\ncomponent = \"../probe.wasm\"\n"
         "init_state = \"fail.json\"\n";
  std::ofstream(root / "actors" / "fail.json") << "\"fail-init\"";
  std::ofstream(root / "actors" / "local.toml")
      << "name = \"remote\"\nversion = \"1.0.0\"\ncomponent = \"" << kProbe << "\"\n";
  testing::TestHttpServer server(root);
  ASSERT_TRUE(server.ok()) << server.error();

  std::string id = Spawn(server.Url("actors/probe.toml"));
  EXPECT_EQ(runtime_->List().at(0).name, "remote");
  EXPECT_EQ(Response(Request(id, "count")), "1");

  // An inline manifest may name a component by URL too.
  std::string inline_id =
      Spawn("name = \"x\"\nversion = \"1\"\ncomponent = \"" + server.Url("probe.wasm") + "\"\n");
  EXPECT_EQ(Response(Request(inline_id, "count")), "1");

  SpawnRequest failing;
  failing.manifest = server.Url("actors/failing.toml");
  Result<std::string> r = runtime_->Spawn(failing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("init failed on purpose"), std::string::npos)
      << "the init_state came from the server: " << r.status().ToString();

  SpawnRequest missing;
  missing.manifest = server.Url("actors/missing.toml");
  r = runtime_->Spawn(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().ToString().find("HTTP status 404"), std::string::npos);

  SpawnRequest local;
  local.manifest = server.Url("actors/local.toml");
  r = runtime_->Spawn(local);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("is a local path, but the manifest was fetched from"),
            std::string::npos)
      << r.status().ToString();

  SpawnRequest store;
  store.manifest =
      "store://main/hash/00";  // not a store id (store_handler_test spawns from stores)
  r = runtime_->Spawn(store);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_EQ(runtime_->List().size(), 2u) << "only the two successful spawns are alive";
}

// Update component: an operation in the mailbox; the state, id, chain and children carry over;
// a component that cannot take over leaves the old one running.
TEST_F(RuntimeTest, UpdateComponentKeepsStateAndChain) {
  std::string id = Spawn(ProbeManifest());
  for (int i = 1; i <= 5; ++i) ASSERT_EQ(Response(Request(id, "count")), std::to_string(i));
  // Queued behind calls already in the mailbox: they run on the old component first.
  std::vector<std::future<Result<std::vector<Value>>>> before;
  for (int i = 0; i < 3; ++i) before.push_back(RequestAsync(id, "count"));
  ASSERT_TRUE(runtime_->UpdateComponent(id, kBenchActor).ok());
  std::set<std::string> answered;
  for (auto& r : before) answered.insert(Response(r.get()));
  EXPECT_EQ(answered, (std::set<std::string>{"6", "7", "8"}));
  EXPECT_EQ(State(id), "8");
  // bench_actor answers any request with the incremented counter, without a command language.
  EXPECT_EQ(Response(Request(id, "count")), "9");
  EXPECT_EQ(Response(Request(id, "anything")), "10");
  EXPECT_EQ(runtime_->Phase(id).value(), ActorPhase::kIdle);
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
  bool recorded = false;
  const std::vector<chain::Event> events = runtime_->Events(id).value();
  for (const chain::Event& e : events) {
    auto p = chain::DecodePayload(e.payload);
    if (p.ok() && std::holds_alternative<chain::Lifecycle>(*p)) {
      recorded |= std::get<chain::Lifecycle>(*p).kind == "component-updated";
    }
  }
  EXPECT_TRUE(recorded);

  // A bench actor has only the handlers its own imports activated; the probe imports interfaces
  // (supervisor, timing, ...) they do not serve: the update fails and the bench component keeps
  // running, state intact.
  std::string bench =
      Spawn("name = \"bench\"\nversion = \"1\"\ncomponent = \"" + kBenchActor + "\"\n");
  EXPECT_EQ(Response(Request(bench, "x")), "1");
  Status refused = runtime_->UpdateComponent(bench, kProbe);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.ToString().find("instantiating the new component"), std::string::npos)
      << refused.ToString();
  EXPECT_EQ(Response(Request(bench, "x")), "2");
  EXPECT_EQ(Response(Request(id, "x")), "11");

  std::filesystem::path garbage = home_ / "garbage.wasm";
  std::ofstream(garbage) << "not wasm at all";
  EXPECT_FALSE(runtime_->UpdateComponent(id, garbage.string()).ok());
  EXPECT_FALSE(runtime_->UpdateComponent(id, "/nonexistent.wasm").ok());
  EXPECT_EQ(runtime_->UpdateComponent(NewUuid(), kProbe).code(), StatusCode::kNotFound);
  EXPECT_EQ(Response(Request(id, "x")), "12");
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
}

// "Save chain": the chain as JSON in <home>/chains/<id>.json, for a memory-only chain and for a
// saved one; the file's events are the chain's, verifiable from its anchor.
TEST_F(RuntimeTest, SaveChainWritesTheChainAsJson) {
  std::string memory_only = Spawn(ProbeManifest());
  std::string saved = Spawn(ProbeManifest("save_chain = true\n"));
  for (const std::string& id : {memory_only, saved}) {
    ASSERT_EQ(Response(Request(id, "count")), "1");
    Result<std::filesystem::path> path = runtime_->SaveChain(id);
    ASSERT_TRUE(path.ok()) << path.status().ToString();
    EXPECT_EQ(*path, home_ / "chains" / (id + ".json"));
    std::ifstream in(*path);
    nlohmann::json doc = nlohmann::json::parse(in);
    EXPECT_EQ(doc["actor_id"], id);
    EXPECT_EQ(doc["first_index"], 0u);
    EXPECT_TRUE(doc["anchor"].is_null());
    std::vector<chain::Event> events = runtime_->Events(id).value();
    ASSERT_EQ(doc["events"].size(), events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(doc["events"][i]["hash"], chain::ToHex(events[i].hash)) << i;
    }
    EXPECT_EQ(doc["events"].back()["payload"]["kind"], "export-call");
    EXPECT_FALSE(std::filesystem::exists(home_ / "chains" / (id + ".json.tmp")));
  }
  EXPECT_EQ(runtime_->SaveChain(NewUuid()).status().code(), StatusCode::kNotFound);
}

TEST_F(RuntimeTest, SpawnErrorsAreClear) {
  SpawnRequest missing;
  missing.manifest = "/nonexistent/manifest.toml";
  auto r = runtime_->Spawn(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("/nonexistent/manifest.toml"), std::string::npos);

  SpawnRequest bad_component;
  bad_component.manifest = "name = \"x\"\nversion = \"1\"\ncomponent = \"/nonexistent.wasm\"\n";
  r = runtime_->Spawn(bad_component);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("nonexistent.wasm"), std::string::npos);

  SpawnRequest bad_json;
  bad_json.manifest = ProbeManifest();
  bad_json.state = Bytes("{not json");
  r = runtime_->Spawn(bad_json);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("not valid JSON"), std::string::npos);

  SpawnRequest unknown_handler;
  unknown_handler.manifest = ProbeManifest("[[handler]]\ntype = \"teleporter\"\n");
  r = runtime_->Spawn(unknown_handler);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("unknown handler type 'teleporter'"), std::string::npos)
      << r.status().ToString();

  SpawnRequest bad_config;
  bad_config.manifest =
      ProbeManifest("[[handler]]\ntype = \"supervisor\"\nstrategy = \"sometimes\"\n");
  r = runtime_->Spawn(bad_config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("strategy"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(runtime_->List().empty());
}

TEST_F(RuntimeTest, UnknownActorsAreNotFound) {
  std::string ghost = NewUuid();
  EXPECT_EQ(runtime_->Stop(ghost).code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Pause(ghost).code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_->State(ghost).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Events(ghost).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Request(ghost, "count").status().code(), StatusCode::kNotFound);
}

TEST_F(RuntimeTest, GuestErrorFailsTheCallButNotTheActor) {
  std::string id = Spawn(ProbeManifest());
  auto r = Request(id, "err");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("requested error"), std::string::npos);
  EXPECT_EQ(Response(Request(id, "count")), "1");
  EXPECT_EQ(Request(id, "no-such-command").status().code(), StatusCode::kFailedPrecondition);
  auto missing = runtime_->Call(id, "theater:simple/message-server-client", "handle-send",
                                {Value::Bytes({1})});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_TRUE(Running(id));
}

TEST_F(RuntimeTest, TrapFailsTheActorAndTheTopLevelListenerHearsTheCause) {
  std::string id = Spawn(ProbeManifest("save_chain = true\n"));
  auto r = Request(id, "trap");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTrap) << r.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return !Running(id) && !TopLevel().empty(); }));
  auto events = TopLevel();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, ChildEvent::Kind::kError);
  EXPECT_EQ(events[0].child_id, id);
  EXPECT_EQ(events[0].error.code(), StatusCode::kTrap);
  // The chain outlives the actor (save_chain) and records the failure.
  auto chain = runtime_->Events(id);
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  EXPECT_TRUE(chain::VerifyEvents(*chain).ok());
  auto last = chain::DecodePayload(chain->back().payload);
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(std::holds_alternative<chain::Lifecycle>(*last));
  EXPECT_NE(std::get<chain::Lifecycle>(*last).message.find("unreachable"), std::string::npos);
}

TEST_F(RuntimeTest, DeadlineInterruptsARunawayCall) {
  std::string id = Spawn(ProbeManifest("[limits]\ncall_deadline_ms = 200\n"));
  auto start = std::chrono::steady_clock::now();
  auto r = Request(id, "spin");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_LT(took, 5s);
  ASSERT_TRUE(WaitFor([&] { return !Running(id); }));
}

TEST_F(RuntimeTest, TerminateInterruptsTheRunningCall) {
  std::string id = Spawn(ProbeManifest());
  auto reply = RequestAsync(id, "spin");
  ASSERT_TRUE(WaitFor([&] { return runtime_->Phase(id).value() == ActorPhase::kProcessing; }));
  ASSERT_TRUE(runtime_->Terminate(id).ok());
  auto r = reply.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  EXPECT_FALSE(Running(id));
}

TEST_F(RuntimeTest, TerminateWakesAndCancelsASleepingCall) {
  std::string id = Spawn(ProbeManifest());
  auto reply = RequestAsync(id, "sleep:10000");
  ASSERT_TRUE(WaitFor([&] { return runtime_->Phase(id).value() == ActorPhase::kProcessing; }));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime_->Terminate(id).ok());
  ASSERT_EQ(reply.wait_for(5s), std::future_status::ready) << "the sleep was not cut short";
  EXPECT_EQ(reply.get().status().code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_FALSE(Running(id));
}

TEST_F(RuntimeTest, GracefulStopLetsTheCurrentCallFinishAndRefusesQueuedOnes) {
  std::string id = Spawn(ProbeManifest());
  auto sleeping = RequestAsync(id, "sleep:200");
  ASSERT_TRUE(WaitFor([&] { return runtime_->Phase(id).value() == ActorPhase::kProcessing; }));
  auto queued = RequestAsync(id, "count");
  ASSERT_TRUE(runtime_->Stop(id).ok());
  EXPECT_EQ(Response(sleeping.get()), "slept");
  auto refused = queued.get();
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Running(id));
  EXPECT_EQ(Request(id, "count").status().code(), StatusCode::kNotFound);
}

TEST_F(RuntimeTest, PausedActorsQueueOperationsUntilResumed) {
  std::string id = Spawn(ProbeManifest());
  ASSERT_TRUE(runtime_->Pause(id).ok());
  EXPECT_EQ(runtime_->Phase(id).value(), ActorPhase::kPaused);
  auto reply = RequestAsync(id, "count");
  EXPECT_EQ(reply.wait_for(100ms), std::future_status::timeout);
  EXPECT_EQ(runtime_->Metrics(id)->mailbox_depth, 1u);
  EXPECT_EQ(State(id), "0") << "info is answered while paused";
  ASSERT_TRUE(runtime_->Resume(id).ok());
  EXPECT_EQ(Response(reply.get()), "1");
  EXPECT_EQ(runtime_->Resume(id).code(), StatusCode::kFailedPrecondition);
}

TEST_F(RuntimeTest, AFullMailboxRefusesWithoutQueueing) {
  std::string id = Spawn(ProbeManifest("[limits]\nmailbox_capacity = 2\n"));
  ASSERT_TRUE(runtime_->Pause(id).ok());
  auto a = RequestAsync(id, "count");
  auto b = RequestAsync(id, "count");
  auto c = Request(id, "count");
  EXPECT_EQ(c.status().code(), StatusCode::kResourceExhausted) << c.status().ToString();
  EXPECT_NE(c.status().ToString().find("mailbox"), std::string::npos);
  ASSERT_TRUE(runtime_->Resume(id).ok());
  EXPECT_EQ(Response(a.get()), "1");
  EXPECT_EQ(Response(b.get()), "2");
  EXPECT_EQ(runtime_->Metrics(id)->mailbox_peak, 2u);
}

TEST_F(RuntimeTest, InfoNeverWaitsForTheRunningCall) {
  std::string id = Spawn(ProbeManifest());
  ASSERT_EQ(Response(Request(id, "count")), "1");
  auto sleeping = RequestAsync(id, "sleep:1000");
  ASSERT_TRUE(WaitFor([&] { return runtime_->Phase(id).value() == ActorPhase::kProcessing; }));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(State(id), "1");
  EXPECT_TRUE(runtime_->Metrics(id).ok());
  EXPECT_TRUE(runtime_->Events(id).ok());
  // Far less than the sleep it would have had to wait for (generous for sanitizer builds).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_EQ(Response(sleeping.get()), "slept");
}

TEST_F(RuntimeTest, SleepingActorsDoNotHoldWorkers) {
  // 2 workers, 200 actors each sleeping 300 ms: if a sleep held its worker this would take
  // 30 s; suspended, it takes about one sleep.
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(Spawn(ProbeManifest()));
  auto start = std::chrono::steady_clock::now();
  std::vector<std::future<Result<std::vector<Value>>>> replies;
  for (const auto& id : ids) replies.push_back(RequestAsync(id, "sleep:300"));
  for (auto& r : replies) EXPECT_EQ(Response(r.get()), "slept");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(RuntimeTest, SleepBeyondTheCallDeadlineIsRefused) {
  std::string id = Spawn(ProbeManifest("[limits]\ncall_deadline_ms = 100\n"));
  std::string r = Response(Request(id, "sleep:1000"));
  EXPECT_NE(r.find("error:"), std::string::npos) << r;
  EXPECT_NE(r.find("deadline"), std::string::npos) << r;
  EXPECT_TRUE(Running(id));
}

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

TEST_F(RuntimeTest, ResumeStartsFromTheGivenStateWithoutInit) {
  SpawnRequest request;
  request.manifest = ProbeManifest();
  request.state = Bytes("41");
  request.resume = true;
  auto id = runtime_->Spawn(request);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(State(*id), "41");
  EXPECT_EQ(Response(Request(*id, "count")), "42");
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

TEST_F(RuntimeTest, ChainsArePersistedAndVerifyAfterTheActorStopped) {
  std::string id = Spawn(ProbeManifest("save_chain = true\n"));
  ASSERT_EQ(Response(Request(id, "count")), "1");
  auto live = runtime_->Events(id).value();
  ASSERT_TRUE(runtime_->Stop(id).ok());
  auto stored = runtime_->Events(id);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_GT(stored->size(), live.size()) << "the stop is recorded too";
  EXPECT_TRUE(std::equal(live.begin(), live.end(), stored->begin()));
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
  // A new runtime over the same database still has it.
  Start();
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
  auto records = runtime_->store()->ListActors();
  ASSERT_TRUE(records.ok());
  bool found = false;
  for (const auto& r : *records) found |= r.actor_id == id && r.status == "stopped";
  EXPECT_TRUE(found);
}

// Strict durability: nothing that depends on an event leaves before the event is committed.
TEST_F(RuntimeTest, StrictDurabilityHoldsRepliesUntilTheEventsAreCommitted) {
  RuntimeOptions options;
  options.durability = chain::Durability::kStrict;
  Start(options);
  std::string id = Spawn(ProbeManifest("save_chain = true\n"));
  for (int i = 1; i <= 20; ++i) {
    ASSERT_EQ(Response(Request(id, "count")), std::to_string(i));
    // No Flush: the committed rows alone already hold the call's result.
    auto committed = runtime_->store()->LoadChain(id);
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
    ASSERT_FALSE(committed->empty());
    auto last = chain::DecodePayload(committed->back().payload);
    ASSERT_TRUE(last.ok());
    ASSERT_TRUE(std::holds_alternative<chain::ExportCall>(*last)) << "call " << i;
    EXPECT_EQ(committed->size(), runtime_->Metrics(id)->events);
  }
}

// kill -9 while actors write their chains: every saved chain reopens verified, nothing torn.
TEST_F(RuntimeTest, KillNineDuringChainWritesLeavesVerifiableChains) {
  runtime_.reset();  // the child owns the database
  for (const char* durability : {"batched", "strict"}) {
    std::filesystem::path dir = home_ / durability;
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      execl(THEATER_CRASH_CHILD, THEATER_CRASH_CHILD, dir.c_str(), kProbe.c_str(), durability,
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    // Wait for "ready" at most a minute, so a child that hangs fails the test instead of
    // hanging it.
    struct pollfd ready {
      out[0], POLLIN, 0
    };
    if (poll(&ready, 1, 60'000) != 1) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      FAIL() << durability << ": the crash child did not start writing within 60 s";
    }
    char buf[16] = {};
    ASSERT_GT(read(out[0], buf, sizeof buf - 1), 0) << durability;
    EXPECT_EQ(std::string(buf), "ready\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + std::rand() % 200));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << durability;
    close(out[0]);

    auto store = chain::ChainStore::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto actors = (*store)->ListActors();
    ASSERT_TRUE(actors.ok());
    ASSERT_EQ(actors->size(), 8u) << durability;
    for (const auto& record : *actors) {
      chain::LoadReport report;
      auto events = (*store)->LoadChain(record.actor_id, &report);
      ASSERT_TRUE(events.ok()) << events.status().ToString();
      EXPECT_GT(events->size(), 3u) << durability;
      EXPECT_EQ(report.rejected, 0u) << durability << ": " << report.problem.ToString();
      EXPECT_TRUE(chain::VerifyEvents(*events).ok()) << durability;
    }
  }
}

#if THEATER_ADDRESS_SANITIZER
constexpr int kFloodCalls = 10'000;  // 10k events: the same behaviour, at sanitizer speed
#else
constexpr int kFloodCalls = 100'000;  // 100k events (one per export call)
#endif

// A subscriber that never reads, during a flood: the flood and other actors go on; the
// subscriber gets what fit in its queue plus gap markers that account for every dropped event.
TEST_F(RuntimeTest, ASlowLossySubscriberNeverStallsTheRuntime) {
  std::string flooded = Spawn(ProbeManifest());
  std::string other = Spawn(ProbeManifest());
  auto sub = runtime_->Subscribe(flooded, 64, chain::OverflowPolicy::kLossy);
  ASSERT_TRUE(sub.ok());
  size_t before = runtime_->Events(flooded)->size();
  // The flood, from its own thread, keeping at most 512 calls queued (the mailbox holds 1024).
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0, failed = 0;
  std::thread flood([&] {
    for (int i = 0; i < kFloodCalls; ++i) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return in_flight < 512; });
        ++in_flight;
      }
      runtime_->CallAsync(flooded, "theater:simple/message-server-client", "handle-request",
                          {Value::String("r"), Value::Bytes(Bytes("count"))},
                          [&](Result<std::vector<Value>> r) {
                            std::lock_guard<std::mutex> lock(mu);
                            if (!r.ok()) ++failed;
                            --in_flight;
                            cv.notify_all();
                          });
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
  });
  // Meanwhile another actor keeps answering.
  for (int i = 1; i <= 200; ++i) ASSERT_EQ(Response(Request(other, "count")), std::to_string(i));
  flood.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(State(flooded), std::to_string(kFloodCalls));
  size_t published = runtime_->Metrics(flooded)->events - before;
  ASSERT_GE(published, 1u * kFloodCalls);
  size_t events = 0, dropped = 0;
  while (auto d = sub->TryNext()) {
    if (d->is_gap()) {
      dropped += d->dropped;
    } else {
      ++events;
    }
  }
  EXPECT_LE(events, 64u);
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(events + dropped, published) << "every event delivered or counted in a gap marker";
}

TEST_F(RuntimeTest, RetentionKeepsASnapshotAndAVerifiableTail) {
  std::string id =
      Spawn(ProbeManifest("save_chain = true\n[limits]\nchain_retention_events = 10\n"));
  for (int i = 1; i <= 40; ++i) ASSERT_EQ(Response(Request(id, "count")), std::to_string(i));
  ASSERT_TRUE(runtime_->VerifyChain(id).ok()) << runtime_->VerifyChain(id).ToString();
  chain::LoadReport report;
  ASSERT_TRUE(runtime_->store()->Flush().ok());
  auto stored = runtime_->store()->LoadChain(id, &report);
  ASSERT_TRUE(stored.ok());
  EXPECT_GT(report.first_index, 0u) << "older events were pruned";
  EXPECT_LE(stored->size(), 2u * 10 + 4) << "between one and two retention windows remain";
  EXPECT_EQ(report.first_index + stored->size(), runtime_->Metrics(id)->events);
  // The stored chain starts at a snapshot holding the state at that point.
  auto first = chain::DecodePayload(stored->front().payload);
  ASSERT_TRUE(first.ok());
  auto* call = std::get_if<chain::HostCall>(&*first);
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(call->function, "state-snapshot");
  ASSERT_EQ(call->output.values.size(), 1u);
  ASSERT_TRUE(call->output.values[0].is_some());
  std::string snapshot(call->output.values[0].payload()->as_bytes().begin(),
                       call->output.values[0].payload()->as_bytes().end());
  EXPECT_GT(std::stoi(snapshot), 0);
  ASSERT_TRUE(runtime_->Stop(id).ok());
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
}

TEST_F(RuntimeTest, SubscribersReceiveEveryEventOfTheirActor) {
  std::string id = Spawn(ProbeManifest());
  std::string other = Spawn(ProbeManifest());
  auto sub = runtime_->Subscribe(id, 100, chain::OverflowPolicy::kStrict);
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(Response(Request(id, "count")), "1");
  ASSERT_EQ(Response(Request(other, "count")), "1");
  size_t count = 0;
  size_t first_index = 0;
  while (auto d = sub->TryNext()) {
    EXPECT_EQ(d->actor_id, id);
    if (count++ == 0) first_index = d->index;
  }
  EXPECT_GE(count, 1u) << "the export call";
  auto events = runtime_->Events(id).value();
  EXPECT_EQ(first_index + count, events.size());
}

TEST_F(RuntimeTest, MetricsCountCallsFailuresLatencyMemoryAndCustomValues) {
  std::string id = Spawn(ProbeManifest());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Response(Request(id, "count")), std::to_string(i + 1));
  EXPECT_FALSE(Request(id, "err").ok());
  ASSERT_EQ(Response(Request(id, "metric:2.5")), "ok");
  auto m = runtime_->Metrics(id);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->calls, 8u) << "init + 5 counts + err + metric";
  EXPECT_EQ(m->failures, 1u);
  EXPECT_GT(m->latency_min_ns, 0u);
  EXPECT_LE(m->latency_min_ns, m->latency_avg_ns);
  EXPECT_LE(m->latency_avg_ns, m->latency_max_ns);
  EXPECT_GT(m->memory_bytes, 0u);
  EXPECT_GE(m->memory_peak_bytes, m->memory_bytes);
  EXPECT_EQ(m->custom.at("probe"), 2.5);
  EXPECT_GE(m->events, 8u) << "one per export call, and more for host calls";
}

TEST_F(RuntimeTest, MemoryBombIsCappedByTheManifestLimit) {
  std::string id = Spawn(ProbeManifest("[limits]\nmemory_limit_mb = 8\n"));
  std::string blocks = Response(Request(id, "grow"));
  ASSERT_NE(blocks.find_first_not_of("0123456789"), 0u) << blocks;
  EXPECT_LT(std::stoi(blocks), 8);
  EXPECT_LE(runtime_->Metrics(id)->memory_peak_bytes, 8u << 20);
  EXPECT_EQ(Response(Request(id, "count")), "1") << "the actor survives its own memory bomb";
}

TEST_F(RuntimeTest, RuntimeExtReportsIdentityAndHost) {
  std::string id = Spawn(ProbeManifest());
  EXPECT_EQ(Response(Request(id, "actor-id")), id);
  std::string host = Response(Request(id, "host-info"));
  char hostname[256] = {};
  gethostname(hostname, sizeof hostname - 1);
  EXPECT_EQ(host.substr(host.find(' ') + 1), hostname) << host;
  EXPECT_GE(std::stoi(host), 1);
}

TEST_F(RuntimeTest, SeededRandomIsReproduciblePerActorAndDistinctBetweenActors) {
  std::string seeded = ProbeManifest("[[handler]]\ntype = \"random\"\nseed = 42\n");
  SpawnRequest request;
  request.manifest = seeded;
  request.actor_id = "11111111-1111-4111-8111-111111111111";
  std::string first = *runtime_->Spawn(request);
  std::string a = Response(Request(first, "random:16"));
  ASSERT_EQ(a.size(), 32u) << a;
  ASSERT_TRUE(runtime_->Stop(first).ok());
  std::string again = *runtime_->Spawn(request);  // same id, same seed: same sequence
  EXPECT_EQ(Response(Request(again, "random:16")), a);
  request.actor_id = "22222222-2222-4222-8222-222222222222";
  std::string other = *runtime_->Spawn(request);
  EXPECT_NE(Response(Request(other, "random:16")), a);
  std::string uuid = Response(Request(other, "uuid"));
  EXPECT_TRUE(IsUuid(uuid)) << uuid;
  std::string limited = Spawn(ProbeManifest("[[handler]]\ntype = \"random\"\nmax_bytes = 8\n"));
  EXPECT_NE(Response(Request(limited, "random:9")).find("error:"), std::string::npos);
  EXPECT_EQ(Response(Request(limited, "random:8")).size(), 16u);
}

TEST_F(RuntimeTest, EnvironmentVariablesFollowTheHandlerRules) {
  ::setenv("THEATER_TEST_VISIBLE", "yes", 1);
  ::setenv("THEATER_TEST_SECRET", "no", 1);
  std::string id = Spawn(
      ProbeManifest("[[handler]]\ntype = \"environment\"\nallowed_prefixes = [\"THEATER_TEST_\"]\n"
                    "denied_vars = [\"THEATER_TEST_SECRET\"]\n"));
  EXPECT_EQ(Response(Request(id, "env:THEATER_TEST_VISIBLE")), "yes");
  EXPECT_EQ(Response(Request(id, "env:THEATER_TEST_SECRET")), "none");
  EXPECT_EQ(Response(Request(id, "env:HOME")), "none");
  std::string parent = Spawn(ProbeManifest());
  std::string denied = Response(Request(
      parent, "spawn:" + ProbeManifest("[permission_policy.environment]\ntype = \"disallow\"\n")));
  ASSERT_TRUE(IsUuid(denied)) << denied;
  // get-var has no error case: without the permission the call traps, failing the child.
  EXPECT_EQ(Request(denied, "env:THEATER_TEST_VISIBLE").status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(RuntimeTest, ShutdownStopsEverythingAndRefusesNewWork) {
  std::string parent = Spawn(ProbeManifest());
  Response(Request(parent, "spawn:" + ProbeManifest()));
  Spawn(ProbeManifest());
  ASSERT_TRUE(runtime_->Shutdown().ok());
  EXPECT_TRUE(runtime_->List().empty());
  SpawnRequest request;
  request.manifest = ProbeManifest();
  EXPECT_EQ(runtime_->Spawn(request).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace theater
