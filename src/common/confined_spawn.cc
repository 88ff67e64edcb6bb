// Theater: a WebAssembly actor runtime.
#include "common/confined_spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <span>

#include "common/landlock.h"
#include "common/pipe_write.h"
#include "common/spawn_setup.h"
#include "common/spawn_shim_embedded.h"

namespace theater {
namespace {

using handlers::DescriptorPath;
using handlers::UniqueFd;

// The shim's descriptors and status records: must match common/spawn_shim.c.
// Fixed descriptors up to kCount, then one for each grant mounted noexec.
enum ShimFd { kStdin = 0, kStdout, kStderr, kControl, kStatus, kRuleset, kCwd, kSelf, kCount };
enum { kMsgPid = 1, kMsgError = 2, kMsgWarning = 3 };
enum { kStepExec = 5, kStepNamespace = 6, kStepMount = 7 };
constexpr const char* kSteps[] = {"",
                                  "starting the program",
                                  "changing directory",
                                  "setting no_new_privs",
                                  "applying the Landlock ruleset",
                                  "executing the program",
                                  "making a mount namespace for noexec grants",
                                  "mounting its grants noexec"};
constexpr int kLastStep = 7;
struct StatusMessage {
  int32_t kind;
  int32_t step;
  int32_t value;
};
// How long the shim may take to report that the program runs (fork + exec).
constexpr int kStartTimeoutMs = 10'000;
// memfd_create's MFD_EXEC (Linux 6.3; older headers lack it): an executable memfd even where
// vm.memfd_noexec makes non-executable the default.
constexpr unsigned kMfdExec = 0x10u;

// The sealed memfd holding the shim, made on first use and kept for the life of the process.
Result<int> ShimFd() {
  static std::once_flag once;
  static int fd = -1;
  static int error = 0;
  std::call_once(once, [] {
    std::span<const EmbeddedFile> files = EmbeddedSpawnShim();
    const std::string_view bytes = files.front().contents;
    int m = static_cast<int>(::syscall(SYS_memfd_create, "theater-spawn-shim",
                                       MFD_CLOEXEC | MFD_ALLOW_SEALING | kMfdExec));
    if (m < 0 && errno == EINVAL) {
      m = static_cast<int>(
          ::syscall(SYS_memfd_create, "theater-spawn-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    }
    if (m < 0) {
      error = errno;
      return;
    }
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(m, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = n < 0 ? errno : EIO;
        ::close(m);
        return;
      }
      done += static_cast<size_t>(n);
    }
    // Nobody can change the shim once it is sealed, not even code in this process.
    ::fcntl(m, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
    ::fchmod(m, 0500);
    fd = m;
  });
  if (fd < 0) return ErrnoError("creating the spawn shim's memfd", error);
  return fd;
}

// The Landlock ruleset for running `spec`, or an invalid descriptor when not confining.
Result<UniqueFd> BuildRuleset(const ChildSpec& spec) {
  if (!spec.sandbox.confine) return UniqueFd();
  Result<int> abi = landlock::Abi();
  if (!abi.ok()) {
    return FailedPrecondition("cannot run '" + spec.program + "': " + abi.status().message() +
                              "; programs are only run confined by Landlock unless the handler's "
                              "config sets unconfined = true");
  }
  THEATER_ASSIGN_OR_RETURN(landlock::Ruleset rules,
                           landlock::Ruleset::Create(*abi, spec.sandbox.allow_network));
  THEATER_RETURN_IF_ERROR(rules.AllowSystemPaths());
  // The program itself, wherever it is: the file that was allowed may be run.
  UniqueFd program(::openat(spec.cwd_fd >= 0 ? spec.cwd_fd : AT_FDCWD, spec.executable.c_str(),
                            O_PATH | O_CLOEXEC));
  if (!program.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return NotFound("program '" + spec.program + "' not found");
    }
    return ErrnoError("opening program '" + spec.program + "'", errno);
  }
  THEATER_RETURN_IF_ERROR(
      rules.AllowFd(program.get(), landlock::kRead | landlock::kExecute, spec.executable));
  for (const SandboxPolicy::Grant& grant : spec.sandbox.grants) {
    if (grant.fd >= 0) {
      THEATER_RETURN_IF_ERROR(rules.AllowFd(grant.fd, grant.access, grant.path));
    } else {
      THEATER_RETURN_IF_ERROR(rules.AllowPath(grant.path, grant.access));
    }
  }
  return UniqueFd(::dup(rules.fd()));
}

Status StartError(const std::string& program, int step, int err) {
  const char* what = step >= 1 && step <= kLastStep ? kSteps[step] : "starting";
  if (step == kStepExec && err == ENOENT) return NotFound("program '" + program + "' not found");
  if (step == kStepExec && err == EACCES) {
    return PermissionDenied("cannot run '" + program + "': permission denied (" + what + ")");
  }
  if (step == kStepNamespace) {
    return FailedPrecondition(
        "cannot run '" + program + "': " + what + ": " + std::strerror(err) +
        " (without CAP_SYS_ADMIN this needs unprivileged user namespaces); programs run only "
        "where what they may write cannot be loaded as code, unless the handler's config sets "
        "require_noexec = false (docs/security.md, \"Children of the process and filesystem "
        "handlers\")");
  }
  return Unavailable("cannot run '" + program + "': " + what + ": " + std::strerror(err));
}

// The grants to mount noexec, each with its real path (read back from its descriptor, which the
// shim checks it reaches again); grants named by a path that does not exist grant nothing and
// are left out, as Landlock leaves them out.
struct NoexecGrant {
  int fd = -1;  // borrowed from the policy, or `owned`
  UniqueFd owned;
  std::string path;
};
Result<std::vector<NoexecGrant>> NoexecGrants(const SandboxPolicy& policy) {
  std::vector<NoexecGrant> out;
  for (const SandboxPolicy::Grant& grant : policy.grants) {
    NoexecGrant g;
    g.fd = grant.fd;
    if (g.fd < 0) {
      g.owned = UniqueFd(::open(grant.path.c_str(), O_PATH | O_CLOEXEC));
      if (!g.owned.valid()) {
        if (errno == ENOENT || errno == ENOTDIR) continue;
        return ErrnoError("opening grant " + grant.path, errno);
      }
      g.fd = g.owned.get();
    }
    THEATER_ASSIGN_OR_RETURN(g.path, DescriptorPath(g.fd, grant.path));
    out.push_back(std::move(g));
  }
  return out;
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

Result<ConfinedChild> SpawnConfined(const ChildSpec& spec) {
  THEATER_ASSIGN_OR_RETURN(int shim, ShimFd());
  THEATER_ASSIGN_OR_RETURN(UniqueFd ruleset, BuildRuleset(spec));
  // Noexec grants only where Landlock confines: unconfined, the program may write anywhere.
  const bool noexec = ruleset.valid() && spec.sandbox.noexec != SandboxPolicy::Noexec::kOff;
  std::vector<NoexecGrant> grants;
  UniqueFd host_cwd;  // the shim re-enters the working directory by path: it needs one
  std::string cwd_path;
  if (noexec) {
    THEATER_ASSIGN_OR_RETURN(grants, NoexecGrants(spec.sandbox));
    int cwd = spec.cwd_fd;
    if (cwd < 0) {
      host_cwd = UniqueFd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!host_cwd.valid()) return ErrnoError("opening the working directory", errno);
      cwd = host_cwd.get();
    }
    THEATER_ASSIGN_OR_RETURN(cwd_path, DescriptorPath(cwd, "the working directory"));
  }
  const int cwd_fd = noexec && spec.cwd_fd < 0 ? host_cwd.get() : spec.cwd_fd;

  int control[2] = {-1, -1}, status[2] = {-1, -1};
  UniqueFd null_fd;
  auto close_pipes = [&] {
    for (int* fd : {&control[0], &control[1], &status[0], &status[1]}) CloseFd(*fd);
  };
  if (::pipe2(control, O_CLOEXEC) != 0 || ::pipe2(status, O_CLOEXEC) != 0) {
    int err = errno;
    close_pipes();
    return ErrnoError("creating a pipe", err);
  }
  if (spec.stdin_fd < 0 || spec.stdout_fd < 0 || spec.stderr_fd < 0) {
    null_fd = UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null_fd.valid()) {
      int err = errno;
      close_pipes();
      return ErrnoError("opening /dev/null", err);
    }
  }
  auto or_null = [&](int fd) { return fd >= 0 ? fd : null_fd.get(); };
  std::vector<int> sources = {or_null(spec.stdin_fd),
                              or_null(spec.stdout_fd),
                              or_null(spec.stderr_fd),
                              control[0],
                              status[1],
                              ruleset.get(),
                              cwd_fd,
                              shim};
  for (const NoexecGrant& g : grants) sources.push_back(g.fd);
  const int count = static_cast<int>(sources.size());

  // Each source goes to its fixed number in two steps — first above every source, then down —
  // so that no dup2 overwrites a source still to be copied.
  SpawnSetup setup;
  int rc = setup.error();
  int high = std::max(*std::max_element(sources.begin(), sources.end()) + 1, count);
  for (int i = 0; i < count && rc == 0; ++i) {
    if (sources[i] >= 0)
      rc = posix_spawn_file_actions_adddup2(setup.actions(), sources[i], high + i);
  }
  for (int i = 0; i < count && rc == 0; ++i) {
    if (sources[i] >= 0) rc = posix_spawn_file_actions_adddup2(setup.actions(), high + i, i);
  }
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(setup.actions(), count);
  if (rc != 0) {
    close_pipes();
    return ErrnoError("preparing to run " + spec.program, rc);
  }

  std::string flags = "-";
  if (ruleset.valid()) flags += 'L';
  if (cwd_fd >= 0) flags += 'C';
  if (noexec) flags += spec.sandbox.noexec == SandboxPolicy::Noexec::kRequired ? 'N' : 'n';
  std::vector<std::string> shim_args = {"theater-spawn-shim", flags};
  if (noexec) {
    shim_args.push_back(std::to_string(grants.size()));
    for (NoexecGrant& g : grants) shim_args.push_back(std::move(g.path));
    shim_args.push_back(cwd_path);
  }
  shim_args.push_back(spec.executable);
  shim_args.insert(shim_args.end(), spec.argv.begin(), spec.argv.end());
  std::vector<char*> argv = NullTerminated(shim_args);
  std::vector<char*> envp = NullTerminated(spec.env);
  const std::string self = "/proc/self/fd/" + std::to_string(kSelf);

  pid_t shim_pid = -1;
  rc =
      posix_spawn(&shim_pid, self.c_str(), setup.actions(), setup.attr(), argv.data(), envp.data());
  CloseFd(control[0]);
  CloseFd(status[1]);
  if (rc != 0) {
    close_pipes();
    return Unavailable("cannot run '" + spec.program +
                       "': starting the spawn shim: " + std::strerror(rc));
  }
  ConfinedChild child;
  child.shim_pid = shim_pid;
  child.control = UniqueFd(control[1]);
  control[1] = -1;
  // ForwardSignal never blocks: a full pipe is an error.
  ::fcntl(child.control.get(), F_SETFL, O_NONBLOCK);
  UniqueFd status_fd(status[0]);
  status[0] = -1;
  auto fail = [&](Status error) -> Result<ConfinedChild> {
    KillTree(child.control);
    while (::waitpid(shim_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return error;
  };

  // The shim reports the program's pid, then an error if a step failed; end of file once the
  // program has been exec'd (or has failed and exited).
  StatusMessage msg{};
  size_t have = 0;
  std::optional<Status> error;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartTimeoutMs);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      return fail(Unavailable("cannot run '" + spec.program + "': it did not start within " +
                              std::to_string(kStartTimeoutMs) + " ms"));
    }
    pollfd p{status_fd.get(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno != EINTR) return fail(ErrnoError("waiting for the spawn shim", errno));
    if (ready <= 0) continue;
    ssize_t n = ::read(status_fd.get(), reinterpret_cast<char*>(&msg) + have, sizeof(msg) - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<size_t>(n);
    if (have < sizeof(msg)) continue;
    have = 0;
    if (msg.kind == kMsgPid) child.pid = msg.value;
    if (msg.kind == kMsgError && !error) error = StartError(spec.program, msg.step, msg.value);
    if (msg.kind == kMsgWarning && msg.step == kStepNamespace) {
      child.noexec_warning =
          "'" + spec.program + "' runs with executable grants: " + kSteps[kStepNamespace] + ": " +
          std::strerror(msg.value) + " (the handler's config sets require_noexec = false)";
    }
  }
  if (error) return fail(*error);
  if (child.pid <= 0) {
    return fail(Unavailable("cannot run '" + spec.program + "': the spawn shim failed to start"));
  }
  child.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, shim_pid, 0)));
  if (!child.pidfd.valid()) return fail(ErrnoError("pidfd_open", errno));
  ::fcntl(child.pidfd.get(), F_SETFD, FD_CLOEXEC);
  return child;
}

Status ForwardSignal(int control_fd, int sig) {
  if (control_fd < 0) return FailedPrecondition("the process has been killed");
  int32_t value = sig;
  const PipeWriteResult wrote = WriteToPipe(control_fd, &value, sizeof(value));  // EPIPE: shim gone
  if (wrote.written == static_cast<ssize_t>(sizeof(value))) return Status::Ok();
  const int err = wrote.error;
  if (err == EPIPE) return FailedPrecondition("the process has exited");
  if (err == EAGAIN) return Unavailable("too many signals are waiting to be delivered");
  return ErrnoError("forwarding a signal", err);
}

void KillTree(UniqueFd& control) {
  control = UniqueFd();
}

}  // namespace theater
