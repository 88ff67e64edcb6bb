// Theater: a WebAssembly actor runtime.
//
// Actors in Rust, end to end, the way a user meets them: `theater create --lang rust` for every
// template, `theater build` (the real cargo and rustc: Debian's 1.63 with
// libstd-rust-dev-wasm32, offline, no crates), then each actor run by the real `theater` binary,
// in-process or on a real `theater server`, exchanging messages with the CLI and with a C actor.
// The bindings' value conversions are tested on their own in tests/bindgen (the kitchen-sink
// world, and bindgen_runtime_test's Rust actor).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "cli/cli_test_child.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

using namespace theater::cli_testing;  // the children, fixtures and checks of cli_test_child.h

class CliRustTest : public theater::cli_testing::ServerFixture {
 protected:
  CliRustTest() : ServerFixture("theater-cli-rust") {}

  std::map<std::string, std::string> Env() const override {
    auto env = BaseEnv(dir_, address_);
    env["THEATER_HOME"] = std::string(THEATER_BUILD_DIR) + "/test-home";
    return env;
  }

  // Creates and builds `name` from `tmpl`; returns its directory.
  fs::path CreateAndBuild(const std::string& name, const std::string& tmpl) {
    Finished created =
        Run({"create", name, "--template", tmpl, "--lang", "rust", "-o", dir_.string()});
    EXPECT_EQ(created.code, 0) << created.err;
    const fs::path project = dir_ / name;
    Finished built = Run({"build", project.string()});
    EXPECT_EQ(built.code, 0) << name << ": " << built.err;
    EXPECT_THAT(built.out, HasSubstr(name + ".wasm"));
    EXPECT_THAT(built.err, HasSubstr("(cargo, release)"));
    EXPECT_THAT(built.err, Not(HasSubstr("warning"))) << name;
    EXPECT_TRUE(fs::exists(project / (name + ".wasm"))) << name;
    return project;
  }
};

TEST_F(CliRustTest, BasicTemplateIsACargoProjectThatRuns) {
  const fs::path project = CreateAndBuild("hello-rs", "basic");
  for (const char* file :
       {"Cargo.toml", ".cargo/config.toml", "src/lib.rs", "bindings/minimal.rs", "wit/worlds.wit",
        "manifest.toml", "init.json", "README.md", ".gitignore"}) {
    EXPECT_TRUE(fs::exists(project / file)) << file;
  }
  EXPECT_THAT(ReadFileText(project / "Cargo.toml"), HasSubstr("name = \"hello-rs\""));
  // No crates: the lock cargo wrote names the project alone.
  EXPECT_THAT(ReadFileText(project / "Cargo.lock"), Not(HasSubstr("source =")));
  Finished ran = Run({"run", (project / "manifest.toml").string()});
  EXPECT_EQ(ran.code, 0) << ran.out << ran.err;
  EXPECT_THAT(ran.out, HasSubstr("Hello from hello-rs ("));
  EXPECT_THAT(ran.out, HasSubstr("started 1 time(s)"));
  EXPECT_THAT(ran.out, HasSubstr("chain verified"));
  // The state threads through: a second start from the state the first one left.
  Finished again = Run({"run", "-i", R"({"starts": 41})", (project / "manifest.toml").string()});
  EXPECT_THAT(again.out, HasSubstr("started 42 time(s)"));
  // A rebuild with nothing changed is cargo's no-op, and still copies the module.
  fs::remove(project / "hello-rs.wasm");
  Finished rebuilt = Run({"build", project.string()});
  EXPECT_EQ(rebuilt.code, 0) << rebuilt.err;
  EXPECT_TRUE(fs::exists(project / "hello-rs.wasm"));
}

TEST_F(CliRustTest, MessageServerTemplateAnswersTheCliAndACActor) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const fs::path project = CreateAndBuild("echo-rs", "message-server");
  const std::string id = Start(project / "manifest.toml");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Request(id, "ping"), "pong");
  Finished sent = Run({"message", id, "hello"});
  EXPECT_EQ(sent.code, 0) << sent.err;
  EXPECT_EQ(Request(id, "count"), "3");  // ping, hello and this request itself
  EXPECT_EQ(Request(id, "what"), "you said: what");
  Finished channel = Child({"channel", "open", id}, Env(), "one\ntwo\n").Finish(60s);
  EXPECT_EQ(channel.code, 0) << channel.err;
  EXPECT_THAT(channel.out, HasSubstr("welcome to echo-rs"));
  EXPECT_THAT(channel.out, HasSubstr("echo: one"));
  EXPECT_THAT(channel.out, HasSubstr("echo: two"));
  // A C actor (tests/actors/messenger.c) requests from the Rust one and relays its reply.
  const std::string c_actor = StartMessenger();
  ASSERT_FALSE(c_actor.empty());
  EXPECT_EQ(Request(c_actor, "request:" + id + ":ping"), "pong");
  // Four requests (ping, count, what, the C actor's ping), a message and two channel messages
  // before this one.
  EXPECT_EQ(Request(c_actor, "request:" + id + ":count"), "8");
}

TEST_F(CliRustTest, SupervisorTemplateSpawnsListsAndStopsARustChild) {
  ASSERT_NO_FATAL_FAILURE(StartServer({"--spawn-root", dir_.string()}));
  // The child is a project of its own beside the supervisor's, so the operator lets actors
  // start what lies there (--spawn-root): an actor's spawn reads only its own grant otherwise.
  const fs::path child = CreateAndBuild("child-rs", "basic");
  const fs::path project = CreateAndBuild("boss-rs", "supervisor");
  const std::string id = Start(project / "manifest.toml");
  ASSERT_FALSE(id.empty());
  const std::string spawned = Request(id, "spawn:" + (child / "manifest.toml").string());
  ASSERT_EQ(spawned.size(), 36u) << spawned;  // a UUID
  EXPECT_EQ(Request(id, "list"), spawned);
  EXPECT_EQ(Request(id, "stop:" + spawned), "ok");
  EXPECT_EQ(Request(id, "list"), "");
  // A host error is the Err of the import's Result, which the actor passes on with `?`.
  EXPECT_THAT(Request(id, "stop:no-such-child"), HasSubstr("error: "));
  Finished events = Run({"events", id});
  EXPECT_THAT(events.out, HasSubstr("spawned child " + spawned));
  ExpectSupervisorRestartsAFailedChild(id, "rust");
}

TEST_F(CliRustTest, HttpServerTemplateServesRequests) {
  const fs::path project = CreateAndBuild("web-rs", "http-server");
  Child run(
      {"run", "--wait", "-i", R"({"port": 0, "served": 0})", (project / "manifest.toml").string()},
      Env(), "");
  ExpectHttpServerTemplateServes(run, "web-rs", 60s);
}

// What goes wrong, said clearly: a compile error with its file and line, an Err from init, a
// panic, and no cargo on the PATH.
TEST_F(CliRustTest, BuildAndRunFailuresSayWhere) {
  Finished created = Run({"create", "broken", "--lang", "rust", "-o", dir_.string()});
  ASSERT_EQ(created.code, 0) << created.err;
  const fs::path project = dir_ / "broken";
  const std::string good = ReadFileText(project / "src" / "lib.rs");
  std::ofstream(project / "src" / "lib.rs") << good << "\nfn broken() -> u32 { \"text\" }\n";
  Finished built = Run({"build", project.string()});
  EXPECT_EQ(built.code, 1);
  EXPECT_THAT(built.err, HasSubstr("cargo failed (exit status 101)"));
  EXPECT_THAT(built.err, HasSubstr("src/lib.rs:"));
  EXPECT_THAT(built.err, HasSubstr("error[E0308]: mismatched types"));

  // init returning Err fails the run with its text; a panic traps, and the run says so.
  std::string failing = good;
  const std::string ok_line = "Ok((Some(format!(";
  ASSERT_NE(failing.find(ok_line), std::string::npos);
  failing.insert(failing.find(ok_line),
                 "if starts > 1 { return Err(format!(\"refusing start {}\", starts)); }\n        "
                 "if starts == 1 { panic!(\"a panic in init\"); }\n        ");
  std::ofstream(project / "src" / "lib.rs") << failing;
  Finished rebuilt = Run({"build", project.string()});
  ASSERT_EQ(rebuilt.code, 0) << rebuilt.err;
  Finished refused = Run({"run", "-i", R"({"starts": 4})", (project / "manifest.toml").string()});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("refusing start 5"));
  Finished panicked = Run({"run", (project / "manifest.toml").string()});
  EXPECT_EQ(panicked.code, 1);
  EXPECT_THAT(panicked.err, HasSubstr("trap"));
  EXPECT_THAT(panicked.out, HasSubstr("panicked at 'a panic in init', src/lib.rs:"));
  EXPECT_THAT(panicked.out, HasSubstr("chain verified"));

  auto env = Env();
  env["PATH"] = "/nonexistent";
  Finished no_cargo = Child({"build", project.string()}, env, "").Finish(60s);
  EXPECT_EQ(no_cargo.code, 1);
  EXPECT_THAT(no_cargo.err, HasSubstr("cargo not found (Debian: apt install rustc cargo "
                                      "libstd-rust-dev-wasm32"));
}

// A machine may have a cargo that cannot build for wasm ahead of one that can (a rustup
// toolchain without the target in ~/.cargo/bin, before Debian's /usr/bin/cargo): `build` passes
// it over, and says which cargos it tried when none can. The one that cannot is a stand-in (two
// shell scripts), since a second real toolchain cannot be installed here; the one that can is
// the machine's.
TEST_F(CliRustTest, ACargoWhoseRustcHasNoWasmLibraryIsPassedOver) {
  const fs::path fake = dir_ / "fake-toolchain";
  const fs::path sysroot = fake / "sysroot";
  fs::create_directories(fake / "bin");
  fs::create_directories(sysroot / "lib" / "rustlib" / "x86_64-unknown-linux-gnu" / "lib");
  std::ofstream(fake / "bin" / "cargo") << "#!/bin/sh\necho 'the fake cargo ran' >&2\nexit 3\n";
  std::ofstream(fake / "bin" / "rustc") << "#!/bin/sh\necho '" << sysroot.string() << "'\n";
  for (const char* tool : {"cargo", "rustc"}) {
    fs::permissions(fake / "bin" / tool, fs::perms::owner_all, fs::perm_options::replace);
  }

  auto env = Env();
  const std::string path = env.count("PATH") != 0 ? env["PATH"] : std::getenv("PATH");
  env["PATH"] = (fake / "bin").string() + ":" + path;
  Finished created =
      Child({"create", "passed-over", "--lang", "rust", "-o", dir_.string()}, env, "").Finish(60s);
  ASSERT_EQ(created.code, 0) << created.err;
  const fs::path project = dir_ / "passed-over";
  Finished built = Child({"build", project.string()}, env, "").Finish(300s);
  EXPECT_EQ(built.code, 0) << built.err;
  EXPECT_THAT(built.err, Not(HasSubstr("the fake cargo ran")));
  EXPECT_TRUE(fs::exists(project / "passed-over.wasm"));
  // create wrote the target of the toolchain build then used, so a plain `cargo build` agrees.
  const std::string config = ReadFileText(project / ".cargo" / "config.toml");
  const std::string key = "target = \"";
  const size_t at = config.find(key);
  ASSERT_NE(at, std::string::npos) << config;
  const size_t start = at + key.size();
  const std::string target = config.substr(start, config.find('"', start) - start);
  EXPECT_TRUE(target == "wasm32-wasip1" || target == "wasm32-wasi") << target;
  EXPECT_TRUE(fs::exists(project / "target" / target / "release" / "passed_over.wasm")) << target;

  env["PATH"] = (fake / "bin").string();
  Finished none = Child({"build", project.string()}, env, "").Finish(60s);
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.err, HasSubstr("no Rust toolchain here can build for wasm; tried " +
                                  (fake / "bin" / "cargo").string()));
  EXPECT_THAT(none.err, HasSubstr("no wasm32-wasip1 or wasm32-wasi standard library in " +
                                  (sysroot / "lib" / "rustlib").string()));
  EXPECT_THAT(none.err, HasSubstr("rustup target add wasm32-wasip1"));
}

}  // namespace
