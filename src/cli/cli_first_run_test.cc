// Theater: a WebAssembly actor runtime.
//
// End-to-end tests of what a new user meets first, through the real `theater` binary (fork/exec)
// with real clang-14, wasm2c and gcc: `theater run` building an actor project from its sources
// (examples/hello, copied), `theater build`'s lines and release/debug outputs, the compile
// progress lines when stderr is not a terminal, usage errors, `create`'s help and hints, and
// signals during a compile leaving no compiler process behind.
#include <signal.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/cli_test_child.h"
#include "common/leb128.h"
#include "testing/process_state.h"
#include "testing/wait_for.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace theater::cli_testing;  // the children, fixtures and checks of cli_test_child.h
using theater::testing_util::ProcessesWorkingUnder;
using theater::testing_util::WaitFor;
using namespace std::chrono_literals;

// A valid module of `count` small functions: large enough that wasm2c and gcc take seconds.
std::vector<uint8_t> ModuleWithFunctions(uint32_t count) {
  auto leb = [](std::vector<uint8_t>& out, uint32_t value) { theater::AppendUleb(out, value); };
  auto section = [&](std::vector<uint8_t>& out, uint8_t id, const std::vector<uint8_t>& body) {
    out.push_back(id);
    leb(out, static_cast<uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
  };
  std::vector<uint8_t> wasm = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  section(wasm, 1, {0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f});  // one type: (i32) -> i32
  std::vector<uint8_t> functions;
  leb(functions, count);
  for (uint32_t i = 0; i < count; ++i) functions.push_back(0x00);
  section(wasm, 3, functions);
  std::vector<uint8_t> code;
  leb(code, count);
  for (uint32_t i = 0; i < count; ++i) {
    // local.get 0; i32.const i; i32.add; i32.const 3; i32.mul; local.get 0; i32.xor; end
    std::vector<uint8_t> body = {0x00, 0x20, 0x00, 0x41};
    leb(body, i & 0x3f);
    body.insert(body.end(), {0x6a, 0x41, 0x03, 0x6c, 0x20, 0x00, 0x73, 0x0b});
    leb(code, static_cast<uint32_t>(body.size()));
    code.insert(code.end(), body.begin(), body.end());
  }
  section(wasm, 10, code);
  return wasm;
}

class CliFirstRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir("theater-cli-first-run");
    // The build's shared cache: the hello actor compiles once for all tests.
    home_ = std::string(THEATER_BUILD_DIR) + "/test-home";
  }
  void TearDown() override { fs::remove_all(dir_); }

  Finished Run(const std::vector<std::string>& args, const std::string& home = "") {
    auto env = BaseEnv(dir_, "127.0.0.1:1");
    env["THEATER_HOME"] = home.empty() ? home_ : home;
    return Child(args, env, "").Finish(120s);
  }
  // A copy of examples/hello: an actor project with its sources and bindings, no .wasm.
  fs::path HelloProject() {
    const fs::path project = dir_ / "hello";
    fs::create_directories(project / "bindings");
    const fs::path source = fs::path(THEATER_SOURCE_DIR) / "examples" / "hello";
    for (const char* file :
         {"manifest.toml", "init.json", "hello.c", "bindings/minimal.h", "bindings/minimal.c"}) {
      fs::copy_file(source / file, project / file);
    }
    return project;
  }

  // A copy of an example project of the source tree: its files, no .wasm.
  fs::path ExampleProject(const std::string& name, const std::vector<std::string>& files) {
    const fs::path project = dir_ / name;
    fs::create_directories(project / "bindings");
    const fs::path source = fs::path(THEATER_SOURCE_DIR) / "examples" / name;
    for (const std::string& file : files) fs::copy_file(source / file, project / file);
    return project;
  }

  fs::path dir_;
  std::string home_;
};

// examples/hello-cpp builds and runs from the source tree as a user meets it: `theater build`
// with its checked-in bindings, then `theater run`.
TEST_F(CliFirstRunTest, TheCppExampleBuildsAndRunsFromItsSources) {
  const fs::path project = ExampleProject(
      "hello-cpp",
      {"manifest.toml", "init.json", "hello.cc", "bindings/minimal.hpp", "bindings/minimal.cpp"});
  Finished built = Run({"build", project.string()});
  ASSERT_EQ(built.code, 0) << built.err;
  EXPECT_THAT(built.err, HasSubstr("building hello-cpp.wasm from hello.cc + bindings/minimal.cpp"));
  EXPECT_TRUE(fs::exists(project / "hello-cpp.wasm"));
  Finished ran = Run({"run", (project / "manifest.toml").string()});
  ASSERT_EQ(ran.code, 0) << ran.err;
  EXPECT_THAT(ran.out, HasSubstr("chain verified"));
  EXPECT_THAT(ran.out, HasSubstr("\"count\": 1"));
}

// examples/agent is three actor projects (the agent, and its tools below it in tools/), each
// built with `theater build` from its checked-in bindings; `theater run` of the agent then starts
// both tools from the manifests its init.json names relative to its own, from another working
// directory, and the read_file tool serves the docs/ directory two levels above the example.
TEST_F(CliFirstRunTest, TheAgentExampleBuildsAndRunsFromItsSources) {
  const fs::path source = fs::path(THEATER_SOURCE_DIR) / "examples" / "agent";
  const fs::path project = dir_ / "examples" / "agent";
  for (auto it = fs::recursive_directory_iterator(source); it != fs::end(it); ++it) {
    const fs::path relative = fs::relative(it->path(), source);
    if (*relative.begin() == "test") {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory()) {
      fs::create_directories(project / relative);
    } else if (it->path().extension() != ".wasm") {
      fs::copy_file(it->path(), project / relative);
    }
  }
  fs::create_directories(dir_ / "docs");
  for (const char* tool : {"tools/read-file", "tools/fetch-url", "."}) {
    Finished built = Run({"build", (project / tool).string()});
    ASSERT_EQ(built.code, 0) << tool << ": " << built.err;
  }
  EXPECT_TRUE(fs::exists(project / "tools/read-file/read_file_tool.wasm"));
  EXPECT_TRUE(fs::exists(project / "tools/fetch-url/fetch_url_tool.wasm"));
  Finished ran = Run({"run", (project / "manifest.toml").string()});
  ASSERT_EQ(ran.code, 0) << ran.out << ran.err;
  EXPECT_THAT(ran.out, HasSubstr("chain verified"));
  EXPECT_THAT(ran.out, HasSubstr("tool read_file runs as actor "));
  EXPECT_THAT(ran.out, HasSubstr("tool fetch_url runs as actor "));
  EXPECT_THAT(ran.out, HasSubstr("\"children\": {\n    \"fetch_url\": \""));
}

TEST_F(CliFirstRunTest, RunBuildsAMissingComponentFromTheProjectAndSaysWhyTheActorStopped) {
  const fs::path project = HelloProject();
  const std::string manifest = (project / "manifest.toml").string();
  Finished first = Run({"run", manifest});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  EXPECT_THAT(first.err, HasSubstr("building hello.wasm from hello.c + bindings/minimal.c "
                                   "(clang-14, release)\n"));
  EXPECT_THAT(first.err, HasSubstr("built " + (project / "hello.wasm").string() + " ("));
  EXPECT_TRUE(fs::exists(project / "hello.wasm"));
  EXPECT_THAT(first.out, HasSubstr("chain verified"));
  EXPECT_THAT(first.out, HasSubstr("final state: {\n  \"count\": 1,"));
  EXPECT_THAT(first.out, HasSubstr("\nstopped by theater run after 200 ms idle\n"));
  EXPECT_THAT(first.out, HasSubstr("actor-stopped: stopped by theater run after 200 ms idle"));
  EXPECT_THAT(first.out, Not(HasSubstr("stopped externally")));

  // Built once: the next run uses it.
  Finished second = Run({"run", "--settle-ms", "50", manifest});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_THAT(second.err, Not(HasSubstr("building")));
  EXPECT_THAT(second.out, HasSubstr("stopped by theater run after 50 ms idle"));

  // A source newer than the component: a warning, and --build rebuilds.
  fs::last_write_time(project / "hello.c",
                      fs::last_write_time(project / "hello.wasm") + std::chrono::seconds(5));
  Finished stale = Run({"run", manifest});
  ASSERT_EQ(stale.code, 0) << stale.err;
  EXPECT_THAT(stale.err, HasSubstr("theater: warning: " + (project / "hello.wasm").string() +
                                   " is older than " + (project / "hello.c").string()));
  EXPECT_THAT(stale.err, Not(HasSubstr("building")));
  Finished rebuilt = Run({"run", "--build", manifest});
  ASSERT_EQ(rebuilt.code, 0) << rebuilt.err;
  EXPECT_THAT(rebuilt.err, HasSubstr("building hello.wasm"));

  // --no-build leaves a missing component missing: the spawn's error, not a build.
  fs::remove(project / "hello.wasm");
  Finished none = Run({"run", "--no-build", manifest});
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.err, Not(HasSubstr("building")));
  EXPECT_THAT(none.err, HasSubstr("hello.wasm"));

  // A compile error names file:line and fails the run before anything starts.
  std::ofstream(project / "hello.c", std::ios::app) << "\nint broken( {\n";
  Finished broken = Run({"run", manifest});
  EXPECT_EQ(broken.code, 1);
  EXPECT_THAT(broken.err, HasSubstr("hello.c:"));
  EXPECT_THAT(broken.err, HasSubstr("theater: error: clang-14 failed (exit status 1)"));
  EXPECT_THAT(broken.out, Not(HasSubstr("chain")));
}

TEST_F(CliFirstRunTest, RunJsonPrintsOnlyTheReportOnStdout) {
  const fs::path project = HelloProject();
  Finished r = Run({"run", "--json", (project / "manifest.toml").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  json report = json::parse(r.out);  // the whole of stdout is one document
  EXPECT_EQ(report["stopped"], "stopped by theater run after 200 ms idle");
  EXPECT_TRUE(report["chain_verified"].get<bool>());
  EXPECT_THAT(report["state"].get<std::string>(), HasSubstr("\"count\": 1"));
  EXPECT_THAT(r.err, HasSubstr("building hello.wasm"));  // what it did went to stderr
}

TEST_F(CliFirstRunTest, BuildPrintsWhatItCompilesAndStripsDebugSectionsUnlessDebug) {
  const fs::path project = HelloProject();
  Finished release = Run({"build", project.string()});
  ASSERT_EQ(release.code, 0) << release.err;
  EXPECT_EQ(release.out, (project / "hello.wasm").string() + "\n");  // stdout: the path only
  EXPECT_THAT(release.err, HasSubstr("building hello.wasm from hello.c + bindings/minimal.c "
                                     "(clang-14, release)"));
  EXPECT_THAT(release.err, HasSubstr("built "));
  const std::string stripped = ReadFileText(project / "hello.wasm");
  EXPECT_EQ(stripped.find(".debug_info"), std::string::npos);
  // The name section stays, for traces: a custom section named "name" (length byte 4).
  EXPECT_NE(stripped.find(std::string("\x04name", 5)), std::string::npos);

  Finished debug = Run({"--json", "build", "--debug", project.string()});
  ASSERT_EQ(debug.code, 0) << debug.err;
  json report = json::parse(debug.out);
  EXPECT_EQ(report["profile"], "debug");
  const std::string with_debug = ReadFileText(project / "hello.wasm");
  EXPECT_NE(with_debug.find(".debug_info"), std::string::npos);
  EXPECT_GT(with_debug.size(), 2 * stripped.size());
}

TEST_F(CliFirstRunTest, FirstCompileShowsPlainProgressLinesWhenNotATerminal) {
  const fs::path project = HelloProject();
  ASSERT_EQ(Run({"build", project.string()}).code, 0);
  // A home of its own: the module is not in the cache yet.
  Finished r = Run({"compile", (project / "hello.wasm").string()}, (dir_ / "home").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("compiling hello.wasm ("));
  EXPECT_THAT(r.err, HasSubstr("): wasm2c\u2026\n"));
  EXPECT_THAT(r.err, HasSubstr("\ncompiled hello.wasm ("));
  EXPECT_THAT(r.err, HasSubstr(" (wasm2c "));
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  // Cached now: nothing to say.
  Finished again = Run({"compile", (project / "hello.wasm").string()}, (dir_ / "home").string());
  ASSERT_EQ(again.code, 0);
  EXPECT_THAT(again.err, Not(HasSubstr("compiling")));
}

TEST_F(CliFirstRunTest, UsageErrorsNameTheProblemTheCommandAndANearCommand) {
  Finished typo = Run({"evnets"});
  EXPECT_EQ(typo.code, 2);
  EXPECT_EQ(typo.err,
            "theater: error: unrecognized command 'evnets' (did you mean 'events'?) "
            "(see `theater --help`)\n");
  EXPECT_THAT(Run({"--json", "lsit"}).err, HasSubstr("(did you mean 'list'?)"));
  // Global options before the command, with their values, are skipped: -a's value is no command.
  EXPECT_THAT(Run({"-a", "127.0.0.1:9", "evnts"}).err, HasSubstr("(did you mean 'events'?)"));
  EXPECT_THAT(Run({"--color=never", "evnts"}).err, HasSubstr("(did you mean 'events'?)"));
  // Where the version is, and the nearest option of the command for a misspelt one.
  EXPECT_EQ(Run({"-V"}).err,
            "theater: error: unknown option -V (the version is `theater --version`) (see "
            "`theater --help`)\n");
  EXPECT_THAT(Run({"version"}).err, HasSubstr("(the version is `theater --version`)"));
  Finished misspelt = Run({"list", "--jsn"});
  EXPECT_EQ(misspelt.code, 2);
  EXPECT_THAT(misspelt.err, HasSubstr("--jsn (did you mean '--json'?)"));
  EXPECT_THAT(Run({"events", "x", "--folow"}).err, HasSubstr("(did you mean '--follow'?)"));
  Finished unknown = Run({"xyzzy"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_EQ(unknown.err, "theater: error: unrecognized command 'xyzzy' (see `theater --help`)\n");
  Finished missing = Run({"create"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.err, "theater: error: name is required (see `theater create --help`)\n");
  Finished option = Run({"run", "--bogus", "m.toml"});
  EXPECT_EQ(option.code, 2);
  EXPECT_THAT(option.err, HasSubstr("theater: error: the following argument was not expected: "
                                    "--bogus (see `theater run --help`)"));
  Finished help = Run({"create", "--help"});
  EXPECT_EQ(help.code, 0);
}

TEST_F(CliFirstRunTest, CreateDescribesEachTemplateAndHintsWhatFitsIt) {
  Finished help = Run({"create", "--help"});
  ASSERT_EQ(help.code, 0);
  for (const char* line :
       {"\n  basic           logs a greeting", "\n  message-server  answers messages",
        "\n  supervisor      starts, lists and stops child actors",
        "\n  http-server     serves GET /, /hello and /count"}) {
    EXPECT_THAT(help.out, HasSubstr(line));
  }
  Finished http = Run({"create", "web", "-t", "http-server", "-o", dir_.string()});
  ASSERT_EQ(http.code, 0) << http.err;
  EXPECT_THAT(http.out, HasSubstr("theater run --wait manifest.toml"));
  EXPECT_THAT(http.out, Not(HasSubstr("theater start")));
  EXPECT_EQ(json::parse(ReadFileText(dir_ / "web" / "init.json"))["port"], 0);  // a free port
  Finished server = Run({"create", "srv", "-t", "message-server", "-o", dir_.string()});
  ASSERT_EQ(server.code, 0) << server.err;
  EXPECT_THAT(server.out, HasSubstr("theater server &"));
  EXPECT_THAT(server.out, HasSubstr("theater message --request $id ping"));
  Finished basic = Run({"create", "plain", "-o", dir_.string()});
  EXPECT_THAT(basic.out, HasSubstr("theater run manifest.toml"));
  EXPECT_THAT(basic.out, Not(HasSubstr("theater server")));
}

// A module that takes gcc seconds, behind a manifest, in a home of its own (never cached).
class CliInterruptTest : public CliFirstRunTest {
 protected:
  void SetUp() override {
    CliFirstRunTest::SetUp();
    const std::vector<uint8_t> wasm = ModuleWithFunctions(6000);
    std::ofstream(dir_ / "big.wasm", std::ios::binary)
        .write(reinterpret_cast<const char*>(wasm.data()),
               static_cast<std::streamsize>(wasm.size()));
    std::ofstream(dir_ / "manifest.toml")
        << "name = \"big\"\nversion = \"0.1.0\"\ncomponent = \"big.wasm\"\n";
    home_ = (dir_ / "home").string();
  }
  // Starts `args`, waits until gcc's cc1 (a grandchild: theater -> shim -> cc -> cc1) runs in the
  // compile's directory, sends `sig`, and returns how the command ended. Every process of the
  // compile must be gone soon after the command ends.
  Finished InterruptDuringCompile(const std::vector<std::string>& args, int sig) {
    auto env = BaseEnv(dir_, "127.0.0.1:1");
    env["THEATER_HOME"] = home_;
    Child child(args, env, "");
    const fs::path builds = fs::path(home_) / "cache" / "tmp";
    // The module's units compile in parallel, a cc1 each, for seconds in all (longer on a busy
    // machine): a scan of /proc every few milliseconds cannot miss them all.
    const bool compiling = WaitFor(
        [&] {
          const std::vector<std::string> names = ProcessesWorkingUnder(builds);
          return std::find(names.begin(), names.end(), "cc1") != names.end();
        },
        120s);
    EXPECT_TRUE(compiling) << "cc1 was never seen";
    child.Signal(sig);
    Finished finished = child.Finish(60s);
    EXPECT_TRUE(WaitFor([&] { return ProcessesWorkingUnder(builds).empty(); }, 30s))
        << "compiler processes outlived the command";
    return finished;
  }
};

TEST_F(CliInterruptTest, SigtermDuringACompileLeavesNoCompilerRunning) {
  Finished r = InterruptDuringCompile({"compile", (dir_ / "big.wasm").string()}, SIGTERM);
  EXPECT_EQ(r.code, 128 + SIGTERM);
}

TEST_F(CliInterruptTest, CtrlCDuringRunsCompileStopsItAndSaysSo) {
  Finished r = InterruptDuringCompile({"run", (dir_ / "manifest.toml").string()}, SIGINT);
  EXPECT_EQ(r.code, 130);
  EXPECT_THAT(r.err, HasSubstr("theater: interrupted while starting the actor"));
  EXPECT_THAT(r.out, Not(HasSubstr("chain")));
}

}  // namespace
