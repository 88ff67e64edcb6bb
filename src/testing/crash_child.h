// Theater: a WebAssembly actor runtime.
//
// A child process for kill -9 tests: started with its stdout on a pipe, waited for until it
// prints "ready" (it is then writing what the test means to interrupt), and killed with SIGKILL
// at a random moment shortly after. Used by the runtime's crash tests (runtime_test.cc,
// recovery_test.cc), whose child is runtime_crash_child.
//
// Thread-safety: one test thread per child. Ownership: the test owns the pid until KillNine.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "theater/status.h"

namespace theater::testing_util {

// Starts `argv` (argv[0] the executable's path) and waits up to `timeout` for its first output,
// which must be "ready". Returns its pid; on any failure the child is killed and reaped.
inline Result<pid_t> StartWhenReady(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout = std::chrono::minutes(1)) {
  int out[2];
  if (pipe(out) != 0) return IOError("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) return IOError("fork failed");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  pollfd ready{out[0], POLLIN, 0};
  char buf[16] = {};
  const bool started = poll(&ready, 1, static_cast<int>(timeout.count())) == 1 &&
                       read(out[0], buf, sizeof buf - 1) > 0 && std::string(buf) == "ready\n";
  close(out[0]);
  if (!started) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return Unavailable(argv[0] + " did not say \"ready\" within " +
                       std::to_string(timeout.count()) + " ms (it said \"" + buf + "\")");
  }
  return pid;
}

// Waits 50–250 ms (a random moment of its work), kills the child with SIGKILL and reaps it.
// Fails unless it died of the signal.
inline Status KillNineSoon(pid_t pid) {
  std::this_thread::sleep_for(std::chrono::milliseconds(50 + std::rand() % 200));
  if (kill(pid, SIGKILL) != 0) return IOError("kill failed");
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return IOError("waitpid failed");
  if (!WIFSIGNALED(status)) return InternalError("the child exited instead of being killed");
  return Status();
}

}  // namespace theater::testing_util
