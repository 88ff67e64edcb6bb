/* Theater: a WebAssembly actor runtime.
 *
 * theater-spawn-shim: the parent of every program the process handler and execute-command run
 * (common/confined_spawn.h starts it; the binary is embedded in the host and executed from a
 * memfd, so nothing needs installing). It exists so that nothing a program starts outlives it:
 *
 *   - it is a child subreaper (PR_SET_CHILD_SUBREAPER): whatever the program starts and then
 *     orphans — `setsid -f`, a double fork, a daemon — is re-parented to the shim instead of
 *     init, so the shim can always find it (its children in /proc) and kill it;
 *   - when the program exits, when the host closes the control pipe (os-kill, a timeout, the
 *     actor stopping) or when the host dies (the pipe closes with it), the shim kills its whole
 *     subtree, level by level, and reaps it, then exits the way the program did (same exit code,
 *     or the same signal), so the host sees the program's status;
 *   - it forwards signals the host writes into the control pipe to the program (os-signal), so
 *     that the host never signals a pid it did not start.
 *
 * Between fork and exec the program's child process applies the confinement the host prepared:
 * its own process group, default signals, a private mount namespace in which the grants are
 * mounted noexec (MountGrantsNoexec), the working directory (a descriptor), no new privileges and
 * the Landlock ruleset (a descriptor built by the host). Landlock's signal scope keeps the
 * program from signalling the shim, so it cannot kill its keeper and escape, and Landlock
 * forbids it to mount or unmount anything, so it cannot undo the noexec mounts.
 *
 * Protocol (fixed descriptors, set up by the host):
 *   0-2  the program's stdin, stdout, stderr
 *   3    control pipe, read end: int32 signal numbers to forward; end of file = kill everything
 *   4    status pipe, write end: StatusMessage records (below); closed once the program runs
 *   5    the Landlock ruleset (when argv[1] contains 'L')
 *   6    the working directory (when argv[1] contains 'C')
 *   7    this executable (the memfd it was started from): closed at once
 *   8..  the grants to mount noexec (when argv[1] contains 'N' or 'n'), in argv's order
 *   argv = { "theater-spawn-shim", flags, executable, program argv[0], args... }, or with 'N' /
 *          'n': { "theater-spawn-shim", flags, count, grant path..., cwd path, executable,
 *          program argv[0], args... } (the paths as the host resolved its descriptors; the
 *          working directory is then always given, 'C'). 'N': refuse to run without the
 *          namespace; 'n': run without it, after a kMsgWarning record.
 *   envp = the program's environment, already filtered by the host.
 *
 * Single-threaded; no allocation after fork in the program's child.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kControlFd = 3, kStatusFd = 4, kRulesetFd = 5, kCwdFd = 6, kSelfFd = 7, kGrantFd = 8 };

/* Must match common/confined_spawn.cc. */
enum { kMsgPid = 1, kMsgError = 2, kMsgWarning = 3 };
enum {
  kStepFork = 1,
  kStepChdir = 2,
  kStepNoNewPrivs = 3,
  kStepLandlock = 4,
  kStepExec = 5,
  kStepNamespace = 6,
  kStepMount = 7
};

/* The new mount API's constants and records (include/uapi/linux/mount.h, openat2.h), spelled
 * out: glibc 2.36's <sys/mount.h> and the kernel's <linux/mount.h> cannot both be included, and
 * the values are fixed by the kernel's ABI. Every kernel with Landlock (5.13) has these calls. */
#define kOpenTreeClone 1u
#define kAtEmptyPath 0x1000u
#define kAtRecursive 0x8000u
#define kMoveMountFEmptyPath 0x4u
#define kMoveMountTEmptyPath 0x40u
#define kMountAttrNosuid 0x2ull
#define kMountAttrNodev 0x4ull
#define kMountAttrNoexec 0x8ull
#define kResolveNoMagiclinks 0x2ull
#define kResolveNoSymlinks 0x4ull
struct MountAttr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
struct OpenHow {
  uint64_t flags, mode, resolve;
};
struct StatusMessage {
  int32_t kind;
  int32_t step;  /* kMsgError: which step failed */
  int32_t value; /* kMsgPid: the program's pid; kMsgError: errno */
};

static pid_t program_pid = -1;
static int program_reaped = 0;
static int program_status = 0;

static void Report(int32_t kind, int32_t step, int32_t value) {
  struct StatusMessage m = {kind, step, value};
  ssize_t n;
  do {
    n = write(kStatusFd, &m, sizeof(m));
  } while (n < 0 && errno == EINTR);
}

/* In the program's child, after fork: reports the failed step and exits. */
static void ChildFail(int32_t step) {
  Report(kMsgError, step, errno);
  _exit(127);
}

static void NoteReaped(pid_t pid, int status) {
  if (pid == program_pid) {
    program_reaped = 1;
    program_status = status;
  }
}

/* SIGKILL to each direct child, read from /proc/self/task/<tid>/children (the shim has one
 * thread). Returns 0 when the file cannot be read, so the caller falls back to a /proc scan. */
static int KillChildrenFromTaskFile(void) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[4096];
  long pid = 0;
  int in_number = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
        in_number = 1;
      } else if (in_number) {
        kill((pid_t)pid, SIGKILL);
        pid = 0;
        in_number = 0;
      }
    }
  }
  if (in_number) kill((pid_t)pid, SIGKILL);
  close(fd);
  return 1;
}

/* The fallback: every process whose parent is the shim, from /proc/<pid>/stat. */
static void KillChildrenFromProcScan(void) {
  DIR* dir = opendir("/proc");
  if (dir == NULL) return;
  pid_t self = getpid();
  struct dirent* entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    char path[288];
    snprintf(path, sizeof(path), "/proc/%s/stat", entry->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char stat[512];
    ssize_t n = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    if (n <= 0) continue;
    stat[n] = '\0';
    /* "pid (comm) state ppid ...": comm may contain anything, so parse after the last ')'. */
    char* close_paren = strrchr(stat, ')');
    if (close_paren == NULL) continue;
    char state = 0;
    int ppid = 0;
    if (sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2 && ppid == self) {
      kill((pid_t)atoi(entry->d_name), SIGKILL);
    }
  }
  closedir(dir);
}

/* Kills every descendant and reaps it. A killed process's children are re-parented to the shim
 * (the subreaper) before it can be reaped, so each round reaches one level deeper; the loop ends
 * when the shim has no child left. A process cannot fork once SIGKILL is pending for it. */
static void KillAll(void) {
  if (!program_reaped && program_pid > 0) kill(-program_pid, SIGKILL);
  for (;;) {
    if (!KillChildrenFromTaskFile()) KillChildrenFromProcScan();
    int status = 0;
    pid_t r = waitpid(-1, &status, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: nothing left */
    }
    NoteReaped(r, status);
  }
}

/* Ends the shim the way the program ended. */
static void ExitLike(int status) {
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core); /* a core of the shim would say nothing */
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  kill(getpid(), sig);
  _exit(128 + sig);
}

/* Writes `text` to the file `path` (a /proc/self file of the user namespace); 0 or -1. */
static int WriteFile(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = (ssize_t)strlen(text);
  ssize_t n = write(fd, text, (size_t)len);
  int err = errno;
  close(fd);
  errno = err;
  return n == len ? 0 : -1;
}

/* A mount namespace of the program's own. With CAP_SYS_ADMIN (a root host) a plain one;
 * otherwise in a new user namespace, where the host's effective user and group are mapped to
 * themselves (the program sees its own ids and owns what it creates). 0, or -1 with errno when no
 * namespace could be made (nothing changed); a failure once the user namespace exists fails the
 * start, whatever the policy: the program would run with unmapped ids. */
static int NewMountNamespace(void) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (unshare(CLONE_NEWNS) == 0) return 0;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return -1;
  char map[64];
  if (WriteFile("/proc/self/setgroups", "deny") != 0) ChildFail(kStepMount);
  snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  if (WriteFile("/proc/self/uid_map", map) != 0) ChildFail(kStepMount);
  snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  if (WriteFile("/proc/self/gid_map", map) != 0) ChildFail(kStepMount);
  return 0;
}

/* Opens `path` in the new namespace (no symbolic link followed: the host's path is its real
 * one) and checks that it is the file `granted` refers to, so that nothing swapped in since the
 * host checked it gets mounted or entered. A descriptor, or -1 with errno (ESTALE: another file).
 */
static int Reopen(const char* path, int granted) {
  struct OpenHow how = {O_PATH | O_CLOEXEC, 0, kResolveNoSymlinks | kResolveNoMagiclinks};
  int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
  if (fd < 0) return -1;
  struct stat want, got;
  if (fstat(granted, &want) != 0 || fstat(fd, &got) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  if (want.st_dev != got.st_dev || want.st_ino != got.st_ino) {
    close(fd);
    errno = ESTALE;
    return -1;
  }
  return fd;
}

/* Mounts a copy of the tree at `fd` (with everything mounted beneath it) on itself, noexec,
 * nosuid and nodev. A lookup starts at the process's root without crossing what is mounted on
 * it, so for the root itself (`is_root`) the copy becomes the root (chroot), as switch_root does.
 * 0, or -1 with errno. */
static int MountNoexec(int fd, int is_root) {
  int tree =
      (int)syscall(SYS_open_tree, fd, "", kOpenTreeClone | O_CLOEXEC | kAtEmptyPath | kAtRecursive);
  if (tree < 0) return -1;
  struct MountAttr attr = {kMountAttrNoexec | kMountAttrNosuid | kMountAttrNodev, 0, 0, 0};
  int rc =
      (int)syscall(SYS_mount_setattr, tree, "", kAtEmptyPath | kAtRecursive, &attr, sizeof(attr));
  if (rc == 0) {
    rc =
        (int)syscall(SYS_move_mount, tree, "", fd, "", kMoveMountFEmptyPath | kMoveMountTEmptyPath);
  }
  if (rc == 0 && is_root) rc = fchdir(tree) == 0 && chroot(".") == 0 ? 0 : -1;
  int err = errno;
  close(tree);
  errno = err;
  return rc;
}

/* In the program's child: the grants (descriptors kGrantFd.., paths `paths`) become noexec in a
 * mount namespace of the program's own, and kCwdFd is replaced by the working directory as seen
 * through those mounts (the old descriptor still reaches the host's executable mount). Fails
 * the start unless `optional` and the namespace itself could not be made (then a warning). */
static void MountGrantsNoexec(int count, char** paths, const char* cwd_path, int optional) {
  if (NewMountNamespace() != 0) {
    if (!optional) ChildFail(kStepNamespace);
    Report(kMsgWarning, kStepNamespace, errno);
    return;
  }
  /* First of all: nothing mounted below may propagate to the host's namespace. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) ChildFail(kStepMount);
  for (int i = 0; i < count; ++i) {
    int fd = Reopen(paths[i], kGrantFd + i);
    if (fd < 0 || MountNoexec(fd, strcmp(paths[i], "/") == 0) != 0) ChildFail(kStepMount);
    close(fd);
  }
  int cwd = Reopen(cwd_path, kCwdFd);
  if (cwd < 0 || dup2(cwd, kCwdFd) < 0) ChildFail(kStepChdir);
  close(cwd);
}

int main(int argc, char** argv) {
  close(kSelfFd);
  if (argc < 4) return 127;
  const char* flags = argv[1];
  int use_landlock = strchr(flags, 'L') != NULL;
  int use_cwd = strchr(flags, 'C') != NULL;
  int noexec_required = strchr(flags, 'N') != NULL;
  int noexec_optional = strchr(flags, 'n') != NULL;
  int grants = 0;
  char** grant_paths = NULL;
  const char* cwd_path = NULL;
  int next = 2; /* argv[next]: the executable */
  if (noexec_required || noexec_optional) {
    grants = atoi(argv[2]);
    if (grants < 0 || grants > argc - 6 || !use_cwd) return 127;
    grant_paths = argv + 3;
    cwd_path = argv[3 + grants];
    next = 4 + grants;
  }
  if (argc < next + 2) return 127;
  /* Only the program's child needs the grants, and only until it has mounted them. */
  for (int i = 0; i < grants; ++i) fcntl(kGrantFd + i, F_SETFD, FD_CLOEXEC);

  /* Signals reach the shim only through the control pipe and the signalfd: no handler ever runs,
   * and a SIGPIPE on the status pipe is just an EPIPE. */
  sigset_t all, chld;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  /* Above the fixed descriptors: a slot the host left empty (no ruleset when not confining) is
   * closed below, and a signalfd there would be closed with it, turning the loop at the end into
   * a busy poll on an invalid descriptor for as long as the program runs. */
  int raw_sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  int sfd = raw_sfd < 0 ? -1 : fcntl(raw_sfd, F_DUPFD_CLOEXEC, kSelfFd + 1);
  if (raw_sfd >= 0) close(raw_sfd);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 || sfd < 0) {
    Report(kMsgError, kStepFork, errno);
    return 127;
  }

  pid_t pid = fork();
  if (pid < 0) {
    Report(kMsgError, kStepFork, errno);
    return 127;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    close(kControlFd);
    close(sfd);
    fcntl(kStatusFd, F_SETFD, FD_CLOEXEC); /* closed by a successful exec: the host sees EOF */
    if (grant_paths != NULL) {
      MountGrantsNoexec(grants, grant_paths, cwd_path, noexec_optional);
    }
    if (use_cwd && fchdir(kCwdFd) != 0) ChildFail(kStepChdir);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ChildFail(kStepNoNewPrivs);
    if (use_landlock && syscall(SYS_landlock_restrict_self, kRulesetFd, 0) != 0) {
      ChildFail(kStepLandlock);
    }
    close(kRulesetFd);
    close(kCwdFd);
    execve(argv[next], argv + next + 1, environ);
    ChildFail(kStepExec);
  }
  program_pid = pid;
  Report(kMsgPid, 0, pid);
  /* The program's ends of its pipes are the program's alone: the host must see end of file (and
   * EPIPE on stdin) when the program closes them, not when the shim does. */
  close(0);
  close(1);
  close(2);
  close(kStatusFd);
  close(kRulesetFd);
  close(kCwdFd);
  for (int i = 0; i < grants; ++i) close(kGrantFd + i);

  for (;;) {
    struct pollfd fds[2] = {{sfd, POLLIN, 0}, {kControlFd, POLLIN, 0}};
    int ready = poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if ((fds[0].revents | fds[1].revents) & POLLNVAL) break; /* cannot happen; never spin */
    if (fds[0].revents) {
      struct signalfd_siginfo info;
      while (read(sfd, &info, sizeof(info)) > 0) {
      }
      int status = 0;
      pid_t r;
      while ((r = waitpid(-1, &status, WNOHANG)) > 0) NoteReaped(r, status);
      if (program_reaped) break;
    }
    if (fds[1].revents) {
      int32_t sigs[64];
      ssize_t n = read(kControlFd, sigs, sizeof(sigs));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break; /* the host asked for the end, or is gone */
      for (ssize_t i = 0; i < n / (ssize_t)sizeof(int32_t); ++i) {
        /* The program is our child and not reaped: its pid cannot have been reused. */
        if (!program_reaped && sigs[i] > 0 && sigs[i] < NSIG) kill(program_pid, sigs[i]);
      }
    }
  }
  KillAll();
  /* KillAll reaps the program; were it somehow not, report it killed (a wait status of SIGKILL). */
  ExitLike(program_reaped ? program_status : SIGKILL);
  return 127;
}
