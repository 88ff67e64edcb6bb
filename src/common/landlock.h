// Theater: a WebAssembly actor runtime.
//
// Landlock (the kernel's unprivileged access control, Linux >= 5.13) for the programs actors
// run: a ruleset built in the host — which paths the program may read, write or execute, whether
// it may use TCP — that the child applies to itself between fork and exec
// (common/spawn_shim.c), so the program and everything it starts can reach nothing else,
// whatever its arguments say.
//
// Everything the kernel's ABI version supports is handled (denied unless a rule allows it):
// file access (v1), cross-directory links and renames (v2), truncation (v3), TCP bind and
// connect (v4; allowed only with `allow_network`), device ioctls (v5), and signals and abstract
// UNIX sockets beyond the program's own domain (v6). The raw system calls are used (glibc has no
// wrappers), with the constants defined here because Debian 12's kernel headers stop at v2.
//
// Thread-safety: Ruleset is one object per spawn, used by one thread; Abi() may be called from
// any thread. Ownership: a Ruleset owns its descriptor and the path descriptors are closed as
// soon as their rule is added.
#pragma once

#include <cstdint>
#include <string>

#include "common/confined_dir.h"
#include "theater/status.h"

namespace theater::landlock {

// The highest Landlock ABI version the kernel offers (>= 1), asked of the kernel on each call
// (one system call). Errors: kFailedPrecondition naming the reason (ENOSYS: not built into the
// kernel or filtered out; EOPNOTSUPP: disabled at boot).
Result<int> Abi();

// What a rule allows beneath a directory (or on a file: only the file rights apply).
enum Access : unsigned {
  kRead = 1,     // read files, list directories
  kWrite = 2,    // write, truncate, create and remove files, links, FIFOs and sockets; rename
  kMakeDir = 4,  // create directories
  kExecute = 8,  // execute files
};

class Ruleset {
 public:
  // A ruleset handling every access right `abi` knows. TCP bind and connect are handled (so
  // denied) unless `allow_network`. Errors: kIOError from the kernel.
  static Result<Ruleset> Create(int abi, bool allow_network);

  // Allows `access` beneath the directory (or on the file) `fd` refers to (any descriptor,
  // O_PATH is enough). `shown` names it in errors.
  Status AllowFd(int fd, unsigned access, const std::string& shown);
  // Opens `path` (O_PATH, links followed) and allows `access` there. A path that does not exist
  // allows nothing and is not an error.
  Status AllowPath(const std::string& path, unsigned access);
  // The read-only (and executable) system files a dynamically linked program needs to start,
  // and the harmless devices: docs/handlers.md, "Confinement of child processes", lists them.
  Status AllowSystemPaths();

  int fd() const { return fd_.get(); }
  int abi() const { return abi_; }

 private:
  Ruleset(handlers::UniqueFd fd, int abi) : fd_(std::move(fd)), abi_(abi) {}
  handlers::UniqueFd fd_;
  int abi_ = 0;
};

}  // namespace theater::landlock
