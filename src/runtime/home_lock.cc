// Theater: a WebAssembly actor runtime.
#include "runtime/home_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace theater::runtime {
namespace {

// The pid of the process holding a flock on the file open as `fd`, from /proc/locks, whose lines
// read "1: FLOCK  ADVISORY  WRITE 4242 fe:00:11264402 0 EOF" (pid, then the device's major and
// minor in hex and the inode); "" when the table does not say (no /proc, another pid namespace).
std::string FlockHolderOf(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "";
  char id[64];
  std::snprintf(id, sizeof id, "%02x:%02x:%llu", ::major(st.st_dev), ::minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  std::ifstream locks("/proc/locks");
  std::string line;
  // The table has a line per lock on the machine; a bound keeps a pathological one cheap.
  for (int lines = 0; lines < 100000 && std::getline(locks, line); ++lines) {
    std::istringstream fields(line);
    std::string ordinal, kind, mode, access, pid, inode;
    fields >> ordinal >> kind;
    if (kind != "FLOCK") continue;  // a POSIX lock, or "->" for a waiter, not a holder
    fields >> mode >> access >> pid >> inode;
    if (inode == id && pid != "0") return pid;
  }
  return "";
}

// The pid <home>/lock records, "" when it holds none.
std::string PidInFile(int fd) {
  std::string holder;
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  for (ssize_t i = 0; i < n && buffer[i] >= '0' && buffer[i] <= '9'; ++i) holder += buffer[i];
  return holder;
}

Status HeldBy(const std::string& holder, const std::filesystem::path& home) {
  return FailedPrecondition("another theater server" +
                            (holder.empty() ? std::string() : " (pid " + holder + ")") +
                            " holds the home directory " + home.string() +
                            "; two servers cannot share one home (set THEATER_HOME to another)");
}

}  // namespace

Result<std::unique_ptr<HomeLock>> HomeLock::Acquire(const std::filesystem::path& home) {
  std::error_code ec;
  std::filesystem::create_directories(home, ec);
  if (ec) return IOError("creating " + home.string() + ": " + ec.message());
  // CLOEXEC: a child process must not inherit (and so prolong) the lock.
  const int dir_fd = ::open(home.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return ErrnoError("opening " + home.string(), errno);
  const std::filesystem::path path = home / "lock";
  const int file_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (file_fd < 0) {
    const int err = errno;
    ::close(dir_fd);
    return ErrnoError("opening " + path.string(), err);
  }
  auto lock = std::unique_ptr<HomeLock>(new HomeLock(dir_fd, file_fd));
  if (::flock(dir_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoError("locking " + home.string(), errno);
    std::string holder = FlockHolderOf(dir_fd);
    return HeldBy(holder.empty() ? PidInFile(file_fd) : holder, home);
  }
  // The file too: a server of an earlier version locks only it.
  if (::flock(file_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoError("locking " + path.string(), errno);
    std::string holder = FlockHolderOf(file_fd);
    return HeldBy(holder.empty() ? PidInFile(file_fd) : holder, home);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(file_fd, 0) != 0 || ::pwrite(file_fd, pid.data(), pid.size(), 0) < 0) {
    return ErrnoError("writing " + path.string(), errno);
  }
  return lock;
}

HomeLock::~HomeLock() {
  // Closing releases the locks; the file stays, its pid is stale and harmless.
  ::close(file_fd_);
  ::close(dir_fd_);
}

}  // namespace theater::runtime
