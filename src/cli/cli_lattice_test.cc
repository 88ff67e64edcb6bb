// Theater: a WebAssembly actor runtime.
//
// Hosts of a lattice as a user meets them (docs/distribution.md): a real nats-server with
// JetStream (testing/nats_server.h) and real `theater server --cluster` processes, each with a
// home of its own, asked with `theater hosts`, a client of one host driving an actor on
// another, and a parent supervising children on other hosts through the death of one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/cli_test_child.h"
#include "engine/compile/subprocess.h"
#include "testing/nats_server.h"
#include "testing/wait_for.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;
using namespace std::chrono_literals;
using namespace theater::cli_testing;
using theater::testing_util::NatsServer;
using theater::testing_util::WaitFor;

class CliLatticeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!NatsServer::Installed()) GTEST_SKIP() << "nats-server is not installed (install-deps.sh)";
    nats_ = std::make_unique<NatsServer>();
    ASSERT_TRUE(nats_->ok()) << "nats-server did not start; its log: " << nats_->log();
    dir_ = NewTempDir("theater-cli-lattice");
  }
  void TearDown() override {
    for (auto& [name, host] : hosts_) {
      host->Signal(SIGTERM);
      Finished f = host->Finish(30s);
      EXPECT_EQ(f.code, 0) << name << " stderr:\n" << f.err;
    }
    hosts_.clear();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Every thread's stack of host `index`'s process, for a failure's message: a host that stops
  // hearing NATS is stuck somewhere, and this says where (when gdb is installed; a test machine
  // may lack it, and then says so).
  std::string StacksOf(size_t index) const {
    theater::Result<fs::path> gdb = theater::engine::FindExecutable("gdb");
    if (!gdb.ok()) return "(no gdb here to show " + hosts_[index].first + "'s threads)\n";
    theater::Result<theater::engine::SubprocessResult> shown = theater::engine::RunSubprocess(
        {gdb->string(), "-batch", "-p", std::to_string(hosts_[index].second->pid()), "-ex",
         "thread apply all bt 25"},
        {}, 60s);
    if (!shown.ok()) return "(gdb: " + shown.status().ToString() + ")\n";
    return hosts_[index].first + "'s threads:\n" +
           theater::engine::TailLines(shown->output, 400) + "\n";
  }

  // The nats-server's log, for a failure's message (its last 4,000 characters).
  std::string NatsLog() const {
    std::ifstream in(nats_->log());
    std::stringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    return "nats-server's log:\n" + (all.size() > 4000 ? all.substr(all.size() - 4000) : all);
  }

  std::vector<std::string> ServerArgs(const std::string& host_id,
                                      const std::string& home = "") const {
    return {"server",      "--address", "127.0.0.1:0", "--home",
            (dir_ / (home.empty() ? host_id : home)).string(),
            "--durability", "none",     "--log-level", "info",    "--cluster",
            nats_->url(),  "--lattice", "cli-test",    "--host-id", host_id,
            // One compile cache for every host: each compiles the test actor once between them.
            "--cache-dir", (dir_ / "cache").string(),
            // Where the test actors are, which actors spawn as children on every host.
            "--spawn-root", THEATER_TEST_ACTOR_DIR};
  }

  // Starts a host and waits for its two lines; its management address.
  std::string StartHost(const std::string& host_id) {
    auto host = std::make_unique<Child>(ServerArgs(host_id), BaseEnv(dir_, ""), "", true);
    const bool ready = host->WaitForOutput(
        [](const std::string& out) { return out.find("in lattice") != std::string::npos; }, 30s);
    EXPECT_TRUE(ready) << host->out();
    if (!ready) return "";
    const std::string out = host->out();
    EXPECT_THAT(out, HasSubstr("host " + host_id + " in lattice cli-test\n"));
    // Its log lines (at info: a failing test prints each host's account of the lattice) may
    // come before it.
    const std::string prefix = "listening on ";
    const size_t at = out.find(prefix);
    if (at == std::string::npos) return "";
    const std::string address =
        out.substr(at + prefix.size(), out.find('\n', at) - at - prefix.size());
    hosts_.emplace_back(host_id, std::move(host));
    return address;
  }

  // Hosts h1, h2 and h3, each listed by h1; their management addresses.
  void StartThreeHosts(std::string& h1, std::string& h2, std::string& h3) {
    h1 = StartHost("h1");
    h2 = StartHost("h2");
    h3 = StartHost("h3");
    ASSERT_FALSE(h1.empty() || h2.empty() || h3.empty());
    const std::set<std::string> all = {"h1", "h2", "h3"};
    ASSERT_TRUE(WaitFor([&] { return HostIds(h1) == all; }, 20s));
  }

  Finished Hosts(const std::string& address, bool as_json) {
    std::vector<std::string> args = {"--address", address, "hosts"};
    if (as_json) args.insert(args.begin(), "--json");
    return Child(args, BaseEnv(dir_, ""), "").Finish(30s);
  }
  std::set<std::string> HostIds(const std::string& address) {
    Finished listed = Hosts(address, true);
    std::set<std::string> ids;
    if (listed.code != 0) return ids;
    const json reply = json::parse(listed.out, nullptr, false);
    if (!reply.is_object()) return ids;
    for (const json& host : reply.value("hosts", json::array())) ids.insert(host.value("host_id", ""));
    return ids;
  }

  // A manifest of the messenger test actor (tests/actors/messenger.c), written once.
  // `placement`: the manifest's own (docs/distribution.md, "Placement"), none when empty.
  fs::path MessengerManifest(const std::string& placement = "") {
    const fs::path manifest =
        dir_ / (placement.empty() ? "messenger.toml" : "messenger-" + placement + ".toml");
    std::ofstream out(manifest);
    if (!placement.empty()) out << "placement = \"" << placement << "\"\n";
    out << "name = \"messenger\"\nversion = \"0.1.0\"\ncomponent = \"" << THEATER_TEST_ACTOR_DIR
        << "/messenger.wasm\"\n\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\n"
           "type = \"timing\"\n";
    return manifest;
  }
  // Starts a messenger actor through the server at `address`; its id ("" after a failure).
  std::string StartMessenger(const std::string& address) {
    Finished started = Run(address, {"start", MessengerManifest().string()});
    EXPECT_EQ(started.code, 0) << started.err;
    const std::string id = started.out.substr(0, started.out.find('\n'));
    EXPECT_EQ(id.size(), 36u) << started.out;
    return started.code == 0 ? id : "";
  }
  // What a running host has written to stderr so far.
  static std::string StderrOf(Child& host) {
    std::string err;
    host.WaitForErr([&](const std::string& text) {
      err = text;
      return true;
    }, 100ms);
    return err;
  }
  // `theater --address ADDRESS ARGS...`, finished.
  Finished Run(const std::string& address, std::vector<std::string> args) {
    args.insert(args.begin(), {"--address", address});
    return Child(args, BaseEnv(dir_, ""), "").Finish(60s);
  }

  std::unique_ptr<NatsServer> nats_;
  fs::path dir_;
  std::vector<std::pair<std::string, std::unique_ptr<Child>>> hosts_;
};

TEST_F(CliLatticeTest, ServersOfALatticeListEachOtherAndOneThatStopsIsGone) {
  const std::string h1 = StartHost("h1");
  const std::string h2 = StartHost("h2");
  ASSERT_FALSE(h1.empty() || h2.empty());
  const std::set<std::string> both = {"h1", "h2"};
  ASSERT_TRUE(WaitFor([&] { return HostIds(h1) == both && HostIds(h2) == both; }, 20s));
  // h2 announces its management address once it listens.
  ASSERT_TRUE(WaitFor([&] { return Hosts(h1, true).out.find(h2) != std::string::npos; }, 10s));

  Finished table = Hosts(h1, false);
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("lattice cli-test"));
  EXPECT_THAT(table.out, HasSubstr("h1 (this host)"));
  EXPECT_THAT(table.out, HasSubstr(h2)) << "each host's management address is in its heartbeat";
  EXPECT_THAT(table.out, HasSubstr(" ago"));

  // A name a live host holds is refused, and the server says which and what to do.
  Finished twin = Child(ServerArgs("h2", "twin"), BaseEnv(dir_, ""), "").Finish(30s);
  EXPECT_EQ(twin.code, 1);
  EXPECT_THAT(twin.err, HasSubstr("the host id 'h2' is taken in lattice 'cli-test'"));
  EXPECT_THAT(twin.err, HasSubstr("--host-id"));

  // h2 stops: h1 hears it leave at once, not after missed heartbeats.
  auto& [name, h2_process] = hosts_.back();
  h2_process->Signal(SIGTERM);
  Finished stopped = h2_process->Finish(30s);
  EXPECT_EQ(stopped.code, 0) << stopped.err;
  hosts_.pop_back();
  EXPECT_TRUE(WaitFor([&] { return HostIds(h1) == std::set<std::string>{"h1"}; }, 5s));
}

TEST_F(CliLatticeTest, AClientOfOneHostDrivesAnActorOnAnother) {
  const std::string h1 = StartHost("h1");
  const std::string h2 = StartHost("h2");
  ASSERT_FALSE(h1.empty() || h2.empty());
  const std::set<std::string> both = {"h1", "h2"};
  ASSERT_TRUE(WaitFor([&] { return HostIds(h1) == both && HostIds(h2) == both; }, 20s));
  auto run = [&](const std::string& address, const std::vector<std::string>& args) {
    return Run(address, args);
  };
  const std::string on_h2 = StartMessenger(h2);
  ASSERT_FALSE(on_h2.empty());
  // A client of h1 asks the actor on h2, and sends to it; h2 sees the message arrive.
  Finished asked = run(h1, {"message", "--request", on_h2, "echo:from h1"});
  ASSERT_EQ(asked.code, 0) << asked.err;
  EXPECT_THAT(asked.out, HasSubstr("from h1"));
  Finished sent = run(h1, {"message", on_h2, "hello across"});
  ASSERT_EQ(sent.code, 0) << sent.err;
  EXPECT_TRUE(WaitFor([&] {
    Finished log = run(h2, {"message", "--request", on_h2, "log"});
    return log.out.find("send:hello across") != std::string::npos;
  }, 10s));
  // Either host lists both hosts' actors, each with its host.
  const std::string on_h1 = StartMessenger(h1);
  for (const std::string& address : {h1, h2}) {
    Finished listed = run(address, {"--json", "list"});
    ASSERT_EQ(listed.code, 0) << listed.err;
    const json actors = json::parse(listed.out, nullptr, false);
    ASSERT_TRUE(actors.is_array()) << listed.out;
    std::map<std::string, std::string> host_of;
    for (const json& actor : actors) host_of[actor.value("id", "")] = actor.value("host", "");
    EXPECT_EQ(host_of[on_h1], "h1") << listed.out;
    EXPECT_EQ(host_of[on_h2], "h2") << listed.out;
  }
  Finished table = run(h1, {"list"});
  EXPECT_THAT(table.out, HasSubstr("HOST"));
  // The supervision tree, from the same list: every host's actors.
  Finished tree = run(h1, {"tree"});
  ASSERT_EQ(tree.code, 0) << tree.err;
  EXPECT_THAT(tree.out, HasSubstr(on_h1));
  EXPECT_THAT(tree.out, HasSubstr(on_h2));
  // Placement from the command line: a named host, or the least loaded.
  Finished placed = run(h1, {"--json", "start", "--on", "h2", MessengerManifest().string()});
  ASSERT_EQ(placed.code, 0) << placed.err;
  const json placed_json = json::parse(placed.out, nullptr, false);
  EXPECT_EQ(placed_json.value("host", ""), "h2") << placed.out;
  Finished on_h2_list = run(h2, {"--json", "list"});
  EXPECT_THAT(on_h2_list.out, HasSubstr(placed_json.value("id", "?")));
  // h2 holds two actors now, h1 one: the least loaded is h1, once its heartbeat says so.
  ASSERT_TRUE(WaitFor([&] {
    const json listed = json::parse(run(h2, {"--json", "hosts"}).out, nullptr, false);
    if (!listed.is_object()) return false;
    for (const json& host : listed.value("hosts", json::array())) {
      if (host.value("host_id", "") == "h1" && host.value("actors", 0) == 1) return true;
    }
    return false;
  }, 5s));
  Finished least = run(h2, {"--json", "start", "--on", "least-loaded", MessengerManifest().string()});
  ASSERT_EQ(least.code, 0) << least.err;
  EXPECT_EQ(json::parse(least.out, nullptr, false).value("host", ""), "h1") << least.out;
  Finished nowhere = run(h1, {"start", "--on", "h9", MessengerManifest().string()});
  EXPECT_NE(nowhere.code, 0);
  EXPECT_THAT(nowhere.err, HasSubstr("--on h9: placement \"h9\": no host of that name in lattice cli-test"));
  // Placement by the manifest: the server a client asks passes the start to the host it names;
  // --on overrides it; a start that waits on the actor needs a connection to its host.
  Finished by_manifest = run(h1, {"--json", "start", MessengerManifest("h2").string()});
  ASSERT_EQ(by_manifest.code, 0) << by_manifest.err;
  const json by_manifest_json = json::parse(by_manifest.out, nullptr, false);
  EXPECT_EQ(by_manifest_json.value("host", ""), "h2") << by_manifest.out;
  EXPECT_THAT(run(h2, {"--json", "list"}).out, HasSubstr(by_manifest_json.value("id", "?")));
  Finished overridden = run(h2, {"--json", "start", "--on", "h1", MessengerManifest("h2").string()});
  ASSERT_EQ(overridden.code, 0) << overridden.err;
  EXPECT_EQ(json::parse(overridden.out, nullptr, false).value("host", ""), "h1") << overridden.out;
  Finished attached = run(h1, {"start", "--subscribe", MessengerManifest("h2").string()});
  EXPECT_NE(attached.code, 0);
  EXPECT_THAT(attached.err, HasSubstr("theater start --on h2"));
  Finished unknown = run(h1, {"start", MessengerManifest("h9").string()});
  EXPECT_NE(unknown.code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("placement \"h9\": no host of that name"));
  // Commands about one actor, sent to h1 for the actor on h2, are answered by h2.
  Finished state = run(h1, {"state", on_h2});
  ASSERT_EQ(state.code, 0) << state.err;
  EXPECT_THAT(state.out, HasSubstr("send:hello across"));
  Finished events = run(h1, {"events", on_h2});
  ASSERT_EQ(events.code, 0) << events.err;
  EXPECT_THAT(events.out, HasSubstr("handle-send"));
  Finished verified = run(h1, {"chain", "verify", on_h2});
  EXPECT_EQ(verified.code, 0) << verified.err;
  Finished stopped = run(h1, {"stop", on_h2});
  ASSERT_EQ(stopped.code, 0) << stopped.err;
  EXPECT_TRUE(WaitFor([&] { return run(h2, {"--json", "list"}).out.find(on_h2) == std::string::npos; }, 10s));
  // An actor id no host holds is not found, from any host.
  Finished missing = run(h1, {"message", "--request", "00000000-0000-4000-8000-000000000000", "x"});
  EXPECT_NE(missing.code, 0);
  EXPECT_THAT(missing.err, HasSubstr("not found"));
}

// A parent on h1 (the probe actor, tests/actors/runtime_probe.c, one-for-one) spawns children
// its manifests place on h2 and h3; h3 is killed with SIGKILL: the parent hears
// handle-child-error naming the lost host within a second or two, and its strategy spawns the
// child again, same id, on a host that is there.
TEST_F(CliLatticeTest, AParentHearsOfAChildLostWithItsKilledHostAndRestartsItElsewhere) {
  std::string h1, h2, h3;
  ASSERT_NO_FATAL_FAILURE(StartThreeHosts(h1, h2, h3));
  const std::string probe = std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe.wasm";
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << "name = \"" << name << "\"\nversion = \"0.1.0\"\ncomponent = \""
                               << probe << "\"\nauto_handlers = true\n" << text;
    return (dir_ / name).string();
  };
  const std::string parent_manifest =
      write("parent.toml", "[[handler]]\ntype = \"supervisor\"\nstrategy = \"one-for-one\"\n");
  const std::string on_h2_manifest = write("child-h2.toml", "placement = \"h2\"\n");
  const std::string on_h3_manifest = write("child-h3.toml", "placement = \"h3\"\n");
  Finished started = Run(h1, {"start", parent_manifest});
  ASSERT_EQ(started.code, 0) << started.err;
  const std::string parent = started.out.substr(0, started.out.find('\n'));
  auto ask = [&](const std::string& address, const std::string& id, const std::string& what) {
    Finished asked = Run(address, {"message", "--request", id, what});
    EXPECT_EQ(asked.code, 0) << asked.err;
    return asked.out.substr(0, asked.out.find('\n'));
  };
  const std::string child_h2 = ask(h1, parent, "spawn:" + on_h2_manifest);
  const std::string child_h3 = ask(h1, parent, "spawn:" + on_h3_manifest);
  ASSERT_EQ(child_h2.size(), 36u) << child_h2;
  ASSERT_EQ(child_h3.size(), 36u) << child_h3;
  auto host_of = [&](const std::string& id) {
    const json actors = json::parse(Run(h1, {"--json", "list"}).out, nullptr, false);
    if (!actors.is_array()) return std::string();
    for (const json& actor : actors) {
      if (actor.value("id", "") == id) return actor.value("host", "");
    }
    return std::string();
  };
  EXPECT_EQ(host_of(child_h2), "h2");
  EXPECT_EQ(host_of(child_h3), "h3");

  Child* h3_process = hosts_[2].second.get();
  const auto killed = std::chrono::steady_clock::now();
  h3_process->Signal(SIGKILL);
  std::string state;
  ASSERT_TRUE(WaitFor([&] {
    state = Run(h1, {"state", parent}).out;
    return state.find("child-error:" + child_h3) != std::string::npos;
  }, 10s)) << state;
  const auto told = std::chrono::steady_clock::now() - killed;
  EXPECT_THAT(state, HasSubstr("host h3 lost"));
  EXPECT_LT(told, 3s) << "the parent heard only after "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(told).count() << " ms";
  h3_process->Finish(10s);
  hosts_.erase(hosts_.begin() + 2);
  // Restarted by its parent's strategy, same id, on a host that is there.
  std::string where;
  EXPECT_TRUE(WaitFor([&] {
    where = host_of(child_h3);
    return where == "h1" || where == "h2";
  }, 10s)) << where << "\nparent's state: " << Run(h1, {"state", parent}).out << "\nh1: "
           << StderrOf(*hosts_[0].second) << "\nh2: " << StderrOf(*hosts_[1].second);
  EXPECT_EQ(host_of(child_h2), "h2") << "its sibling on h2 was not touched";
  EXPECT_EQ(ask(h1, parent, "children"), child_h2 + "," + child_h3);
}

// A replicated actor (durability = "replicated") outlives its host: h2 is killed with SIGKILL and
// another host runs the actor again, with its state and a chain that verifies; then h3, running
// another, is frozen (SIGSTOP) until it is declared lost and its actor runs elsewhere, and woken
// (SIGCONT): its stale copy is fenced and stops, so that one actor never runs twice.
TEST_F(CliLatticeTest, AReplicatedActorOutlivesAKilledHostAndAFrozenHostsCopyIsFenced) {
  std::string h1, h2, h3;
  ASSERT_NO_FATAL_FAILURE(StartThreeHosts(h1, h2, h3));
  const fs::path manifest = dir_ / "replicated.toml";
  std::ofstream(manifest) << "name = \"replicated\"\nversion = \"0.1.0\"\ncomponent = \""
                          << THEATER_TEST_ACTOR_DIR
                          << "/runtime_probe.wasm\"\nauto_handlers = true\n"
                             "durability = \"replicated\"\n";
  auto start_on = [&](const std::string& host) {
    Finished started = Run(h1, {"--json", "start", "--on", host, manifest.string()});
    EXPECT_EQ(started.code, 0) << started.err;
    return json::parse(started.out, nullptr, false).value("id", std::string());
  };
  auto ask = [&](const std::string& address, const std::string& id, const std::string& what) {
    Finished asked = Run(address, {"message", "--request", id, what});
    return asked.code == 0 ? asked.out.substr(0, asked.out.find('\n')) : "failed: " + asked.err;
  };
  // Every host that lists `id`, as `address` sees the lattice.
  auto hosts_of = [&](const std::string& address, const std::string& id) {
    std::vector<std::string> hosts;
    const json actors = json::parse(Run(address, {"--json", "list"}).out, nullptr, false);
    if (!actors.is_array()) return hosts;
    for (const json& actor : actors) {
      if (actor.value("id", "") == id) hosts.push_back(actor.value("host", ""));
    }
    return hosts;
  };

  const std::string on_h2 = start_on("h2");
  ASSERT_EQ(on_h2.size(), 36u);
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(ask(h1, on_h2, "count"), std::to_string(i));
  std::this_thread::sleep_for(200ms);  // replication is asynchronous: its last events go out
  hosts_[1].second->Signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  std::vector<std::string> where;
  ASSERT_TRUE(WaitFor([&] {
    where = hosts_of(h1, on_h2);
    return where.size() == 1 && (where[0] == "h1" || where[0] == "h3");
  }, 30s)) << "the actor of the killed host runs nowhere else; h1:\n"
             << hosts_[0].second->out() << StderrOf(*hosts_[0].second) << "\nh3:\n"
             << hosts_[2].second->out() << StderrOf(*hosts_[2].second) << NatsLog()
             << StacksOf(0);
  const auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_LT(took, 10s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  hosts_[1].second->Finish(10s);
  hosts_.erase(hosts_.begin() + 1);
  // A request that comes while the loss is still being told around may fail once, and then
  // only with the lost host's name (a gap is never silent); it never reaches the actor, so the
  // count goes on from the state it had.
  std::string answered;
  EXPECT_TRUE(WaitFor([&] {
    answered = ask(h1, on_h2, "count");
    if (answered.starts_with("failed: ")) {
      EXPECT_THAT(answered, HasSubstr("host h2 lost")) << "a failure names the lost host";
      return false;
    }
    return true;
  }, 10s)) << answered;
  EXPECT_EQ(answered, "4") << "it goes on from the state it had";
  Finished verified = Run(h1, {"chain", "verify", on_h2});
  EXPECT_EQ(verified.code, 0) << verified.out << verified.err;

  // h3 frozen: lost after its heartbeat is 5 s old, its actor taken over; woken: fenced.
  const std::string on_h3 = start_on("h3");
  ASSERT_EQ(on_h3.size(), 36u);
  ASSERT_EQ(ask(h1, on_h3, "count"), "1");
  std::this_thread::sleep_for(200ms);
  Child* h3_process = hosts_[1].second.get();
  h3_process->Signal(SIGSTOP);
  ASSERT_TRUE(WaitFor([&] {
    where = hosts_of(h1, on_h3);
    return where.size() == 1 && where[0] == "h1";
  }, 20s)) << "the frozen host's actor was not taken over";
  EXPECT_EQ(ask(h1, on_h3, "count"), "2");
  h3_process->Signal(SIGCONT);
  ASSERT_TRUE(WaitFor([&] { return HostIds(h1) == std::set<std::string>{"h1", "h3"}; }, 10s));
  // Woken, h3 hears it was taken over: its copy stops, and h3 lists it only where it runs.
  EXPECT_TRUE(WaitFor([&] {
    const std::vector<std::string> seen = hosts_of(h3, on_h3);
    return seen == std::vector<std::string>{"h1"};
  }, 30s)) << "h3 still runs its stale copy; h3:\n" << StderrOf(*hosts_[1].second);
  EXPECT_EQ(ask(h3, on_h3, "count"), "3") << "a client of h3 reaches the one copy, on h1";
}

// A host's process killed outright: the others declare it lost within a second (its ping
// subject has no responder), and a request it owed fails naming it, long before its timeout.
// A frozen host (SIGSTOP) is declared lost once its heartbeat is 5 s old, and is listed again
// when it wakes.
// `theater move` as a user meets it: a client of either host moves an actor from h1 to h2; it
// keeps what it had, runs on h2 alone, answers through either host, and its chain verifies; a
// move to a host that is not there says so, and the actor stays.
TEST_F(CliLatticeTest, MoveTakesAnActorToAnotherHostWithWhatItHad) {
  const std::string h1 = StartHost("h1");
  const std::string h2 = StartHost("h2");
  ASSERT_FALSE(h1.empty() || h2.empty());
  ASSERT_TRUE(WaitFor([&] { return HostIds(h1) == std::set<std::string>{"h1", "h2"}; }, 20s));
  const std::string id = StartMessenger(h1);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(Run(h1, {"message", id, "before the move"}).code, 0);
  auto host_of = [&](const std::string& address) {
    const json actors = json::parse(Run(address, {"--json", "list"}).out, nullptr, false);
    std::string host;
    if (actors.is_array()) {
      for (const json& actor : actors) {
        if (actor.value("id", "") == id) host += actor.value("host", "") + " ";
      }
    }
    return host;
  };
  ASSERT_EQ(host_of(h2), "h1 ");

  Finished nowhere = Run(h2, {"move", id, "--to", "h9"});
  EXPECT_NE(nowhere.code, 0);
  EXPECT_THAT(nowhere.err, HasSubstr("h9"));
  EXPECT_EQ(host_of(h1), "h1 ") << "it stays where it was";

  // A client of h2 follows the actor's chain while it runs on h1, and through its move.
  Child follow({"--address", h2, "events", "-f", id}, BaseEnv(dir_, ""), "");
  ASSERT_TRUE(follow.WaitForOutput(
      [](const std::string& out) { return out.find("runtime-setup") != std::string::npos; }, 20s))
      << follow.out();
  ASSERT_EQ(Run(h1, {"message", id, "followed"}).code, 0);

  // Asked of h2, the move is h1's to make (the command goes to the host that runs the actor).
  Finished moved = Run(h2, {"move", id, "--to", "h2"});
  ASSERT_EQ(moved.code, 0) << moved.err;
  EXPECT_EQ(moved.out, "moved " + id + " to host h2\n");
  EXPECT_THAT(moved.err, HasSubstr("moving actor " + id + " to host h2"));
  EXPECT_EQ(host_of(h1), "h2 ");
  for (const std::string& address : {h1, h2}) {
    Finished log = Run(address, {"message", "--request", id, "log"});
    EXPECT_EQ(log.code, 0) << log.err;
    EXPECT_THAT(log.out, HasSubstr("send:before the move"));
  }
  Finished verified = Run(h1, {"chain", "verify", id});
  EXPECT_EQ(verified.code, 0) << verified.out << verified.err;
  EXPECT_TRUE(follow.WaitForOutput(
      [](const std::string& out) { return out.find("actor-moved") != std::string::npos; }, 20s))
      << "the follower sees the move:\n"
      << follow.out() << follow.err();
  // It followed through the move (it once took the moment between the hosts for a stop).
  EXPECT_THAT(follow.err(), ::testing::Not(HasSubstr("no longer running")));
  follow.Signal(SIGINT);
  follow.Finish(10s);
  Finished json_move = Run(h1, {"--json", "move", id, "--to", "h1"});
  ASSERT_EQ(json_move.code, 0) << json_move.err;
  EXPECT_EQ(json::parse(json_move.out, nullptr, false).value("host", ""), "h1");
}

TEST_F(CliLatticeTest, AKilledHostIsLostWithinASecondAndAFrozenOneWithinItsLease) {
  std::string h1, h2, h3;
  ASSERT_NO_FATAL_FAILURE(StartThreeHosts(h1, h2, h3));
  auto run = [&](const std::string& address, const std::vector<std::string>& args) {
    return Run(address, args);
  };
  const std::string on_h2 = StartMessenger(h2);
  ASSERT_FALSE(on_h2.empty());
  // A request from a client of h1 that the actor on h2 leaves unanswered.
  Child owed({"--address", h1, "message", "--request", on_h2, "defer"},
             BaseEnv(dir_, ""), "");
  ASSERT_TRUE(WaitFor([&] {
    return run(h2, {"message", "--request", on_h2, "log"}).out.find("deferred:") !=
           std::string::npos;
  }, 10s));
  Child* h2_process = hosts_[1].second.get();
  const auto killed = std::chrono::steady_clock::now();
  h2_process->Signal(SIGKILL);
  Finished answer = owed.Finish(30s);
  const auto answered = std::chrono::steady_clock::now() - killed;
  EXPECT_NE(answer.code, 0);
  EXPECT_THAT(answer.err, HasSubstr("host h2 lost"));
  EXPECT_LT(answered, 2s) << "the owed request failed only after "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(answered).count()
                          << " ms";
  EXPECT_TRUE(WaitFor([&] { return HostIds(h1) == std::set<std::string>{"h1", "h3"}; }, 2s));
  h2_process->Finish(10s);
  hosts_.erase(hosts_.begin() + 1);

  // h3 frozen: lost after its heartbeat is 5 s old; back once it wakes.
  Child* h3_process = hosts_[1].second.get();
  h3_process->Signal(SIGSTOP);
  const auto frozen = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitFor([&] { return HostIds(h1) == std::set<std::string>{"h1"}; }, 15s));
  EXPECT_LT(std::chrono::steady_clock::now() - frozen, 10s);
  h3_process->Signal(SIGCONT);
  EXPECT_TRUE(WaitFor([&] { return HostIds(h1) == std::set<std::string>{"h1", "h3"}; }, 10s));
}

TEST_F(CliLatticeTest, AServerOutsideALatticeSaysSoAndLatticeFlagsNeedCluster) {
  auto plain = std::make_unique<Child>(
      std::vector<std::string>{"server", "--address", "127.0.0.1:0", "--home",
                               (dir_ / "plain").string(), "--durability", "none"},
      BaseEnv(dir_, ""), "", true);
  ASSERT_TRUE(plain->WaitForOutput(
      [](const std::string& out) { return out.find('\n') != std::string::npos; }, 30s));
  const std::string out = plain->out();
  const std::string address = out.substr(13, out.find('\n') - 13);
  hosts_.emplace_back("plain", std::move(plain));
  Finished refused = Hosts(address, false);
  EXPECT_NE(refused.code, 0);
  EXPECT_THAT(refused.err, HasSubstr("not in a lattice"));
  EXPECT_THAT(refused.err, HasSubstr("--cluster"));

  Finished usage = Child({"server", "--host-id", "h9"}, BaseEnv(dir_, ""), "").Finish(30s);
  EXPECT_EQ(usage.code, 2);
  EXPECT_THAT(usage.err, HasSubstr("--lattice and --host-id need --cluster"));
}

}  // namespace
