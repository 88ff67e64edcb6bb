// Theater: a WebAssembly actor runtime.
#include "runtime/home_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace theater::runtime {

Result<std::unique_ptr<HomeLock>> HomeLock::Acquire(const std::filesystem::path& home) {
  std::error_code ec;
  std::filesystem::create_directories(home, ec);
  if (ec) return IOError("creating " + home.string() + ": " + ec.message());
  const std::filesystem::path path = home / "lock";
  // CLOEXEC: a child process must not inherit (and so prolong) the lock.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoError("opening " + path.string(), errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    char buffer[32] = {};
    const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    for (ssize_t i = 0; i < n && buffer[i] >= '0' && buffer[i] <= '9'; ++i) holder += buffer[i];
    ::close(fd);
    if (err != EWOULDBLOCK) return ErrnoError("locking " + path.string(), err);
    return FailedPrecondition("another theater server" +
                              (holder.empty() ? std::string() : " (pid " + holder + ")") +
                              " holds the home directory " + home.string() +
                              "; two servers cannot share one home (set THEATER_HOME to another)");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoError("writing " + path.string(), err);
  }
  return std::unique_ptr<HomeLock>(new HomeLock(fd));
}

HomeLock::~HomeLock() {
  ::close(fd_);  // releases the lock; the file stays, its pid is stale and harmless
}

}  // namespace theater::runtime
