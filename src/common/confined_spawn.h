// Theater: a WebAssembly actor runtime.
//
// SpawnConfined: how the process handler and the filesystem handler's execute-command start a
// program. The host starts the spawn shim (common/spawn_shim.c, embedded in the host and run
// from a sealed memfd) with posix_spawn; the shim forks the program, which applies the sandbox
// between fork and exec — its own process group, default signals, a private mount namespace in
// which every grant of the policy is mounted noexec, its working directory by descriptor, no new
// privileges and a Landlock ruleset (common/landlock.h) that allows the system paths needed to
// run plus the grants of the policy — and execs it with the environment the caller built
// (common/child_env.h).
//
// Why noexec as well as Landlock: Landlock's execute right is checked by execve only, while the
// dynamic loader maps a library with mmap(PROT_EXEC), which Landlock does not see. A program
// made to dlopen a file its actor wrote (an OpenSSL provider named by a config file, a gconv
// module, a Node addon) would run the actor's native code; on a noexec mount the kernel refuses
// the mapping. The namespace is the program's own (unshare(CLONE_NEWNS), or with
// CLONE_NEWUSER when the host lacks CAP_SYS_ADMIN), made private before anything is mounted, so
// nothing of it reaches the host; the grants are found again by path in it and checked to be the
// very files granted (device and inode), and Landlock then forbids the program to change mounts.
//
// The shim is a child subreaper: every descendant of the program, including those that
// `setsid` away or double-fork, stays in its subtree, and it kills that whole subtree when the
// program exits, when the caller closes the control pipe (KillTree), or when the host process
// dies. The caller waits for the shim (its pid and pidfd), whose exit status is the program's.
//
// When Landlock is unavailable and the policy confines, nothing is started
// (kFailedPrecondition, naming `unconfined = true`). When no mount namespace can be made (user
// namespaces disabled and no CAP_SYS_ADMIN), nothing is started either (kFailedPrecondition,
// naming `require_noexec = false`) unless the policy says Noexec::kIfPossible: the program then
// runs without noexec grants and ConfinedChild::noexec_warning says why, for the caller to log.
//
// Thread-safety: SpawnConfined may be called from any thread (the memfd is made once, under
// std::call_once); it blocks until the program has been exec'd or failed to start. Ownership:
// the caller owns the returned descriptors and must reap shim_pid.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/confined_dir.h"
#include "theater/status.h"

namespace theater {

// Where a program may go.
struct SandboxPolicy {
  // false: no Landlock (the handler's config says `unconfined = true`). The environment, the
  // shim and the subtree killing apply either way.
  bool confine = true;
  // TCP bind and connect (denied by Landlock ABI >= 4 unless true).
  bool allow_network = false;
  // Beyond the system paths: a directory or file by borrowed descriptor (fd >= 0) or by path,
  // with landlock::Access bits.
  struct Grant {
    int fd = -1;
    std::string path;
    unsigned access = 0;
  };
  std::vector<Grant> grants;
  // Whether the grants are mounted noexec for the program (only when confining: unconfined, the
  // program may write anywhere, so noexec grants would protect nothing).
  enum class Noexec {
    kRequired,    // or nothing starts
    kIfPossible,  // the operator's `require_noexec = false`: run without when it cannot be done
    kOff,         // never (tests showing what Landlock alone allows)
  };
  Noexec noexec = Noexec::kRequired;
};

struct ChildSpec {
  std::string program;            // as the actor named it, for messages
  std::string executable;         // the file to run: absolute, or relative to cwd_fd
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // NAME=value
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // borrowed; -1: /dev/null
  int cwd_fd = -1;                                    // borrowed; -1: the host's cwd
  SandboxPolicy sandbox;
};

struct ConfinedChild {
  pid_t shim_pid = -1;         // the process to wait for; its exit status is the program's
  pid_t pid = -1;              // the program, leader of its own process group
  handlers::UniqueFd pidfd;    // the shim's
  handlers::UniqueFd control;  // write end of the shim's control pipe (KillTree, ForwardSignal)
  // Non-empty when Noexec::kIfPossible could not be had: why (for the caller's log).
  std::string noexec_warning;
};

// Starts `spec.program`. Errors: kFailedPrecondition (Landlock unavailable and confining; no
// mount namespace for noexec grants and Noexec::kRequired),
// kNotFound (no such program), kPermissionDenied (the program may not be executed), kUnavailable
// (it could not be started: the step and errno are named), kIOError (pipes, memfd).
Result<ConfinedChild> SpawnConfined(const ChildSpec& spec);

// Asks the shim to send `sig` to the program (never to a reused pid: the shim is its parent).
// Errors: kFailedPrecondition when the shim is gone, kUnavailable when its pipe is full.
Status ForwardSignal(int control_fd, int sig);

// Closes the control pipe: the shim kills the program and every descendant, reaps them and
// exits (with SIGKILL's status unless the program had already ended).
void KillTree(handlers::UniqueFd& control);

}  // namespace theater
