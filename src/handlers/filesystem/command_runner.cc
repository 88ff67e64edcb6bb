// Theater: a WebAssembly actor runtime.
#include "handlers/filesystem/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/utf8.h"
#include "common/child_env.h"
#include "engine/compile/subprocess.h"

namespace theater::handlers {
namespace {

using Clock = std::chrono::steady_clock;

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Appends what fits of `data` below `limit` to `out`; counts everything in `total`.
void Capture(std::string& out, uint64_t& total, uint64_t limit, const char* data, size_t n) {
  total += n;
  if (out.size() < limit) out.append(data, std::min<uint64_t>(n, limit - out.size()));
}

// Reads what `fd` has now. Returns false at end of file or on an error (the stream is done).
bool Drain(int fd, std::string& out, uint64_t& total, uint64_t limit) {
  char buf[16 * 1024];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      Capture(out, total, limit, buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

std::string Finish(const std::string& raw, uint64_t total, uint64_t limit, const char* stream,
                   bool* truncated) {
  std::string out = theater::SanitizeUtf8(raw);
  *truncated = total > limit;
  if (*truncated) {
    out += "\n[theater: " + std::string(stream) + " truncated: " + std::to_string(total) +
           " bytes written, only the first " + std::to_string(limit) + " kept]\n";
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<RunningCommand>> RunningCommand::Start(const CommandSpec& spec) {
  Result<std::filesystem::path> found = engine::FindExecutable(spec.program);
  if (!found.ok()) {
    return NotFound("command '" + spec.program + "' not found: " + found.status().message());
  }
  ChildSpec child_spec;
  child_spec.program = spec.program;
  child_spec.executable = found->string();
  child_spec.argv.push_back(spec.program);
  child_spec.argv.insert(child_spec.argv.end(), spec.args.begin(), spec.args.end());
  THEATER_ASSIGN_OR_RETURN(child_spec.env, BuildChildEnvironment({}));
  child_spec.cwd_fd = spec.cwd_fd;
  child_spec.sandbox = spec.sandbox;

  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoError("creating a pipe", errno);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    CloseFd(out_pipe[0]);
    CloseFd(out_pipe[1]);
    return ErrnoError("creating a pipe", err);
  }
  child_spec.stdout_fd = out_pipe[1];  // stdin: /dev/null
  child_spec.stderr_fd = err_pipe[1];
  Result<ConfinedChild> child = SpawnConfined(child_spec);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  if (!child.ok()) {
    CloseFd(out_pipe[0]);
    CloseFd(err_pipe[0]);
    return child.status();
  }
  std::shared_ptr<RunningCommand> cmd(new RunningCommand());
  cmd->pid_ = child->shim_pid;
  cmd->program_pid_ = child->pid;
  cmd->control_ = std::move(child->control);
  cmd->pidfd_ = child->pidfd.release();
  cmd->stdout_fd_ = out_pipe[0];
  cmd->stderr_fd_ = err_pipe[0];
  ::fcntl(cmd->stdout_fd_, F_SETFL, O_NONBLOCK);
  ::fcntl(cmd->stderr_fd_, F_SETFL, O_NONBLOCK);
  cmd->deadline_ = Clock::now() + spec.timeout;
  cmd->max_output_bytes_ = spec.max_output_bytes;
  cmd->program_ = spec.program;
  return cmd;
}

RunningCommand::~RunningCommand() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!reaped_ && pid_ > 0) {
      // Never collected (Start succeeded but no collector ran): kill it, leave no zombie.
      KillTree(control_);
      ::waitpid(pid_, nullptr, 0);
      reaped_ = true;
    }
  }
  CloseFd(stdout_fd_);
  CloseFd(stderr_fd_);
  CloseFd(pidfd_);
}

void RunningCommand::Kill() {
  kill_requested_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  KillTree(control_);
}

void RunningCommand::Collect() {
  std::string out, err;
  uint64_t out_total = 0, err_total = 0;
  bool out_open = true, err_open = true, exited = false, timed_out = false;
  auto has_exited = [&] {
    if (pidfd_ >= 0) return false;  // the pidfd says so through poll
    siginfo_t info;
    std::memset(&info, 0, sizeof(info));
    // WNOWAIT: leave it a zombie, so its pid (and group) cannot be reused before we reap it.
    return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid_;
  };
  while (!exited && !kill_requested_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, pid_i = -1;
    if (out_open) fds[out_i = n++] = {stdout_fd_, POLLIN, 0};
    if (err_open) fds[err_i = n++] = {stderr_fd_, POLLIN, 0};
    if (pidfd_ >= 0) fds[pid_i = n++] = {pidfd_, POLLIN, 0};
    long wait_ms = left.count();
    if (pidfd_ < 0) wait_ms = std::min(wait_ms, 20L);
    // Wake now and then to notice Kill() even if nothing else happens.
    wait_ms = std::min(wait_ms, 100L);
    int ready = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(wait_ms));
    if (ready < 0 && errno != EINTR) break;
    if (out_i >= 0 && fds[out_i].revents) {
      out_open = Drain(stdout_fd_, out, out_total, max_output_bytes_);
    }
    if (err_i >= 0 && fds[err_i].revents) {
      err_open = Drain(stderr_fd_, err, err_total, max_output_bytes_);
    }
    if (pid_i >= 0 && fds[pid_i].revents) exited = true;
    if (!exited) exited = has_exited();
  }
  // Exited, timed out or killed: the shim kills whatever is left (it already has when the
  // program exited), then we read what is still buffered, for a short while only.
  {
    std::lock_guard<std::mutex> lock(mu_);
    KillTree(control_);
  }
  const auto drain_until = Clock::now() + std::chrono::milliseconds(200);
  while ((out_open || err_open) && Clock::now() < drain_until) {
    pollfd fds[2];
    int n = 0, out_i = -1, err_i = -1;
    if (out_open) fds[out_i = n++] = {stdout_fd_, POLLIN, 0};
    if (err_open) fds[err_i = n++] = {stderr_fd_, POLLIN, 0};
    if (::poll(fds, static_cast<nfds_t>(n), 20) < 0 && errno != EINTR) break;
    if (out_i >= 0 && fds[out_i].revents) {
      out_open = Drain(stdout_fd_, out, out_total, max_output_bytes_);
    }
    if (err_i >= 0 && fds[err_i].revents) {
      err_open = Drain(stderr_fd_, err, err_total, max_output_bytes_);
    }
  }
  int wstatus = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (::waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  CommandOutput result;
  result.stdout_text =
      Finish(out, out_total, max_output_bytes_, "stdout", &result.stdout_truncated);
  result.stderr_text =
      Finish(err, err_total, max_output_bytes_, "stderr", &result.stderr_truncated);
  result.timed_out = timed_out;
  // Killed at our request unless it had already exited by itself: Kill() may make the collector
  // see the death (exited) before it sees the request.
  result.killed = kill_requested_ && !timed_out && !WIFEXITED(wstatus);
  if (WIFEXITED(wstatus)) {
    result.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    result.term_signal = WTERMSIG(wstatus);
  }
  std::lock_guard<std::mutex> lock(mu_);
  output_ = std::move(result);
  done_ = true;
}

std::optional<CommandOutput> RunningCommand::TakeOutput() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!done_) return std::nullopt;
  return std::move(output_);
}

}  // namespace theater::handlers
