// Theater: a WebAssembly actor runtime.
//
// Actors in JavaScript and TypeScript, end to end, the way a user meets them: `theater create
// --lang js|ts` for every template, `theater build` (npm ci, esbuild, tsc, componentize-js: the
// real tools from the npm registry), then each actor run by the real `theater` binary, in-process
// or on a real `theater server`, exchanging messages with the CLI and with a C actor.
//
// Costs, and how they are kept down:
//   - npm ci installs about 400 MB per language; the projects of one language share one
//     node_modules (a link to a project built once per build directory, under a file lock since
//     ctest runs tests in parallel).
//   - The first actor of each world compiles the JavaScript engine. The tests share the build's
//     test-home cache, so JavaScript and TypeScript actors of a world (and later runs) compile it
//     once, and they compile at -O1 ($THEATER_OPT_LEVEL): what they check does not depend on the
//     optimisation, and -O1 takes about a third of -O2's time.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

using theater::cli_testing::BaseEnv;
using theater::cli_testing::Child;
using theater::cli_testing::Finished;
using theater::cli_testing::NewTempDir;
using theater::cli_testing::ReadFileText;

const fs::path kTestHome = fs::path(THEATER_BUILD_DIR) / "test-home";
const std::string kMessenger = std::string(THEATER_TEST_ACTOR_DIR) + "/messenger.wasm";

class CliJsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = NewTempDir("theater-cli-js"); }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGTERM);
      Finished f = server_->Finish(30s);
      EXPECT_EQ(f.code, 0) << "server stderr:\n" << f.err;
    }
    fs::remove_all(dir_);
  }

  std::map<std::string, std::string> Env() const {
    auto env = BaseEnv(dir_, address_);
    env["THEATER_HOME"] = kTestHome.string();
    env["THEATER_OPT_LEVEL"] = "1";
    return env;
  }

  // Runs the CLI to its end (an engine compile included, so generously timed).
  Finished Run(const std::vector<std::string>& args) {
    return Child(args, Env(), "").Finish(15min);
  }

  // The node_modules every project of `lang` links to: installed once per build directory by
  // building a project of that language (npm ci), under a lock against parallel tests.
  static fs::path SharedNodeModules(const std::string& lang) {
    const fs::path root = kTestHome / "js-packages";
    fs::create_directories(root);
    const int lock = ::open((root / (lang + ".lock")).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    EXPECT_GE(lock, 0);
    ::flock(lock, LOCK_EX);
    const fs::path project = root / ("install-" + lang);
    if (!fs::exists(project / "node_modules" / ".theater-lock")) {
      fs::remove_all(project);
      auto env = BaseEnv(root, "");
      env["THEATER_HOME"] = kTestHome.string();
      Finished created =
          Child({"create", project.filename().string(), "--lang", lang, "-o", root.string()}, env,
                "")
              .Finish();
      EXPECT_EQ(created.code, 0) << created.err;
      Finished built = Child({"build", project.string()}, env, "").Finish(15min);
      EXPECT_EQ(built.code, 0) << built.err;
      EXPECT_THAT(built.err, HasSubstr("installing the project's npm packages (npm ci"));
    }
    ::close(lock);
    return project / "node_modules";
  }

  // Creates and builds `name` from `tmpl` in `lang`; returns its directory.
  fs::path CreateAndBuild(const std::string& name, const std::string& tmpl,
                          const std::string& lang) {
    Finished created =
        Run({"create", name, "--template", tmpl, "--lang", lang, "-o", dir_.string()});
    EXPECT_EQ(created.code, 0) << created.err;
    const fs::path project = dir_ / name;
    fs::create_directory_symlink(SharedNodeModules(lang), project / "node_modules");
    Finished built = Run({"build", project.string()});
    EXPECT_EQ(built.code, 0) << name << ": " << built.err;
    EXPECT_THAT(built.out, HasSubstr(name + ".wasm"));
    EXPECT_THAT(built.err, Not(HasSubstr("npm ci"))) << "the shared packages are installed";
    EXPECT_TRUE(fs::exists(project / (name + ".wasm"))) << name;
    return project;
  }

  void StartServer() {
    server_ = std::make_unique<Child>(
        std::vector<std::string>{"server", "--address", "127.0.0.1:0", "--home",
                                 (dir_ / "server").string(), "--durability", "none", "--log-level",
                                 "warn"},
        Env(), "", /*keep_stdin_open=*/true);
    ASSERT_TRUE(server_->WaitForOutput(
        [](const std::string& out) { return out.find('\n') != std::string::npos; }, 30s));
    const std::string& line = server_->out();
    const std::string prefix = "listening on ";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
    address_ = line.substr(prefix.size(), line.find('\n') - prefix.size());
  }

  // `theater start` of a manifest; the new actor's id.
  std::string Start(const fs::path& manifest) {
    Finished started = Run({"start", manifest.string()});
    EXPECT_EQ(started.code, 0) << started.err;
    std::string id = started.out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }

  std::string Request(const std::string& id, const std::string& message) {
    Finished replied = Run({"message", "--request", id, message});
    EXPECT_EQ(replied.code, 0) << replied.err;
    return replied.out;
  }

  fs::path dir_;
  std::unique_ptr<Child> server_;
  std::string address_;
};

TEST_F(CliJsTest, BasicTemplateRunsInJavaScriptAndTypeScript) {
  for (const std::string lang : {"js", "ts"}) {
    const fs::path project = CreateAndBuild("basic-" + lang, "basic", lang);
    Finished ran = Run({"run", (project / "manifest.toml").string()});
    EXPECT_EQ(ran.code, 0) << ran.out << ran.err;
    EXPECT_THAT(ran.out, HasSubstr("Hello from basic-" + lang));
    EXPECT_THAT(ran.out, HasSubstr("started 1 time(s)"));
    EXPECT_THAT(ran.out, HasSubstr("chain verified"));
    EXPECT_THAT(ran.out, HasSubstr("\"starts\": 1"));
    // The TypeScript actor is the world's second: it shares the first one's compile.
    if (lang == "ts") EXPECT_THAT(ran.err, Not(HasSubstr("compiling"))) << ran.err;
  }
}

TEST_F(CliJsTest, MessageServerTemplateAnswersTheCliAndACActor) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::map<std::string, std::string> ids;
  for (const std::string lang : {"js", "ts"}) {
    const fs::path project = CreateAndBuild("echo-" + lang, "message-server", lang);
    const std::string id = Start(project / "manifest.toml");
    ASSERT_FALSE(id.empty());
    ids[lang] = id;
    EXPECT_EQ(Request(id, "ping"), "pong\n") << lang;
    Finished sent = Run({"message", id, "hello"});
    EXPECT_EQ(sent.code, 0) << sent.err;
    EXPECT_EQ(Request(id, "count"), "2\n") << lang;
    EXPECT_EQ(Request(id, "what"), "you said: what\n") << lang;
    // Channels: the JavaScript actor sends on the channel from its handler.
    Finished channel = Child({"channel", "open", id}, Env(), "one\ntwo\n").Finish(60s);
    EXPECT_EQ(channel.code, 0) << channel.err;
    EXPECT_THAT(channel.out, HasSubstr("echo: one"));
    EXPECT_THAT(channel.out, HasSubstr("echo: two"));
    Finished events = Run({"events", id});
    EXPECT_EQ(events.code, 0) << events.err;
    EXPECT_THAT(events.out, HasSubstr("send-on-channel"));
  }
  // A C actor (tests/actors/messenger.c) requests from the JavaScript one and relays its reply.
  const fs::path messenger = dir_ / "messenger.toml";
  std::ofstream(messenger) << "name = \"messenger\"\nversion = \"0.1.0\"\ncomponent = \""
                           << kMessenger
                           << "\"\n\n[[handler]]\ntype = \"runtime\"\n\n[[handler]]\n"
                              "type = \"message-server\"\n\n[[handler]]\ntype = \"timing\"\n";
  const std::string c_actor = Start(messenger);
  ASSERT_FALSE(c_actor.empty());
  EXPECT_EQ(Request(c_actor, "request:" + ids["ts"] + ":ping"), "pong\n");
  EXPECT_EQ(Request(c_actor, "request:" + ids["js"] + ":count"), "4\n");
}

}  // namespace
