// Theater: a WebAssembly actor runtime.
//
// FileLock: an exclusive flock(2) on a lock file, held until the object is destroyed. flock locks
// belong to the open file description, so two threads of one process exclude each other just like
// two processes. Used where processes share a directory: the compile cache's entries, the
// JavaScript engine stubs.
//
// Thread-safety: an object is owned by one thread; any number may wait for the same file.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>

#include "theater/status.h"

namespace theater {

class FileLock {
 public:
  // Takes the lock on `path` (created when missing), calling `on_wait` first if another holder
  // makes the caller wait. Errors: the file cannot be opened or locked (kIOError with errno).
  template <typename OnWait>
  static Result<std::unique_ptr<FileLock>> Acquire(const std::filesystem::path& path,
                                                   OnWait on_wait) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("opening lock file " + path.string(), errno);
    auto lock = std::unique_ptr<FileLock>(new FileLock(fd));
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return lock;
    if (errno != EWOULDBLOCK) return ErrnoError("locking " + path.string(), errno);
    on_wait();
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoError("locking " + path.string(), errno);
    }
    return lock;
  }
  // Takes the lock on `path` (created when missing) if nobody holds it; nullptr when another
  // does. Errors as Acquire's.
  static Result<std::unique_ptr<FileLock>> TryAcquire(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("opening lock file " + path.string(), errno);
    auto lock = std::unique_ptr<FileLock>(new FileLock(fd));
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return lock;
    if (errno != EWOULDBLOCK) return ErrnoError("locking " + path.string(), errno);
    return std::unique_ptr<FileLock>();
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() { ::close(fd_); }  // closing the last descriptor releases the lock

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace theater
