// Theater: a WebAssembly actor runtime.
//
// Test helpers for tests that run the `theater` binary (THEATER_CLI_BINARY): a child process
// with its pipes, a fresh temporary directory, the environment every run gets, and a fixture
// with a `theater server` of its own. Used by the CLI's end-to-end tests.
//
// Thread-safety: a Child belongs to the test thread that made it.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/fetch.h"
#include "common/uuid.h"

namespace theater::cli_testing {

inline const std::string kCli = THEATER_CLI_BINARY;

struct Finished {
  int code = -1;
  std::string out;
  std::string err;
};

// A running CLI process with its pipes.
class Child {
 public:
  // Starts `kCli args...` with `env` added to the environment and `input` on stdin (closed
  // after it, unless keep_stdin_open).
  Child(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
        const std::string& input, bool keep_stdin_open = false) {
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (const auto& [key, value] : env) setenv(key.c_str(), value.c_str(), 1);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(kCli.c_str()));
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv(kCli.c_str(), argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    stderr_ = err[0];
    if (!input.empty()) WriteStdin(input);
    if (!keep_stdin_open) CloseStdin();
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    CloseStdin();
    if (stdout_ >= 0) close(stdout_);
    if (stderr_ >= 0) close(stderr_);
  }

  void WriteStdin(const std::string& text) {
    if (stdin_ >= 0) {
      EXPECT_EQ(write(stdin_, text.data(), text.size()), ssize_t(text.size()));
    }
  }
  void CloseStdin() {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
  }
  void Signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }

  // Reads what is available into out/err for up to `timeout`; returns once `pred(out)` holds.
  bool WaitForOutput(const std::function<bool(const std::string&)>& pred,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return WaitForText(result_.out, pred, timeout);
  }
  // The same for what it wrote to stderr.
  bool WaitForErr(const std::function<bool(const std::string&)>& pred,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return WaitForText(result_.err, pred, timeout);
  }

  // Waits for the exit (killing it after `timeout`) and returns everything it printed.
  Finished Finish(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (Pump(50)) {
      if (std::chrono::steady_clock::now() > until) {
        ADD_FAILURE() << "the CLI did not finish in time; killing it. stdout so far:\n"
                      << result_.out << "\nstderr so far:\n"
                      << result_.err;
        kill(pid_, SIGKILL);
      }
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    result_.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result_;
  }

  const std::string& out() const { return result_.out; }
  const std::string& err() const { return result_.err; }

 private:
  bool WaitForText(const std::string& text, const std::function<bool(const std::string&)>& pred,
                   std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!pred(text)) {
      if (std::chrono::steady_clock::now() > until) return false;
      if (!Pump(50)) return pred(text);
    }
    return true;
  }
  // One round of reading; false once both pipes are at EOF.
  bool Pump(int timeout_ms) {
    pollfd fds[2] = {{stdout_, POLLIN, 0}, {stderr_, POLLIN, 0}};
    if (stdout_ < 0 && stderr_ < 0) return false;
    poll(fds, 2, timeout_ms);
    auto drain = [](int& fd, short revents, std::string& into) {
      if (fd < 0 || !(revents & (POLLIN | POLLHUP | POLLERR))) return;
      char buffer[4096];
      ssize_t n = read(fd, buffer, sizeof buffer);
      if (n > 0) {
        into.append(buffer, size_t(n));
      } else if (n == 0 || errno != EINTR) {
        close(fd);
        fd = -1;
      }
    };
    drain(stdout_, fds[0].revents, result_.out);
    drain(stderr_, fds[1].revents, result_.err);
    return stdout_ >= 0 || stderr_ >= 0;
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1;
  Finished result_;
};

inline std::filesystem::path NewTempDir(const std::string& prefix) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / (prefix + "-" + theater::NewUuid());
  std::filesystem::create_directories(dir);
  return dir;
}

// A whole file's bytes ("" when it cannot be read). Never throws: an std::ifstream's read of a
// /proc file whose process has exited throws from inside the stream (ESRCH), so the tests that
// read other processes' files go through theater::ReadFileText, which reports errors instead.
inline std::string ReadFileText(const std::filesystem::path& path) {
  return theater::ReadFileText(path).value_or("");
}

// The environment every CLI run gets: no user config, no colour, and (when given) the server.
inline std::map<std::string, std::string> BaseEnv(const std::filesystem::path& config_home,
                                           const std::string& address) {
  std::map<std::string, std::string> env = {{"XDG_CONFIG_HOME", config_home.string()},
                                            {"NO_COLOR", "1"},
                                            {"THEATER_HOME", config_home.string()}};
  if (!address.empty()) env["THEATER_SERVER_ADDRESS"] = address;
  return env;
}

// A fixture for tests that run the `theater` binary, in-process or against a `theater server` of
// their own (StartServer: on a free loopback port, in the test's temporary directory, stopped with
// SIGTERM at the end, which must exit 0). Subclasses may change the environment (Env).
// Waits up to `timeout` for a running HTTP server actor to log where it serves ("serving on
// http://127.0.0.1:<port>/", as the http-server template does); returns "http://127.0.0.1:<port>",
// or "" (and a test failure showing what it printed) when it did not.
inline std::string WaitForServingAddress(Child& run, std::chrono::milliseconds timeout) {
  const std::string marker = "serving on http://127.0.0.1:";
  const bool serving = run.WaitForOutput(
      [&](const std::string& out) {
        const size_t at = out.find(marker);
        return at != std::string::npos && out.find('/', at + marker.size()) != std::string::npos;
      },
      timeout);
  EXPECT_TRUE(serving) << run.out();
  if (!serving) return "";
  const std::string port = run.out().substr(run.out().find(marker) + marker.size());
  return "http://127.0.0.1:" + port.substr(0, port.find('/'));
}

// What a user of the http-server template sees, in any language: `run` (a `theater run --wait`
// of the project named `name`) serves /hello and /count (which counts the /hello), answers 404
// elsewhere, and on Ctrl-C exits 130 with the requests logged and the chain verified.
inline void ExpectHttpServerTemplateServes(Child& run, const std::string& name,
                                           std::chrono::milliseconds timeout) {
  const std::string base = WaitForServingAddress(run, timeout);
  ASSERT_FALSE(base.empty());
  for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"/hello", "Hello from " + name + "!\n"}, {"/count", "2\n"}}) {
    auto got = FetchUrl(base + path);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(std::string(got->begin(), got->end()), body) << name << " " << path;
  }
  auto missing = FetchUrl(base + "/nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << name;
  run.Signal(SIGINT);
  Finished ran = run.Finish();
  EXPECT_EQ(ran.code, 130) << ran.out << ran.err;
  EXPECT_THAT(ran.out, ::testing::HasSubstr("GET /hello"));
  EXPECT_THAT(ran.out, ::testing::HasSubstr("chain verified"));
}

class ServerFixture : public ::testing::Test {
 protected:
  explicit ServerFixture(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override { dir_ = NewTempDir(prefix_); }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGTERM);
      Finished f = server_->Finish(std::chrono::seconds(30));
      EXPECT_EQ(f.code, 0) << "server stderr:\n" << f.err;
    }
    std::filesystem::remove_all(dir_);
  }

  // Every run's environment: BaseEnv, pointing at the server once there is one.
  virtual std::map<std::string, std::string> Env() const { return BaseEnv(dir_, address_); }

  // Runs the CLI to its end.
  Finished Run(const std::vector<std::string>& args,
               std::chrono::milliseconds timeout = std::chrono::minutes(15)) {
    return Child(args, Env(), "").Finish(timeout);
  }

  void StartServer(const std::vector<std::string>& more_args = {}) {
    std::vector<std::string> args = {
        "server",       "--address", "127.0.0.1:0", "--home", (dir_ / "server").string(),
        "--durability", "none",      "--log-level", "warn"};
    args.insert(args.end(), more_args.begin(), more_args.end());
    server_ = std::make_unique<Child>(args, Env(), "", /*keep_stdin_open=*/true);
    ASSERT_TRUE(server_->WaitForOutput(
        [](const std::string& out) { return out.find('\n') != std::string::npos; },
        std::chrono::seconds(30)));
    const std::string& line = server_->out();
    const std::string prefix = "listening on ";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
    address_ = line.substr(prefix.size(), line.find('\n') - prefix.size());
  }

  // `theater start` of a manifest; the new actor's id.
  std::string Start(const std::filesystem::path& manifest) {
    Finished started = Run({"start", manifest.string()});
    EXPECT_EQ(started.code, 0) << started.err;
    std::string id = started.out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }

  // Starts the C test actor tests/actors/messenger.c (runtime, message-server and timing), which
  // relays "request:<id>:<message>" to another actor and answers with its reply; its id.
  std::string StartMessenger() {
    const std::filesystem::path manifest = dir_ / "messenger.toml";
    std::ofstream(manifest) << "name = \"messenger\"\nversion = \"0.1.0\"\ncomponent = \""
                            << THEATER_TEST_ACTOR_DIR << "/messenger.wasm\"\n"
                            << "[[handler]]\ntype = \"runtime\"\n"
                            << "[[handler]]\ntype = \"message-server\"\n"
                            << "[[handler]]\ntype = \"timing\"\n";
    return Start(manifest);
  }

  // `theater message --request`; the reply.
  std::string Request(const std::string& id, const std::string& message) {
    Finished replied = Run({"message", "--request", id, message});
    EXPECT_EQ(replied.code, 0) << replied.err;
    return replied.out;
  }

  // What the supervisor template says it does, "restarts those that fail", checked for the
  // supervisor `id` made from it (in any language; `label` names it): a child that fails (the C
  // test actor tests/actors/runtime_probe.c, copied beside its manifest in dir_, which needs the
  // server's --spawn-root dir_) is restarted from the supervisor's handle-child-error, stays its
  // child, and answers again, counting afresh.
  void ExpectSupervisorRestartsAFailedChild(const std::string& id, const std::string& label) {
    std::filesystem::copy_file(std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe.wasm",
                               dir_ / "runtime_probe.wasm",
                               std::filesystem::copy_options::overwrite_existing);
    const std::filesystem::path manifest = dir_ / "failing-child.toml";
    std::ofstream(manifest) << "name = \"failing-child\"\nversion = \"0.1.0\"\n"
                            << "component = \"runtime_probe.wasm\"\nauto_handlers = true\n";
    const std::string child = Request(id, "spawn:" + manifest.string());
    ASSERT_EQ(child.size(), 36u) << label << ": " << child;  // a UUID
    EXPECT_EQ(Request(child, "count"), "1") << label;
    EXPECT_EQ(Request(child, "count"), "2") << label;
    Finished trapped = Run({"message", "--request", child, "trap"});
    EXPECT_NE(trapped.code, 0) << label;
    std::string counted;
    for (int i = 0; i < 200 && counted != "1"; ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      counted = Run({"message", "--request", child, "count"}).out;
    }
    EXPECT_EQ(counted, "1") << label << ": the failed child runs again, from its manifest";
    EXPECT_EQ(Request(id, "list"), child) << label;
    Finished events = Run({"events", id});
    EXPECT_THAT(events.out, ::testing::HasSubstr("failed")) << label;
    EXPECT_THAT(events.out, ::testing::HasSubstr("restarting it")) << label;
    EXPECT_THAT(events.out, ::testing::Not(::testing::HasSubstr("restart failed")))
        << label << ": " << events.out;
    EXPECT_EQ(Request(id, "stop:" + child), "ok") << label;
    EXPECT_EQ(Request(id, "list"), "") << label;
  }

  std::string prefix_;
  std::filesystem::path dir_;
  std::unique_ptr<Child> server_;
  std::string address_;
};

}  // namespace theater::cli_testing
