// Theater: a WebAssembly actor runtime.
//
// A real nats-server for the lattice's tests: Debian's `nats-server`, started with JetStream on a
// free loopback port (`-p -1`, the port read back from the file `--ports_file_dir` makes) and a
// store in a directory of its own, stopped with SIGTERM when the fixture goes.
//
// Tests that need it skip, saying why, when no nats-server is installed
// (scripts/install-deps.sh installs it).
//
// Thread-safety: one test thread. Ownership: owns the process and its directory.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/runtime_test_util.h"

extern char** environ;

namespace theater::testing_util {

class NatsServer {
 public:
  // Starts it (with JetStream unless `jetstream` is false); ok() says whether it runs.
  explicit NatsServer(bool jetstream = true) : jetstream_(jetstream) {
    dir_ = NewTestHome("theater-nats");
    Start();
  }
  ~NatsServer() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  static bool Installed() { return !FindNatsServer().empty(); }
  bool ok() const { return pid_ > 0 && !url_.empty(); }
  // "nats://127.0.0.1:PORT"
  const std::string& url() const { return url_; }
  const std::string& log() const { return log_; }

  // Stops it and starts it again on the same port with the same JetStream store (what its
  // clients see as a restart of their server). ok() says whether it runs again.
  void Restart() {
    Stop();
    const size_t colon = url_.rfind(':');
    const std::string port = colon == std::string::npos ? "-1" : url_.substr(colon + 1);
    url_.clear();
    Start(port);
  }

  // Freezes it (SIGSTOP): its clients' connections stay open and nothing flows, as when they
  // are cut off from it. Thaw() lets it go on.
  void Freeze() {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }
  void Thaw() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);  // a frozen server ends too
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
  }

 private:
  static std::string FindNatsServer() {
    for (const char* dir : {"/usr/bin", "/usr/sbin", "/usr/local/bin"}) {
      const std::filesystem::path candidate = std::filesystem::path(dir) / "nats-server";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return "";
  }

  // `port`: "-1" for any free one.
  void Start(const std::string& port = "-1") {
    const std::string exe = FindNatsServer();
    if (exe.empty()) return;
    log_ = (dir_ / "nats.log").string();
    std::vector<std::string> args = {exe, "-a", "127.0.0.1", "-p", port, "--ports_file_dir",
                                     dir_.string(), "-l", log_};
    if (jetstream_) {
      args.insert(args.end(), {"-js", "-sd", (dir_ / "store").string()});
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Its standard streams go nowhere (it logs to its file): were the test to crash, a server
    // left behind must not hold the test runner's output pipe open (ctest waits for it).
    posix_spawn_file_actions_t streams;
    posix_spawn_file_actions_init(&streams);
    for (int fd : {0, 1, 2}) {
      posix_spawn_file_actions_addopen(&streams, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    const int spawned = ::posix_spawn(&pid_, exe.c_str(), &streams, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&streams);
    if (spawned != 0) {
      pid_ = 0;
      return;
    }
    // The server writes <dir>/nats-server_<pid>.ports once it listens:
    // {"nats":["nats://127.0.0.1:PORT"],...}.
    const std::filesystem::path ports = dir_ / ("nats-server_" + std::to_string(pid_) + ".ports");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(ports);
      std::stringstream text;
      text << in.rdbuf();
      const std::string s = text.str();
      const size_t at = s.find("nats://");
      if (at != std::string::npos) {
        const size_t end = s.find('"', at);
        if (end != std::string::npos) {
          url_ = s.substr(at, end - at);
          return;
        }
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  bool jetstream_;
  std::filesystem::path dir_;
  pid_t pid_ = 0;
  std::string url_;
  std::string log_;
};

}  // namespace theater::testing_util
