// Theater: a WebAssembly actor runtime.
#include "engine/compile/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/spawn_setup.h"

extern char** environ;

namespace theater::engine {
namespace {

using Clock = std::chrono::steady_clock;

// Closes a descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

void AppendTail(std::string& out, const char* data, size_t n) {
  out.append(data, n);
  if (out.size() > 2 * kMaxSubprocessOutput) out.erase(0, out.size() - kMaxSubprocessOutput);
}

bool IsExecutableFile(const std::filesystem::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Waits for `pid` until `deadline`; kills its process group when the deadline passes.
Result<int> WaitChild(pid_t pid, Clock::time_point deadline, bool* timed_out) {
  int wstatus = 0;
  auto delay = std::chrono::milliseconds(1);
  while (true) {
    const pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) return wstatus;
    if (r < 0 && errno != EINTR) return ErrnoError("waiting for child process", errno);
    if (Clock::now() >= deadline && !*timed_out) {
      *timed_out = true;
      ::kill(-pid, SIGKILL);
      deadline = Clock::time_point::max();
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace

Result<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                       const std::filesystem::path& working_dir,
                                       std::chrono::milliseconds timeout) {
  if (argv.empty()) return InvalidArgument("RunSubprocess: empty argv");
  const std::string& program = argv[0];
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError("creating a pipe", errno);
  Fd read_end(pipe_fds[0]);
  Fd write_end(pipe_fds[1]);

  // A new process group lets a timeout kill the compiler driver and its sub-processes together;
  // tools start with default signals whatever the host's threads block (common/spawn_setup.h).
  SpawnSetup setup;
  int rc = setup.error();
  if (rc == 0) rc = posix_spawn_file_actions_addopen(setup.actions(), 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(setup.actions(), write_end.get(), 1);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(setup.actions(), write_end.get(), 2);
  if (rc == 0 && !working_dir.empty()) {
    rc = posix_spawn_file_actions_addchdir_np(setup.actions(), working_dir.c_str());
  }
  if (rc != 0) return ErrnoError("preparing to run " + program, rc);

  std::vector<char*> cargv = NullTerminated(argv);

  pid_t pid = -1;
  rc = posix_spawn(&pid, program.c_str(), setup.actions(), setup.attr(), cargv.data(), environ);
  if (rc != 0) {
    return Status(StatusCode::kUnavailable, "cannot run " + program + ": " + std::strerror(rc));
  }
  write_end.Reset();

  const Clock::time_point deadline = Clock::now() + timeout;
  SubprocessResult result;
  bool timed_out = false;
  char buf[16 * 1024];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    pollfd pfd{read_end.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      const int err = errno;
      ::kill(-pid, SIGKILL);
      WaitChild(pid, Clock::now(), &timed_out).status().IgnoreError();
      return ErrnoError("polling the output of " + program, err);
    }
    if (ready == 0) continue;
    const ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child and everything it started closed the pipe
    AppendTail(result.output, buf, static_cast<size_t>(n));
  }
  THEATER_ASSIGN_OR_RETURN(int wstatus, WaitChild(pid, deadline, &timed_out));
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
