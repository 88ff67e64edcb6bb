// Theater: a WebAssembly actor runtime.
//
// End-to-end tests of the `theater` binary: a real `theater server` process on a free port with
// a fresh home, driven by running the CLI as a child process (fork/exec) and checking its
// stdout, stderr and exit code — the way people and scripts use it. Test actors come from
// tests/actors (messenger, runtime_probe).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/uuid.h"
#include "server/client.h"
#include "theater/version.h"
#include "server/framing.h"
#include "theater/chain.h"
#include "theater/chain_store.h"
#include "cli/cli_test_child.h"
#include "testing/runtime_test_util.h"

namespace {

namespace fs = std::filesystem;
namespace chain = theater::chain;
namespace server = theater::server;
using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const std::string kMessenger = std::string(THEATER_TEST_ACTOR_DIR) + "/messenger.wasm";
const std::string kProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe.wasm";
// The build's shared compile cache, so each test's server does not compile the actors again.
const std::string kCacheDir = std::string(THEATER_BUILD_DIR) + "/test-home/cache";

using namespace theater::cli_testing;  // the children, fixtures and checks of cli_test_child.h
using theater::testing_util::WaitFor;

// --- without a server ------------------------------------------------------------------------

class CliLocalTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = NewTempDir("theater-cli-local"); }
  void TearDown() override { fs::remove_all(dir_); }
  Finished Run(const std::vector<std::string>& args, std::map<std::string, std::string> extra = {},
               const std::string& input = "") {
    auto env = BaseEnv(dir_, "127.0.0.1:1");
    env["THEATER_HOME"] = std::string(THEATER_BUILD_DIR) + "/test-home";
    for (auto& [k, v] : extra) env[k] = v;
    return Child(args, env, input).Finish();
  }
  fs::path dir_;
};

TEST_F(CliLocalTest, NoServerRunningIsAClearFailure) {
  Finished r = Run({"list"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("no Theater server is running at 127.0.0.1:1"));
  // The flag wins over the environment.
  Finished flag = Run({"--address", "127.0.0.1:2", "list"});
  EXPECT_EQ(flag.code, 1);
  EXPECT_THAT(flag.err, HasSubstr("127.0.0.1:2"));
  // ... also after the subcommand.
  Finished after = Run({"list", "-a", "127.0.0.1:3"});
  EXPECT_THAT(after.err, HasSubstr("127.0.0.1:3"));
}

TEST_F(CliLocalTest, ConfigFileAddressAndErrors) {
  fs::create_directories(dir_ / "theater");
  std::ofstream(dir_ / "theater" / "config.toml") << "[server]\naddress = \"127.0.0.1:4\"\n";
  auto env = BaseEnv(dir_, "");
  Finished r = Child({"list"}, env, "").Finish();
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:4"));
  std::ofstream(dir_ / "theater" / "config.toml") << "[server]\naddress = \n";
  Finished bad = Child({"list"}, env, "").Finish();
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr((dir_ / "theater" / "config.toml").string() + ":2:"));
}

TEST_F(CliLocalTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({}).code, 2);
  EXPECT_EQ(Run({"no-such-command"}).code, 2);
  EXPECT_EQ(Run({"start"}).code, 2);
  EXPECT_EQ(Run({"events", "abc", "--sort", "sideways"}).code, 2);
  EXPECT_EQ(Run({"events", "abc", "--from", "yesterday"}).code, 2);
  EXPECT_EQ(Run({"message", "abc"}).code, 2);  // neither text nor --file
  EXPECT_EQ(Run({"chain"}).code, 2);
  EXPECT_EQ(Run({"list", "--color", "purple"}).code, 2);
  EXPECT_EQ(Run({"create", "x", "--template", "nope"}).code, 2);
}

TEST_F(CliLocalTest, ServerRefusesBadLimitsAndManifestRoots) {
  const std::vector<std::string> base{
      "server",      "--address", "127.0.0.1:0", "--home", (dir_ / "home").string(),
      "--log-level", "off"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  Finished root = Run(with({"--manifest-root", (dir_ / "no-such-dir").string()}));
  EXPECT_EQ(root.code, 1);
  EXPECT_THAT(root.err, HasSubstr("no-such-dir' is not a directory"));
  Finished outbox = Run(with({"--max-reply-bytes", "40000000", "--max-outbox-bytes", "50000000"}));
  EXPECT_EQ(outbox.code, 1);
  EXPECT_THAT(outbox.err, HasSubstr("max_outbox_bytes (50000000) must be at least twice"));
  EXPECT_EQ(Run(with({"--frame-header-timeout", "0"})).code, 2);
}

TEST_F(CliLocalTest, HelpOnEveryCommandExitsZero) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"start", "--help"},
                                             {"events", "--help"},
                                             {"channel", "open", "--help"},
                                             {"chain", "export", "--help"},
                                             {"server", "--help"},
                                             {"create", "--help"}}) {
    Finished r = Run(args);
    EXPECT_EQ(r.code, 0) << args.front();
    EXPECT_THAT(r.out, HasSubstr("Usage")) << args.front();
  }
  Finished version = Run({"--version"});
  EXPECT_EQ(version.code, 0);
  // The version and the commit the binary was built from (a source tree without git says so).
  const std::string prefix = "theater " + std::string(theater::kVersion) + " (commit ";
  ASSERT_EQ(version.out.rfind(prefix, 0), 0u) << version.out;
  std::string commit = version.out.substr(prefix.size());
  ASSERT_GE(commit.size(), 2u) << version.out;
  EXPECT_EQ(commit.substr(commit.size() - 2), ")\n") << version.out;
  commit.resize(commit.size() - 2);
  if (commit.size() > 6 && commit.substr(commit.size() - 6) == "-dirty") commit.resize(commit.size() - 6);
  if (commit != "unknown") {
    EXPECT_EQ(commit.size(), 12u) << version.out;
    EXPECT_EQ(commit.find_first_not_of("0123456789abcdef"), std::string::npos) << version.out;
  }
}

TEST_F(CliLocalTest, CompletionScripts) {
  for (const char* shell : {"bash", "zsh", "fish"}) {
    Finished r = Run({"completion", shell});
    EXPECT_EQ(r.code, 0) << shell;
    EXPECT_THAT(r.out, HasSubstr("list-stored")) << shell;
  }
  EXPECT_EQ(Run({"completion", "tcsh"}).code, 2);
}

TEST_F(CliLocalTest, RunHelloPrintsLogAndVerifiedChain) {
  const std::string manifest = std::string(THEATER_BUILD_DIR) + "/examples/hello/manifest.toml";
  if (!fs::exists(manifest)) GTEST_SKIP() << "examples not built";
  Finished r = Run({"run", manifest});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("[hello] Hello from"));
  EXPECT_THAT(r.out, HasSubstr("chain verified"));
  Finished j = Run({"run", "--json", manifest});
  ASSERT_EQ(j.code, 0) << j.err;
  json report = json::parse(j.out);
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_TRUE(report["chain_verified"].get<bool>());
  EXPECT_THAT(report["state"].get<std::string>(), HasSubstr("\"count\": 1"));
  EXPECT_GE(report["events"].size(), 3u);
}

TEST_F(CliLocalTest, ARunThatFailsBeforeTheActorExistsPrintsNoChain) {
  // A component that is not wasm: the spawn fails before the actor records anything.
  std::ofstream(dir_ / "broken.wasm") << "not a wasm module";
  std::ofstream(dir_ / "broken.toml") << "name = \"broken\"\nversion = \"0.1.0\"\n"
                                      << "component = \"broken.wasm\"\n";
  Finished r = Run({"run", "--no-build", (dir_ / "broken.toml").string()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("broken"));
  EXPECT_THAT(r.out, Not(HasSubstr("event chain")));
  EXPECT_THAT(r.out, Not(HasSubstr("chain verified")));
  Finished j = Run({"run", "--json", "--no-build", (dir_ / "broken.toml").string()});
  EXPECT_EQ(j.code, 1) << j.err;
  const json report = json::parse(j.out);
  EXPECT_FALSE(report["ok"].get<bool>());
  EXPECT_FALSE(report.contains("chain_verified")) << j.out;
  EXPECT_TRUE(report["events"].empty());
}

TEST_F(CliLocalTest, CompileAcceptsModulesAndComponents) {
  const std::string dir = std::string(THEATER_BUILD_DIR) + "/examples/hello/";
  Finished module = Run({"compile", dir + "hello.wasm"});
  EXPECT_EQ(module.code, 0) << module.err;
  EXPECT_THAT(module.out, HasSubstr("compiled module"));
  Finished component = Run({"compile", "--json", dir + "hello.component.wasm"});
  ASSERT_EQ(component.code, 0) << component.err;
  json report = json::parse(component.out);
  EXPECT_EQ(report["kind"], "component");
  EXPECT_EQ(report["exports"].get<int>(), 3);  // actor#init, its post-return, cabi_realloc

  // Bytes that claim to be a component but are not: a clear error, not a crash.
  const fs::path bad = fs::temp_directory_path() / "theater-cli-bad.component.wasm";
  {
    std::ofstream f(bad, std::ios::binary);
    f.write("\0asm\x0d\x00\x01\x00\x07\x05", 10);
  }
  Finished broken = Run({"compile", bad.string()});
  fs::remove(bad);
  EXPECT_NE(broken.code, 0);
  EXPECT_THAT(broken.err, HasSubstr("loading component"));
}

TEST_F(CliLocalTest, CreateBuildAndRunEveryTemplate) {
  if (system("command -v clang-14 > /dev/null") != 0) GTEST_SKIP() << "clang-14 not installed";
  const std::map<std::string, std::string> worlds = {{"basic", "minimal"},
                                                     {"message-server", "message_server_actor"},
                                                     {"supervisor", "supervisor_messages"},
                                                     {"http-server", "http_actor"}};
  for (const auto& [tmpl, world] : worlds) {
    for (const char* lang : {"c", "cpp"}) {
      const std::string name = "t-" + tmpl + "-" + lang;
      Finished created =
          Run({"create", name, "--template", tmpl, "--lang", lang, "-o", dir_.string()});
      ASSERT_EQ(created.code, 0) << created.err;
      const fs::path project = dir_ / name;
      // Theater's WIT and the bindings of the template's world; no SDK.
      ASSERT_TRUE(fs::exists(project / "wit" / "worlds.wit"));
      const bool c = std::string(lang) == "c";
      ASSERT_TRUE(fs::exists(project / "bindings" / (world + (c ? ".h" : ".hpp")))) << name;
      ASSERT_TRUE(fs::exists(project / "bindings" / (world + (c ? ".c" : ".cpp")))) << name;
      EXPECT_FALSE(fs::exists(project / "sdk")) << name;
      Finished built = Run({"build", project.string()});
      ASSERT_EQ(built.code, 0) << name << ": " << built.err;
      EXPECT_THAT(built.out, HasSubstr(name + ".wasm"));
      ASSERT_TRUE(fs::exists(project / (name + ".wasm")));
      std::vector<std::string> run = {"run", (project / "manifest.toml").string()};
      // The HTTP server listens on a free port rather than init.json's 8080.
      if (tmpl == "http-server") run = {"run", "-i", R"({"port": 0, "served": 0})", run[1]};
      Finished ran = Run(run);
      EXPECT_EQ(ran.code, 0) << name << ": " << ran.out << ran.err;
      EXPECT_THAT(ran.out, HasSubstr("chain verified")) << name;
      if (tmpl == "http-server") {
        EXPECT_THAT(ran.out, HasSubstr("serving on http://127.0.0.1:")) << name;
      }
      if (tmpl == "basic") {
        EXPECT_THAT(ran.out, HasSubstr("started 1 time(s)")) << name;
      }
    }
  }
  // The generated Makefile builds too, with clang only; `make bindings` regenerates bindings/
  // with the theater binary, identical to what create wrote.
  if (system("command -v make > /dev/null") == 0) {
    for (const char* name : {"t-basic-c", "t-supervisor-cpp"}) {
      const fs::path project = dir_ / name;
      fs::remove(project / (std::string(name) + ".wasm"));
      EXPECT_EQ(system(("make -s -C " + project.string() + " > /dev/null").c_str()), 0) << name;
      EXPECT_TRUE(fs::exists(project / (std::string(name) + ".wasm"))) << name;
    }
    const fs::path project = dir_ / "t-message-server-c";
    const std::string before = ReadFileText(project / "bindings" / "message_server_actor.c");
    EXPECT_EQ(system(("make -s -C " + project.string() + " bindings THEATER=" + THEATER_CLI_BINARY +
                      " > /dev/null")
                         .c_str()),
              0);
    EXPECT_EQ(ReadFileText(project / "bindings" / "message_server_actor.c"), before);
  }
  // An existing project is not overwritten.
  Finished again = Run({"create", "t-basic-c", "-o", dir_.string()});
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.err, HasSubstr("not empty"));
}

// The supervisor template in C and C++ against a server: it restarts a child that fails, as its
// description says, with no restart strategy in its manifest (the parent decides, from its
// handle-child-error).
class CliTemplateServerTest : public ServerFixture {
 protected:
  CliTemplateServerTest() : ServerFixture("theater-cli-templates") {}
  std::map<std::string, std::string> Env() const override {
    auto env = ServerFixture::Env();
    env["THEATER_HOME"] = std::string(THEATER_BUILD_DIR) + "/test-home";
    return env;
  }
};

TEST_F(CliTemplateServerTest, TheSupervisorTemplateRestartsAFailedChildInCAndCpp) {
  if (system("command -v clang-14 > /dev/null") != 0) GTEST_SKIP() << "clang-14 not installed";
  ASSERT_NO_FATAL_FAILURE(StartServer({"--spawn-root", dir_.string()}));
  for (const std::string lang : {"c", "cpp"}) {
    const std::string name = "boss-" + lang;
    Finished created =
        Run({"create", name, "--template", "supervisor", "--lang", lang, "-o", dir_.string()});
    ASSERT_EQ(created.code, 0) << created.err;
    Finished built = Run({"build", (dir_ / name).string()});
    ASSERT_EQ(built.code, 0) << built.err;
    const std::string id = Start(dir_ / name / "manifest.toml");
    ASSERT_FALSE(id.empty()) << lang;
    ExpectSupervisorRestartsAFailedChild(id, lang);
  }
}

// The C++ HTTP server template defines only Init and HandleRequest: the bindings' weak defaults
// stand in for handle-middleware and the WebSocket callbacks, whose exports must still be there.
TEST_F(CliLocalTest, CppHttpServerWithoutOptionalCallbacksServesARequest) {
  if (system("command -v clang-14 > /dev/null") != 0) GTEST_SKIP() << "clang-14 not installed";
  const std::string name = "t-http-defaults";
  Finished created =
      Run({"create", name, "--template", "http-server", "--lang", "cpp", "-o", dir_.string()});
  ASSERT_EQ(created.code, 0) << created.err;
  const fs::path project = dir_ / name;
  const std::string source = ReadFileText(project / "src" / "actor.cc");
  ASSERT_THAT(source, HasSubstr("HandleRequest("));
  EXPECT_THAT(source, Not(HasSubstr("HandleMiddleware")));
  EXPECT_THAT(source, Not(HasSubstr("HandleWebsocket")));
  Finished built = Run({"build", project.string()});
  ASSERT_EQ(built.code, 0) << built.err;
  const std::string wasm = ReadFileText(project / (name + ".wasm"));
  for (const char* fn : {"handle-middleware", "handle-websocket-connect",
                         "handle-websocket-message", "handle-websocket-disconnect"}) {
    EXPECT_THAT(wasm, HasSubstr(std::string("theater:simple/http-handlers#") + fn)) << fn;
  }

  auto env = BaseEnv(dir_, "127.0.0.1:1");
  env["THEATER_HOME"] = std::string(THEATER_BUILD_DIR) + "/test-home";
  Child run(
      {"run", "--wait", "-i", R"({"port": 0, "served": 0})", (project / "manifest.toml").string()},
      env, "");
  // The run compiles the new module first: seconds, but more on a loaded 2-core machine (as the
  // Rust template's run, which waits a minute).
  const std::string base = WaitForServingAddress(run, std::chrono::seconds(60));
  ASSERT_FALSE(base.empty());
  const int port = std::stoi(base.substr(base.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  const std::string request = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) response.append(buffer, n);
  ::close(fd);
  EXPECT_THAT(response, HasSubstr(" 200 "));
  EXPECT_THAT(response, HasSubstr("Hello from " + name + "!"));
  run.Signal(SIGINT);
  Finished ran = run.Finish();
  EXPECT_EQ(ran.code, 130) << ran.out << ran.err;  // interrupted, as docs/cli.md says
  EXPECT_THAT(ran.out, HasSubstr("GET /hello"));
  EXPECT_THAT(ran.out, HasSubstr("chain verified"));
}

// --- with a server ---------------------------------------------------------------------------

// One server process per test (ctest runs each test in its own process anyway).
class CliServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = NewTempDir("theater-cli-e2e");
    StartServer();
    messenger_manifest_ = WriteManifest("messenger", kMessenger);
    probe_manifest_ = WriteManifest("probe", kProbe);
  }
  // Starts `theater server` on home_ (again, after a test stopped the last one) and waits until
  // it listens.
  void StartServer(const std::vector<std::string>& more_args = {}) {
    std::map<std::string, std::string> server_env = BaseEnv(home_, "");
    if (!Token().empty()) server_env["THEATER_SERVER_TOKEN"] = Token();
    std::vector<std::string> server_args{
        "server",      "--address",   "127.0.0.1:0",  "--home", home_.string(),
        "--cache-dir", CacheDir(),    "--durability", "none",   "--workers",
        "2",           "--log-level", "warn"};
    for (const std::string& arg : ExtraServerArgs()) server_args.push_back(arg);
    for (const std::string& arg : more_args) server_args.push_back(arg);
    server_ = std::make_unique<Child>(server_args, server_env, "", /*keep_stdin_open=*/true);
    ASSERT_TRUE(server_->WaitForOutput(
        [](const std::string& out) { return out.find('\n') != std::string::npos; }, 30s))
        << "the server did not say it was listening";
    const std::string& line = server_->out();
    const std::string prefix = "listening on ";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
    address_ = line.substr(prefix.size(), line.find('\n') - prefix.size());
  }
  // Stops the server with SIGTERM; returns what it wrote on stderr.
  std::string StopServer() {
    server_->Signal(SIGTERM);
    Finished f = server_->Finish(30s);
    EXPECT_EQ(f.code, 0) << f.err;
    server_.reset();
    return f.err;
  }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGTERM);
      Finished f = server_->Finish(30s);
      EXPECT_EQ(f.code, 0) << "server stderr:\n" << f.err;
    }
    fs::remove_all(home_);
  }

  // A manifest of `component`; its chain is kept, as by default, unless `extra` says otherwise.
  std::string WriteManifest(const std::string& name, const std::string& component,
                            const std::string& extra = "") {
    const fs::path path = home_ / (name + ".toml");
    std::ofstream(path) << "name = \"" << name << "\"\nversion = \"0.1.0\"\ncomponent = \""
                        << component << "\"\n"
                        << extra << theater::testing_util::HandlersOf(component);
    return path.string();
  }

  // The server's shared secret; empty for none.
  virtual std::string Token() const { return ""; }
  // Where the server keeps compiled modules: by default the tests' shared cache.
  virtual std::string CacheDir() const { return kCacheDir; }
  // More flags for `theater server`.
  virtual std::vector<std::string> ExtraServerArgs() const { return {}; }
  std::map<std::string, std::string> Env() const { return BaseEnv(home_, address_); }
  std::unique_ptr<server::ManagementClient> Connect(std::optional<std::string> token = {}) {
    server::ManagementClient::Options options;
    options.address = address_;
    options.token = token;
    // A 3 MiB echo through a sanitizer build of the server on a loaded machine has taken over the
    // client's default minute; the test runner's own timeout still bounds a hang.
    options.reply_timeout = std::chrono::minutes(5);
    auto client = server::ManagementClient::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }
  Finished Run(const std::vector<std::string>& args, const std::string& input = "") {
    return Child(args, Env(), input).Finish();
  }
  std::unique_ptr<Child> Start(const std::vector<std::string>& args) {
    return std::make_unique<Child>(args, Env(), "");
  }
  // Starts an actor and returns its id.
  std::string StartActor(const std::string& manifest) {
    Finished r = Run({"start", manifest});
    EXPECT_EQ(r.code, 0) << r.err;
    std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(id.size(), 36u) << r.out;
    return id;
  }
  std::string Request(const std::string& id, const std::string& text) {
    Finished r = Run({"message", "--request", id, text});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }
  json Json(const std::vector<std::string>& args) {
    std::vector<std::string> with = args;
    with.push_back("--json");
    Finished r = Run(with);
    EXPECT_EQ(r.code, 0) << r.err;
    json parsed = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << r.out;
    return parsed;
  }
  // The id of the running actor named `name`, waiting for it to appear.
  std::string WaitForActor(const std::string& name) {
    std::string id;
    EXPECT_TRUE(WaitFor([&] {
      for (const json& actor : Json({"list"})) {
        if (actor.value("name", "") == name) id = actor["id"].get<std::string>();
      }
      return !id.empty();
    })) << "no actor named " << name;
    return id;
  }
  bool Listed(const std::string& id) {
    for (const json& actor : Json({"list"})) {
      if (actor.value("id", "") == id) return true;
    }
    return false;
  }

  fs::path home_;
  std::unique_ptr<Child> server_;
  std::string address_;
  std::string messenger_manifest_;
  std::string probe_manifest_;
};

TEST_F(CliServerTest, StartListStateStop) {
  const std::string id = StartActor(messenger_manifest_);
  Finished list = Run({"list"});
  EXPECT_EQ(list.code, 0);
  EXPECT_THAT(list.out, HasSubstr("ID"));
  EXPECT_THAT(list.out, HasSubstr(id));
  EXPECT_THAT(list.out, HasSubstr("messenger"));
  EXPECT_TRUE(Listed(id));

  Finished state = Run({"state", id});
  EXPECT_EQ(state.code, 0);
  EXPECT_EQ(state.out, "log\n");
  json state_json = Json({"state", id});
  EXPECT_EQ(state_json["state"], "log");
  EXPECT_EQ(state_json["size"], 3);
  // A unique id prefix and the name work too.
  EXPECT_EQ(Run({"state", id.substr(0, 8)}).out, "log\n");
  EXPECT_EQ(Run({"state", "messenger"}).out, "log\n");

  Finished stop = Run({"stop", id});
  EXPECT_EQ(stop.code, 0) << stop.err;
  EXPECT_EQ(stop.out, "stopped " + id + "\n");
  EXPECT_FALSE(Listed(id));
}

TEST_F(CliServerTest, SigtermStopsEveryActorAndSyncsTheirChains) {
  const std::string id = StartActor(probe_manifest_);
  EXPECT_EQ(Request(id, "count"), "1");
  StopServer();
  // The database the server left behind: the actor stopped but recorded as running, with what
  // recovers it, its chain whole and verified, its last event the stop.
  auto store = chain::ChainStore::Open(home_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto records = (*store)->ListActors();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].actor_id, id);
  EXPECT_EQ((*records)[0].status, "running");
  EXPECT_THAT((*records)[0].recovery, HasSubstr("module_sha256"));
  auto events = (*store)->LoadChain(id);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  EXPECT_TRUE(chain::VerifyEvents(*events).ok());
  auto last = chain::DecodePayload(events->back().payload);
  ASSERT_TRUE(last.ok());
  auto* life = std::get_if<chain::Lifecycle>(&*last);
  ASSERT_NE(life, nullptr);
  EXPECT_EQ(life->kind, "actor-stopped");
}

// A server that restarts brings its actors back (same ids, states going on); `--no-recover`
// starts with none and leaves them recorded for a later start.
TEST_F(CliServerTest, ARestartedServerBringsItsActorsBack) {
  const std::string id = StartActor(probe_manifest_);
  EXPECT_EQ(Request(id, "count"), "1");
  EXPECT_EQ(Request(id, "count"), "2");
  StopServer();
  StartServer();
  EXPECT_TRUE(Listed(id));
  EXPECT_EQ(Request(id, "count"), "3");
  EXPECT_THAT(StopServer(), HasSubstr("recovered 1 actor in"));

  StartServer({"--no-recover"});
  EXPECT_FALSE(Listed(id));
  StopServer();
  StartServer();
  EXPECT_TRUE(Listed(id));
  EXPECT_EQ(Request(id, "count"), "4");
  Finished verified = Run({"chain", "verify", id});
  EXPECT_EQ(verified.code, 0) << verified.out << verified.err;
  Finished replayed = Run({"replay", id});
  EXPECT_EQ(replayed.code, 0) << replayed.out << replayed.err;
  EXPECT_THAT(replayed.out, HasSubstr("identical"));
}

TEST_F(CliServerTest, RawSocketClientsOfTheServerProcess) {
  // What an old client sends (a bare command in a Complete frame), then a frame nobody can read.
  auto hp = server::SplitAddress(address_);
  ASSERT_TRUE(hp.ok());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(hp->second);
  ::inet_pton(AF_INET, hp->first.c_str(), &sa.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  auto send_frame = [&](const std::string& body) {
    std::string frame = {static_cast<char>(body.size() >> 24), static_cast<char>(body.size() >> 16),
                         static_cast<char>(body.size() >> 8), static_cast<char>(body.size())};
    frame += body;
    ASSERT_EQ(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(frame.size()));
  };
  server::FrameDecoder decoder;
  auto receive = [&]() -> std::optional<json> {
    std::vector<std::vector<uint8_t>> messages;
    while (messages.empty()) {
      uint8_t buffer[65536];
      ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) return std::nullopt;
      if (!decoder.Feed({buffer, static_cast<size_t>(n)}, messages).ok()) return std::nullopt;
    }
    return json::parse(messages[0].begin(), messages[0].end());
  };
  std::string list = "{\"Complete\":[";
  for (char c : std::string("\"ListActors\"")) list += std::to_string(int(c)) + ",";
  list.back() = ']';
  list += "}";
  send_frame(list);
  auto reply = receive();
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->contains("ActorList")) << reply->dump();
  send_frame("{\"Fragment\":{\"message_id\":1}}");
  reply = receive();
  ASSERT_TRUE(reply);
  EXPECT_TRUE((*reply)["Error"]["error"].contains("InvalidRequest")) << reply->dump();
  EXPECT_FALSE(receive()) << "then the server hangs up";
  ::close(fd);

  // A frame longer than the server's limit: refused from its length alone.
  fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  decoder = server::FrameDecoder();
  ASSERT_EQ(::send(fd, "\x7f\xff\xff\xff", 4, MSG_NOSIGNAL), 4);
  reply = receive();
  ASSERT_TRUE(reply);
  EXPECT_THAT(reply->dump(), HasSubstr("exceeds"));
  EXPECT_FALSE(receive());
  ::close(fd);

  // A payload over the 8 MiB fragment size, both ways: 3 MiB of text is ~10 MiB of JSON.
  const std::string id = StartActor(messenger_manifest_);
  std::string big(3u << 20, 'z');
  std::string command = "echo:" + big;
  json request = server::MakeVariant(
      "RequestActorMessage",
      json{{"id", id},
           {"data", server::BytesToJson(
                        {reinterpret_cast<const uint8_t*>(command.data()), command.size()})}});
  // Building and encoding the request takes over 10 s under the sanitizers, and the server closes
  // a connection that has sent no whole command within its unauthenticated_timeout (10 s): the
  // client connects once the request is built and first sends a small command, which establishes
  // the connection.
  auto client = Connect();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Call("ListActors").ok());
  auto echoed = client->Call(request);
  ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
  auto bytes = server::BytesField(echoed->fields, "message");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), big);
  // And it goes on serving others.
  EXPECT_EQ(Run({"list"}).code, 0);
}

TEST_F(CliServerTest, AHundredConcurrentClientsOfTheServerProcess) {
  const std::string id = StartActor(probe_manifest_);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 100; ++t) {
    threads.emplace_back([&] {
      server::ManagementClient::Options options;
      options.address = address_;
      auto client = server::ManagementClient::Connect(options);
      if (!client.ok()) {
        failures++;
        return;
      }
      for (int i = 0; i < 10; ++i) {
        auto list = (*client)->Call("ListActors");
        auto state = (*client)->Call(server::MakeVariant("GetActorState", json{{"id", id}}));
        if (!list.ok() || !state.ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(CliServerTest, AClientLeavingMidSubscriptionEndsItsSubscription) {
  const std::string id = StartActor(probe_manifest_);
  auto watcher = Connect();
  auto observer = Connect();
  ASSERT_TRUE(watcher && observer);
  ASSERT_TRUE(watcher->Call(server::MakeVariant("SubscribeToActor", json{{"id", id}})).ok());
  EXPECT_EQ(Request(id, "count"), "1");
  auto first = watcher->NextEvent(10s);
  ASSERT_TRUE(first.ok() && *first);
  EXPECT_EQ(observer->Call("GetServerInfo")->fields["subscriptions"], 1);
  watcher.reset();  // hangs up with the subscription open
  EXPECT_TRUE(
      WaitFor([&] { return observer->Call("GetServerInfo")->fields["subscriptions"] == 0; }));
  EXPECT_EQ(Request(id, "count"), "2") << "the actor runs on";
}

class CliTokenServerTest : public CliServerTest {
 protected:
  std::string Token() const override { return "e2e-secret"; }
};

TEST_F(CliTokenServerTest, AWrongTokenIsRefusedAndTheRightOneWorks) {
  // No token: the CLI's command is refused, with the reason.
  Finished anonymous = Run({"list"});
  EXPECT_EQ(anonymous.code, 1);
  EXPECT_THAT(anonymous.err, HasSubstr("token"));
  Finished wrong = Run({"--token", "guess", "list"});
  EXPECT_EQ(wrong.code, 1);
  Finished right = Run({"--token", "e2e-secret", "list"});
  EXPECT_EQ(right.code, 0) << right.err;
  // A raw client: refused without and with a wrong token, still connected, then let in.
  auto client = Connect();
  ASSERT_TRUE(client);
  EXPECT_EQ(client->CallRaw("ListActors")->fields["error"], "Unauthorized");
  EXPECT_EQ(client->CallRaw(server::MakeVariant("Authenticate", json{{"token", "nope"}}))
                ->fields["error"],
            "Unauthorized");
  EXPECT_TRUE(
      client->Call(server::MakeVariant("Authenticate", json{{"token", "e2e-secret"}})).ok());
  EXPECT_TRUE(client->Call("ListActors").ok());
}

// A server with a cache of its own, so that a start compiles.
class CliFreshCacheServerTest : public CliServerTest {
 protected:
  std::string CacheDir() const override { return (home_ / "cache").string(); }
};

// `start` shows the server's compile of the component while it waits (the line `theater run`
// prints, on stderr; stdout keeps only the id), and a restart, compiled already, shows none.
TEST_F(CliFreshCacheServerTest, StartShowsTheServersCompileWhileItWaits) {
  Finished started = Run({"start", messenger_manifest_});
  ASSERT_EQ(started.code, 0) << started.err;
  EXPECT_THAT(started.err, HasSubstr("compiling "));
  EXPECT_THAT(started.err, HasSubstr("compiled "));
  const std::string id = started.out.substr(0, started.out.find('\n'));
  EXPECT_EQ(id.size(), 36u) << started.out;
  Finished restarted = Run({"restart", id});
  EXPECT_EQ(restarted.code, 0) << restarted.err;
  EXPECT_THAT(restarted.err, Not(HasSubstr("compil"))) << restarted.err;
}

TEST_F(CliServerTest, UnknownActorFails) {
  Finished r = Run({"state", "00000000-0000-4000-8000-000000000000"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("theater: error:"));
  Finished prefix = Run({"state", "zzz"});
  EXPECT_EQ(prefix.code, 1);
  EXPECT_THAT(prefix.err, HasSubstr("no actor matches 'zzz'"));
  Finished start = Run({"start", (home_ / "missing.toml").string()});
  EXPECT_EQ(start.code, 1);
}

TEST_F(CliServerTest, MessageSendAndRequest) {
  const std::string id = StartActor(messenger_manifest_);
  Finished sent = Run({"message", id, "hello"});
  EXPECT_EQ(sent.code, 0) << sent.err;
  EXPECT_EQ(Request(id, "echo:hi there"), "hi there");
  std::ofstream(home_ / "msg.txt") << "echo:from a file";
  Finished file = Run({"message", "-r", id, "--file", (home_ / "msg.txt").string()});
  EXPECT_EQ(file.out, "from a file");
  json reply = Json({"message", "--request", id, "echo:{\"a\":1}"});
  EXPECT_EQ(reply["reply"], json({{"a", 1}}));
  EXPECT_THAT(Request(id, "log"), HasSubstr("send:hello"));
  Finished both = Run({"message", id, "x", "--file", (home_ / "msg.txt").string()});
  EXPECT_EQ(both.code, 2);
}

TEST_F(CliServerTest, EventsFiltersSortAndJson) {
  const std::string id = StartActor(messenger_manifest_);
  Run({"message", id, "needle-in-a-haystack"});
  Request(id, "echo:x");
  json all = Json({"events", id});
  ASSERT_TRUE(all.is_array());
  ASSERT_GE(all.size(), 3u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i]["index"], i);

  json limited = Json({"events", id, "--limit", "2"});
  EXPECT_EQ(limited.size(), 2u);
  json reversed = Json({"events", id, "--reverse", "--limit", "1"});
  ASSERT_EQ(reversed.size(), 1u);
  EXPECT_EQ(reversed[0]["index"], all.size() - 1);

  const std::string some_type = all.back()["type"].get<std::string>();
  json typed = Json({"events", id, "--type", some_type});
  ASSERT_FALSE(typed.empty());
  for (const json& e : typed) EXPECT_THAT(e["type"].get<std::string>(), HasSubstr(some_type));

  json found = Json({"events", id, "--search", "NEEDLE-in"});
  EXPECT_FALSE(found.empty());
  EXPECT_LT(found.size(), all.size());
  EXPECT_TRUE(Json({"events", id, "--search", "no such text anywhere"}).empty());

  EXPECT_EQ(Json({"events", id, "--from", "1h"}).size(), all.size());
  EXPECT_TRUE(Json({"events", id, "--to", "1000"}).empty());

  json by_size = Json({"events", id, "--sort", "size", "--reverse"});
  ASSERT_EQ(by_size.size(), all.size());
  for (size_t i = 1; i < by_size.size(); ++i) {
    EXPECT_GE(by_size[i - 1]["payload_size"].get<uint64_t>(),
              by_size[i]["payload_size"].get<uint64_t>());
  }
  Finished human = Run({"events", id});
  EXPECT_EQ(human.code, 0);
  EXPECT_THAT(human.out, HasSubstr("#0 "));
}

TEST_F(CliServerTest, InspectMetricsInfo) {
  const std::string id = StartActor(messenger_manifest_);
  Request(id, "echo:a");
  json inspect = Json({"inspect", id});
  EXPECT_EQ(inspect["status"], "Running");
  EXPECT_EQ(inspect["state"], "log");
  EXPECT_TRUE(inspect["metrics"].is_object());
  EXPECT_FALSE(inspect["recent_events"].empty());
  Finished human = Run({"inspect", id});
  EXPECT_EQ(human.code, 0);
  EXPECT_THAT(human.out, HasSubstr("Recent events"));
  EXPECT_THAT(human.out, HasSubstr("Metrics"));

  json metrics = Json({"metrics", id});
  EXPECT_GE(metrics["metrics"]["calls"].get<uint64_t>(), 1u);
  Finished metrics_human = Run({"metrics", id});
  EXPECT_THAT(metrics_human.out, HasSubstr("calls"));

  json info = Json({"info"});
  EXPECT_EQ(info["actors"], 1);
  EXPECT_EQ(info["address"], address_);
}

TEST_F(CliServerTest, PauseResumeRestartTerminate) {
  const std::string id = StartActor(messenger_manifest_);
  Run({"message", id, "before"});
  EXPECT_EQ(Run({"pause", id}).out, "paused " + id + "\n");
  EXPECT_EQ(Json({"inspect", id})["phase"], "Paused");
  EXPECT_EQ(Run({"resume", id}).out, "resumed " + id + "\n");
  EXPECT_THAT(Request(id, "log"), HasSubstr("send:before"));
  Finished restart = Run({"restart", id});
  EXPECT_EQ(restart.code, 0) << restart.err;
  EXPECT_EQ(Request(id, "log"), "log");  // fresh state
  Finished resume_again = Run({"resume", id});
  EXPECT_EQ(resume_again.code, 1);  // not paused
  EXPECT_EQ(Run({"terminate", id}).out, "terminated " + id + "\n");
  EXPECT_FALSE(Listed(id));
}

TEST_F(CliServerTest, ChainVerifyExportAndListStored) {
  const std::string id = StartActor(messenger_manifest_);
  Request(id, "echo:a");
  Finished verify = Run({"chain", "verify", id});
  EXPECT_EQ(verify.code, 0) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("chain valid"));
  EXPECT_TRUE(Json({"chain", "verify", id})["valid"].get<bool>());

  const fs::path file = home_ / "chain.json";
  Finished exported = Run({"chain", "export", id, "-o", file.string()});
  EXPECT_EQ(exported.code, 0) << exported.err;
  std::ifstream in(file);
  json document = json::parse(in, nullptr, false);
  ASSERT_FALSE(document.is_discarded());
  EXPECT_EQ(document["actor_id"], id);
  EXPECT_GE(document["events"].size(), 2u);
  Finished to_stdout = Run({"chain", "export", id});
  EXPECT_EQ(json::parse(to_stdout.out)["events"].size(), document["events"].size());

  Run({"stop", id});
  bool found = false;
  for (const json& actor : Json({"list-stored"})) {
    if (actor["id"] == id) {
      found = true;
      EXPECT_EQ(actor["status"], "stopped");
      EXPECT_GE(actor["events"].get<uint64_t>(), 2u);
    }
  }
  EXPECT_TRUE(found);
  Finished table = Run({"list-stored"});
  EXPECT_THAT(table.out, HasSubstr(id));
  // The chain of a stopped actor is still there, by id and by prefix.
  EXPECT_FALSE(Json({"events", id}).empty());
  EXPECT_EQ(Run({"chain", "verify", id.substr(0, 8)}).code, 0);
}

// `replay` re-runs an actor from its chain on the server, by id and from an exported file: the
// same answers; --until prints the state after an event; another build of the actor diverges
// (exit 1, saying where); a file that is not a chain is refused by name.
TEST_F(CliServerTest, ReplayByIdAndFromAnExportedFile) {
  const std::string id = StartActor(probe_manifest_);
  Request(id, "count");
  Request(id, "echo:abc");
  Request(id, "count");
  Finished replay = Run({"replay", id});
  ASSERT_EQ(replay.code, 0) << replay.err << replay.out;
  EXPECT_THAT(replay.out, HasSubstr("events, identical"));
  json report = Json({"replay", id});
  EXPECT_TRUE(report["identical"].get<bool>());
  const uint64_t events = report["events"].get<uint64_t>();
  EXPECT_EQ(events, report["total"].get<uint64_t>());
  EXPECT_EQ(report["state"], 2) << report.dump();

  const fs::path file = home_ / "replayed.json";
  ASSERT_EQ(Run({"chain", "export", id, "-o", file.string()}).code, 0);
  json from_file = Json({"replay", file.string()});
  EXPECT_TRUE(from_file["identical"].get<bool>()) << from_file.dump();
  EXPECT_EQ(from_file["events"], events);
  EXPECT_EQ(from_file["id"], id) << "the actor the file's event #0 is bound to";
  // The file verifies here, with no server.
  Finished file_valid =
      Child({"chain", "verify", file.string()}, BaseEnv(home_, "127.0.0.1:1"), "").Finish(30s);
  EXPECT_EQ(file_valid.code, 0) << file_valid.out << file_valid.err;
  EXPECT_THAT(file_valid.out, HasSubstr("chain valid: "));
  EXPECT_THAT(file_valid.out, HasSubstr(" events of actor " + id));
  // A file whose actor_id names another actor: its event #0 binds it to this one, so neither
  // verify nor replay takes it.
  std::ifstream exported(file);
  json document = json::parse(exported, nullptr, false);
  ASSERT_FALSE(document.is_discarded());
  const std::string other = "00000000-0000-4000-8000-000000000001";
  document["actor_id"] = other;
  const fs::path relabelled = home_ / "relabelled.json";
  std::ofstream(relabelled) << document.dump();
  Finished forged = Run({"chain", "verify", relabelled.string()});
  EXPECT_EQ(forged.code, 1);
  EXPECT_THAT(forged.out, HasSubstr("chain INVALID: event #0 binds this chain to actor " + id +
                                    ", not to actor " + other));
  Finished forged_replay = Run({"replay", relabelled.string()});
  EXPECT_EQ(forged_replay.code, 1);
  EXPECT_THAT(forged_replay.err, HasSubstr("not to actor " + other));
  // A damaged event: verify names it.
  document["actor_id"] = id;
  document["events"][2]["payload_hex"] = "00";
  std::ofstream(relabelled, std::ios::trunc) << document.dump();
  Finished damaged_run = Run({"--json", "chain", "verify", relabelled.string()});
  EXPECT_EQ(damaged_run.code, 1);
  json damaged = json::parse(damaged_run.out, nullptr, false);
  ASSERT_TRUE(damaged.is_object()) << damaged_run.out << damaged_run.err;
  EXPECT_FALSE(damaged["valid"].get<bool>()) << damaged.dump();
  EXPECT_THAT(damaged["error"].get<std::string>(), HasSubstr("event #2: stored hash"))
      << damaged.dump();

  // Time travel: the state after the first export event after init (the first count).
  std::vector<size_t> exports;
  size_t index = 0;
  for (const json& e : Json({"events", id})) {
    if (e["type"] == "wasm") exports.push_back(index);
    ++index;
  }
  ASSERT_GE(exports.size(), 2u);
  Finished until = Run({"replay", id, "--until", std::to_string(exports[1])});
  ASSERT_EQ(until.code, 0) << until.err;
  EXPECT_EQ(until.out, "1\n");

  Finished changed = Run({"replay", id, "--module",
                          std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe_changed.wasm"});
  EXPECT_EQ(changed.code, 1);
  EXPECT_THAT(changed.out, HasSubstr("replay: diverged at event #"));
  EXPECT_THAT(changed.out, HasSubstr("changed:abc"));

  const fs::path not_chain = home_ / "not-a-chain.json";
  std::ofstream(not_chain) << "{\"hello\": 1}";
  Finished refused = Run({"replay", not_chain.string()});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("is not an exported chain"));
}

// `chain save` has the server write the chain file; `update` replaces the component (a bad one
// leaves the old running); `pause` takes --when-idle.
TEST_F(CliServerTest, ChainSaveUpdateAndPause) {
  const std::string id = StartActor(messenger_manifest_);
  Request(id, "echo:a");
  Finished saved = Run({"chain", "save", id});
  ASSERT_EQ(saved.code, 0) << saved.err;
  const std::string prefix = "chain of " + id + " saved to ";
  ASSERT_EQ(saved.out.rfind(prefix, 0), 0u) << saved.out;
  const fs::path file = saved.out.substr(prefix.size(), saved.out.size() - prefix.size() - 1);
  std::ifstream in(file);
  json document = json::parse(in, nullptr, false);
  ASSERT_FALSE(document.is_discarded()) << file;
  EXPECT_EQ(document["actor_id"], id);
  EXPECT_GE(document["events"].size(), 3u);

  Finished updated = Run({"update", id, kMessenger});
  EXPECT_EQ(updated.code, 0) << updated.err;
  EXPECT_EQ(updated.out, "updated " + id + "\n");
  bool recorded = false;
  for (const json& event : Json({"events", id, "--type", "component-updated"})) {
    recorded = true;
    EXPECT_THAT(event.dump(), HasSubstr("component sha256:"));
  }
  EXPECT_TRUE(recorded);
  Finished bad = Run({"update", id, (home_ / "missing.wasm").string()});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("missing.wasm"));
  EXPECT_THAT(Request(id, "echo:still"), HasSubstr("still"));

  EXPECT_EQ(Run({"pause", "--when-idle", id}).code, 0);
  EXPECT_EQ(Run({"resume", id}).code, 0);
  EXPECT_EQ(Run({"pause", id}).out, "paused " + id + "\n");
  EXPECT_EQ(Run({"resume", id}).code, 0);
}

// A server keeps every chain unless the manifest says save_chain = false. Such an actor's chain
// is readable while it runs; once it stopped, asking for it says why it is gone and how to keep
// it, and exits 1.
TEST_F(CliServerTest, AChainNotKeptSaysSoAndHowToKeepIt) {
  const std::string id =
      StartActor(WriteManifest("forgetful", kMessenger, "save_chain = false\n"));
  Request(id, "echo:a");
  EXPECT_FALSE(Json({"events", id}).empty());
  EXPECT_EQ(Run({"chain", "verify", id}).code, 0);
  // A running actor that keeps its chain is counted with its events so far.
  const std::string kept = StartActor(messenger_manifest_);
  Request(kept, "echo:a");
  for (const json& actor : Json({"list-stored"})) {
    if (actor["id"] == kept) {
      EXPECT_GE(actor["events"].get<uint64_t>(), 2u) << actor.dump();
    }
  }

  Run({"stop", id});
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"events", id}, std::vector<std::string>{"chain", "verify", id},
        std::vector<std::string>{"chain", "export", id}}) {
    Finished r = Run(args);
    EXPECT_EQ(r.code, 1) << args.front() << ": " << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("the chain of actor " + id + " was not kept"));
    EXPECT_THAT(r.err, HasSubstr("save_chain = false (remove that line, or start the server with "
                                 "--save-all-chains, to keep chains)"));
  }
}

// A server whose replies are small (--max-reply-bytes 64 KiB): a chain or a state longer than
// that comes only in pages, which the CLI reads.
class CliSmallRepliesTest : public CliServerTest {
 protected:
  std::vector<std::string> ExtraServerArgs() const override {
    return {"--max-reply-bytes", "65536", "--max-outbox-bytes", "1048576"};
  }
};

TEST_F(CliSmallRepliesTest, EventsExportStateAndInspectReadInPages) {
  const std::string id = StartActor(messenger_manifest_);
  auto client = Connect();
  ASSERT_TRUE(client);
  for (int i = 0; i < 30; ++i) {
    const std::string text = "echo:" + std::string(8000, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(
        client
            ->Call(server::MakeVariant(
                "RequestActorMessage",
                {{"id", id},
                 {"data", server::BytesToJson(
                              {reinterpret_cast<const uint8_t*>(text.data()), text.size()})}}))
            .ok());
  }
  const std::string message(5000, 'm');
  const json message_bytes =
      server::BytesToJson({reinterpret_cast<const uint8_t*>(message.data()), message.size()});
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        client->Call(server::MakeVariant("SendActorMessage", {{"id", id}, {"data", message_bytes}}))
            .ok());
  }
  // Sends are queued: wait until the log holds them all.
  EXPECT_TRUE(WaitFor([&] {
    auto status = client->Call(server::MakeVariant("GetActorMetrics", {{"id", id}}));
    return status.ok() && status->fields["metrics"]["mailbox_depth"] == 0;
  }));
  // The original one-reply forms no longer fit.
  auto whole = client->Call(server::MakeVariant("GetActorEvents", {{"id", id}}));
  ASSERT_FALSE(whole.ok());
  EXPECT_THAT(whole.status().ToString(), HasSubstr("max_reply_bytes"));

  json all = Json({"events", id});
  ASSERT_TRUE(all.is_array());
  ASSERT_GE(all.size(), 50u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i]["index"], i);
  json limited = Json({"events", id, "--limit", "3"});
  ASSERT_EQ(limited.size(), 3u);
  EXPECT_EQ(limited[2], all[2]);
  json reversed = Json({"events", id, "--reverse", "--limit", "1"});
  ASSERT_EQ(reversed.size(), 1u);
  EXPECT_EQ(reversed[0], all.back());
  Finished human = Run({"events", id});
  EXPECT_EQ(human.code, 0) << human.err;

  const fs::path file = home_ / "paged-chain.json";
  Finished exported = Run({"chain", "export", id, "-o", file.string()});
  ASSERT_EQ(exported.code, 0) << exported.err;
  std::ifstream in(file);
  json document = json::parse(in, nullptr, false);
  ASSERT_FALSE(document.is_discarded());
  EXPECT_EQ(document["actor_id"], id);
  EXPECT_EQ(document["first_index"], 0);
  EXPECT_EQ(document["events"], all);
  EXPECT_EQ(json::parse(Run({"chain", "export", id}).out), document);

  // The state (the messenger's log of 20 messages of 5,000 bytes) comes in slices.
  json state = Json({"state", id});
  EXPECT_GT(state["size"].get<size_t>(), 100000u);
  Finished raw = Run({"state", id, "--raw"});
  EXPECT_EQ(raw.out.size(), state["size"].get<size_t>());
  EXPECT_EQ(raw.out.rfind("log|send:", 0), 0u);

  json inspected = Json({"inspect", id});
  EXPECT_EQ(inspected["events_total"], all.size());
  ASSERT_FALSE(inspected["recent_events"].empty());
  EXPECT_EQ(inspected["recent_events"].back()["index"], all.size() - 1);
  EXPECT_TRUE(Json({"chain", "verify", id})["valid"].get<bool>());
}

TEST_F(CliServerTest, ChannelOpenWithPipedInput) {
  const std::string id = StartActor(messenger_manifest_);
  Finished r = Run({"channel", "open", id, "-m", "accept:welcome"}, "echo:one\necho:two\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("welcome\n"));
  EXPECT_THAT(r.out, HasSubstr("re:one\n"));
  EXPECT_THAT(r.out, HasSubstr("re:two\n"));
  const std::string log = Request(id, "log");
  EXPECT_THAT(log, HasSubstr("chmsg:"));
  EXPECT_THAT(log, HasSubstr("chclose:"));

  // /close ends the session before later lines.
  Finished closed = Run({"channel", "open", id}, "echo:a\n/close\necho:never\n");
  EXPECT_EQ(closed.code, 0) << closed.err;
  EXPECT_THAT(Request(id, "log"), Not(HasSubstr("echo:never")));

  Finished json_mode = Run({"channel", "open", id, "--json"}, "echo:j\n");
  EXPECT_THAT(json_mode.out, HasSubstr("\"message\":\"re:j\""));

  Finished rejected = Run({"channel", "open", id, "-m", "reject:go away"});
  EXPECT_EQ(rejected.code, 1);
  EXPECT_THAT(rejected.err, HasSubstr("theater: error:"));
}

TEST_F(CliServerTest, StartParentSuccessWritesTheResult) {
  std::unique_ptr<Child> cli = Start({"start", "--parent", probe_manifest_});
  const std::string id = WaitForActor("probe");
  EXPECT_EQ(Request(id, "shutdown:the result bytes"), "ok");
  Finished r = cli->Finish();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "the result bytes");
}

TEST_F(CliServerTest, StartParentErrorExitsOne) {
  std::unique_ptr<Child> cli = Start({"start", "--parent", probe_manifest_});
  const std::string id = WaitForActor("probe");
  Run({"message", "--request", id, "trap"});  // fails the actor
  Finished r = cli->Finish();
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: "));
}

TEST_F(CliServerTest, StartParentExternalStopExitsOne) {
  std::unique_ptr<Child> cli = Start({"start", "--parent", probe_manifest_});
  const std::string id = WaitForActor("probe");
  EXPECT_EQ(Run({"stop", id}).code, 0);
  Finished r = cli->Finish();
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("Actor stopped externally"));
}

TEST_F(CliServerTest, StartSubscribePrintsEventsUntilTheActorStops) {
  std::unique_ptr<Child> cli = Start({"start", "--subscribe", probe_manifest_});
  const std::string id = WaitForActor("probe");
  Request(id, "echo:abc");
  EXPECT_TRUE(cli->WaitForOutput(
      [](const std::string& out) { return out.find("#0 ") != std::string::npos; }));
  Request(id, "shutdown:done");
  Finished r = cli->Finish();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("#1 "));
}

TEST_F(CliServerTest, CtrlCWhileAttachedStopsTheActor) {
  std::unique_ptr<Child> cli = Start({"start", "--parent", probe_manifest_});
  const std::string id = WaitForActor("probe");
  cli->Signal(SIGINT);
  Finished r = cli->Finish();
  EXPECT_EQ(r.code, 130) << r.err;
  EXPECT_FALSE(Listed(id));
}

TEST_F(CliServerTest, SubscribeAndFollow) {
  const std::string id = StartActor(messenger_manifest_);
  std::unique_ptr<Child> sub = Start({"subscribe", id, "--limit", "1", "--json"});
  std::unique_ptr<Child> follow = Start({"events", id, "--follow"});
  // Both are attached once the server holds their two subscriptions (and `events` has printed
  // the history): a message sent before would never reach `subscribe`.
  EXPECT_TRUE(follow->WaitForOutput(
      [](const std::string& out) { return out.find("#0 ") != std::string::npos; }));
  auto observer = Connect();
  ASSERT_TRUE(observer);
  ASSERT_TRUE(
      WaitFor([&] { return observer->Call("GetServerInfo")->fields["subscriptions"] == 2; }));
  Run({"message", id, "live-one"});
  Finished sub_done = sub->Finish(30s);
  EXPECT_EQ(sub_done.code, 0) << sub_done.err;
  json event = json::parse(sub_done.out.substr(0, sub_done.out.find('\n')), nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << sub_done.out;
  EXPECT_TRUE(event.contains("index"));
  EXPECT_TRUE(follow->WaitForOutput(
      [](const std::string& out) { return out.find("live-one") != std::string::npos; }, 30s))
      << follow->out();
  Run({"stop", id});
  Finished follow_done = follow->Finish(30s);
  EXPECT_EQ(follow_done.code, 0) << follow_done.err;
}

}  // namespace
