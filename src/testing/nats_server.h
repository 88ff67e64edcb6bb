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

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/runtime_test_util.h"

extern char** environ;

namespace theater::testing_util {

class NatsServer {
 public:
  // Starts it (with JetStream unless `jetstream` is false), with `extra` arguments (a cluster's);
  // ok() says whether it runs.
  explicit NatsServer(bool jetstream = true, std::vector<std::string> extra = {})
      : jetstream_(jetstream), extra_(std::move(extra)) {
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

  // Kills it (SIGKILL): a NATS server lost with its machine.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
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
    args.insert(args.end(), extra_.begin(), extra_.end());
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
  std::vector<std::string> extra_;
  std::filesystem::path dir_;
  pid_t pid_ = 0;
  std::string url_;
  std::string log_;
};

// A free TCP port on loopback (bound and released: free a moment later, as a test needs it).
inline int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

// Three nats-servers with JetStream, clustered on loopback (routes between them), so that
// streams and buckets with three replicas survive the loss of one of them. ok() says whether all
// three run; JetStream answers once they have elected a leader (a few seconds): a client's first
// JetStream call may need to be tried again until then.
class NatsCluster {
 public:
  NatsCluster() {
    int cluster_ports[3];
    for (int& port : cluster_ports) port = FreeLoopbackPort();
    for (int i = 0; i < 3; ++i) {
      std::string routes;
      for (int j = 0; j < 3; ++j) {
        if (j == i) continue;
        if (!routes.empty()) routes += ",";
        routes += "nats://127.0.0.1:" + std::to_string(cluster_ports[j]);
      }
      nodes_.push_back(std::make_unique<NatsServer>(
          true, std::vector<std::string>{"-n", "n" + std::to_string(i), "--cluster_name",
                                         "theater-test", "--cluster",
                                         "nats://127.0.0.1:" + std::to_string(cluster_ports[i]),
                                         "--routes", routes}));
    }
  }
  bool ok() const {
    for (const auto& node : nodes_) {
      if (!node->ok()) return false;
    }
    return true;
  }
  // Every node's URL, separated by commas: a client connects to one and fails over to another.
  std::string url() const {
    std::string urls;
    for (const auto& node : nodes_) {
      if (!urls.empty()) urls += ",";
      urls += node->url();
    }
    return urls;
  }
  NatsServer& node(int i) { return *nodes_.at(i); }

 private:
  std::vector<std::unique_ptr<NatsServer>> nodes_;
};

}  // namespace theater::testing_util
