// Theater: a WebAssembly actor runtime.
//
// Runs the external tools of the compile pipeline (wasm2c, the C compiler) as child processes.
//
// The tool is started under the spawn shim (common/confined_spawn.h, not confined): in its own
// process group, with stdin from /dev/null, stdout and stderr merged into one pipe (the tail is
// kept for error messages), default signals, no descriptor of the host's but those, and an
// optional working directory. The shim kills everything the tool started (gcc's cc1, as, ld)
// when the tool ends, when the timeout passes (then kDeadlineExceeded is returned) and when this
// process dies, however it dies: an interrupted `theater run` leaves no compiler running.
//
// Thread-safety: the functions may be called from any thread concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "theater/status.h"

namespace theater::engine {

struct SubprocessResult {
  int exit_code = -1;      // the exit status, or -1 when a signal ended the child
  int term_signal = 0;     // the signal that ended the child, or 0
  std::string output;      // merged stdout and stderr; only the last kMaxSubprocessOutput bytes
  bool cancelled = false;  // RunSubprocesses: not run to its end because another job failed
  bool ok() const { return exit_code == 0; }
  // How it ended, for messages: "exit status 2", "killed by signal 9".
  std::string Ending() const {
    return term_signal != 0 ? "killed by signal " + std::to_string(term_signal)
                            : "exit status " + std::to_string(exit_code);
  }
};

// Called on the calling thread with each piece of the tool's output as it arrives (pieces are
// not whole lines), and with an empty one at least every 200 ms while the tool runs: how a caller
// shows a long tool's progress. The output is kept for the result all the same.
using OutputWatch = std::function<void(std::string_view output)>;

struct SubprocessJob {
  std::vector<std::string> argv;
  std::filesystem::path working_dir;  // empty: this process's
  OutputWatch watch;                  // null: nobody watches
};

inline constexpr size_t kMaxSubprocessOutput = 64 * 1024;

// Runs `argv` (argv[0] is the program, an absolute or relative path; PATH is not searched) and
// waits for it. Errors: kUnavailable when it cannot be started, kDeadlineExceeded after
// `timeout`, kIOError for pipe or wait failures. A non-zero exit is not an error here; callers
// look at the result. `cancel`, when given, is looked at while the tool runs (every 200 ms at
// most): once it is true the tool is killed and the call fails with kCancelled.
Result<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                       const std::filesystem::path& working_dir,
                                       std::chrono::milliseconds timeout,
                                       const std::atomic<bool>* cancel = nullptr,
                                       const OutputWatch& watch = {});

// Runs `jobs`, at most `parallel` (>= 1) at a time, and waits for them; the results are in the
// order of `jobs`. When one exits non-zero or is killed by a signal, the others still running are
// killed and those not started are not: each of those is marked `cancelled`. Errors as
// RunSubprocess, with `timeout` for the whole batch (everything is killed when it passes).
// `finished`, when given, is called on this thread with each job's index as it succeeds;
// `cancel` as for RunSubprocess.
Result<std::vector<SubprocessResult>> RunSubprocesses(
    const std::vector<SubprocessJob>& jobs, size_t parallel, std::chrono::milliseconds timeout,
    const std::function<void(size_t job)>& finished = {},
    const std::atomic<bool>* cancel = nullptr);

// Kills every tool RunSubprocess(es) runs in this process, now and from now on; those calls fail
// with kCancelled. How a process that is shutting down stops its compiles (Engine::CancelCompiles)
// instead of waiting minutes for them. Async-signal-unsafe; call it from a normal thread.
void CancelAllSubprocesses();

// Finds an executable: `name` itself when it contains a '/', else the first match on $PATH.
// kNotFound when there is none.
Result<std::filesystem::path> FindExecutable(std::string_view name);

// Every executable called `name` on $PATH, in PATH order, each directory once (`name` itself when
// it contains a '/' and is executable). How a caller picks the first one that fits (a cargo whose
// rustc can build for wasm) rather than the first one there is.
std::vector<std::filesystem::path> FindExecutables(std::string_view name);

// The last `max_lines` non-empty lines of `text`, for error messages.
std::string TailLines(std::string_view text, size_t max_lines);

}  // namespace theater::engine
