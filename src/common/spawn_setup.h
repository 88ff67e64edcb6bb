// Theater: a WebAssembly actor runtime.
//
// SpawnSetup: the attributes and file actions of one posix_spawn call, prepared so that the
// child starts in a process group of its own (one kill then reaches everything it starts), with
// an empty signal mask and default dispositions for the signals the host blocks or handles (the
// wasm runtime's threads block some; a child must not inherit that). Callers add their own file
// actions (pipes, a working directory) and spawn with attr() and actions().
//
// Errors follow posix_spawn's convention: error() is 0 or the errno value of the first step that
// failed; once it is set, nothing further was prepared.
//
// Thread-safety: one object per spawn, used by one thread. Ownership: destroys what it
// initialised.
#pragma once

#include <signal.h>
#include <spawn.h>

#include <string>
#include <vector>

namespace theater {

class SpawnSetup {
 public:
  SpawnSetup() {
    error_ = posix_spawnattr_init(&attr_);
    attr_ok_ = error_ == 0;
    if (error_ == 0) {
      error_ = posix_spawn_file_actions_init(&actions_);
      actions_ok_ = error_ == 0;
    }
    sigset_t empty_mask, defaults;
    sigemptyset(&empty_mask);
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2}) {
      sigaddset(&defaults, sig);
    }
    if (error_ == 0) {
      error_ = posix_spawnattr_setflags(
          &attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
    if (error_ == 0) error_ = posix_spawnattr_setpgroup(&attr_, 0);
    if (error_ == 0) error_ = posix_spawnattr_setsigmask(&attr_, &empty_mask);
    if (error_ == 0) error_ = posix_spawnattr_setsigdefault(&attr_, &defaults);
  }
  ~SpawnSetup() {
    if (attr_ok_) posix_spawnattr_destroy(&attr_);
    if (actions_ok_) posix_spawn_file_actions_destroy(&actions_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  int error() const { return error_; }
  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
  bool attr_ok_ = false;
  bool actions_ok_ = false;
  int error_ = 0;
};

// The argv / envp form of `strings` for posix_spawn: a pointer to each, then a null pointer. The
// strings must outlive the result. (posix_spawn takes char* const[] but never writes through it,
// hence the const_cast.)
inline std::vector<char*> NullTerminated(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace theater
