// Theater: a WebAssembly actor runtime.
#include "common/file_watcher.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

namespace theater {
namespace {

constexpr uint32_t kChangeMask =
    IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE_SELF;

}  // namespace

Result<std::unique_ptr<FileWatcher>> FileWatcher::Create() {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return Unavailable(std::string("cannot watch files (inotify_init1: ") + std::strerror(errno) +
                       ")");
  }
  return std::unique_ptr<FileWatcher>(new FileWatcher(fd));
}

FileWatcher::~FileWatcher() {
  ::close(fd_);
}

Status FileWatcher::Watch(const std::filesystem::path& dir) {
  const int wd = inotify_add_watch(fd_, dir.c_str(), kChangeMask | IN_ONLYDIR);
  if (wd < 0) {
    const int err = errno;
    if (err == ENOSPC) {
      return ResourceExhausted("cannot watch " + dir.string() +
                               ": the user's inotify watch limit is reached (raise "
                               "fs.inotify.max_user_watches with sysctl)");
    }
    return IOError("cannot watch " + dir.string() + ": " + std::strerror(err));
  }
  dirs_[wd] = dir;
  return Status();
}

Result<std::vector<std::filesystem::path>> FileWatcher::Wait(std::chrono::milliseconds timeout) {
  std::vector<std::filesystem::path> changed;
  pollfd pfd{fd_, POLLIN, 0};
  int ready = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, timeout.count())));
  if (ready < 0 && errno != EINTR) {
    return IOError(std::string("waiting for file changes: ") + std::strerror(errno));
  }
  if (ready <= 0) return changed;
  // Events are whole in each read; a buffer this size holds at least one with the longest name.
  alignas(inotify_event) char buffer[64 * 1024];
  bool overflowed = false;
  std::unordered_set<std::string> seen;
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return IOError(std::string("reading file changes: ") + std::strerror(errno));
    }
    if (n == 0) break;
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->mask & IN_Q_OVERFLOW) overflowed = true;
      auto dir = dirs_.find(event->wd);
      if (dir == dirs_.end()) continue;
      std::filesystem::path path =
          event->len > 0 ? dir->second / std::string(event->name) : dir->second;
      if (event->mask & IN_IGNORED) dirs_.erase(dir);  // the directory is gone
      // Once each, however many events a checkout of many files brings.
      if (seen.insert(path.native()).second) changed.push_back(std::move(path));
    }
  }
  if (overflowed) {
    return ResourceExhausted("too many file changes at once: the kernel's queue overflowed");
  }
  return changed;
}

void FileWatcher::Discard() {
  Wait(std::chrono::milliseconds(0)).status().IgnoreError();
}

}  // namespace theater
