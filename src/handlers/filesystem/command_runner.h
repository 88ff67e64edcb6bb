// Theater: a WebAssembly actor runtime.
//
// Runs one program for the filesystem handler's execute-command: no shell, through the spawn
// shim (common/confined_spawn.h) — its own process group, confined by Landlock to what the
// handler grants, started in a directory given as a descriptor (so the directory the handler
// confined is the one the child gets, with no path looked up again), stdin from /dev/null, an
// allow-listed environment (common/child_env.h) — with stdout and stderr captured separately up
// to a limit. On timeout, on Kill() and when the program exits, the shim kills the program and
// every descendant it started (those that left its process group included).
//
// Why not engine/compile/subprocess.h's RunSubprocess: it merges stdout and stderr, keeps the
// tail instead of the head, changes directory by path (a second, unconfined lookup) and cannot be
// interrupted from another thread. Its FindExecutable is shared.
//
// Thread-safety: Start() from any thread; Collect() from one thread (the collector); Kill() and
// TakeOutput() from any thread, concurrently with Collect(). Shared ownership (std::shared_ptr)
// lets the collector thread and the host function both hold it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/confined_spawn.h"
#include "theater/status.h"

namespace theater::handlers {

struct CommandSpec {
  std::string program;  // a bare name (looked up on PATH) or an absolute path
  std::vector<std::string> args;
  int cwd_fd = -1;  // the directory the child starts in; borrowed, only used by Start()
  std::chrono::milliseconds timeout{10'000};
  uint64_t max_output_bytes = 1 << 20;  // per stream
  SandboxPolicy sandbox;                // Landlock grants (the handler's directories)
};

struct CommandOutput {
  std::string stdout_text;  // valid UTF-8 (invalid bytes become U+FFFD), with a truncation note
  std::string stderr_text;
  int exit_code = -1;  // -1 when a signal ended it
  int term_signal = 0;
  bool timed_out = false;  // killed because the timeout passed
  bool killed = false;     // killed by Kill()
  bool stdout_truncated = false;
  bool stderr_truncated = false;
};

class RunningCommand {
 public:
  // Starts the program. Errors: kNotFound when the program is not found (on PATH or at its
  // absolute path), kUnavailable when it cannot be started, kIOError for pipe failures.
  static Result<std::shared_ptr<RunningCommand>> Start(const CommandSpec& spec);

  ~RunningCommand();
  RunningCommand(const RunningCommand&) = delete;
  RunningCommand& operator=(const RunningCommand&) = delete;

  // Reads the output until the program exits, the timeout passes or Kill() is called, then reaps
  // it. Blocks; call once.
  void Collect();
  // Kills the process group (no-op once reaped). Collect() then returns promptly.
  void Kill();
  // The outcome once Collect() has finished; nullopt before.
  std::optional<CommandOutput> TakeOutput();

  // The program's pid (the leader of its process group).
  pid_t pid() const { return program_pid_; }

 private:
  RunningCommand() = default;

  pid_t pid_ = -1;          // the spawn shim: the process we wait for
  pid_t program_pid_ = -1;  // the program
  UniqueFd control_;        // the shim's control pipe (guarded by mu_): closing it kills all
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int pidfd_ = -1;  // the shim's
  std::chrono::steady_clock::time_point deadline_;
  uint64_t max_output_bytes_ = 0;
  std::string program_;

  std::atomic<bool> kill_requested_{false};
  std::mutex mu_;  // guards reaped_ (so Kill never signals a reaped, reusable pid), done_
  bool reaped_ = false;
  bool done_ = false;
  CommandOutput output_;  // written by Collect() before done_ is set
};

}  // namespace theater::handlers
