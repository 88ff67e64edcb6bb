// Theater: a WebAssembly actor runtime.
#include "engine/compile/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/confined_spawn.h"

extern char** environ;

namespace theater::engine {
namespace {

using Clock = std::chrono::steady_clock;

using handlers::UniqueFd;

void AppendTail(std::string& out, const char* data, size_t n) {
  out.append(data, n);
  if (out.size() > 2 * kMaxSubprocessOutput) out.erase(0, out.size() - kMaxSubprocessOutput);
}

bool IsExecutableFile(const std::filesystem::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Waits for `pid` (the spawn shim) to end.
Result<int> WaitChild(pid_t pid) {
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return ErrnoError("waiting for child process", errno);
  }
  return wstatus;
}

// One started tool: the spawn shim, and the read end of the pipe its output goes to.
struct RunningTool {
  size_t job = 0;
  ConfinedChild child;
  UniqueFd output;
};

Result<RunningTool> StartTool(const SubprocessJob& job) {
  if (job.argv.empty()) return InvalidArgument("RunSubprocess: empty argv");
  const std::string& program = job.argv[0];
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError("creating a pipe", errno);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  UniqueFd cwd;
  if (!job.working_dir.empty()) {
    cwd = UniqueFd(::open(job.working_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (cwd.get() < 0) return ErrnoError("opening " + job.working_dir.string(), errno);
  }

  // The spawn shim (common/confined_spawn.h) is the tool's parent: whatever the tool starts
  // (gcc's cc1, as, ld) dies with it, on a timeout, and when this process dies for any reason,
  // so an interrupted `theater run` leaves no compiler behind. Tools are not confined.
  ChildSpec spec;
  spec.program = program;
  std::error_code ec;
  spec.executable = std::filesystem::absolute(program, ec).string();
  if (ec) spec.executable = program;
  spec.argv = job.argv;
  for (char** var = environ; *var != nullptr; ++var) spec.env.emplace_back(*var);
  spec.stdout_fd = write_end.get();
  spec.stderr_fd = write_end.get();
  spec.cwd_fd = cwd.get();
  spec.sandbox.confine = false;
  Result<ConfinedChild> started = SpawnConfined(spec);
  if (!started.ok()) {
    return Status(StatusCode::kUnavailable,
                  "cannot run " + program + ": " + std::string(started.status().message()));
  }
  RunningTool tool;
  tool.child = std::move(*started);
  tool.output = std::move(read_end);
  return tool;
}

// Kills every tool in `running` with its subtree and reaps the shims.
void KillAll(std::vector<RunningTool>& running) {
  for (RunningTool& tool : running) KillTree(tool.child.control);
  for (RunningTool& tool : running) WaitChild(tool.child.shim_pid).status().IgnoreError();
  running.clear();
}

}  // namespace

Result<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                       const std::filesystem::path& working_dir,
                                       std::chrono::milliseconds timeout,
                                       const std::atomic<bool>* cancel, const OutputWatch& watch) {
  THEATER_ASSIGN_OR_RETURN(
      std::vector<SubprocessResult> results,
      RunSubprocesses({SubprocessJob{argv, working_dir, watch}}, 1, timeout, {}, cancel));
  return std::move(results.front());
}

namespace {
std::atomic<bool> g_cancelled{false};
// How often a batch looks at g_cancelled while its tools are quiet.
constexpr int kCancelPollMs = 200;
}  // namespace

void CancelAllSubprocesses() {
  g_cancelled.store(true, std::memory_order_release);
}

Result<std::vector<SubprocessResult>> RunSubprocesses(
    const std::vector<SubprocessJob>& jobs, size_t parallel, std::chrono::milliseconds timeout,
    const std::function<void(size_t job)>& finished, const std::atomic<bool>* cancel) {
  if (parallel == 0) return InvalidArgument("RunSubprocesses: parallel must be at least 1");
  std::vector<SubprocessResult> results(jobs.size());
  std::vector<RunningTool> running;
  size_t next = 0;
  bool failed = false;
  const Clock::time_point deadline = Clock::now() + timeout;
  std::vector<pollfd> polled;
  char buf[16 * 1024];
  while (!running.empty() || (next < jobs.size() && !failed)) {
    if (g_cancelled.load(std::memory_order_acquire)) {
      KillAll(running);
      return Cancelled("stopped: the process is shutting down");
    }
    if (cancel != nullptr && cancel->load(std::memory_order_acquire)) {
      KillAll(running);
      return Cancelled("stopped: the compile was cancelled");
    }
    while (!failed && next < jobs.size() && running.size() < parallel) {
      Result<RunningTool> started = StartTool(jobs[next]);
      if (!started.ok()) {
        KillAll(running);
        return started.status();
      }
      started->job = next++;
      running.push_back(std::move(*started));
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      const std::string program = jobs[running.front().job].argv[0];
      KillAll(running);
      return DeadlineExceeded(
          program + " did not finish within " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
          " s and was killed");
    }
    polled.clear();
    for (const RunningTool& tool : running) polled.push_back(pollfd{tool.output.get(), POLLIN, 0});
    const int ready = ::poll(polled.data(), polled.size(),
                             static_cast<int>(std::min<long long>(left, kCancelPollMs)));
    // The watchers hear time pass even while their tools say nothing.
    for (const RunningTool& tool : running) {
      if (jobs[tool.job].watch) jobs[tool.job].watch({});
    }
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      const int err = errno;
      const std::string program = jobs[running.front().job].argv[0];
      KillAll(running);
      return ErrnoError("polling the output of " + program, err);
    }
    // Back to front, so that removing a finished tool leaves the indices still to visit alone.
    for (size_t i = polled.size(); i-- > 0;) {
      if (polled[i].revents == 0) continue;
      RunningTool& tool = running[i];
      SubprocessResult& result = results[tool.job];
      const ssize_t n = ::read(tool.output.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        AppendTail(result.output, buf, static_cast<size_t>(n));
        if (jobs[tool.job].watch) jobs[tool.job].watch({buf, static_cast<size_t>(n)});
        continue;
      }
      // EOF (or a read error): the tool and everything it started closed the pipe. The shim
      // ends once the tool has; a descendant that lingers is killed by the shim then.
      const Result<int> wstatus = WaitChild(tool.child.shim_pid);
      if (!wstatus.ok()) {
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        KillAll(running);
        return wstatus.status();
      }
      if (result.output.size() > kMaxSubprocessOutput) {
        result.output.erase(0, result.output.size() - kMaxSubprocessOutput);
      }
      if (WIFEXITED(*wstatus)) {
        result.exit_code = WEXITSTATUS(*wstatus);
      } else if (WIFSIGNALED(*wstatus)) {
        result.term_signal = WTERMSIG(*wstatus);
      }
      const size_t job = tool.job;
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      if (!result.ok()) {
        failed = true;
      } else if (finished) {
        finished(job);
      }
    }
    if (failed && !running.empty()) {
      for (const RunningTool& tool : running) results[tool.job].cancelled = true;
      KillAll(running);
    }
  }
  for (size_t i = next; i < jobs.size(); ++i) results[i].cancelled = true;
  return results;
}

std::vector<std::filesystem::path> FindExecutables(std::string_view name) {
  std::vector<std::filesystem::path> found;
  if (name.empty()) return found;
  if (name.find('/') != std::string_view::npos) {
    std::filesystem::path path(name);
    if (IsExecutableFile(path)) found.push_back(std::move(path));
    return found;
  }
  const char* env = std::getenv("PATH");
  std::string_view path_list = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = path_list.find(':');
    std::string_view dir = path_list.substr(0, colon);
    if (dir.empty()) dir = ".";  // an empty PATH entry means the current directory
    std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (IsExecutableFile(candidate) &&
        std::find(found.begin(), found.end(), candidate) == found.end()) {
      found.push_back(std::move(candidate));
    }
    if (colon == std::string_view::npos) break;
    path_list.remove_prefix(colon + 1);
  }
  return found;
}

Result<std::filesystem::path> FindExecutable(std::string_view name) {
  if (name.empty()) return InvalidArgument("empty program name");
  std::vector<std::filesystem::path> found = FindExecutables(name);
  if (!found.empty()) return std::move(found.front());
  if (name.find('/') != std::string_view::npos) {
    return NotFound(std::string(name) + " is not an executable file");
  }
  return NotFound(std::string(name) + " not found on PATH");
}

std::string TailLines(std::string_view text, size_t max_lines) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty()) lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  std::string out;
  const size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (size_t i = first; i < lines.size(); ++i) {
    if (!out.empty()) out += '\n';
    out += lines[i];
  }
  return out;
}

}  // namespace theater::engine
