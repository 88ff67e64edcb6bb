// Theater: a WebAssembly actor runtime.
//
// CommandRunner: runs the filesystem handler's execute-command programs on the host's I/O loop
// (include/theater/io_loop.h), so that a running command costs no thread.
//
// A program is started and watched by a ProcessSupervisor of the runner's own
// (handlers/support/process_supervisor.h), exactly as the process handler's processes are: no
// shell; through the spawn shim (common/confined_spawn.h), in its own process group, confined by
// Landlock to what the handler grants, started in a directory given as a descriptor (so the
// directory the handler confined is the one the child gets, with no path looked up again); stdin
// from /dev/null; an allow-listed environment (common/child_env.h); its execution timeout enforced
// on the loop. When it exits, times out or is killed, the shim kills it and every descendant it
// started (those that left its process group included). What the runner adds is what a command
// needs and a process does not: stdout and stderr captured whole, each up to a limit (the head is
// kept, the rest counted), and one outcome handed over when the program has finished.
//
// Why not engine/compile/subprocess.h's RunSubprocess: it blocks its caller until the child
// exits, merges stdout and stderr, keeps the tail instead of the head and changes directory by
// path (a second, unconfined lookup). Its FindExecutable is shared.
//
// Thread-safety: every method may be called from any thread. A command's `done` runs once, on a
// loop thread (or on the thread calling Shutdown()), with no lock of the runner held.
//
// Ownership: owns its supervisor and the output captured; borrows the loop's io_context, which
// must outlive Shutdown() (the destructor calls it). A caller that may outlive its owner's
// Shutdown() (a suspended call woken by it) holds the runner by std::shared_ptr.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/confined_spawn.h"
#include "handlers/support/process_supervisor.h"
#include "theater/mutex.h"
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
  int exit_code = -1;      // -1 when a signal ended it
  bool timed_out = false;  // killed because the timeout passed
  bool killed = false;     // killed by Kill() or Shutdown()
  bool stdout_truncated = false;
  bool stderr_truncated = false;
};

class CommandRunner {
 public:
  explicit CommandRunner(boost::asio::io_context& io);
  ~CommandRunner();  // Shutdown()
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;

  // Starts the program and returns its id; `done` is called once its outcome is ready for
  // Take(). Errors: kNotFound when the program is not found (on PATH or at its absolute path),
  // kUnavailable when it cannot be started, kIOError for pipe failures, kFailedPrecondition when
  // Landlock is unavailable and the spec confines, or after Shutdown().
  [[nodiscard]] Result<uint64_t> Start(const CommandSpec& spec, std::function<void()> done);
  // Kills the command and its descendants; its outcome then says `killed`. Nothing once it has
  // finished.
  void Kill(uint64_t id);
  // Kills the command and forgets it, for a caller that will not take its outcome: `done` is not
  // called from now on (unless it is being called already).
  void Abandon(uint64_t id);
  // The command's outcome, once `done` has been called; the runner then forgets it. nullopt
  // before, and for an unknown id.
  [[nodiscard]] std::optional<CommandOutput> Take(uint64_t id);
  // Kills every command and reaps it; a command not finished yet gets its outcome (`killed`, with
  // the output read so far) and its `done` called, on this thread. Start() is refused from now
  // on. Idempotent.
  void Shutdown();

 private:
  struct Job {
    uint64_t limit = 0;  // bytes kept of each stream
    std::string out, err;
    uint64_t out_total = 0, err_total = 0;  // bytes written, kept or not
    bool kill_requested = false;
    bool abandoned = false;  // forgotten once its exit arrives
    std::function<void()> done;
    std::optional<CommandOutput> outcome;
  };

  // The supervisor's sink (on the loop): captures output, finishes a command at its exit.
  ProcessSupervisor::Delivery OnEvent(const ProcessEvent& event, std::function<void()> ack);
  static CommandOutput Finish(Job& job, int exit_code, bool timed_out);

  Mutex mu_;
  std::map<uint64_t, Job> jobs_ THEATER_GUARDED_BY(mu_);  // started, not taken yet
  bool shut_down_ THEATER_GUARDED_BY(mu_) = false;
  // Last: constructed once the table exists, and shut down (in the destructor) before it goes.
  ProcessSupervisor supervisor_;
};

}  // namespace theater::handlers
