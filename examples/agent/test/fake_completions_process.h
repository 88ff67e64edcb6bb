// FakeCompletionsProcess: runs fake_completions_server.py (the scripted chat-completions model
// of the agent example's test) as a child process on a loopback port the kernel picks, and kills
// it when destroyed. Test-only; not thread-safe.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace agent_test {

class FakeCompletionsProcess {
 public:
  // `script` is the server's path; requests must carry `api_key` as their bearer token.
  FakeCompletionsProcess(const std::string& script, const std::string& api_key) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      ::execlp("python3", "python3", script.c_str(), api_key.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    // The server prints its port once it listens; EOF instead means it did not start.
    FILE* from_child = ::fdopen(out[0], "r");
    if (pid_ < 0 || from_child == nullptr || std::fscanf(from_child, "%d", &port_) != 1) {
      port_ = 0;
    }
    if (from_child != nullptr) std::fclose(from_child);
  }
  ~FakeCompletionsProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  FakeCompletionsProcess(const FakeCompletionsProcess&) = delete;
  FakeCompletionsProcess& operator=(const FakeCompletionsProcess&) = delete;

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  // "http://<host>:<port>"; the host may be spelt differently from the address it listens on
  // (localhost), to test host allow-lists.
  std::string Origin(const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(port_);
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace agent_test
