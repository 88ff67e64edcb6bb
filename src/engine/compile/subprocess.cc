// Theater: a WebAssembly actor runtime.
#include "engine/compile/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

}  // namespace

Result<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                       const std::filesystem::path& working_dir,
                                       std::chrono::milliseconds timeout) {
  if (argv.empty()) return InvalidArgument("RunSubprocess: empty argv");
  const std::string& program = argv[0];
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError("creating a pipe", errno);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  UniqueFd cwd;
  if (!working_dir.empty()) {
    cwd = UniqueFd(::open(working_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (cwd.get() < 0) return ErrnoError("opening " + working_dir.string(), errno);
  }

  // The spawn shim (common/confined_spawn.h) is the tool's parent: whatever the tool starts
  // (gcc's cc1, as, ld) dies with it, on a timeout, and when this process dies for any reason,
  // so an interrupted `theater run` leaves no compiler behind. Tools are not confined.
  ChildSpec spec;
  spec.program = program;
  std::error_code ec;
  spec.executable = std::filesystem::absolute(program, ec).string();
  if (ec) spec.executable = program;
  spec.argv = argv;
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
  ConfinedChild child = std::move(*started);
  write_end = UniqueFd();
  cwd = UniqueFd();

  const Clock::time_point deadline = Clock::now() + timeout;
  SubprocessResult result;
  bool timed_out = false;
  char buf[16 * 1024];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      KillTree(child.control);
      break;
    }
    pollfd pfd{read_end.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      const int err = errno;
      KillTree(child.control);
      WaitChild(child.shim_pid).status().IgnoreError();
      return ErrnoError("polling the output of " + program, err);
    }
    if (ready == 0) continue;
    const ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the tool and everything it started closed the pipe
    AppendTail(result.output, buf, static_cast<size_t>(n));
  }
  // The shim ends once the tool has; a descendant that closed its output and lingers is killed
  // by the shim then.
  THEATER_ASSIGN_OR_RETURN(int wstatus, WaitChild(child.shim_pid));
  if (result.output.size() > kMaxSubprocessOutput) {
    result.output.erase(0, result.output.size() - kMaxSubprocessOutput);
  }
  if (timed_out) {
    return DeadlineExceeded(
        program + " did not finish within " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
        " s and was killed");
  }
  if (WIFEXITED(wstatus)) {
    result.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    result.term_signal = WTERMSIG(wstatus);
  }
  return result;
}

Result<std::filesystem::path> FindExecutable(std::string_view name) {
  if (name.empty()) return InvalidArgument("empty program name");
  if (name.find('/') != std::string_view::npos) {
    std::filesystem::path path(name);
    if (IsExecutableFile(path)) return path;
    return NotFound(std::string(name) + " is not an executable file");
  }
  const char* env = std::getenv("PATH");
  std::string_view path_list = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = path_list.find(':');
    std::string_view dir = path_list.substr(0, colon);
    if (dir.empty()) dir = ".";  // an empty PATH entry means the current directory
    std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (IsExecutableFile(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    path_list.remove_prefix(colon + 1);
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
