// Theater: a WebAssembly actor runtime.
//
// TheaterRuntime end to end with real actors (tests/actors/runtime_probe.c) on a real worker
// pool and a real SQLite database in a temporary directory: spawn and init, state threading,
// the phase machine (pause, resume, graceful stop, terminate), mailbox overflow, deadlines,
// traps, updates, persistence, subscriptions and metrics. What one handler does is tested in its
// folder (src/handlers/<name>/).
#include <gmock/gmock.h>
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
#include "testing/crash_child.h"
#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

using abi::Value;
using namespace std::chrono_literals;
using namespace testing_util;  // the fixture and its helpers
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Hibernation (RuntimeOptions::hibernate_after): an idle actor gives its memory's pages back,
// and its next call finds every byte of its memory as it was, without the guest telling.
class HibernationTest : public RuntimeTest {
 protected:
  // A runtime that hibernates actors idle for `after`, and a probe that has counted once in
  // guest memory.
  std::string StartAndSpawn(std::chrono::milliseconds after) {
    RuntimeOptions options;
    options.hibernate_after = after;
    Start(options);
    std::string id = Spawn(ProbeManifest());
    EXPECT_EQ(Response(Request(id, "guest-count")), "1");
    return id;
  }
};

TEST_F(HibernationTest, AnIdleActorHibernatesAndItsNextCallFindsItsMemoryAsItWas) {
  const std::string id = StartAndSpawn(20ms);
  const std::string sum = Response(Request(id, "guest-fill:300000"));
  ASSERT_FALSE(sum.empty());

  auto hibernated = [&] {
    ActorMetrics metrics;
    WaitFor([&] {
      Result<ActorMetrics> m = runtime_->Metrics(id);
      if (m.ok()) metrics = *m;
      return metrics.hibernated;
    });
    return metrics;
  };
  ActorMetrics asleep = hibernated();
  ASSERT_TRUE(asleep.hibernated) << "never hibernated";
  EXPECT_GT(asleep.hibernated_bytes, 0u);
  // The filled bytes are a third zeros, in runs: kept as runs, not as pages.
  EXPECT_LT(asleep.hibernated_bytes, 300000u * 3 / 4);
  EXPECT_GE(asleep.hibernations, 1u);

  EXPECT_EQ(Response(Request(id, "guest-sum")), sum);
  EXPECT_EQ(Response(Request(id, "guest-count")), "2");
  EXPECT_EQ(Response(Request(id, "count")), "1");  // the host-held state, untouched

  // Asleep again, it stops as any idle actor does.
  asleep = hibernated();
  ASSERT_TRUE(asleep.hibernated);
  EXPECT_GE(asleep.hibernations, 2u);
  EXPECT_TRUE(runtime_->Stop(id).ok());
}

// Zero turns hibernation off: nothing sleeps however long it idles (ten times the period the
// test above hibernates within; a zero taken as "at once" would hibernate at the first sweep).
TEST_F(HibernationTest, NoActorHibernatesWhenHibernationIsOff) {
  const std::string id = StartAndSpawn(0ms);
  std::this_thread::sleep_for(200ms);
  Result<ActorMetrics> m = runtime_->Metrics(id);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->hibernated);
  EXPECT_EQ(m->hibernations, 0u);
}

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

// The chain starts with actor-load, naming the actor and its module, then runtime-setup (the
// handlers set up, or why one could not be), as docs/chain-format.md says.
TEST_F(RuntimeTest, TheChainStartsWithItsActorAndItsSetup) {
  auto lifecycle = [](const chain::Event& event) {
    Result<chain::Payload> payload = chain::DecodePayload(event.payload);
    EXPECT_TRUE(payload.ok()) << payload.status().ToString();
    const chain::Lifecycle* step =
        payload.ok() ? std::get_if<chain::Lifecycle>(&*payload) : nullptr;
    return step ? *step : chain::Lifecycle{"(not lifecycle)", event.type};
  };
  std::string a = Spawn(ProbeManifest());
  std::string b = Spawn(ProbeManifest());
  std::vector<chain::Event> of_a = runtime_->Events(a).value();
  std::vector<chain::Event> of_b = runtime_->Events(b).value();
  ASSERT_GE(of_a.size(), 2u);
  EXPECT_EQ(lifecycle(of_a[0]).kind, "actor-load");
  EXPECT_THAT(lifecycle(of_a[0]).message,
              StartsWith("actor " + a + " loads probe 0.1.0, component sha256:"));
  EXPECT_NE(of_a[0].hash, of_b[0].hash) << "two actors of one manifest start differently";
  EXPECT_EQ(lifecycle(of_a[1]).kind, "runtime-setup");
  EXPECT_THAT(lifecycle(of_a[1]).message, StartsWith("ok: handlers "));
  EXPECT_THAT(lifecycle(of_a[1]).message, HasSubstr("runtime"));
  EXPECT_TRUE(runtime_->VerifyChain(a).ok());

  // A handler that cannot be set up: the spawn fails and the chain says why.
  SpawnRequest request;
  request.actor_id = "33333333-3333-4333-8333-333333333333";
  request.manifest = ProbeManifest("[[handler]]\ntype = \"filesystem\"\npath = \"" +
                                   (home_ / "missing").string() + "\"\n");
  ASSERT_FALSE(runtime_->Spawn(request).ok());
  std::vector<chain::Event> failed = runtime_->Events(*request.actor_id).value();
  ASSERT_FALSE(failed.empty());
  EXPECT_EQ(lifecycle(failed.back()).kind, "runtime-setup");
  EXPECT_THAT(lifecycle(failed.back()).message, StartsWith("error: "));
  EXPECT_THAT(lifecycle(failed.back()).message, HasSubstr("cannot open the base directory"));
}

// Actors declare the handlers they use (the design's security model): a module that imports or
// exports a handler's interface without a [[handler]] table is refused, and the error names the
// handler and the table to add. Adding each table it names makes the actor run; the runtime
// and WASI handlers need none. auto_handlers (manifest, or the runtime's default) adds them.
TEST_F(RuntimeTest, AnActorDeclaresTheHandlersItUses) {
  const std::string bare = "name = \"probe\"\ncomponent = \"" + kProbe + "\"\n";
  SpawnRequest request;
  request.manifest = bare;
  Result<std::string> spawned = runtime_->Spawn(request);
  ASSERT_FALSE(spawned.ok());
  ASSERT_EQ(spawned.status().code(), StatusCode::kFailedPrecondition);
  // One error names every undeclared handler with its table, so that one edit fixes it.
  const std::string error = spawned.status().ToString();
  EXPECT_THAT(error, HasSubstr("the actor imports theater:simple/"));
  EXPECT_THAT(error, HasSubstr(" handlers; add\n[[handler]]\ntype = \""));
  EXPECT_THAT(error, HasSubstr("auto_handlers = true"));
  std::vector<std::string> declared;
  const std::string table = "[[handler]]\ntype = \"";
  for (size_t at = error.find(table); at != std::string::npos; at = error.find(table, at)) {
    at += table.size();
    declared.push_back(error.substr(at, error.find('"', at) - at));
    EXPECT_THAT(error, HasSubstr("'" + declared.back() + "'"));
  }
  std::string manifest = bare;
  for (const std::string& type : declared) manifest += "[[handler]]\ntype = \"" + type + "\"\n";
  request.manifest = manifest;
  spawned = runtime_->Spawn(request);
  ASSERT_TRUE(spawned.ok()) << spawned.status().ToString();
  for (const char* used : {"message-server", "supervisor", "timing", "random", "environment"}) {
    EXPECT_THAT(declared, Contains(used));
  }
  EXPECT_THAT(declared, Not(Contains("runtime")));
  EXPECT_THAT(declared, Not(Contains("wasi-preview1")));
  EXPECT_EQ(Response(Request(*spawned, "sleep:1")), "slept");

  // The manifest's auto_handlers, or the runtime's; the manifest's false overrides the runtime.
  EXPECT_EQ(Response(Request(Spawn(bare + "auto_handlers = true\n"), "count")), "1");
  RuntimeOptions options;
  options.auto_handlers = true;
  Start(options);
  EXPECT_EQ(Response(Request(Spawn(bare), "count")), "1");
  SpawnRequest strict;
  strict.manifest = bare + "auto_handlers = false\n";
  EXPECT_EQ(runtime_->Spawn(strict).status().code(), StatusCode::kFailedPrecondition);
}

// A top-level actor's own [permission_policy] restricts what the root grants it.
TEST_F(RuntimeTest, ATopLevelActorsManifestRestrictsItsOwnPermissions) {
  std::string id = Spawn(ProbeManifest(
      "[permission_policy.timing]\ntype = \"restrict\"\n"
      "[permission_policy.timing.config]\nmax_sleep_duration = 5\n"
      "[permission_policy.environment]\ntype = \"disallow\"\n"));
  EXPECT_EQ(Response(Request(id, "sleep:1")), "slept");
  EXPECT_THAT(Response(Request(id, "sleep:50")), HasSubstr("sleep_duration = 50 > 5"));
  // Without the handler at all, a call into it traps (fail closed).
  EXPECT_EQ(Request(id, "env:HOME").status().code(), StatusCode::kPermissionDenied);
  std::string free = Spawn(ProbeManifest());
  EXPECT_EQ(Response(Request(free, "sleep:50")), "slept");
  EXPECT_EQ(Response(Request(free, "env:THEATER_NO_SUCH_VARIABLE")), "none");
}

// While it starts, an actor's summary says which setup step it is at (its init, here); in any
// other phase the step is empty.
TEST_F(RuntimeTest, AStartingActorReportsItsSetupStep) {
  SpawnRequest request;
  request.manifest = ProbeManifest();
  request.state = Bytes("\"sleep-init:400\"");
  std::promise<Result<std::string>> spawned;
  runtime_->SpawnAsync(request, [&](Result<std::string> id) { spawned.set_value(id); });
  std::string id;
  ASSERT_TRUE(WaitFor([&] {
    for (const ActorSummary& actor : runtime_->List()) {
      if (actor.phase == ActorPhase::kStarting && actor.starting_step == "running init") {
        id = actor.id;
        return true;
      }
    }
    return false;
  }));
  EXPECT_EQ(runtime_->Summary(id)->starting_step, "running init");
  Result<std::string> ready = spawned.get_future().get();
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(*ready, id);
  Result<ActorSummary> summary = runtime_->Summary(id);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->phase, ActorPhase::kIdle);
  EXPECT_EQ(summary->starting_step, "");
  EXPECT_EQ(runtime_->Summary(NewUuid()).status().code(), StatusCode::kNotFound);
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
      << "name = \"remote\"\nversion = \"1.0.0\"\ncomponent = \"../probe.wasm\"\n"
         "auto_handlers = true\n";
  std::ofstream(root / "actors" / "failing.toml")
      << "name = \"remote\"\nversion = \"1.0.0\"\ncomponent = \"../probe.wasm\"\n"
         "init_state = \"fail.json\"\nauto_handlers = true\n";
  std::ofstream(root / "actors" / "fail.json") << "\"fail-init\"";
  std::ofstream(root / "actors" / "local.toml")
      << "name = \"remote\"\nversion = \"1.0.0\"\ncomponent = \"" << kProbe
      << "\"\nauto_handlers = true\n";
  testing::TestHttpServer server(root);
  ASSERT_TRUE(server.ok()) << server.error();

  std::string id = Spawn(server.Url("actors/probe.toml"));
  EXPECT_EQ(runtime_->List().at(0).name, "remote");
  EXPECT_EQ(Response(Request(id, "count")), "1");

  // An inline manifest may name a component by URL too.
  std::string inline_id =
      Spawn("name = \"x\"\nversion = \"1\"\ncomponent = \"" + server.Url("probe.wasm") +
            "\"\nauto_handlers = true\n");
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

// A relative manifest path an actor passes to supervisor.spawn names a file beside the actor's
// own manifest (not the working directory's), or, for an actor fetched from a URL, a URL beside
// that one.
TEST_F(RuntimeTest, AChildsRelativeManifestIsBesideItsParents) {
  const std::filesystem::path package = home_ / "package";
  std::filesystem::create_directories(package / "kids");
  std::filesystem::copy_file(kProbe, package / "probe.wasm");
  for (const char* manifest : {"parent.toml", "kids/child.toml"}) {
    std::ofstream(package / manifest)
        << "name = \"" << std::filesystem::path(manifest).stem().string()
        << "\"\nversion = \"1.0.0\"\ncomponent = \""
        << (std::string(manifest) == "parent.toml" ? "probe.wasm" : "../probe.wasm")
        << "\"\nauto_handlers = true\n";
  }
  const std::string parent = Spawn((package / "parent.toml").string());
  const std::string child = Response(Request(parent, "spawn:kids/child.toml"));
  ASSERT_EQ(child.rfind("error:", 0), std::string::npos) << child;
  EXPECT_EQ(Response(Request(child, "count")), "1");
  // Beside the parent's manifest, not the working directory: nothing there has that name.
  EXPECT_FALSE(std::filesystem::exists("kids/child.toml"));

  testing::TestHttpServer server(package);
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string fetched = Spawn(server.Url("parent.toml"));
  const std::string fetched_child = Response(Request(fetched, "spawn:kids/child.toml"));
  ASSERT_EQ(fetched_child.rfind("error:", 0), std::string::npos) << fetched_child;
  EXPECT_EQ(Response(Request(fetched_child, "count")), "1");
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
      Spawn("name = \"bench\"\nversion = \"1\"\ncomponent = \"" + kBenchActor + "\"\n" +
            HandlersOf(kBenchActor));
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
  std::string memory_only = Spawn(ProbeManifest("save_chain = false\n"));
  std::string saved = Spawn(ProbeManifest());
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
  EXPECT_NE(r.status().ToString().find("unknown handler type 'teleporter' (known: "),
            std::string::npos)
      << r.status().ToString();

  SpawnRequest misspelt_handler;
  misspelt_handler.manifest = ProbeManifest("[[handler]]\ntype = \"timming\"\n");
  r = runtime_->Spawn(misspelt_handler);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("unknown handler type 'timming' (did you mean 'timing'?)"),
            std::string::npos)
      << r.status().ToString();

  SpawnRequest bad_config;
  bad_config.manifest =
      ProbeManifest("[[handler]]\ntype = \"supervisor\"\nstrategy = \"sometimes\"\n");
  r = runtime_->Spawn(bad_config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("strategy"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(runtime_->List().empty());
}

// An actor whose manifest is written as the design documents write it (`component_path`,
// `[[handlers]]` with `config = { ... }`, no `version`) runs, its handlers configured from
// `config`; a key the runtime handler does not know is refused, naming it.
TEST_F(RuntimeTest, AManifestInTheDesignDocumentsSpellingRuns) {
  const std::string design = "name = \"my-actor\"\ncomponent_path = \"" + kProbe +
                             "\"\nauto_handlers = true\n\n[[handlers]]\ntype = \"runtime\"\nconfig = {}\n\n"
                             "[[handlers]]\ntype = \"timing\"\n"
                             "config = { max_sleep_duration = 50 }\n";
  const std::string id = Spawn(design);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Response(Request(id, "sleep:1")), "slept");
  // The timing config came from `config`: a longer sleep is refused by it.
  EXPECT_NE(Response(Request(id, "sleep:60")).find("sleep_duration"), std::string::npos);
  const std::vector<ActorSummary> actors = runtime_->List();
  ASSERT_EQ(actors.size(), 1u);
  EXPECT_EQ(actors[0].name, "my-actor");

  SpawnRequest bogus;
  bogus.manifest = "name = \"my-actor\"\ncomponent_path = \"" + kProbe +
                   "\"\n[[handlers]]\ntype = \"runtime\"\nconfig = { bogus_key = 1 }\n";
  Result<std::string> refused = runtime_->Spawn(bogus);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().ToString().find(
                "handler 'runtime': unknown key 'bogus_key' (the handler takes no config)"),
            std::string::npos)
      << refused.status().ToString();
}

TEST_F(RuntimeTest, UnknownActorsAreNotFound) {
  std::string ghost = NewUuid();
  EXPECT_EQ(runtime_->Stop(ghost).code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Pause(ghost, TheaterRuntime::PauseWhen::kNow).code(), StatusCode::kNotFound);
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

TEST_F(RuntimeTest, CallsQueuedBehindAFailingCallAreAnsweredAsTheActorStops) {
  std::string id = Spawn(ProbeManifest());
  // Queued while the first call sleeps: the trap fails the actor, and the call behind it is
  // answered (it used to be dropped unanswered, breaking the promise a synchronous Call waits on).
  auto sleeping = RequestAsync(id, "sleep:50");
  auto trapping = RequestAsync(id, "trap");
  auto behind = RequestAsync(id, "count");
  EXPECT_EQ(Response(sleeping.get()), "slept");
  EXPECT_EQ(trapping.get().status().code(), StatusCode::kTrap);
  ASSERT_EQ(behind.wait_for(10s), std::future_status::ready);
  Result<std::vector<Value>> r = behind.get();
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().ToString().find("is shutting down"), std::string::npos)
      << r.status().ToString();
  EXPECT_TRUE(WaitFor([&] { return !Running(id); }));
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
  EXPECT_LT(took, 15s);  // the spin never ends by itself: a busy machine only delays the deadline
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
  auto reply = RequestAsync(id, "sleep:60000");
  ASSERT_TRUE(WaitFor([&] { return runtime_->Phase(id).value() == ActorPhase::kProcessing; }));
  ASSERT_TRUE(runtime_->Terminate(id).ok());
  // Well before the sleep would end (60 s), however busy the machine.
  ASSERT_EQ(reply.wait_for(30s), std::future_status::ready) << "the sleep was not cut short";
  EXPECT_EQ(reply.get().status().code(), StatusCode::kCancelled);
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
  ASSERT_TRUE(runtime_->Pause(id, TheaterRuntime::PauseWhen::kNow).ok());
  EXPECT_EQ(runtime_->Phase(id).value(), ActorPhase::kPaused);
  auto reply = RequestAsync(id, "count");
  EXPECT_EQ(reply.wait_for(100ms), std::future_status::timeout);
  EXPECT_EQ(runtime_->Metrics(id)->mailbox_depth, 1u);
  EXPECT_EQ(State(id), "0") << "info is answered while paused";
  ASSERT_TRUE(runtime_->Resume(id).ok());
  EXPECT_EQ(Response(reply.get()), "1");
  EXPECT_EQ(runtime_->Resume(id).code(), StatusCode::kFailedPrecondition);
}

// Pausing an actor that runs an operation: refused at once, or, when idle, once it is over.
TEST_F(RuntimeTest, PauseDuringAnOperationIsRefusedOrWaitsForItsEnd) {
  std::string id = Spawn(ProbeManifest());
  auto sleeping = RequestAsync(id, "sleep:300");
  ASSERT_TRUE(WaitFor([&] { return runtime_->Phase(id).value() == ActorPhase::kProcessing; }));
  Status refused = runtime_->Pause(id, TheaterRuntime::PauseWhen::kNow);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.ToString(), HasSubstr("cannot pause during operation (it is Processing"));
  EXPECT_EQ(runtime_->Phase(id).value(), ActorPhase::kProcessing);
  ASSERT_TRUE(runtime_->Pause(id, TheaterRuntime::PauseWhen::kWhenIdle).ok());
  // Once a pause is pending, asking again (either way) is no error.
  EXPECT_TRUE(runtime_->Pause(id, TheaterRuntime::PauseWhen::kNow).ok());
  EXPECT_TRUE(sleeping.get().ok());
  EXPECT_TRUE(WaitFor([&] { return runtime_->Phase(id).value() == ActorPhase::kPaused; }));
  ASSERT_TRUE(runtime_->Resume(id).ok());
  EXPECT_EQ(Response(Request(id, "count")), "1");
}

TEST_F(RuntimeTest, AFullMailboxRefusesWithoutQueueing) {
  std::string id = Spawn(ProbeManifest("[limits]\nmailbox_capacity = 2\n"));
  ASSERT_TRUE(runtime_->Pause(id, TheaterRuntime::PauseWhen::kNow).ok());
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
  auto sleeping = RequestAsync(id, "sleep:2000");
  ASSERT_TRUE(WaitFor([&] { return runtime_->Phase(id).value() == ActorPhase::kProcessing; }));
  EXPECT_EQ(State(id), "1");
  EXPECT_TRUE(runtime_->Metrics(id).ok());
  EXPECT_TRUE(runtime_->Events(id).ok());
  // Answered while the call still runs: had they waited for it, it would be over.
  EXPECT_EQ(sleeping.wait_for(0ms), std::future_status::timeout);
  EXPECT_EQ(Response(sleeping.get()), "slept");
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
// A spawn that fails in setup (here: a handler type that does not exist) after its kept chain
// began leaves a registry row saying whose chain it is and that it failed, not a nameless one.
TEST_F(RuntimeTest, ASpawnThatFailsInSetupIsListedAsFailedWithItsName) {
  SpawnRequest request;
  request.manifest = ProbeManifest("save_chain = true\n[[handler]]\ntype = \"teleporter\"\n");
  request.actor_id = NewUuid();
  ASSERT_FALSE(runtime_->Spawn(request).ok());
  ASSERT_TRUE(runtime_->store()->Flush().ok());
  auto records = runtime_->store()->ListActors();
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  bool found = false;
  for (const chain::ActorRecord& record : *records) {
    EXPECT_FALSE(record.name.empty()) << "a nameless row for " << record.actor_id;
    if (record.actor_id != *request.actor_id) continue;
    found = true;
    EXPECT_EQ(record.name, "probe");
    EXPECT_EQ(record.status, "failed");
    EXPECT_GT(record.event_count, 0u) << "its chain, with the error, is kept";
    EXPECT_TRUE(record.recovery.empty()) << "a failed setup is not brought back";
  }
  EXPECT_TRUE(found);
}

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
    Result<pid_t> child = testing_util::StartWhenReady(
        {THEATER_CRASH_CHILD, dir.string(), kProbe, durability});
    ASSERT_TRUE(child.ok()) << durability << ": " << child.status().ToString();
    ASSERT_TRUE(testing_util::KillNineSoon(*child).ok()) << durability;

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
  // A call that fails with the memory at the limit says which limit it is at.
  auto failed = Request(id, "err");
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.status().message()),
              HasSubstr("of its 8 MiB limit, [limits] memory_limit_mb)"));
}

// The runtime alone starts actors on its own host: a manifest that places one elsewhere is
// refused where nothing can place it (a management server of a lattice does, before the runtime
// sees it: CliLatticeTest).
TEST_F(RuntimeTest, APlacementOnAnotherHostIsRefusedWhereNothingCanPlaceIt) {
  SpawnRequest request;
  request.manifest = ProbeManifest("placement = \"h2\"\n");
  Result<std::string> refused = runtime_->Spawn(request);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().ToString(),
              HasSubstr("placement = \"h2\": this host is not in a lattice"));
  // Placed by whoever spawned it: the least loaded is where it is spawned.
  request.manifest = ProbeManifest("placement = \"least-loaded\"\n");
  EXPECT_TRUE(runtime_->Spawn(request).ok());
  // Without a lattice a child runs on its parent's host: least loaded is here, another host
  // is refused.
  const std::string parent = Spawn(ProbeManifest());
  EXPECT_TRUE(IsUuid(
      Response(Request(parent, "spawn:" + ProbeManifest("placement = \"least-loaded\"\n")))));
  EXPECT_THAT(Response(Request(parent, "spawn:" + ProbeManifest("placement = \"h2\"\n"))),
              HasSubstr("not in a lattice (theater server --cluster), so a child runs on its "
                        "parent's host"));
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
